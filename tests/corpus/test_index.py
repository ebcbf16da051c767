"""The line index: exact line starts, cached by path/size/mtime, bounded memory on giant lines."""

from __future__ import annotations

import os
import random
import tracemalloc
from pathlib import Path

import pytest

from studio.corpus import index as index_module
from studio.corpus.index import FileStamp, LineIndex, LineReader, build_line_index, load_line_index
from studio.errors import Cancelled, StudioError
from studio.progress import CancelFlag, ProgressUpdate


def _expected_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        lines = lines[:-1]
    return [line.removesuffix(b"\r") for line in lines]


def _random_corpus(seed: int) -> bytes:
    rng = random.Random(seed)
    pieces = [b"", b"a", b"word " * 3, "ĉu ŝi".encode(), b"x" * 70_000, b"crlf\r", b"\xff\xfe"]
    lines = [rng.choice(pieces) for _ in range(rng.randrange(1, 700))]
    return b"\n".join(lines) + rng.choice([b"", b"\n"])


@pytest.mark.parametrize("seed", range(6))
def test_every_line_is_found(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every line reads back exactly (long ones cut at the limit), with small chunks and strides."""
    monkeypatch.setattr(index_module, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(index_module, "FIRST_CHUNK_BYTES", 1000)
    data = _random_corpus(seed)
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    index = build_line_index(path)
    expected = _expected_lines(data)
    assert index.newlines == data.count(b"\n")
    assert index.line_count == len(expected)
    with LineReader(path, index) as reader:
        for number in [
            *range(min(80, len(expected))),
            *random.Random(seed).sample(range(len(expected)), min(50, len(expected))),
        ]:
            line = reader.read_line(number)
            if line.truncated:
                assert expected[number].startswith(line.data) and len(line.data) == reader.line_limit
            else:
                assert line.data == expected[number]
        assert [raw.data for raw in reader.read_lines(0, 5)] == [e[: reader.line_limit] for e in expected[:5]]


def test_index_is_cached_and_invalidated(tmp_path: Path) -> None:
    """A second load comes from the cache; a changed file gets a new index."""
    path = tmp_path / "c.txt"
    path.write_bytes(b"one\ntwo\n")
    cache = tmp_path / "cache"
    first = load_line_index(path, cache)
    notes: list[str] = []
    again = load_line_index(path, cache, progress=lambda u: notes.append(u.note))
    assert notes == ["cached"] and again.line_count == first.line_count == 2
    with open(path, "ab") as handle:
        handle.write(b"three\n")
    os.utime(path, ns=(1, 1))  # a different mtime, as a real edit would give
    assert load_line_index(path, cache).line_count == 3


def test_works_without_a_cache_dir(tmp_path: Path) -> None:
    """With no cache folder the index is simply built (no workspace needed)."""
    path = tmp_path / "c.txt"
    path.write_bytes(b"a\nb")
    assert load_line_index(path).line_count == 2


def test_progress_and_cancel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build reports progress in bytes and stops with Cancelled when asked."""
    monkeypatch.setattr(index_module, "CHUNK_BYTES", 1024)
    monkeypatch.setattr(index_module, "FIRST_CHUNK_BYTES", 1024)
    path = tmp_path / "c.txt"
    path.write_bytes(b"line\n" * 5000)
    updates: list[ProgressUpdate] = []
    build_line_index(path, progress=updates.append)
    assert updates[-1].done == updates[-1].total == path.stat().st_size
    flag = CancelFlag()

    def cancel_after_first(update: ProgressUpdate) -> None:
        if update.done:
            flag.set()

    with pytest.raises(Cancelled):
        build_line_index(path, progress=cancel_after_first, cancel=flag)


def test_partial_index_serves_lines_while_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines indexed so far can be read before the build finishes (the first page comes first)."""
    monkeypatch.setattr(index_module, "CHUNK_BYTES", 1024)
    monkeypatch.setattr(index_module, "FIRST_CHUNK_BYTES", 1024)
    path = tmp_path / "c.txt"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(2000)))
    index = LineIndex(FileStamp.of(path))
    seen: list[bytes] = []

    def peek(update: ProgressUpdate) -> None:
        if update.done and not seen:
            assert not index.complete and index.line_count > 0
            with LineReader(path, index) as reader:
                seen.append(reader.read_line(index.line_count - 1).data)

    build_line_index(path, progress=peek, into=index)
    assert seen and seen[0].startswith(b"line ")


def test_giant_line_memory_is_bounded(tmp_path: Path) -> None:
    """A single 24 MB line with no newline: the index stays tiny and reading its start costs ~64 KiB."""
    path = tmp_path / "giant.txt"
    with open(path, "wb") as handle:
        for _ in range(24):
            handle.write(b"y" * (1 << 20))
    index = build_line_index(path)
    assert index.line_count == 1 and index.newlines == 0
    assert index.memory_bytes < 64 * 1024
    tracemalloc.start()
    with LineReader(path, index) as reader:
        line = reader.read_line(0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert line.truncated and len(line.data) == reader.line_limit
    assert peak < 1 << 20


def test_lines_after_a_giant_line_need_no_rescan(tmp_path: Path) -> None:
    """The line after a long line starts at a recorded checkpoint, so a jump skips only short lines."""
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"short\n" + b"z" * 3_000_000 + b"\nafter\nend")
    index = build_line_index(path)
    assert index.checkpoint_for(2) == (2, 6 + 3_000_001)
    with LineReader(path, index) as reader:
        assert [raw.data[:5] for raw in reader.read_lines(0, 4)] == [b"short", b"zzzzz", b"after", b"end"]


def test_shrinking_file_reads_safely(tmp_path: Path) -> None:
    """A file truncated after indexing reads short (pread), never crashes with SIGBUS."""
    path = tmp_path / "c.txt"
    path.write_bytes(b"line\n" * 1000)
    index = build_line_index(path)
    with open(path, "r+b") as handle:
        handle.truncate(100)
    with LineReader(path, index) as reader:
        rows = reader.read_lines(900, 10)
    assert all(raw.data == b"" for raw in rows)
    assert FileStamp.of(path) != index.stamp


def test_missing_file_is_a_studio_error(tmp_path: Path) -> None:
    """Indexing a missing file is a clear error."""
    with pytest.raises(StudioError, match="no such file"):
        build_line_index(tmp_path / "nope.txt")
