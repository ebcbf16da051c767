"""Fixtures of the train layer: a tiny real tokenizer, a small corpus, a workspace and tiny run configs.

The engine engineer's tests may use these too (`train_corpus`, `train_tokenizer`, `tiny_config`).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from studio.config import RunConfig
from studio.corpus.demo import iter_demo_lines
from studio.workspace import Workspace, open_workspace

CORPUS_LINES = 1500

# Small enough to train a few steps in well under a second on 2 cores.
TINY_OVERRIDES = [
    "model.hidden_size=32",
    "model.intermediate_size=64",
    "model.num_attention_heads=2",
    "model.num_hidden_layers=1",
    "model.max_position_embeddings=66",
    "data.block_size=64",
    "train.per_device_train_batch_size=4",
    "train.max_steps=6",
    "train.logging_steps=1",
    "train.save_steps=3",
    "train.eval_steps=3",
    "train.per_device_eval_batch_size=8",
    "train.warmup_steps=0",
    "train.seed=7",
    "data.validation_split=0.05",
    "studio.probe_every=3",
    "studio.monitor_interval=0.5",
    "studio.name=tiny",
]


@pytest.fixture(scope="session")
def train_tokenizer(roberta_tokenizer: Path) -> Path:
    """A byte-level BPE (vocab ~1000, RoBERTa specials) saved as a `RobertaTokenizerFast` directory."""
    return roberta_tokenizer


@pytest.fixture(scope="session")
def train_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo corpus file (1,500 lines, one document per line)."""
    path = tmp_path_factory.mktemp("train-corpus") / "demo.txt"
    lines = itertools.islice(iter_demo_lines(seed=11), CORPUS_LINES)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """An empty workspace (no demo corpus) in tmp_path."""
    return open_workspace(tmp_path / "ws", demo=False)


@pytest.fixture(scope="session")
def tiny_config(train_corpus: Path, train_tokenizer: Path) -> Callable[..., RunConfig]:
    """`tiny_config(*overrides)`: the tiny-cpu preset, shrunk to train 6 steps in seconds, plus overrides."""
    from studio.model.build import config_from_preset

    def make(*overrides: str) -> RunConfig:
        config = config_from_preset("tiny-cpu", str(train_corpus), str(train_tokenizer), name="tiny")
        return config.with_overrides([*TINY_OVERRIDES, *overrides])

    return make


@pytest.fixture
def fault(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """`fault("nan_at:3")`: inject a fault into the workers started by this test (STUDIO_FAULT)."""

    def set_fault(spec: str) -> None:
        monkeypatch.setenv("STUDIO_FAULT", spec)

    return set_fault


def _wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.05) -> Any:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout} s waiting for {getattr(predicate, '__name__', predicate)}"
    )


@pytest.fixture(scope="session")
def wait_for() -> Callable[..., Any]:
    """`wait_for(predicate, timeout=60)`: poll until truthy (returned), or fail after `timeout` seconds."""
    return _wait_for


@pytest.fixture(autouse=True)
def _no_stray_fault(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests start without a fault hook, whatever the environment says."""
    monkeypatch.delenv("STUDIO_FAULT", raising=False)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    yield
