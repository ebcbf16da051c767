"""Corpus formats: every supported format loads as one `text` column; bad input is a clear error."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from corpus_samples import SAMPLE_LINES

from studio.corpus.formats import describe_corpus, load_text_dataset
from studio.errors import StudioError


@pytest.mark.parametrize("kind", ["txt", "gz", "jsonl", "parquet", "saved"])
def test_each_format_loads_its_text(corpora: dict[str, Path], kind: str, tmp_path: Path) -> None:
    """.txt, .gz, .jsonl, .parquet and a save_to_disk dataset all give the same `text` column."""
    dataset = load_text_dataset(corpora[kind], cache_dir=tmp_path)
    assert dataset.column_names == ["text"]
    assert dataset["text"][:] == SAMPLE_LINES


def test_csv_with_a_named_column(corpora: dict[str, Path], tmp_path: Path) -> None:
    """A CSV's text column is chosen by name and renamed to `text`."""
    dataset = load_text_dataset(corpora["csv"], column="body", cache_dir=tmp_path)
    assert dataset.column_names == ["text"]
    assert dataset["text"][:] == SAMPLE_LINES


def test_missing_column_lists_the_columns(corpora: dict[str, Path], tmp_path: Path) -> None:
    """Asking for an absent column names the columns that exist."""
    with pytest.raises(StudioError, match="no column 'text'; the columns are id, body") as caught:
        load_text_dataset(corpora["csv"], cache_dir=tmp_path)
    assert "--column" in (caught.value.hint or "")


def test_non_text_column_is_refused(corpora: dict[str, Path], tmp_path: Path) -> None:
    """A column of numbers is not silently turned into text."""
    with pytest.raises(StudioError, match="column 'id' holds"):
        load_text_dataset(corpora["jsonl"], column="id", cache_dir=tmp_path)


def test_folder_reads_files_in_order(corpora: dict[str, Path], tmp_path: Path) -> None:
    """A folder is one corpus: its supported, non-hidden files in path order."""
    info = describe_corpus(corpora["folder"])
    assert [f.path.name for f in info.files] == ["a.txt", "b.txt"]
    assert info.format_name == "folder (2 files)"
    assert load_text_dataset(corpora["folder"], cache_dir=tmp_path)["text"][:] == SAMPLE_LINES


def test_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    """CRLF line ends are removed and a last line without newline is kept."""
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"one\r\ntwo\r\nthree")
    assert load_text_dataset(path, cache_dir=tmp_path / "c")["text"][:] == ["one", "two", "three"]


def test_invalid_utf8_is_replaced(tmp_path: Path) -> None:
    """Invalid UTF-8 becomes U+FFFD instead of failing the whole load."""
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok\nbad \xff\xfe here\n")
    assert load_text_dataset(path, cache_dir=tmp_path / "c")["text"][1] == "bad \ufffd\ufffd here"


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.txt", "no such file or folder"),
        (lambda p: _folder(p / "empty"), "holds no readable corpus files"),
        (lambda p: _file(p / "e.txt", b""), "the corpus is empty"),
        (lambda p: _file(p / "x.docx", b"PK"), "unknown corpus format"),
        (lambda p: _file(p / "c.gz", gzip.compress(b"hello\n" * 100)[:30]), "could not be read"),
    ],
    ids=["missing", "empty-folder", "empty-file", "unknown-format", "corrupt-gz"],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    """Each kind of bad input raises a StudioError with a plain message (never a library traceback)."""
    with pytest.raises(StudioError, match=message):
        load_text_dataset(make(tmp_path), cache_dir=tmp_path / "cache")
