"""Search: literal and regex, case toggle, streamed hits with line numbers and spans, cancel, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.corpus import search as search_module
from studio.corpus.search import SearchHit, search_corpus
from studio.errors import Cancelled, StudioError
from studio.progress import CancelFlag


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "s.txt"
    path.write_bytes("Hello world\r\nfoo [bold]x[/]\n\nhello HELLO\nĉu hello".encode())
    return path


def test_literal_ignores_case_by_default(text_file: Path) -> None:
    """A literal search finds every case variant, with 0-based line numbers and character spans."""
    hits = search_corpus(text_file, "hello")
    assert [(h.line, h.start, h.end) for h in hits] == [(0, 0, 5), (3, 0, 5), (3, 6, 11), (4, 3, 8)]
    assert hits[-1].snippet == "ĉu hello"


def test_case_sensitive_and_regex(text_file: Path) -> None:
    """The case toggle and regular expressions work together."""
    assert [h.line for h in search_corpus(text_file, "HELLO", case_sensitive=True)] == [3]
    assert [h.line for h in search_corpus(text_file, r"^h\w+", regex=True, case_sensitive=True)] == [3]


def test_markup_is_searched_literally(text_file: Path) -> None:
    """`[bold]` is just text to a literal search."""
    assert [(h.line, h.start) for h in search_corpus(text_file, "[bold]")] == [(1, 4)]


def test_bad_regex_is_a_clear_error(text_file: Path) -> None:
    """An invalid pattern is a StudioError that says where it is wrong."""
    with pytest.raises(StudioError, match="invalid regular expression"):
        search_corpus(text_file, "(", regex=True)


def test_hits_stream_in_batches_and_stop_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hits arrive batch by batch as blocks are read, and the search stops at max_hits."""
    monkeypatch.setattr(search_module, "READ_BLOCK", 256)
    path = tmp_path / "many.txt"
    path.write_text("needle in line\n" * 500)
    batches: list[list[SearchHit]] = []
    hits = search_corpus(path, "needle", on_hits=batches.append)
    assert len(hits) == 500 and len(batches) > 5
    assert [h.line for h in hits] == list(range(500))
    assert len(search_corpus(path, "needle", max_hits=7)) == 7


def test_cancel_stops_the_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A set cancel flag ends the search with Cancelled."""
    monkeypatch.setattr(search_module, "READ_BLOCK", 256)
    path = tmp_path / "many.txt"
    path.write_text("needle\n" * 500)
    flag = CancelFlag()
    with pytest.raises(Cancelled):
        search_corpus(path, "needle", on_hits=lambda batch: flag.set(), cancel=flag)


def test_folder_hits_name_their_file(corpora: dict[str, Path], tmp_path: Path) -> None:
    """In a folder, each hit says which file (segment) and which line of it."""
    from studio.corpus.document import CorpusDocument

    document = CorpusDocument(corpora["folder"], cache_dir=tmp_path)
    hits = search_corpus(document, "hundo")
    assert [(document.segments[h.segment].label, h.line) for h in hits] == [("a.txt", 0), ("b.txt", 2)]
