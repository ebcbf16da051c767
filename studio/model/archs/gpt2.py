"""GPT-2: a causal decoder with learned positions; its sizes have their own short names."""

from __future__ import annotations

from studio.model.archs.base import Arch, Dims

ARCH = Arch(
    name="gpt2",
    config_class="transformers.GPT2Config",
    tasks=("clm",),
    tokenizer_kinds=("bytelevel-bpe", "wordpiece", "unigram", "sentencepiece-unigram", "sentencepiece-bpe"),
    description="GPT-2 decoder",
    special_tokens={"clm": ("eos_token",)},
    dims=Dims(hidden="n_embd", layers="n_layer", heads="n_head", positions="n_positions"),
    form_fields=(
        "vocab_size",
        "n_embd",
        "n_layer",
        "n_head",
        "n_inner",
        "n_positions",
        "activation_function",
        "resid_pdrop",
        "embd_pdrop",
        "attn_pdrop",
    ),
)
