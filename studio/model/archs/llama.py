"""Llama-style decoder: RoPE positions, RMSNorm, SwiGLU, grouped-query attention."""

from __future__ import annotations

from collections.abc import Iterator

from studio.model.archs.base import Arch, RuleContext, as_int, largest_divisor_at_most
from studio.model.problems import Problem, assignment


def key_value_heads_divide_heads(ctx: RuleContext) -> Iterator[Problem]:
    """Grouped-query attention shares each key-value head among a whole number of query heads."""
    heads = as_int(ctx.fields.get("num_attention_heads"))
    kv_heads = as_int(ctx.fields.get("num_key_value_heads"))
    if heads and kv_heads and heads > 0 and kv_heads > 0 and heads % kv_heads:
        fixed = largest_divisor_at_most(heads, kv_heads)
        yield Problem(
            "model.num_key_value_heads",
            f"num_attention_heads ({heads}) must be a multiple of num_key_value_heads ({kv_heads}): "
            "each key-value head serves a whole group of query heads",
            assignment("model.num_key_value_heads", fixed),
        )


ARCH = Arch(
    name="llama",
    config_class="transformers.LlamaConfig",
    tasks=("clm",),
    tokenizer_kinds=("bytelevel-bpe", "wordpiece", "unigram", "sentencepiece-unigram", "sentencepiece-bpe"),
    description="Llama-style decoder (RoPE, RMSNorm, SwiGLU)",
    special_tokens={"clm": ("eos_token",)},
    rules=(key_value_heads_divide_heads,),
    form_fields=(
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "num_key_value_heads",
        "intermediate_size",
        "max_position_embeddings",
        "hidden_act",
        "attention_dropout",
        "tie_word_embeddings",
    ),
)
