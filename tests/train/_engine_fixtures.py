"""Small real inputs for the engine, data and bench tests: a demo corpus and a byte-level BPE."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.config import RunConfig
from studio.corpus.demo import write_demo_corpus
from studio.model.build import config_from_preset

TINY_MODEL = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 2, "num_hidden_layers": 2}


def make_corpus(folder: Path, lines: int = 3000) -> Path:
    """A demo corpus of `lines` lines (about 80 tokens each) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_demo_corpus(folder / "demo.txt", n_lines=lines)


def make_tokenizer(corpus: Path, folder: Path, vocab_size: int = 1000) -> tuple[Path, Any]:
    """A RoBERTa-style byte-level BPE trained on `corpus`, saved in `folder`, and loaded."""
    from studio.train.bench import train_bytelevel_tokenizer

    return folder, train_bytelevel_tokenizer(corpus, folder, vocab_size=vocab_size)


def make_config(corpus: Path, tokenizer_dir: Path, mode: str = "fast", **train: Any) -> RunConfig:
    """The `tiny-cpu` preset on this corpus and tokenizer, with a smaller model for speed."""
    config = config_from_preset("tiny-cpu", str(corpus), str(tokenizer_dir))
    config.studio.mode = mode  # type: ignore[assignment]
    config.train.update(train)
    return config
