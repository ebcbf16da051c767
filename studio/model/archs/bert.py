"""BERT: a masked-LM encoder with absolute positions from 0."""

from __future__ import annotations

from studio.model.archs.base import Arch
from studio.model.archs.roberta import ENCODER_FORM_FIELDS

ARCH = Arch(
    name="bert",
    config_class="transformers.BertConfig",
    tasks=("mlm",),
    tokenizer_kinds=("wordpiece", "bytelevel-bpe", "unigram", "sentencepiece-unigram", "sentencepiece-bpe"),
    description="BERT encoder",
    special_tokens={"mlm": ("mask_token", "pad_token")},
    form_fields=ENCODER_FORM_FIELDS,
)
