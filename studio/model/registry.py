"""The architecture registry: one entry per architecture, one place to add the next.

Importing this module is cheap; the HF config classes are imported only when asked for.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any

from studio.errors import StudioError


@dataclass(frozen=True)
class Arch:
    """What Studio knows about one architecture."""

    name: str
    config_class: str  # dotted path inside transformers, imported lazily
    tasks: tuple[str, ...]
    tokenizer_kinds: tuple[str, ...]
    description: str

    def load_config_class(self) -> type:
        module, _, attr = self.config_class.rpartition(".")
        return getattr(importlib.import_module(module), attr)


_ALL_KINDS = ("bytelevel-bpe", "wordpiece", "unigram", "sentencepiece-unigram", "sentencepiece-bpe")

ARCHES: dict[str, Arch] = {
    arch.name: arch
    for arch in (
        Arch("roberta", "transformers.RobertaConfig", ("mlm",), _ALL_KINDS, "RoBERTa encoder (the blog's model)"),
        Arch("bert", "transformers.BertConfig", ("mlm",), _ALL_KINDS, "BERT encoder"),
        Arch("gpt2", "transformers.GPT2Config", ("clm",), _ALL_KINDS, "GPT-2 decoder"),
        Arch("llama", "transformers.LlamaConfig", ("clm",), _ALL_KINDS, "Llama-style decoder (RoPE, RMSNorm, SwiGLU)"),
        Arch("reformer", "transformers.ReformerConfig", ("mlm", "clm"), _ALL_KINDS, "Reformer (LSH + local attention)"),
    )
}


def get_arch(name: str) -> Arch:
    try:
        return ARCHES[name]
    except KeyError:
        raise StudioError(
            f"unknown architecture {name!r}", f"choose one of: {', '.join(ARCHES)}"
        ) from None


@functools.cache
def hf_config_fields(arch: str) -> dict[str, Any]:
    """Every field of the architecture's HF config class, with its default value."""
    cls = get_arch(arch).load_config_class()
    return dict(cls().to_dict())
