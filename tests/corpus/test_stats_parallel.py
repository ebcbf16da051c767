"""Statistics: worker processes and the vectorised kernel give exactly what plain Python computes.

The reference below is the obvious per-line Python; the tricky text holds CRLF, empty lines, no
final newline, duplicates on both sides of a range boundary, invalid UTF-8, multi-byte characters
across read blocks, and the Unicode whitespace that `str.split()` knows (U+0085, U+00A0, U+3000...).
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus_samples import reference_stats

from studio.corpus import stats as stats_module
from studio.corpus.stats import compute_stats
from studio.errors import Cancelled
from studio.progress import CancelFlag, ProgressUpdate


def _assert_matches(stats: stats_module.CorpusStats, data: bytes, block: int) -> None:
    expected = reference_stats(data, block)
    figures = stats.to_json()
    for key in ("lines", "bytes", "chars", "words", "distinct_chars", "empty_lines", "duplicate_lines"):
        assert figures[key] == expected[key], key
    assert figures["invalid_utf8_lines"] == expected["invalid_utf8_lines"]
    assert stats.char_counts == expected["char_counts"]
    assert stats.line_words.tolist() == expected["line_words"].tolist()
    if not expected["invalid_utf8_lines"]:  # an invalid line's length is bytes less continuations
        assert stats.longest_line == expected["longest_line"]
        assert stats.line_chars.tolist() == expected["line_chars"].tolist()


# Pieces of lines: every kind of whitespace str.split() knows, CRLF, 2-, 3- and 4-byte characters.
PIECES = [
    "ab",
    "ĉu",
    "語",
    "😀",
    " ",
    "\t",
    "\r",
    "\x0b",
    "\x1c",
    "\x85",
    "\xa0",
    "\u2003",
    "\u3000",
    "\u2028",
]


def _tricky_lines(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    lines = ["".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 30))) for _ in range(count)]
    for i in range(0, count, 7):
        lines[i] = ""  # empty lines
    for i in range(3, count, 11):
        lines[i] = lines[i].rstrip("\r") + "\r"  # CRLF endings
    for i in range(5, count, 13):
        lines[i] = lines[rng.randrange(count)]  # duplicates, near and far (across ranges)
    return lines


def _tricky_text(seed: int, count: int = 600, invalid: bool = False, final_newline: bool = False) -> bytes:
    data = "\n".join(_tricky_lines(seed, count)).encode() + (b"\n" if final_newline else b"")
    if invalid:  # a lone continuation, a cut-short character, a surrogate, an overlong slash
        for bad in (b"\x80", b"\xe8\xaa", b"\xed\xa0\x80", b"\xc0\xaf"):
            at = data.index(b"\n", random.Random(seed).randrange(len(data) // 2))
            data = data[:at] + bad + data[at:]
    return data


@pytest.mark.parametrize("block", [5, 64, 997, 1 << 20])
@pytest.mark.parametrize("final_newline", [False, True])
def test_one_pass_matches_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int, final_newline: bool
) -> None:
    """Read blocks of any size (multi-byte characters and lines cut across them) count exactly."""
    monkeypatch.setattr(stats_module, "READ_BLOCK", block)
    data = _tricky_text(block, final_newline=final_newline)
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    _assert_matches(compute_stats(path, workers=1), data, block)


@pytest.mark.parametrize("invalid", [False, True])
def test_worker_processes_match_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invalid: bool
) -> None:
    """Two spawned workers over many small ranges give the reference figures, the same as one
    pass (duplicates across range boundaries, progress up to the total)."""
    monkeypatch.setattr(stats_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(stats_module, "RANGE_BYTES", 3000)
    monkeypatch.setattr(stats_module, "READ_BLOCK", 257)  # the workers are given it too
    data = _tricky_text(3, count=3000, invalid=invalid)
    path = tmp_path / "p.txt"
    path.write_bytes(data)
    updates: list[ProgressUpdate] = []
    parallel = compute_stats(path, progress=updates.append, workers=2)
    _assert_matches(parallel, data, 257)
    single = compute_stats(path, workers=1)
    assert parallel.to_json() == single.to_json()
    assert parallel.line_chars.tolist() == single.line_chars.tolist()
    assert parallel.line_words.tolist() == single.line_words.tolist()
    assert updates[-1].done == updates[-1].total == len(data)


def test_small_corpus_starts_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below PARALLEL_MIN_BYTES the default counts in the calling thread; above it, in processes."""
    started: list[int] = []

    def record(document: Any, sizes: list[int], workers: int, *rest: Any) -> None:
        started.append(workers)
        return None  # "could not start": counted in this thread

    monkeypatch.setattr(stats_module, "_count_in_processes", record)
    monkeypatch.setattr(stats_module, "_usable_cpus", lambda: 2)
    path = tmp_path / "s.txt"
    path.write_bytes(_tricky_text(1))
    compute_stats(path)
    assert started == []
    monkeypatch.setattr(stats_module, "PARALLEL_MIN_BYTES", 1)
    _assert_matches(compute_stats(path), path.read_bytes(), stats_module.READ_BLOCK)
    assert started == [2]


def test_cancel_stops_the_workers_promptly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancelling while workers count raises Cancelled within a moment and leaves no process."""
    monkeypatch.setattr(stats_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(stats_module, "READ_BLOCK", 256)  # a full pass takes many seconds
    path = tmp_path / "big.txt"
    path.write_bytes(b"some words and more words here\n" * 1_500_000)  # 46 MB
    flag = CancelFlag()
    cancelled_at: list[float] = []

    def progress(update: ProgressUpdate) -> None:
        if update.done and not flag.is_set():  # the workers are counting
            flag.set()
            cancelled_at.append(time.monotonic())

    with pytest.raises(Cancelled):
        compute_stats(path, progress=progress, cancel=flag, workers=2)
    assert cancelled_at and time.monotonic() - cancelled_at[0] < 3.0
    assert multiprocessing.active_children() == []


def _random_bytes(rng: random.Random) -> bytes:
    """Mostly valid UTF-8 with the edge cases of the decoder sprinkled in."""
    edges = [
        b"\xc2\x80", b"\xdf\xbf", b"\xe0\xa0\x80", b"\xef\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf",
        b"\xe0\x9f\xbf", b"\xed\xa0\x80", b"\xed\x9f\xbf", b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80",
        b"\xc0\x80", b"\xc1\xbf", b"\xf5\x80\x80\x80", b"\xff", b"\x80", b"\xbf", b"\xe2\x82", b"\xf0\x9f\x98",
        b"\xc3", "é".encode(), "語".encode(), "😀".encode(), b"a", b" ", b"\n",
    ]  # fmt: skip
    valid = edges[:6] + edges[-6:]
    pool = edges if rng.random() < 0.5 else valid
    return b"".join(rng.choice(pool) for _ in range(rng.randrange(1, 40)))


def test_utf8_check_agrees_with_the_decoder() -> None:
    """The lead-byte check says invalid exactly when CPython's strict decoder refuses, and decodes
    the same code points otherwise (overlong forms, surrogates, > U+10FFFF, cut-short characters)."""
    rng = random.Random(4)
    verdicts: Counter[str] = Counter()
    for _ in range(3000):
        piece = _random_bytes(rng)
        data = np.frombuffer(piece, dtype=np.uint8)
        found = stats_module._decode_utf8(data, stats_module._byte_counts(data))
        try:
            text = piece.decode("utf-8")
        except UnicodeDecodeError:
            assert found is None, piece
            verdicts["invalid"] += 1
            continue
        assert found is not None, piece
        leads, extra, code_points = found
        assert leads.tolist() == [i for i, byte in enumerate(piece) if byte >= 0xC0]
        assert code_points.tolist() == [ord(c) for c in text if ord(c) >= 128]
        assert int(extra.sum()) == len(piece) - len(text)
        verdicts["valid"] += 1
    assert verdicts["valid"] > 500 and verdicts["invalid"] > 500
