"""Documents: every format becomes plain text rows; folders show file boundaries; changes are noticed."""

from __future__ import annotations

import json
from pathlib import Path

from corpus_samples import SAMPLE_LINES

from studio.corpus.document import CorpusDocument, open_document


def _texts(document: CorpusDocument) -> list[str]:
    return [row.raw.data.decode() for row in document.read_rows(0, 10_000) if row.raw is not None]


def test_every_format_reads_the_same_lines(corpora: dict[str, Path], tmp_path: Path) -> None:
    """Plain, gzip, JSON lines, Parquet and saved datasets all show the sample, one line per record."""
    for kind in ("txt", "gz", "jsonl", "parquet", "saved"):
        document = open_document(corpora[kind], cache_dir=tmp_path)
        assert _texts(document) == SAMPLE_LINES, kind
        document.close()


def test_plain_text_is_not_copied(corpora: dict[str, Path], tmp_path: Path) -> None:
    """A .txt is read in place; a .gz is materialised once into the cache and reused."""
    assert open_document(corpora["txt"], cache_dir=tmp_path).segments[0].text_path == corpora["txt"]
    first = open_document(corpora["gz"], cache_dir=tmp_path).segments[0].text_path
    assert first.is_relative_to(tmp_path) and first.read_bytes() == corpora["txt"].read_bytes()
    assert open_document(corpora["gz"], cache_dir=tmp_path).segments[0].text_path == first


def test_record_with_newlines_stays_one_line(tmp_path: Path) -> None:
    """A newline inside a record becomes U+2028, so a record is one row and counts keep their meaning."""
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"text": "first\nsecond"}) + "\n" + json.dumps({"text": "third"}) + "\n")
    document = open_document(path, cache_dir=tmp_path / "c")
    assert _texts(document) == ["first\u2028second", "third"]


def test_folder_rows_have_file_headers(corpora: dict[str, Path], tmp_path: Path) -> None:
    """A folder shows a header row before each file, and lines are numbered across the corpus."""
    document = open_document(corpora["folder"], cache_dir=tmp_path)
    rows = document.read_rows(0, 100)
    headers = [i for i, row in enumerate(rows) if row.line is None]
    assert headers == [0, 4]
    assert document.row_count == len(SAMPLE_LINES) + 2
    assert document.global_line(1, 0) == 3
    assert document.row_of_global_line(3) == 5
    assert document.locate(5) == (1, 0)


def test_growing_file_is_noticed(tmp_path: Path) -> None:
    """Appending to an open file marks the document as changed (the screen offers a reload)."""
    path = tmp_path / "g.txt"
    path.write_text("one\ntwo\n")
    document = open_document(path, cache_dir=tmp_path / "c")
    assert not document.changed()
    with open(path, "a") as handle:
        handle.write("three\n" * 100)
    assert document.changed()
    assert _texts(document) == ["one", "two"]  # still the indexed version, until reloaded


def test_truncated_file_is_noticed_and_reads_safely(tmp_path: Path) -> None:
    """A file cut short after indexing is noticed, and reading past its end shows empty lines."""
    path = tmp_path / "t.txt"
    path.write_text("line\n" * 100)
    document = open_document(path, cache_dir=tmp_path / "c")
    path.write_text("x\n")
    assert document.changed()
    assert all(row.raw is not None and row.raw.data == b"" for row in document.read_rows(50, 5))
