"""Small real inputs for the engine, data and bench tests: a demo corpus and a byte-level BPE.

Imported by the test modules (not a conftest: `tests/train/conftest.py` belongs to the worker's
tests). Sizes are the smallest that still exercise the real code paths on 2 busy cores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.config import RunConfig
from studio.corpus.demo import write_demo_corpus
from studio.model.build import config_from_preset

# A smaller model than `tiny-cpu`, so a few hundred steps take seconds.
TINY_MODEL = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "max_position_embeddings": 66,
}
TINY_BLOCK = 64


def make_corpus(folder: Path, lines: int = 3000) -> Path:
    """A demo corpus of `lines` lines in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_demo_corpus(folder / "demo.txt", n_lines=lines)


def make_tokenizer(corpus: Path, folder: Path, vocab_size: int = 1000) -> Any:
    """A RoBERTa-style byte-level BPE trained on `corpus`, saved in `folder`, and loaded."""
    from studio.train.bench import train_bytelevel_tokenizer

    return train_bytelevel_tokenizer(corpus, folder, vocab_size=vocab_size)


def make_config(
    corpus: Path, tokenizer_dir: Path, mode: str = "fast", arch: str = "roberta", **train: Any
) -> RunConfig:
    """The `tiny-cpu` preset on this corpus and tokenizer, shrunk to `TINY_MODEL`."""
    config = config_from_preset("tiny-cpu", str(corpus), str(tokenizer_dir))
    config.studio.mode = mode  # type: ignore[assignment]
    config.model.arch = arch
    config.model.fields.update(TINY_MODEL)
    if arch != "roberta":
        config.model.fields["max_position_embeddings"] = TINY_BLOCK
    config.data.block_size = TINY_BLOCK
    config.train.update({"per_device_train_batch_size": 8, **train})
    return config
