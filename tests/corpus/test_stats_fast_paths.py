"""Statistics: the vectorised shortcuts (merged hash runs, per-line sums, 2-byte decoding) stay exact."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from studio.corpus import stats as stats_module
from studio.corpus.stats import CHAR_LENGTH_CAP, WORD_LENGTH_CAP, compute_stats


def _write_lines(path: Path, lines: list[str], final_newline: bool = True) -> bytes:
    data = "\n".join(lines).encode() + (b"\n" if final_newline else b"")
    path.write_bytes(data)
    return data


def test_duplicates_stay_exact_across_many_compactions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashes merged into the sorted set over many small compactions still count every repeat once."""
    monkeypatch.setattr(stats_module, "READ_BLOCK", 512)
    monkeypatch.setattr(stats_module, "_COMPACT_EVERY", 50)
    rng = random.Random(11)
    lines = [f"line {rng.randrange(700)}" for _ in range(3000)]
    _write_lines(tmp_path / "dups.txt", lines)
    stats = compute_stats(tmp_path / "dups.txt")
    assert stats.duplicates_exact
    assert stats.duplicate_lines == len(lines) - len(set(lines))


@pytest.mark.parametrize("block", [5, 97, 4096])
def test_per_line_histograms_match_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Characters and words per line equal len(line) and len(line.split()), whatever the block size."""
    monkeypatch.setattr(stats_module, "READ_BLOCK", block)
    rng = random.Random(block)
    pieces = ["a", "bc", "ĉu", "ŝi", "語", "😀", " ", "  ", "\t", "x\x1cy", "\u00a0", "\u3000", "\u2028"]
    lines = ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40))) for _ in range(400)]
    _write_lines(tmp_path / "lines.txt", lines, final_newline=False)
    stats = compute_stats(tmp_path / "lines.txt")
    chars = np.bincount([min(len(line), CHAR_LENGTH_CAP) for line in lines], minlength=CHAR_LENGTH_CAP + 1)
    words = np.bincount(
        [min(len(line.split()), WORD_LENGTH_CAP) for line in lines], minlength=WORD_LENGTH_CAP + 1
    )
    assert stats.line_chars.tolist() == chars.tolist()
    assert stats.line_words.tolist() == words.tolist()
    assert stats.words == sum(len(line.split()) for line in lines)


@pytest.mark.parametrize("alphabet", ["abc ĉĝĥĵŝŭ αβγ жщ", "abc ĉĝ 語言 😀 \u00a0"])
def test_character_counts_match_counter(tmp_path: Path, alphabet: str) -> None:
    """Counted code points equal collections.Counter, with two-byte characters only or mixed widths."""
    rng = random.Random(len(alphabet))
    lines = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30))) for _ in range(300)]
    data = _write_lines(tmp_path / "chars.txt", lines)
    stats = compute_stats(tmp_path / "chars.txt")
    expected = Counter(data.decode())
    assert stats.char_counts == dict(expected)
    assert stats.distinct_chars == len(expected)
    assert stats.chars == len(data.decode())
