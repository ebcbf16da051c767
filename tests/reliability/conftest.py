"""Fixtures of the reliability suite: a tiny corpus and a tokenizer made by the real CLI, tiny run configs."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_helpers import CORPUS_LINES, TINY_OVERRIDES, VOCAB_SIZE, studio

from studio.config import RunConfig
from studio.corpus.demo import iter_demo_lines


@pytest.fixture(autouse=True)
def _no_stray_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start without a fault hook, whatever the environment says."""
    monkeypatch.delenv("STUDIO_FAULT", raising=False)


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo corpus (1,500 lines), one document per line."""
    path = tmp_path_factory.mktemp("reliability-corpus") / "demo.txt"
    path.write_text(
        "\n".join(itertools.islice(iter_demo_lines(seed=5), CORPUS_LINES)) + "\n", encoding="utf-8"
    )
    return path


@pytest.fixture(scope="session")
def bpe_tokenizer(tmp_path_factory: pytest.TempPathFactory, corpus_file: Path) -> Path:
    """A byte-level BPE (RoBERTa specials) trained by the real `studio tokenizer train`."""
    out = tmp_path_factory.mktemp("reliability-tokenizer") / "bpe"
    result = studio(
        "tokenizer",
        "train",
        "--corpus",
        str(corpus_file),
        "--kind",
        "bytelevel-bpe",
        "--vocab-size",
        str(VOCAB_SIZE),
        "--out",
        str(out),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def tiny_config(corpus_file: Path, bpe_tokenizer: Path) -> Callable[..., RunConfig]:
    """`tiny_config(*overrides)`: the tiny-cpu preset shrunk to train 6 steps in seconds, plus overrides."""
    from studio.model.build import config_from_preset

    def make(*overrides: str) -> RunConfig:
        config = config_from_preset("tiny-cpu", str(corpus_file), str(bpe_tokenizer), name="fault")
        return config.with_overrides([*TINY_OVERRIDES, *overrides])

    return make
