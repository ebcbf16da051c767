"""The demo corpus: deterministic, Esperanto-like, big and varied enough for the whole journey."""

from __future__ import annotations

import hashlib
import statistics
from pathlib import Path

from studio.corpus.demo import iter_demo_lines, write_demo_corpus


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    """Two writes with the same seed are byte-identical; another seed differs."""
    a = write_demo_corpus(tmp_path / "a.txt", n_lines=3000)
    b = write_demo_corpus(tmp_path / "b.txt", n_lines=3000)
    c = write_demo_corpus(tmp_path / "c.txt", n_lines=3000, seed=7)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (a, b, c)]
    assert digest[0] == digest[1] != digest[2]


def test_default_corpus_shape(tmp_path: Path) -> None:
    """At least 50,000 lines and 4 MB, with diacritics, numbers, punctuation and a spread of lengths."""
    path = write_demo_corpus(tmp_path / "demo.txt")
    data = path.read_bytes()
    text = data.decode("utf-8")
    lines = text.split("\n")[:-1]
    assert len(lines) >= 50_000
    assert len(data) >= 4_000_000
    for char in "ĉĝĥĵŝŭ":
        assert char in text
    assert any(ch.isdigit() for ch in text)
    for mark in ",.!?«»—":
        assert mark in text
    lengths = [len(line) for line in lines]
    assert min(lengths) == 0  # the odd empty line
    assert sum(1 for n in lengths if n < 30) > 2_000  # headings and short lines
    assert max(lengths) > 600  # paragraphs
    assert statistics.median(lengths) > 40
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed away


def test_morphology_is_regular() -> None:
    """Words end in Esperanto's grammatical endings, so a tokenizer has structure to learn."""
    words = [w.strip(".,!?«»()…") for line in iter_demo_lines(2000) for w in line.split()]
    words = [w for w in words if w.isalpha() and w.islower() and len(w) > 3]
    endings = ("o", "oj", "on", "ojn", "a", "aj", "an", "ajn", "as", "is", "os", "us", "u", "i", "e")
    share = sum(w.endswith(endings) for w in words) / len(words)
    assert share > 0.9
