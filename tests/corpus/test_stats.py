"""Statistics: equal to wc and Python's own counts, exact duplicates, streamed with progress and cancel."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from corpus_samples import SAMPLE_LINES, reference_stats

from studio.corpus import stats as stats_module
from studio.corpus.stats import compute_stats, log_buckets
from studio.errors import Cancelled
from studio.progress import CancelFlag, ProgressUpdate

SCALAR_FIGURES = (
    "lines",
    "bytes",
    "chars",
    "words",
    "distinct_chars",
    "empty_lines",
    "duplicate_lines",
    "invalid_utf8_lines",
)


def _reference(data: bytes) -> dict[str, int]:
    """The scalar figures computed the slow, obvious way (every line checked for duplicates)."""
    full = reference_stats(data, block=len(data) + 1)
    return {key: full[key] for key in SCALAR_FIGURES}


def _random_text(seed: int) -> bytes:
    rng = random.Random(seed)
    alphabet = [
        "a",
        "b",
        "ĉ",
        "ŭ",
        " ",
        "  ",
        "\t",
        "\u00a0",
        "\u2003",
        "\u3000",
        "日",
        "😀",
        "\r",
        "\n",
        "\n\n",
        "x\r\n",
        "\x0b",
        "\x1c",
    ]
    data = "".join(rng.choices(alphabet, k=rng.randrange(0, 4000))).encode()
    if seed % 3 == 0:
        data = data.replace(b"b", b"\xff", 3).replace("ĉ".encode(), b"\xc4", 2)
    return data


@pytest.mark.parametrize("seed", range(12))
def test_matches_the_obvious_computation(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random text (Unicode spaces, CRLF, invalid bytes), read in blocks of many sizes, counts exactly."""
    monkeypatch.setattr(stats_module, "READ_BLOCK", random.Random(seed).choice([7, 64, 1000, 1 << 20]))
    data = _random_text(seed)
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    figures = compute_stats(path, cache_dir=tmp_path / "cache").to_json()
    assert {key: figures[key] for key in _reference(data)} == _reference(data)


def test_equals_wc_on_the_sample(tmp_path: Path) -> None:
    """lines and bytes equal `wc -l` and `wc -c` (real wc), chars and words Python's len/split."""
    path = tmp_path / "s.txt"
    path.write_text("\n".join(SAMPLE_LINES * 50) + "\n", encoding="utf-8")
    figures = compute_stats(path).to_json()
    wc = subprocess.run(
        ["wc", "-l", "-c", str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert (figures["lines"], figures["bytes"]) == (int(wc[0]), int(wc[1]))
    text = path.read_text(encoding="utf-8")
    assert (figures["chars"], figures["words"]) == (len(text), len(text.split()))
    non_empty, distinct = 7 * 50, 6  # the sample has one empty line and one repeated line
    assert figures["duplicate_lines"] == non_empty - distinct and figures["duplicates_exact"]


def test_sampled_duplicates_are_flagged_as_estimates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the hash budget duplicates are estimated from sampled hashes, and the result says so."""
    monkeypatch.setattr(stats_module, "DUPLICATE_BUDGET", 2000)
    monkeypatch.setattr(stats_module, "_COMPACT_EVERY", 1000)
    lines = [f"line {i % 10_000}" for i in range(30_000)]  # 10,000 distinct, 20,000 duplicates
    path = tmp_path / "d.txt"
    path.write_text("\n".join(lines) + "\n")
    figures = compute_stats(path)
    assert not figures.duplicates_exact
    assert 12_000 < figures.duplicate_lines < 28_000


def test_longest_line_histogram_and_top_chars(tmp_path: Path) -> None:
    """The longest line is found by number; histograms count every line; controls are flagged."""
    path = tmp_path / "h.txt"
    path.write_text("ab\n\nabcdefgh ij\nx\x1by\n", encoding="utf-8")
    figures = compute_stats(path)
    assert (figures.longest_line, figures.longest_line_chars) == (3, 11)
    assert sum(b["count"] for b in log_buckets(figures.line_chars)) == 4
    flags = {char: flag for char, _, flag in figures.top_chars()}
    assert flags["\x1b"] == "control" and flags["a"] == ""


def test_binary_file_is_flagged(tmp_path: Path) -> None:
    """NUL bytes make the corpus look binary; counting still completes."""
    path = tmp_path / "b.bin.txt"
    path.write_bytes(bytes(range(256)) * 40)
    figures = compute_stats(path)
    assert figures.looks_binary and figures.nul_bytes == 40 and figures.bytes == 256 * 40


def test_empty_file_gives_zeros(tmp_path: Path) -> None:
    """An empty file has all-zero figures (not an error for stats)."""
    path = tmp_path / "e.txt"
    path.write_bytes(b"")
    figures = compute_stats(path).to_json()
    assert figures["lines"] == figures["bytes"] == figures["words"] == 0


def test_giant_line_streams_in_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A line far longer than a read block is counted correctly without holding it whole."""
    monkeypatch.setattr(stats_module, "READ_BLOCK", 4096)
    path = tmp_path / "g.txt"
    data = ("ŭa " * 20_000).encode() + b"\nend\n"
    path.write_bytes(data)
    figures = compute_stats(path)
    assert (figures.lines, figures.words, figures.chars) == (2, 20_001, len(data.decode()))
    assert figures.longest_line == 1 and figures.longest_line_chars == 60_000


def test_gz_and_records_count_their_text(corpora: dict[str, Path], tmp_path: Path) -> None:
    """A .gz counts its uncompressed text; a .jsonl counts one line per record."""
    plain = compute_stats(corpora["txt"], cache_dir=tmp_path).to_json()
    assert compute_stats(corpora["gz"], cache_dir=tmp_path).to_json()["words"] == plain["words"]
    records = compute_stats(corpora["jsonl"], cache_dir=tmp_path)
    assert records.lines == len(SAMPLE_LINES) and records.words == plain["words"]


def test_progress_and_cancel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress arrives per block, and a set cancel flag stops the pass."""
    monkeypatch.setattr(stats_module, "READ_BLOCK", 1024)
    path = tmp_path / "p.txt"
    path.write_text("some words here\n" * 2000)
    updates: list[ProgressUpdate] = []
    compute_stats(path, progress=updates.append)
    assert len(updates) > 10 and updates[-1].done == path.stat().st_size
    flag = CancelFlag()
    with pytest.raises(Cancelled):
        compute_stats(path, progress=lambda u: flag.set() if u.done else None, cancel=flag)


def test_worker_processes_give_the_same_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting line-aligned ranges in 2 processes and merging equals one pass (duplicates across ranges too)."""
    monkeypatch.setattr(stats_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(stats_module, "RANGE_BYTES", 5000)
    rng = random.Random(5)
    lines = [rng.choice(SAMPLE_LINES) + f" {rng.randrange(300)}" for _ in range(3000)]
    path = tmp_path / "p.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    updates: list[ProgressUpdate] = []
    parallel = compute_stats(path, progress=updates.append, workers=2).to_json()
    single = compute_stats(path, workers=1).to_json()
    assert parallel == single
    assert parallel == {**parallel, **_reference(path.read_bytes())}
    assert updates[-1].done == updates[-1].total
