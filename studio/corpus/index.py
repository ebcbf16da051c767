"""A line-offset index over a plain text file, built with numpy over `mmap`, cached on disk.

The index is sparse so that memory stays flat however big the file: it keeps the byte offset of
every `STRIDE`-th line (a numpy int64 array: 50 million lines cost 6 MB, not 400 MB), plus the
start of every line that follows a *long* line (longer than `LONG_LINE_BYTES`). To find line `n`
the reader starts at the nearest checkpoint at or before `n` and skips the few lines between;
the long-line checkpoints guarantee that those skipped lines are short, so a jump reads at most
about `STRIDE * LONG_LINE_BYTES` bytes and usually one 64 KiB block, even past a 2 GB line.

Lines follow `wc -l`: `newlines` is the number of `\\n` bytes; a last line without a final
newline is still a line to show (`line_count`). A trailing `\\r` (CRLF) is dropped from the text.

The builder fills a `LineIndex` in place, chunk by chunk, so the viewer can show lines that are
already indexed while the rest is scanned. `load_line_index` reuses a cached index (keyed by the
resolved path, size and modification time) from a cache folder, e.g. the workspace's `.cache/`;
with no cache folder it simply builds one.

Reading uses `os.pread`, not the mmap: a file truncated under an open mmap kills the process with
SIGBUS on access, while `pread` just returns fewer bytes. The build itself checks the file's size
between chunks and stops with a clear error if it shrank.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.progress import CancelFlag, ProgressCallback, ProgressUpdate, no_progress

STRIDE = 64
LONG_LINE_BYTES = 64 * 1024
FIRST_CHUNK_BYTES = 1 << 20  # small, so the first lines are indexed (and shown) within milliseconds
CHUNK_BYTES = 16 << 20
SCAN_BYTES = 2 << 20  # a chunk is searched in slices that stay in the CPU cache (~1.2x faster)
READ_BLOCK = 64 * 1024
INDEX_CACHE_FOLDER = "line-index"
_CACHE_VERSION = 1


@dataclass(frozen=True)
class FileStamp:
    """What identifies one version of a file: resolved path, size and modification time."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str | Path) -> FileStamp:
        resolved = Path(path).resolve()
        try:
            stat = resolved.stat()
        except FileNotFoundError:
            raise StudioError(f"{path}: no such file", "check the path") from None
        except PermissionError:
            raise StudioError(f"{path}: permission denied", "make it readable (chmod +r)") from None
        return cls(str(resolved), stat.st_size, stat.st_mtime_ns)

    def cache_key(self) -> str:
        return hashlib.sha1(f"{self.path}|{self.size}|{self.mtime_ns}".encode()).hexdigest()[:24]


class LineIndex:
    """Sparse line starts of one file version; filled in place by `build_line_index`."""

    def __init__(self, stamp: FileStamp, stride: int = STRIDE) -> None:
        self.stamp = stamp
        self.stride = stride
        self._strided = np.zeros(1024, dtype=np.int64)  # offset of line k*stride; line 0 at 0
        self._strided_count = 1
        self._long_lines = np.zeros(0, dtype=np.int64)  # line numbers that follow a long line
        self._long_offsets = np.zeros(0, dtype=np.int64)  # ... and their start offsets
        self.newlines = 0  # `\n` bytes found so far (equals `wc -l` once complete)
        self.scanned_bytes = 0
        self.complete = False
        self._last_newline = -1  # offset of the last `\n` found so far

    @property
    def size(self) -> int:
        return self.stamp.size

    @property
    def line_count(self) -> int:
        """Lines that can be shown: whole lines found so far, plus an unterminated last line."""
        tail = 1 if self.complete and self.size > self._last_newline + 1 else 0
        return self.newlines + tail

    @property
    def memory_bytes(self) -> int:
        return self._strided.nbytes + self._long_lines.nbytes + self._long_offsets.nbytes

    def checkpoint_for(self, line: int) -> tuple[int, int]:
        """The nearest indexed (line, offset) at or before `line`."""
        k = min(line // self.stride, self._strided_count - 1)
        best_line, best_offset = k * self.stride, int(self._strided[k])
        pos = int(np.searchsorted(self._long_lines, line, side="right")) - 1
        if pos >= 0 and self._long_lines[pos] > best_line:
            best_line, best_offset = int(self._long_lines[pos]), int(self._long_offsets[pos])
        return best_line, best_offset

    # -- building ---------------------------------------------------------------------------

    def _add_chunk(self, newline_positions: np.ndarray) -> None:
        """Record the newlines of one chunk (absolute offsets, ascending)."""
        if not len(newline_positions):
            return
        first_line_after = self.newlines + 1  # the line that starts after newline_positions[0]
        skip = (-first_line_after) % self.stride
        starts = newline_positions[skip :: self.stride] + 1
        self._append_strided(starts[starts < self.size])
        lengths = np.diff(newline_positions, prepend=self._last_newline) - 1
        long_at = np.flatnonzero(lengths > LONG_LINE_BYTES)
        if len(long_at):
            after = newline_positions[long_at] + 1
            keep = after < self.size
            self._long_lines = np.concatenate([self._long_lines, (first_line_after + long_at)[keep]])
            self._long_offsets = np.concatenate([self._long_offsets, after[keep]])
        self._last_newline = int(newline_positions[-1])
        self.newlines += len(newline_positions)

    def _append_strided(self, starts: np.ndarray) -> None:
        needed = self._strided_count + len(starts)
        if needed > len(self._strided):
            grown = np.zeros(max(needed, 2 * len(self._strided)), dtype=np.int64)
            grown[: self._strided_count] = self._strided[: self._strided_count]
            self._strided = grown  # readers holding the old array still see valid values
        self._strided[self._strided_count : needed] = starts
        self._strided_count = needed

    # -- cache ------------------------------------------------------------------------------

    def save(self, target: Path) -> None:
        """Write a complete index atomically (temp file + rename)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                np.savez(
                    out,
                    version=_CACHE_VERSION,
                    stride=self.stride,
                    strided=self._strided[: self._strided_count],
                    long_lines=self._long_lines,
                    long_offsets=self._long_offsets,
                    counts=np.array([self.newlines, self._last_newline], dtype=np.int64),
                )
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, source: Path, stamp: FileStamp) -> LineIndex | None:
        """A cached index, or None if it is missing, unreadable or from another version."""
        try:
            with np.load(source) as data:
                if int(data["version"]) != _CACHE_VERSION:
                    return None
                index = cls(stamp, int(data["stride"]))
                index._strided = data["strided"].astype(np.int64)
                index._strided_count = len(index._strided)
                index._long_lines = data["long_lines"].astype(np.int64)
                index._long_offsets = data["long_offsets"].astype(np.int64)
                index.newlines, index._last_newline = (int(x) for x in data["counts"])
        except (OSError, KeyError, ValueError):
            return None
        index.scanned_bytes = stamp.size
        index.complete = True
        return index


def build_line_index(
    path: str | Path,
    progress: ProgressCallback = no_progress,
    cancel: CancelFlag | None = None,
    into: LineIndex | None = None,
) -> LineIndex:
    """Scan a plain text file for newlines (numpy over mmap, chunked) and return its index.

    Pass `into` (a fresh `LineIndex` for the file) to watch it fill while this runs in a thread.
    Raises `StudioError` if the file shrinks while it is scanned, `Cancelled` when cancelled.
    """
    index = into if into is not None else LineIndex(FileStamp.of(path))
    size = index.size
    progress(ProgressUpdate("index", 0, size))
    if size == 0:
        index.complete = True
        return index
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ) as mapped:
        with contextlib.suppress(AttributeError, OSError):  # read ahead: fewer, cheaper page faults
            mapped.madvise(mmap.MADV_SEQUENTIAL)
        position = 0
        chunk = FIRST_CHUNK_BYTES
        while position < size:
            if cancel is not None:
                cancel.check()
            if os.fstat(handle.fileno()).st_size < size:
                raise StudioError(f"{path}: the file shrank while it was being indexed", "reload it")
            count = min(chunk, size - position)
            index._add_chunk(_newline_positions(mapped, position, count))
            position += count
            index.scanned_bytes = position
            progress(ProgressUpdate("index", position, size, f"{index.newlines:,} lines"))
            chunk = CHUNK_BYTES
    index.complete = True
    return index


def _newline_positions(mapped: mmap.mmap, start: int, count: int) -> np.ndarray:
    """Absolute offsets of the `\\n` bytes in mapped[start:start + count], ascending."""
    found = []
    for offset in range(start, start + count, SCAN_BYTES):
        data = np.frombuffer(
            mapped, dtype=np.uint8, count=min(SCAN_BYTES, start + count - offset), offset=offset
        )
        found.append(np.flatnonzero(data == 10) + offset)
        del data  # release the buffer export so the mmap can close
    return np.concatenate(found) if len(found) > 1 else found[0]


def index_cache_path(cache_dir: str | Path, stamp: FileStamp) -> Path:
    return Path(cache_dir) / INDEX_CACHE_FOLDER / f"{stamp.cache_key()}.npz"


def load_line_index(
    path: str | Path,
    cache_dir: str | Path | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelFlag | None = None,
    into: LineIndex | None = None,
) -> LineIndex:
    """The index of a file: from `cache_dir` when it holds one for this exact version, else built
    (and saved there). Works without a workspace: with no `cache_dir` nothing is cached."""
    stamp = into.stamp if into is not None else FileStamp.of(path)
    if cache_dir is not None:
        cached = LineIndex.load(index_cache_path(cache_dir, stamp), stamp)
        if cached is not None:
            if into is not None:
                into.__dict__.update(cached.__dict__)
                cached = into
            progress(ProgressUpdate("index", stamp.size, stamp.size, "cached"))
            return cached
    index = build_line_index(path, progress, cancel, into)
    if cache_dir is not None:
        with contextlib.suppress(OSError):  # an unwritable cache only costs a rescan next time
            index.save(index_cache_path(cache_dir, stamp))
    return index


@dataclass(frozen=True)
class RawLine:
    """A line's bytes (without `\\n`/`\\r\\n`), cut at the read limit when `truncated`."""

    data: bytes
    truncated: bool = False


class LineReader:
    """Random access to the lines of one indexed file, with `os.pread` (safe if the file shrinks)."""

    def __init__(self, path: str | Path, index: LineIndex, line_limit: int = LONG_LINE_BYTES) -> None:
        self.path = Path(path)
        self.index = index
        self.line_limit = line_limit
        self._fd = -1
        self._fd = os.open(self.path, os.O_RDONLY)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()

    def __enter__(self) -> LineReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def line_start(self, line: int) -> int:
        """Byte offset where `line` starts (0-based)."""
        at_line, offset = self.index.checkpoint_for(line)
        block, block_start = b"", offset
        while at_line < line:
            found = block.find(b"\n", offset - block_start)
            if found < 0:  # read on from where we are; one block usually covers all skipped lines
                block_start = offset = max(offset, block_start + len(block))
                block = os.pread(self._fd, READ_BLOCK, offset)
                if not block:
                    return offset
                continue
            offset = block_start + found + 1
            at_line += 1
        return offset

    def read_lines(self, first: int, count: int) -> list[RawLine]:
        """Up to `count` lines from `first`, each cut at `line_limit` bytes."""
        last = min(first + count, self.index.line_count)
        lines: list[RawLine] = []
        if first >= last:
            return lines
        offset = self.line_start(first)
        buffer = b""
        for number in range(first, last):
            if len(buffer) <= self.line_limit:
                buffer += os.pread(self._fd, max(READ_BLOCK, self.line_limit + 1), offset + len(buffer))
            end = buffer.find(b"\n", 0, self.line_limit + 1)
            if end >= 0:
                lines.append(RawLine(buffer[:end].removesuffix(b"\r")))
                offset += end + 1
                buffer = buffer[end + 1 :]
            elif len(buffer) <= self.line_limit:  # the file ends inside this line
                lines.append(RawLine(buffer.removesuffix(b"\r")))
                break
            else:
                lines.append(RawLine(buffer[: self.line_limit], truncated=True))
                if number + 1 < last:
                    offset, buffer = self.line_start(number + 1), b""
        return lines

    def read_line(self, line: int) -> RawLine:
        found = self.read_lines(line, 1)
        return found[0] if found else RawLine(b"")
