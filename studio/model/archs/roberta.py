"""RoBERTa: the blog's masked-LM encoder. Positions start after the padding id, hence the offset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.model.archs.base import Arch

ENCODER_FORM_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
    "type_vocab_size",
    "hidden_act",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
)


def roberta_position_offset(fields: Mapping[str, Any]) -> int:
    """RoBERTa numbers positions from `pad_token_id + 1`, so a block of n needs n + pad + 1 positions."""
    pad = fields.get("pad_token_id")
    return (pad if isinstance(pad, int) and pad >= 0 else 1) + 1


ARCH = Arch(
    name="roberta",
    config_class="transformers.RobertaConfig",
    tasks=("mlm",),
    tokenizer_kinds=("bytelevel-bpe", "wordpiece", "unigram", "sentencepiece-unigram", "sentencepiece-bpe"),
    description="RoBERTa encoder (the blog's model)",
    special_tokens={"mlm": ("mask_token", "pad_token", "bos_token", "eos_token")},
    form_fields=ENCODER_FORM_FIELDS,
    position_offset=roberta_position_offset,
)
