"""Corpus statistics in one streamed pass, vectorised with numpy, with progress and cancel.

Definitions (what `studio corpus stats --json` prints, names as in DESIGN.md):

- `lines`: `\\n` bytes, as `wc -l`; `bytes`: as `wc -c` (for `.gz`, the uncompressed text; for
  record formats, the materialised text: one record per line, see `studio.corpus.document`);
- `chars`: `len(text)` of the decoded text (invalid bytes count as one U+FFFD each);
- `words`: `len(text.split())`, Unicode whitespace included;
- `empty_lines`: lines with no characters (a lone `\\r` of CRLF counts as empty);
- `duplicate_lines`: non-empty lines that repeat an earlier line exactly, found by hashing.
  Exact while the distinct lines fit a fixed budget (`DUPLICATE_BUDGET` hashes); beyond that the
  hashes are sampled (a line is kept when its hash has `k` low zero bits, so all copies of a line
  are kept or dropped together) and the count is an estimate, and `duplicates_exact` says so.
  Lines of a read block (2 MiB) or more are not checked;
- `invalid_utf8_lines`: lines that are not valid UTF-8.

Speed comes from never looping over characters in Python: the file is read in 2 MiB blocks cut
at a newline (small enough that numpy's passes over a block stay in the CPU cache); byte counts
come from one `bincount` over 16-bit pairs; UTF-8 is checked and decoded from the lead bytes
alone (the byte counts say how many continuation bytes there must be), and characters are bytes
minus continuation bytes; words are transitions from whitespace to non-whitespace (ASCII by a
lookup table, multi-byte spaces such as U+00A0 marked from their lead bytes); per-line figures
are sums over line spans (`reduceat`, `searchsorted`); code points are counted with `bincount`.
Only duplicate hashing touches each line from Python (`split`, `map(hash, ...)`, in C); the
hashes are kept sorted and merged by sorting, never `np.unique` (hash-based from numpy 2.3,
~100x slower on millions of distinct 64-bit values).

Big corpora are counted by worker processes, one per CPU, each over line-aligned ranges of the
file; their figures add up (histograms and character counts add, the longest line is the first
longest in file order, per-range sorted hash sets merge into the duplicate count), so the result
is the one a single pass gives.
"""

from __future__ import annotations

import contextlib
import os
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.corpus.document import CorpusDocument
from studio.errors import Cancelled, StudioError
from studio.progress import CancelFlag, ProgressCallback, ProgressUpdate, no_progress
from studio.text import is_unusual, visible

READ_BLOCK = 2 << 20  # numpy passes over a block stay in the CPU cache: 2 MiB was ~1.5x faster than 8
PARALLEL_MIN_BYTES = 256 << 20  # below this, starting worker processes costs more than it saves
AUTO_WORKERS = 8  # worker processes at most when the caller leaves it to us (one per CPU)
RANGE_BYTES = 64 << 20  # the largest share of a file one worker process counts at a time
PROGRESS_SECONDS = 0.1
DUPLICATE_BUDGET = 8_000_000  # distinct line hashes kept exactly (64 MB)
_COMPACT_EVERY = 2_000_000
CHAR_LENGTH_CAP = 4096  # line lengths at or above the cap share the last histogram bin
WORD_LENGTH_CAP = 1024
TOP_CHARS = 40
# The characters `str.split()` treats as whitespace: ASCII ones by byte, others by code point.
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_RARE_CONTROLS = np.array([*range(0, 9), *range(14, 28)])
_NONE = np.zeros(0, dtype=np.int64)
_ZERO = np.zeros(1, dtype=np.int64)
_UNICODE_SPACES = np.array(
    [0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000], dtype=np.int64
)


@dataclass
class CorpusStats:
    """The figures of a corpus; `to_json()` gives the documented JSON object."""

    path: str
    files: int = 0
    lines: int = 0
    bytes: int = 0
    chars: int = 0
    words: int = 0
    distinct_chars: int = 0
    empty_lines: int = 0
    duplicate_lines: int = 0
    duplicates_exact: bool = True
    invalid_utf8_lines: int = 0
    longest_line: int = 0  # 1-based line number of the longest line (0 if none)
    longest_line_chars: int = 0
    nul_bytes: int = 0
    unterminated_last_line: bool = False
    char_counts: dict[str, int] = field(default_factory=dict)
    line_chars: np.ndarray = field(default_factory=lambda: np.zeros(CHAR_LENGTH_CAP + 1, dtype=np.int64))
    line_words: np.ndarray = field(default_factory=lambda: np.zeros(WORD_LENGTH_CAP + 1, dtype=np.int64))

    @property
    def looks_binary(self) -> bool:
        return self.nul_bytes > 0

    def top_chars(self, count: int = TOP_CHARS) -> list[tuple[str, int, str]]:
        """The most frequent characters but `\\n`, as (char, count, flag); flag is '', 'control',
        'unusual' or 'rare script'."""
        counts = (item for item in self.char_counts.items() if item[0] != "\n")  # the line separator
        ranked = sorted(counts, key=lambda item: (-item[1], item[0]))[:count]
        main_scripts = _main_scripts(self.char_counts)
        return [(char, n, _flag(char, main_scripts)) for char, n in ranked]

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "files": self.files,
            "lines": self.lines,
            "bytes": self.bytes,
            "chars": self.chars,
            "words": self.words,
            "distinct_chars": self.distinct_chars,
            "empty_lines": self.empty_lines,
            "duplicate_lines": self.duplicate_lines,
            "duplicates_exact": self.duplicates_exact,
            "invalid_utf8_lines": self.invalid_utf8_lines,
            "longest_line": self.longest_line,
            "longest_line_chars": self.longest_line_chars,
            "nul_bytes": self.nul_bytes,
            "looks_binary": self.looks_binary,
            "top_chars": [
                {"char": char, "shown": visible(char), "count": n, "flag": flag}
                for char, n, flag in self.top_chars()
            ],
            "line_length_histogram": {
                "chars": log_buckets(self.line_chars),
                "words": log_buckets(self.line_words),
            },
        }


def log_buckets(counts: np.ndarray) -> list[dict[str, int]]:
    """Collapse exact per-length counts into 0, 1, 2-3, 4-7, ... buckets (the last one open-ended)."""
    buckets = []
    low = 0
    cap = len(counts) - 1
    while low <= cap:
        high = 0 if low == 0 else min(2 * low - 1, cap)
        total = int(counts[low : high + 1].sum()) if low < cap else int(counts[cap])
        buckets.append({"min": low, "max": high if low < cap else -1, "count": total})
        low = high + 1
    while buckets and buckets[-1]["count"] == 0:
        buckets.pop()
    return buckets


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def _main_scripts(counts: dict[str, int]) -> set[str]:
    """Scripts of letters that make up at least 1 % of all letters."""
    by_script: dict[str, int] = {}
    for char, n in counts.items():
        if char.isalpha():
            by_script[_script(char)] = by_script.get(_script(char), 0) + n
    total = sum(by_script.values()) or 1
    return {script for script, n in by_script.items() if n / total >= 0.01}


def _flag(char: str, main_scripts: set[str]) -> str:
    if is_unusual(char) or char == "\ufffd":
        return "control" if unicodedata.category(char) == "Cc" else "unusual"
    if char.isalpha() and _script(char) not in main_scripts:
        return "rare script"
    return ""


class _Accumulator:
    """Running figures over pieces of text; a piece starts at a line start unless it continues
    a line longer than a read block (`carry_*` holds that line's figures so far)."""

    def __init__(self) -> None:
        self.byte_counts = np.zeros(256, dtype=np.int64)
        self.code_points: dict[int, int] = {}
        self.stats_lines = 0
        self.total_bytes = 0
        self.chars = 0
        self.words = 0
        self.empty = 0
        self.invalid = 0
        self.line_chars = np.zeros(CHAR_LENGTH_CAP + 1, dtype=np.int64)
        self.line_words = np.zeros(WORD_LENGTH_CAP + 1, dtype=np.int64)
        self.longest_chars = -1
        self.longest_line = 0
        self.lines_done = 0  # whole lines finished so far (line numbers)
        self.carry_bytes = self.carry_chars = self.carry_words = 0
        self.carry_invalid = False
        self.carry_cr = False  # the carried part ends with `\r`
        self.previous_ends_in_word = False
        self.hash_parts: list[np.ndarray] = []
        self.hash_pending = 0
        self.hashes = np.zeros(0, dtype=np.int64)
        self.sample_bits = 0
        self.duplicates = 0

    def add_piece(self, piece: bytes, ends_line: bool) -> None:
        """Count one piece; `ends_line` is True when it ends at a newline or the end of a file."""
        data = np.frombuffer(piece, dtype=np.uint8)
        size = len(data)
        if size == 0:
            return
        self.total_bytes += size
        counts = _byte_counts(data)
        self.byte_counts += counts
        newlines = np.flatnonzero(data == 10)
        self.stats_lines += len(newlines)
        ascii_only = not counts[128:].any()
        multi_byte = None if ascii_only else _decode_utf8(data, counts)
        valid = ascii_only or multi_byte is not None
        text = None
        # Continuation bytes, `extra_cum[i]` of them before `extra_at[i]`: a line's characters
        # are its bytes minus its continuation bytes.
        extra_at, extra_cum = _NONE, _ZERO
        seen = _NONE
        unicode_spaces = _NONE  # lead bytes of multi-byte whitespace
        if ascii_only:
            self.chars += size
        elif multi_byte is not None:
            leads, extra, code_points = multi_byte
            extra_at, extra_cum = leads, np.concatenate([_ZERO, np.cumsum(extra, dtype=np.int64)])
            self.chars += size - int(extra_cum[-1])
            seen = self._add_code_points(code_points)
            if np.isin(seen, _UNICODE_SPACES).any():
                unicode_spaces = leads[np.isin(code_points, _UNICODE_SPACES)]
        else:
            text = piece.decode("utf-8", "replace")
            self.chars += len(text)
            extra_at = np.flatnonzero((data & 0xC0) == 0x80)
            extra_cum = np.arange(len(extra_at) + 1)
            code_points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            seen = self._add_code_points(code_points[code_points >= 128])
            if np.isin(seen, _UNICODE_SPACES).any():
                unicode_spaces = _unicode_space_leads(data)

        # `<= 32` is one fast comparison; the lookup table is needed only if rare controls occur
        space = _ASCII_SPACE[data] if counts[_RARE_CONTROLS].any() else data <= 32
        if len(unicode_spaces):  # all bytes of U+00A0, U+3000... are spaces (2 bytes below U+0800)
            space[unicode_spaces] = space[unicode_spaces + 1] = True
            space[unicode_spaces[data[unicode_spaces] >= 0xE0] + 2] = True
        # 1 where a word starts (a non-space after a space): a mask summed per line by `reduceat`
        # costs a third of listing the positions and searching them. A piece that goes on with a
        # word of the previous one (a line over a read block) starts no word at its first byte.
        continues_word = self.previous_ends_in_word
        word_start = np.empty(size, dtype=np.uint8)
        word_start[0] = not space[0] and not continues_word
        np.greater(space[:-1].view(np.uint8), space[1:].view(np.uint8), out=word_start[1:])
        if not valid and np.isin(seen, _UNICODE_SPACES).any():  # rare: str.split() counts the words
            decoded = text if text is not None else piece.decode("utf-8", "replace")
            self.words += len(decoded.split()) - (continues_word and not decoded[0].isspace())
            self.previous_ends_in_word = not decoded[-1].isspace()
        else:
            self.words += int(np.count_nonzero(word_start))
            self.previous_ends_in_word = not space[-1]

        self._per_line(piece, data, newlines, (extra_at, extra_cum), word_start, ends_line, valid)

    def _per_line(
        self,
        piece: bytes,
        data: np.ndarray,
        newlines: np.ndarray,
        continuation: tuple[np.ndarray, np.ndarray],
        word_start: np.ndarray,
        ends_line: bool,
        valid: bool,
    ) -> None:
        size = len(data)
        ends = (
            newlines
            if not ends_line or (len(newlines) and newlines[-1] == size - 1)
            else np.append(newlines, size)
        )
        starts = np.concatenate([[0], ends[:-1] + 1]) if len(ends) else np.zeros(0, dtype=np.int64)
        byte_len = ends - starts
        has_cr = np.zeros(len(ends), dtype=bool)
        inside = ends > starts
        has_cr[inside] = data[ends[inside] - 1] == 13
        carried = self.carry_bytes > 0
        if carried and len(ends) and ends[0] == 0:  # the line's `\r` may end the previous piece
            has_cr[0] = self.carry_cr
        extra_at, extra_cum = continuation
        bounds = np.concatenate([starts[:1], ends])
        chars = byte_len - has_cr - np.diff(extra_cum[np.searchsorted(extra_at, bounds)])
        # line i spans starts[i]..ends[i] (its newline is a space, never a word start)
        line_end = min(int(ends[-1]) + 1, size) if len(ends) else 0
        # summing in int32 is 3x faster and holds a block's words; int64 after, for carried lines
        words = (
            np.add.reduceat(word_start[:line_end], starts, dtype=np.int32).astype(np.int64)
            if len(ends)
            else byte_len
        )
        if len(ends):
            chars[0] += self.carry_chars
            words[0] += self.carry_words
            byte_len[0] += self.carry_bytes
            self.empty += int(np.count_nonzero(byte_len - has_cr == 0))
            self.line_chars += np.bincount(np.minimum(chars, CHAR_LENGTH_CAP), minlength=CHAR_LENGTH_CAP + 1)
            self.line_words += np.bincount(np.minimum(words, WORD_LENGTH_CAP), minlength=WORD_LENGTH_CAP + 1)
            longest = int(np.argmax(chars))
            if chars[longest] > self.longest_chars:
                self.longest_chars, self.longest_line = int(chars[longest]), self.lines_done + longest + 1
            if not valid or self.carry_invalid:
                self.invalid += _invalid_lines(piece[: int(ends[-1])], self.carry_invalid)
            self._add_hashes(piece, ends, byte_len, skip_first=carried)
            self.lines_done += len(ends)
            self.carry_bytes = self.carry_chars = self.carry_words = 0
            self.carry_invalid = False
        tail_start = int(ends[-1]) + 1 if len(ends) else 0
        if tail_start < size:  # part of a line that continues in the next piece
            self.carry_bytes += size - tail_start
            self.carry_cr = bool(data[-1] == 13)
            tail_extra = extra_cum[-1] - extra_cum[np.searchsorted(extra_at, tail_start)]
            self.carry_chars += int(size - tail_start - tail_extra)
            self.carry_words += int(np.count_nonzero(word_start[tail_start:]))
            if not valid:
                self.carry_invalid = self.carry_invalid or not _is_utf8(piece[tail_start:])

    def _add_code_points(self, code_points: np.ndarray) -> np.ndarray:
        """Count code points; return the distinct ones of this piece."""
        all_counts = np.bincount(code_points)  # far cheaper than np.unique for a few distinct values
        values = np.flatnonzero(all_counts)
        counts = all_counts[values]
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            self.code_points[value] = self.code_points.get(value, 0) + count
        return values

    def _add_hashes(self, piece: bytes, ends: np.ndarray, byte_len: np.ndarray, skip_first: bool) -> None:
        parts = piece.split(b"\n")
        del parts[len(ends) :]  # one part per line end (not a carried tail); no 2 MB slice copy
        hashes = np.fromiter(map(hash, parts), dtype=np.int64, count=len(parts))
        keep = byte_len > 0
        if skip_first:
            keep[0] = False
        hashes = self._sampled(hashes[keep])
        self.hash_parts.append(hashes)
        self.hash_pending += len(hashes)
        if self.hash_pending >= _COMPACT_EVERY:
            self._compact()

    def compact(self) -> None:
        """Fold pending line hashes into the sorted distinct set (and sample if over budget)."""
        self._compact()

    def merge(self, other: _Accumulator) -> None:
        """Add the figures of the range that follows this one (counted separately). Its distinct
        line hashes join the pending ones: a hash also seen in this or another range counts as
        a duplicate when they are compacted."""
        for name in ("stats_lines", "total_bytes", "chars", "words", "empty", "invalid"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.byte_counts += other.byte_counts
        self.line_chars += other.line_chars
        self.line_words += other.line_words
        for value, count in other.code_points.items():
            self.code_points[value] = self.code_points.get(value, 0) + count
        if other.longest_chars > self.longest_chars:
            self.longest_chars = other.longest_chars
            self.longest_line = self.lines_done + other.longest_line
        self.lines_done += other.lines_done
        if other.hash_parts:
            other._compact()
        if other.sample_bits > self.sample_bits:  # keep only what the other range kept
            self.sample_bits = other.sample_bits
            self.hashes = self._sampled(self.hashes)
            self.hash_parts = [self._sampled(part) for part in self.hash_parts]
            self.hash_pending = sum(len(part) for part in self.hash_parts)
        self.duplicates += other.duplicates
        self.hash_parts.append(self._sampled(other.hashes))
        self.hash_pending += len(self.hash_parts[-1])
        if self.hash_pending >= _COMPACT_EVERY:
            self._compact()

    def _sampled(self, hashes: np.ndarray) -> np.ndarray:
        return hashes[(hashes & ((1 << self.sample_bits) - 1)) == 0] if self.sample_bits else hashes

    def _compact(self) -> None:
        # `self.hashes` is already sorted: sort only the new ones, and a stable sort (timsort)
        # of the two sorted runs is a linear merge, not a fresh sort of everything.
        pending = np.sort(np.concatenate(self.hash_parts)) if self.hash_parts else self.hashes[:0]
        combined = np.sort(np.concatenate([self.hashes, pending]), kind="stable")
        self.hash_parts, self.hash_pending = [], 0
        unique = _distinct_of_sorted(combined)
        self.duplicates += (len(combined) - len(unique)) << self.sample_bits
        while len(unique) > DUPLICATE_BUDGET:
            self.sample_bits += 1
            unique = unique[(unique & ((1 << self.sample_bits) - 1)) == 0]
        self.hashes = unique

    def finish(self, stats: CorpusStats) -> None:
        self._compact()
        counts: dict[str, int] = {chr(b): int(n) for b, n in enumerate(self.byte_counts[:128].tolist()) if n}
        counts.update((chr(cp), n) for cp, n in self.code_points.items())
        stats.lines = self.stats_lines
        stats.bytes = self.total_bytes
        stats.chars = self.chars
        stats.words = self.words
        stats.distinct_chars = len(counts)
        stats.empty_lines = self.empty
        stats.duplicate_lines = self.duplicates
        stats.duplicates_exact = self.sample_bits == 0
        stats.invalid_utf8_lines = self.invalid
        stats.longest_line = self.longest_line
        stats.longest_line_chars = max(self.longest_chars, 0)
        stats.nul_bytes = int(self.byte_counts[0])
        stats.char_counts = counts
        stats.line_chars = self.line_chars
        stats.line_words = self.line_words


def _distinct_of_sorted(ordered: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array. Not `np.unique`: from numpy 2.3 it hashes, which is
    ~100x slower than sorting on millions of random 64-bit line hashes."""
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _byte_counts(data: np.ndarray) -> np.ndarray:
    """Counts of each byte value: one bincount over 16-bit pairs is ~3x faster than over bytes."""
    even = len(data) - len(data) % 2
    pairs = np.bincount(data[:even].view(np.uint16), minlength=65536).reshape(256, 256)
    counts = pairs.sum(axis=0) + pairs.sum(axis=1)
    if even < len(data):
        counts[data[-1]] += 1
    return counts


def _decode_utf8(data: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The multi-byte characters of `data` as (lead byte positions, continuation bytes after each
    lead, code points), or None if `data` is not valid UTF-8: the verdict of CPython's strict
    decoder, checked from the lead bytes alone (~3x cheaper than decoding the whole piece).

    Valid means: no byte that never occurs in UTF-8 (C0, C1, F5-FF); each lead is followed by as
    many continuation bytes as it announces and there are no others (their total, from the byte
    counts, equals the sum announced); no overlong form, surrogate, or code point over U+10FFFF."""
    if counts[0xC0] or counts[0xC1] or counts[0xF5:].any():
        return None
    leads = np.flatnonzero(data >= 0xC0)
    # `take` is ~8x faster than fancy indexing; clipped at the end, where a character cut short
    # is caught by the position check below
    b0 = data.take(leads).astype(np.int32)
    b1 = data.take(leads + 1, mode="clip").astype(np.int32)
    code_points = ((b0 & 0x1F) << 6) | (b1 & 0x3F)  # right for two-byte characters
    extra = np.ones(len(leads), dtype=np.int8)
    bad = (b1 & 0xC0) != 0x80
    if counts[0xE0:].any():  # three- and four-byte characters: often few, worked out apart
        wide = np.flatnonzero(b0 >= 0xE0)
        at, w0, w1 = leads.take(wide), b0.take(wide), b1.take(wide)
        w2 = data.take(at + 2, mode="clip").astype(np.int32)
        four = w0 >= 0xF0
        wide_points = ((w0 & 0x0F) << 12) | ((w1 & 0x3F) << 6) | (w2 & 0x3F)
        wide_bad = (w2 & 0xC0) != 0x80
        if four.any():
            w3 = data.take(at + 3, mode="clip").astype(np.int32)
            wide_points = np.where(four, ((wide_points & 0x7FFF) << 6) | (w3 & 0x3F), wide_points)
            wide_bad |= four & ((w3 & 0xC0) != 0x80)
        shortest = np.where(four, 0x10000, 0x800)
        surrogate = (wide_points >= 0xD800) & (wide_points <= 0xDFFF)
        if (
            wide_bad.any()
            or (wide_points < shortest).any()
            or surrogate.any()
            or (wide_points > 0x10FFFF).any()
        ):
            return None  # not continuation bytes, an overlong form, a surrogate, or past U+10FFFF
        code_points[wide] = wide_points
        extra[wide] = 2 + four
    if int(extra.sum()) != int(counts[0x80:0xC0].sum()) or (leads[-3:] + extra[-3:] >= len(data)).any():
        return None  # stray or missing continuation bytes, or a last character cut short
    if bad.any():
        return None
    return leads, extra, code_points


def _unicode_space_leads(data: np.ndarray) -> np.ndarray:
    """Lead bytes of the multi-byte whitespace in bytes that are not valid UTF-8 as a whole: the
    replacing decoder still reads each well-formed character as itself (all these characters are
    two or three bytes long, U+0085 to U+3000)."""
    leads = np.flatnonzero((data >= 0xC2) & (data <= 0xE3))
    b0 = data.take(leads).astype(np.int32)
    b1 = data.take(leads + 1, mode="clip").astype(np.int32)
    b2 = data.take(leads + 2, mode="clip").astype(np.int32)
    three = b0 >= 0xE0
    well_formed = (leads + 1 + three < len(data)) & ((b1 & 0xC0) == 0x80) & (~three | ((b2 & 0xC0) == 0x80))
    code_points = np.where(
        three, ((b0 & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F), ((b0 & 0x1F) << 6) | (b1 & 0x3F)
    )
    return leads[well_formed & np.isin(code_points, _UNICODE_SPACES)]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _invalid_lines(data: bytes, first_already_invalid: bool) -> int:
    lines = data.split(b"\n")
    invalid = sum(1 for line in lines if not _is_utf8(line))
    if first_already_invalid and _is_utf8(lines[0]):
        invalid += 1
    return invalid


def _utf8_boundary(block: bytes | bytearray | memoryview) -> int:
    """The largest cut point <= len(block) that does not split a UTF-8 character."""
    cut = len(block)
    for back in range(1, min(4, len(block)) + 1):
        byte = block[-back]
        if byte < 0x80:
            return cut
        if byte >= 0xC0:  # a lead byte: keep it for the next piece if its character is incomplete
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return cut if back >= need else cut - back
    return cut


def compute_stats(
    source: str | Path | CorpusDocument,
    progress: ProgressCallback = no_progress,
    cancel: CancelFlag | None = None,
    column: str = "text",
    cache_dir: str | Path | None = None,
    workers: int | None = None,
) -> CorpusStats:
    """Stream a corpus once and return its statistics (see the module docstring).

    Corpora of `PARALLEL_MIN_BYTES` or more are cut into line-aligned ranges counted by `workers`
    spawned processes (default: one per CPU this process may use, at most `AUTO_WORKERS`) and
    merged; the figures are the same as one pass gives. Smaller corpora, or `workers=1`, are
    counted in the calling thread: starting processes would cost more than it saves.
    """
    if isinstance(source, CorpusDocument):
        document = source
    else:
        document = CorpusDocument(source, column, cache_dir)
    if not document.segments:
        document.prepare(progress, cancel)
    stats = CorpusStats(str(document.path), files=len(document.segments))
    sizes = [_size(s.text_path) for s in document.segments]
    total = sum(sizes)
    progress(ProgressUpdate("stats", 0, total))
    if workers is None:
        workers = min(_usable_cpus(), AUTO_WORKERS)
    accumulator: _Accumulator | None = None
    if workers > 1 and total >= PARALLEL_MIN_BYTES:
        accumulator = _count_in_processes(document, sizes, workers, progress, cancel)
    if accumulator is None:  # small, single CPU, or worker processes could not start
        accumulator = _Accumulator()
        done = 0
        for segment, size in zip(document.segments, sizes, strict=True):

            def report(count: int, base: int = done) -> None:
                progress(ProgressUpdate("stats", base + count, total, f"{accumulator.stats_lines:,} lines"))

            _count_range(segment.text_path, 0, size, accumulator, cancel, report)
            done += size
    for segment in document.segments:
        stats.unterminated_last_line = stats.unterminated_last_line or _ends_without_newline(
            segment.text_path
        )
    accumulator.finish(stats)
    return stats


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may use (containers, taskset)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _count_range(
    path: Path,
    start: int,
    end: int,
    accumulator: _Accumulator,
    cancel: CancelFlag | Any | None,
    report: Callable[[int], None],
    block: int | None = None,
) -> None:
    """Count bytes [start, end) of a file; `start` must be a line start. Reports bytes read.
    Pieces are at most `block` bytes (default `READ_BLOCK`)."""
    block = block or READ_BLOCK
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise StudioError(f"{path}: cannot be read ({exc.strerror})") from None
    accumulator.previous_ends_in_word = False  # a range starts a line: no word continues into it
    # Read into one reused buffer; the part of a line after the last newline moves to its front.
    # A piece is one copy out of the buffer (bytes: lines are split and hashed from it).
    buffer = bytearray(block)
    view = memoryview(buffer)
    with handle, view:
        handle.seek(start)
        position, kept = start, 0
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            wanted = min(block - kept, end - position)
            got = handle.readinto(view[kept : kept + wanted]) if wanted > 0 else 0
            position += got
            filled = kept + got
            if not got:
                if filled:
                    accumulator.add_piece(bytes(view[:filled]), ends_line=True)
                break
            cut = buffer.rfind(b"\n", 0, filled) + 1
            if cut == 0 and filled == block:  # a line longer than a block
                cut = _utf8_boundary(view[:filled])
                accumulator.add_piece(bytes(view[:cut]), ends_line=False)
            elif cut:
                accumulator.add_piece(bytes(view[:cut]), ends_line=True)
            kept = filled - cut
            buffer[:kept] = view[cut:filled].tobytes()
            report(position - start)


def _line_aligned_ranges(path: Path, size: int, target: int) -> list[tuple[int, int]]:
    """Cut a file into ranges of about `target` bytes, each starting at a line start."""
    cuts = [0]
    with open(path, "rb") as handle:
        while cuts[-1] + target < size:
            handle.seek(cuts[-1] + target)
            position = cuts[-1] + target
            while True:  # find the next newline (reads on through a very long line)
                block = handle.read(1 << 16)
                if not block:
                    position = size
                    break
                found = block.find(b"\n")
                if found >= 0:
                    position += found + 1
                    break
                position += len(block)
            if position >= size:
                break
            cuts.append(position)
    return list(zip(cuts, [*cuts[1:], size], strict=True))


# -- counting in worker processes ---------------------------------------------------------------

_worker_cancel: Any = None
_worker_progress: Any = None
_worker_block = 0


def _init_worker(cancel_event: Any, progress_counter: Any, block: int) -> None:
    global _worker_cancel, _worker_progress, _worker_block
    _worker_cancel, _worker_progress, _worker_block = cancel_event, progress_counter, block
    # Nothing a worker prints may reach the terminal: the parent may be drawing the app on it.
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    os.close(quiet)


def _count_range_in_worker(path: str, start: int, end: int) -> _Accumulator:
    accumulator = _Accumulator()
    reported = 0

    def report(count: int) -> None:
        nonlocal reported
        with _worker_progress.get_lock():
            _worker_progress.value += count - reported
        reported = count

    _count_range(Path(path), start, end, accumulator, _worker_cancel, report, _worker_block)
    accumulator.compact()  # sorted distinct hashes: the parent only merges them
    return accumulator


def _count_in_processes(
    document: CorpusDocument,
    sizes: list[int],
    workers: int,
    progress: ProgressCallback,
    cancel: CancelFlag | None,
) -> _Accumulator | None:
    """Count line-aligned ranges in `workers` spawned processes and merge them in order
    (None if the processes could not run)."""
    import concurrent.futures.process
    import multiprocessing

    total = sum(sizes)
    # Several ranges per worker, so that one slowed down by other work on its CPU is not left
    # counting a big share alone at the end; not tiny ones, each result costs a merge.
    target = min(RANGE_BYTES, max(total // (4 * workers), RANGE_BYTES // 8, 1))
    tasks = [
        (str(segment.text_path), start, end)
        for segment, size in zip(document.segments, sizes, strict=True)
        for start, end in _line_aligned_ranges(segment.text_path, size, target)
    ]
    # spawn, not fork: the caller may be a threaded app, and forking threads is unsafe
    context = multiprocessing.get_context("spawn")
    try:
        return _run_pool(context, tasks, workers, total, progress, cancel)
    except concurrent.futures.process.BrokenProcessPool:
        return None  # e.g. a parent whose __main__ cannot be re-imported: count in this thread


@contextlib.contextmanager
def _same_hash_seed_in_children() -> Iterator[None]:
    """Line hashes (`hash(bytes)`) must agree between worker processes, and Python salts them per
    process unless PYTHONHASHSEED is set: set it for the children being started, then restore."""
    saved = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = "1887"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = saved


def _run_pool(
    context: Any,
    tasks: list[tuple[str, int, int]],
    workers: int,
    total: int,
    progress: ProgressCallback,
    cancel: CancelFlag | None,
) -> _Accumulator:
    import concurrent.futures

    cancel_event = context.Event()
    counter = context.Value("q", 0)
    merged = _Accumulator()
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(cancel_event, counter, READ_BLOCK),
    ) as pool:
        with _same_hash_seed_in_children():  # workers start while the tasks are submitted
            futures = [pool.submit(_count_range_in_worker, *task) for task in tasks]
        try:
            for future in futures:  # merge in file order; report progress while waiting
                while True:
                    try:
                        part = future.result(timeout=PROGRESS_SECONDS)
                        break
                    except concurrent.futures.TimeoutError:
                        if cancel is not None and cancel.is_set():
                            raise Cancelled() from None
                        progress(
                            ProgressUpdate("stats", counter.value, total, f"{merged.stats_lines:,} lines")
                        )
                merged.merge(part)
        except BaseException:
            cancel_event.set()  # workers stop at their next block
            for pending in futures:
                pending.cancel()
            raise
    progress(ProgressUpdate("stats", total, total, f"{merged.stats_lines:,} lines"))
    return merged


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _ends_without_newline(path: Path) -> bool:
    size = _size(path)
    if size == 0:
        return False
    with open(path, "rb") as handle:
        handle.seek(size - 1)
        return handle.read(1) != b"\n"
