"""Shared fixtures of the tokenizer tests: one small demo corpus and one trained tokenizer per kind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from studio.corpus.demo import iter_demo_lines
from studio.tokenizer.options import KINDS, TrainOptions
from studio.tokenizer.train import train_tokenizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CORPUS_LINES = 3000
VOCAB_SIZE = 600


@pytest.fixture(scope="session")
def demo_lines() -> list[str]:
    return list(iter_demo_lines(CORPUS_LINES, seed=7))


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory: pytest.TempPathFactory, demo_lines: list[str]) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "demo.txt"
    path.write_text("\n".join(demo_lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, corpus_file: Path) -> dict[str, Path]:
    """Every kind trained once on the demo corpus (small vocab), by kind."""
    root = tmp_path_factory.mktemp("tokenizers")
    out: dict[str, Path] = {}
    for kind in KINDS:
        options = TrainOptions(corpus=str(corpus_file), kind=kind, vocab_size=VOCAB_SIZE)
        out[kind] = train_tokenizer(options, root / kind).out_dir
    return out


@pytest.fixture(scope="session")
def held_out_lines() -> list[str]:
    return [line for line in iter_demo_lines(300, seed=99) if line.strip()]
