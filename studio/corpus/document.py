"""A corpus as the viewer, statistics and search see it: plain text files with line indexes.

Every corpus becomes a list of *segments*, one per file, each a plain UTF-8 text file on disk
with one document per line:

- plain `.txt` files are used in place (nothing is copied, however big);
- everything else (`.gz`, `.jsonl`, `.csv`, `.parquet`, a saved dataset) is *materialised once*:
  its text is written to `<cache>/corpus-text/<key>.txt`, keyed by the source's path, size, mtime
  and column, so later opens are instant. Gzip is streamed through `gzip`; record formats go
  through `load_text_dataset` (so `datasets`/`pyarrow` parse them), one record per line, with
  any newline inside a record written as U+2028 LINE SEPARATOR: a record stays one line, and
  `len()` and `str.split()` give the same counts as on the original text.

This keeps one fast code path (mmap index + `pread`) for every format, rather than slow random
access into compressed streams or Arrow tables. A folder shows one header row before each file
(its boundary); a single file has no header rows.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.corpus.formats import CorpusFile, CorpusInfo, describe_corpus, load_text_dataset
from studio.corpus.index import FileStamp, LineIndex, LineReader, RawLine, load_line_index
from studio.errors import StudioError
from studio.progress import CancelFlag, ProgressCallback, ProgressUpdate, no_progress

MATERIALISED_FOLDER = "corpus-text"
RECORD_NEWLINES = str.maketrans({"\n": "\u2028", "\r": "\u2028"})
_COPY_BLOCK = 4 << 20
_BINARY_PROBE = 8192


def default_cache_dir() -> Path:
    """Where caches go when no workspace is given (one folder per user, under the temp dir)."""
    return Path(tempfile.gettempdir()) / f"studio-cache-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


@dataclass
class Segment:
    """One file of a corpus: its label, its source, and the plain text file that is read."""

    label: str
    source: Path
    text_path: Path
    index: LineIndex | None = None
    reader: LineReader | None = field(default=None, repr=False)

    @property
    def line_count(self) -> int:
        return self.index.line_count if self.index is not None else 0

    def looks_binary(self) -> bool:
        """True when the first bytes hold a NUL, as in executables, images and archives."""
        try:
            with open(self.text_path, "rb") as handle:
                return b"\0" in handle.read(_BINARY_PROBE)
        except OSError:
            return False


@dataclass(frozen=True)
class Row:
    """One row of the viewer: a file header (`line` is None) or a line of a segment."""

    segment: int
    line: int | None
    raw: RawLine | None = None


class CorpusDocument:
    """A corpus opened for reading: `prepare` (materialise), `index`, then `read_rows`."""

    def __init__(self, path: str | Path, column: str = "text", cache_dir: str | Path | None = None) -> None:
        self.info: CorpusInfo = describe_corpus(path)
        self.path = self.info.path
        self.column = column
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.segments: list[Segment] = []
        self._row_starts: np.ndarray | None = None

    @property
    def multi_file(self) -> bool:
        return self.info.kind == "folder"

    # -- preparation ------------------------------------------------------------------------

    def prepare(self, progress: ProgressCallback = no_progress, cancel: CancelFlag | None = None) -> None:
        """Find (or write) the plain text of every file; cheap for plain text files."""
        segments = []
        if self.info.kind == "saved-dataset":
            text = self._materialise_records(self.path, self._saved_stamp(), progress, cancel)
            segments.append(Segment(self.path.name, self.path, text))
        else:
            for file in self.info.files:
                label = str(file.path.relative_to(self.path)) if self.multi_file else file.path.name
                segments.append(Segment(label, file.path, self._plain_text_of(file, progress, cancel)))
        self.segments = segments
        for segment in self.segments:
            segment.index = LineIndex(FileStamp.of(segment.text_path))
        self._row_starts = None

    def _plain_text_of(self, file: CorpusFile, progress: ProgressCallback, cancel: CancelFlag | None) -> Path:
        if file.is_plain:
            return file.path
        stamp = FileStamp.of(file.path)
        if file.builder == "text":
            return self._materialise(stamp, lambda out: _gunzip_into(file.path, out, progress, cancel))
        return self._materialise_records(file.path, stamp, progress, cancel)

    def _saved_stamp(self) -> FileStamp:
        files = [p.stat() for p in self.path.rglob("*") if p.is_file()]
        return FileStamp(
            str(self.path.resolve()), sum(s.st_size for s in files), max(s.st_mtime_ns for s in files)
        )

    def _materialise_records(
        self, source: Path, stamp: FileStamp, progress: ProgressCallback, cancel: CancelFlag | None
    ) -> Path:
        def write(out: Path) -> None:
            progress(ProgressUpdate("convert", 0, None, f"reading {source.name} with datasets"))
            dataset = load_text_dataset(source, self.column, cache_dir=self.cache_dir / "datasets")
            done = 0
            with open(out, "w", encoding="utf-8", errors="surrogatepass", newline="\n") as handle:
                for batch in dataset.data.to_batches(max_chunksize=10_000):
                    if cancel is not None:
                        cancel.check()
                    texts = batch.column(0).to_pylist()
                    handle.writelines(f"{text.translate(RECORD_NEWLINES)}\n" for text in texts)
                    done += len(texts)
                    progress(ProgressUpdate("convert", done, len(dataset), f"{done:,} records"))

        return self._materialise(stamp, write)

    def _materialise(self, stamp: FileStamp, write: object) -> Path:
        """Return the cached plain text for `stamp`, writing it with `write(temp_path)` if needed."""
        key = hashlib.sha1(f"{stamp.cache_key()}|{self.column}".encode()).hexdigest()[:24]
        target = self.cache_dir / MATERIALISED_FOLDER / f"{key}.txt"
        if target.is_file():
            return target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            os.close(fd)
        except OSError as exc:
            raise StudioError(f"cannot write the text cache in {target.parent}: {exc.strerror}") from None
        try:
            write(Path(temp))  # type: ignore[operator]
            os.replace(temp, target)
        finally:
            Path(temp).unlink(missing_ok=True)
        return target

    # -- indexing ---------------------------------------------------------------------------

    def build_indexes(
        self, progress: ProgressCallback = no_progress, cancel: CancelFlag | None = None
    ) -> None:
        """Index every segment (from the cache when possible), in order, filling them in place."""
        total = sum(s.index.size for s in self.segments if s.index is not None)
        done = 0
        for segment in self.segments:
            assert segment.index is not None, "call prepare() first"
            size = segment.index.size

            def report(update: ProgressUpdate, base: int = done) -> None:
                progress(ProgressUpdate("index", base + update.done, total, update.note))

            load_line_index(segment.text_path, self.cache_dir, report, cancel, into=segment.index)
            done += size
            self._row_starts = None
        progress(ProgressUpdate("index", total, total, f"{self.line_count:,} lines"))

    @property
    def indexed(self) -> bool:
        return bool(self.segments) and all(s.index is not None and s.index.complete for s in self.segments)

    @property
    def line_count(self) -> int:
        return sum(s.line_count for s in self.segments)

    @property
    def newline_count(self) -> int:
        return sum(s.index.newlines for s in self.segments if s.index is not None)

    # -- rows -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Forget cached row positions (call when indexing has made progress)."""
        self._row_starts = None

    def _starts(self) -> np.ndarray:
        if self._row_starts is None:
            header = 1 if self.multi_file else 0
            counts = [0]
            for segment in self.segments:
                counts.append(header + segment.line_count)
                if segment.index is None or not segment.index.complete:
                    break  # later segments are not known yet
            self._row_starts = np.cumsum(counts, dtype=np.int64)
        return self._row_starts

    @property
    def row_count(self) -> int:
        return int(self._starts()[-1])

    def locate(self, row: int) -> tuple[int, int | None]:
        """(segment, line) for a row; line is None for a file header row."""
        starts = self._starts()
        segment = int(np.searchsorted(starts, row, side="right")) - 1
        offset = row - int(starts[segment])
        if self.multi_file:
            return segment, (None if offset == 0 else offset - 1)
        return segment, offset

    def row_of(self, segment: int, line: int) -> int:
        """The row showing a segment's line."""
        return int(self._starts()[segment]) + line + (1 if self.multi_file else 0)

    def row_of_global_line(self, line: int) -> int:
        """The row of a 0-based line counted across the whole corpus (headers not counted)."""
        for number, segment in enumerate(self.segments):
            if line < segment.line_count:
                return self.row_of(number, line)
            line -= segment.line_count
        return max(0, self.row_count - 1)

    def global_line(self, segment: int, line: int) -> int:
        return sum(s.line_count for s in self.segments[:segment]) + line

    def read_rows(self, first: int, count: int) -> list[Row]:
        """Rows `first`..`first+count` (fewer at the end)."""
        rows: list[Row] = []
        row = first
        end = min(first + count, self.row_count)
        while row < end:
            number, line = self.locate(row)
            if line is None:
                rows.append(Row(number, None))
                row += 1
                continue
            segment = self.segments[number]
            wanted = min(end - row, segment.line_count - line)
            for raw in self._reader(segment).read_lines(line, wanted):
                rows.append(Row(number, line, raw))
                line += 1
            row += max(wanted, 1)
        return rows

    def _reader(self, segment: Segment) -> LineReader:
        if segment.reader is None:
            assert segment.index is not None
            try:
                segment.reader = LineReader(segment.text_path, segment.index)
            except OSError as exc:
                raise StudioError(f"{segment.text_path}: cannot be read ({exc.strerror})") from None
        return segment.reader

    def iter_lines(self) -> Iterator[tuple[int, int, RawLine]]:
        """Every indexed line as (segment, line, raw), in order (for small corpora and tests)."""
        for number, segment in enumerate(self.segments):
            for start in range(0, segment.line_count, 1024):
                for offset, raw in enumerate(self._reader(segment).read_lines(start, 1024)):
                    yield number, start + offset, raw

    def changed(self) -> bool:
        """True when a plain source file has changed size or mtime since it was indexed."""
        for segment in self.segments:
            if segment.index is None or segment.text_path != segment.source:
                continue
            try:
                if FileStamp.of(segment.source) != segment.index.stamp:
                    return True
            except StudioError:
                return True
        return False

    def close(self) -> None:
        for segment in self.segments:
            if segment.reader is not None:
                segment.reader.close()
                segment.reader = None


def _gunzip_into(source: Path, out: Path, progress: ProgressCallback, cancel: CancelFlag | None) -> None:
    total = source.stat().st_size
    try:
        with open(source, "rb") as raw, gzip.GzipFile(fileobj=raw) as compressed, open(out, "wb") as handle:
            while block := compressed.read(_COPY_BLOCK):
                if cancel is not None:
                    cancel.check()
                handle.write(block)
                progress(ProgressUpdate("decompress", raw.tell(), total, source.name))
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise StudioError(f"cannot write the decompressed text of {source}: {exc.strerror}") from None
        raise StudioError(
            f"{source}: corrupt or truncated gzip file ({exc})",
            "re-download or re-compress it; `gzip -t FILE` checks a gzip file",
        ) from None


def open_document(
    path: str | Path,
    column: str = "text",
    cache_dir: str | Path | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelFlag | None = None,
) -> CorpusDocument:
    """Describe, prepare and index a corpus in one call (for the CLI, tests and scripts)."""
    document = CorpusDocument(path, column, cache_dir)
    document.prepare(progress, cancel)
    document.build_indexes(progress, cancel)
    return document
