"""The Corpus screen, driven with Pilot: open, scroll, go to, search, stats, sample, and bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from corpus_samples import SAMPLE_LINES, write_text

from studio.tui.app import StudioApp
from studio.tui.screens.corpus import CorpusScreen
from studio.tui.widgets.corpus.viewer import CorpusViewer
from studio.workspace import Workspace, open_workspace

ScreenText = Callable[[StudioApp], str]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return open_workspace(tmp_path_factory.mktemp("corpus-ws") / "ws")


async def _settle(app: StudioApp, pilot) -> None:  # type: ignore[no-untyped-def]
    """Let workers finish and their messages be handled."""
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def _type(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*[{" ": "space", "/": "slash"}.get(char, char) for char in text])


def _notice(app: StudioApp) -> str:
    return str(app.screen.query_one("#corpus-notice").render())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_opens_the_start_path_and_shows_hostile_text_safely(
    workspace: Workspace, corpora: dict[str, Path], screen_text: ScreenText, size: tuple[int, int]
) -> None:
    """`studio corpus view PATH` opens on PATH; markup is shown as typed and ESC as ␛."""
    app = StudioApp(workspace, animations=False, start_screen="corpus", start_path=str(corpora["txt"]))
    async with app.run_test(size=size) as pilot:
        await _settle(app, pilot)
        assert isinstance(app.screen, CorpusScreen)
        text = screen_text(app)
        assert "La hundo kuras" in text
        assert "[bold red]not markup[/]" in text
        assert "␛[31mescape" in text and "\x1b" not in text
        assert f"of {len(SAMPLE_LINES)}" in text


async def test_goto_search_next_and_stats(
    workspace: Workspace, tmp_path: Path, screen_text: ScreenText
) -> None:
    """g jumps to a line, / streams hits and n moves between them, s shows figures and tables."""
    path = write_text(
        tmp_path / "big.txt", [f"line {i} {'needle' if i % 250 == 0 else 'hay'}" for i in range(2000)]
    )
    app = StudioApp(workspace, animations=False, start_path=str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CorpusScreen)
        await pilot.press("g")
        await _type(pilot, "1500")
        await pilot.press("enter")
        await pilot.pause()
        assert "line 1499 hay" in screen_text(app)  # line 1,500 holds item 1499
        assert screen.query_one(CorpusViewer).current_row == 1499
        await pilot.press("slash")
        await _type(pilot, "needle")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert len(screen.hits) == 8 and "8 hits" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert screen.query_one(CorpusViewer).current_row == 250
        await pilot.press("s")
        await _settle(app, pilot)
        text = screen_text(app)
        assert "2,000" in text and "most frequent characters" in text and "line length (chars)" in text


async def test_goto_out_of_range_is_explained(workspace: Workspace, corpora: dict[str, Path]) -> None:
    """A line past the end is refused with the number of lines, not a crash."""
    app = StudioApp(workspace, animations=False, start_path=str(corpora["txt"]))
    messages: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        app.notify = lambda message, **kw: messages.append(str(message))  # type: ignore[method-assign]
        await pilot.press("g")
        await _type(pilot, "999")
        await pilot.press("enter")
        await pilot.pause()
    assert any("out of range" in m and f"{len(SAMPLE_LINES)} lines" in m for m in messages)


async def test_random_sample_and_folder_boundaries(
    workspace: Workspace, corpora: dict[str, Path], screen_text: ScreenText
) -> None:
    """A folder shows a header per file; r lists randomly drawn lines."""
    app = StudioApp(workspace, animations=False, start_path=str(corpora["folder"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        text = screen_text(app)
        assert "── a.txt ──" in text and "── b.txt ──" in text
        await pilot.press("r")
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CorpusScreen)
        assert len(screen.samples) == len(SAMPLE_LINES)
        assert f"{len(SAMPLE_LINES)} random lines" in screen_text(app)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p / "missing.txt", "no such file or folder"),
        (lambda p: _write(p / "empty.txt", b""), "This corpus is empty"),
        (lambda p: _write(p / "blob.txt", b"\x7fELF\x00\x00\x01binary\x00" * 50), "looks like a binary file"),
        (lambda p: _write(p / "bad.txt.gz", b"\x1f\x8b\x08\x00garbage"), "corrupt or truncated gzip"),
    ],
    ids=["missing", "empty", "binary", "corrupt-gz"],
)
async def test_bad_input_gets_a_clear_notice(
    workspace: Workspace, tmp_path: Path, make, expected: str
) -> None:  # type: ignore[no-untyped-def]
    """Missing, empty, binary and corrupt inputs each show a plain notice, and the app keeps running."""
    app = StudioApp(workspace, animations=False, start_path=str(make(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        assert expected in _notice(app)
        assert app.is_running


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


async def test_giant_line_shows_its_start_with_a_marker(
    workspace: Workspace, tmp_path: Path, screen_text: ScreenText
) -> None:
    """A line of several MB with no newline is shown cut, with a clear marker."""
    path = tmp_path / "giant.txt"
    path.write_bytes(b"g" * 3_000_000)
    app = StudioApp(workspace, animations=False, start_path=str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        assert "ggggggggggggggggggggggggggggggggggggggggggggggggggggg" in screen_text(app)
        _, content = app.screen.query_one(CorpusViewer)._row_texts(0)
        assert content.plain.endswith("[line too long: only its start is shown]")
        assert len(content.plain) < 5000  # only the start is decoded and drawn


async def test_missing_column_asks_for_one(
    workspace: Workspace, corpora: dict[str, Path], screen_text: ScreenText
) -> None:
    """A CSV without a `text` column lists its columns and asks; typing one reopens the file."""
    app = StudioApp(workspace, animations=False, start_path=str(corpora["csv"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        assert "the columns are id, body" in _notice(app)
        screen = app.screen
        assert isinstance(screen, CorpusScreen) and screen.input_mode == "column"
        await pilot.press("ctrl+a", "ctrl+k")
        await _type(pilot, "body")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert "La hundo kuras" in screen_text(app)


async def test_changed_file_offers_a_reload(
    workspace: Workspace, tmp_path: Path, screen_text: ScreenText
) -> None:
    """A file that grows while open is noticed; R reloads it with the new lines."""
    path = write_text(tmp_path / "grow.txt", ["first", "second"])
    app = StudioApp(workspace, animations=False, start_path=str(path))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        with open(path, "a") as handle:
            handle.write("third\n")
        screen = app.screen
        assert isinstance(screen, CorpusScreen)
        screen.check_changed()
        assert "changed on disk" in _notice(app)
        await pilot.press("R")
        await _settle(app, pilot)
        assert "third" in screen_text(app) and screen.document is not None and screen.document.line_count == 3


async def test_workspace_corpora_are_listed_and_open(tmp_path: Path, screen_text: ScreenText) -> None:
    """With no start path the demo corpus opens, and o lists the workspace's corpora."""
    workspace = open_workspace(tmp_path / "ws")
    write_text(workspace.corpora / "mine.txt", ["my own corpus line"])
    app = StudioApp(workspace, animations=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CorpusScreen) and screen.document is not None
        assert screen.document.path.name == "demo-esperanto.txt"
        await pilot.press("o")
        await pilot.pause()
        assert "mine.txt" in screen_text(app)
        await pilot.press("escape")
        screen.query_one("#corpus-files").focus()
        await pilot.press("down", "enter")
        await _settle(app, pilot)
        assert "my own corpus line" in screen_text(app)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_corpus_screen_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare, size: tuple[int, int]
) -> None:  # type: ignore[no-untyped-def]
    """The screen on a small hostile file, with search hits and statistics shown (fixed relative paths)."""
    monkeypatch.chdir(tmp_path)
    workspace = open_workspace(Path("ws"), demo=False)
    write_text(Path("ws/corpora/sample.txt"), SAMPLE_LINES * 3)
    app = StudioApp(workspace, animations=False, start_path="ws/corpora/sample.txt")

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(app, pilot)
        await pilot.press("s")
        await _settle(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_markup_in_a_path_is_not_interpreted(workspace: Workspace, tmp_path: Path) -> None:
    """A missing path full of markup brackets is quoted literally in the notice and the toast."""
    path = tmp_path / "[/]oops[bold red].txt"
    app = StudioApp(workspace, animations=False, start_path=str(path))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        assert "[/]oops[bold red].txt: no such file or folder" in _notice(app)
        assert app.is_running
