"""Fixtures of the journey tests: a small demo corpus shared by the whole session."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from studio.corpus.demo import iter_demo_lines

CORPUS_LINES = 3000


@pytest.fixture(scope="session")
def journey_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few thousand lines of the generated Esperanto-like demo corpus, one document per line."""
    path = tmp_path_factory.mktemp("journey-corpus") / "demo-esperanto.txt"
    path.write_text(
        "\n".join(itertools.islice(iter_demo_lines(seed=9), CORPUS_LINES)) + "\n", encoding="utf-8"
    )
    return path
