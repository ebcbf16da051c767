"""The Tokenizer screen driven by Pilot: open on a path, filter, try it, detail, train, cancel, compare."""

from __future__ import annotations

from pathlib import Path

from studio.tui.app import StudioApp
from studio.tui.screens.tokenizer import TokenizerScreen
from studio.tui.widgets.tokenizer.vocab_table import VocabTable
from studio.workspace import Workspace, open_workspace


def _app(tmp_path: Path, **start: object) -> StudioApp:
    return StudioApp(open_workspace(tmp_path / "ws", demo=False), start_screen="tokenizer", **start)


async def _settle(app: StudioApp, pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait (without sleeping blindly) until the screen has opened and measured what it was asked to."""
    for _ in range(1200):
        await pilot.pause(0.05)
        screen = app.screen
        if isinstance(screen, TokenizerScreen) and screen.idle:
            await app.workers.wait_for_complete()
            await pilot.pause()
            return
    raise AssertionError("the Tokenizer screen never became idle")


async def test_vocab_opens_on_start_path_and_filters(trained: dict[str, Path], tmp_path: Path) -> None:
    """`studio vocab DIR` opens the inspector on DIR; typing in the filter narrows the table."""
    app = _app(tmp_path, start_path=str(trained["bytelevel-bpe"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TokenizerScreen) and screen.vocab is not None
        table = screen.query_one(VocabTable)
        assert len(table.ids) == 600
        await pilot.press("slash")
        for key in "un":
            await pilot.press(key)
        await pilot.pause()
        assert 0 < len(table.ids) < 600
        assert all("un" in screen.vocab.readable[i].casefold() for i in table.ids)
        assert screen.vocab.frequency is not None  # counted in the background
        # Regression: escape used to leave focus in the filter, so a following `q` was typed into it.
        await pilot.press("escape")
        await pilot.pause()
        assert screen.focused is table
        assert screen.query_one("#tok-filter").value == "un"


async def test_try_it_shows_tokens(trained: dict[str, Path], tmp_path: Path, screen_text) -> None:  # type: ignore[no-untyped-def]
    """Text typed in the try-it box appears split into tokens with a count."""
    app = _app(tmp_path, start_path=str(trained["wordpiece"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        await pilot.press("y")
        for key in "hundo":
            await pilot.press(key)
        await pilot.pause()
        summary = str(app.screen.query_one("#try-summary").render())
        assert "tokens" in summary and "5 chars" in summary


async def test_detail_follows_the_cursor(trained: dict[str, Path], tmp_path: Path) -> None:
    """Moving down the table shows the next token's detail, and sorting by length reorders it."""
    app = _app(tmp_path, start_path=str(trained["bytelevel-bpe"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        table = screen.query_one(VocabTable)
        table.focus()
        await pilot.press("down", "down")
        await pilot.pause()
        assert table.current_id == 2
        assert "token 2" in str(screen.query_one("#tok-detail").render())
        await pilot.press("s")
        await pilot.pause()
        lengths = [int(screen.vocab.lengths[i]) for i in table.ids[:20]]
        assert lengths == sorted(lengths, reverse=True)


async def test_not_a_tokenizer_notifies(tmp_path: Path, corpus_file: Path) -> None:
    """Opening a path that is not a tokenizer shows an error and keeps the app alive."""
    app = _app(tmp_path, start_path=str(corpus_file))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        assert isinstance(app.screen, TokenizerScreen) and app.screen.vocab is None
        assert any("not a tokenizer" in n.message for n in app._notifications)


async def test_train_from_the_screen_then_inspect(tmp_path: Path, corpus_file: Path) -> None:
    """The Train tab trains in a child process and opens the result in the inspector."""
    app = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("t")
        screen.query_one("#train-corpus").value = str(corpus_file)
        screen.query_one("#train-vocab").value = "400"
        screen.query_one("#train-kind").value = "sentencepiece-bpe"
        await pilot.pause()
        await pilot.click("#train-start")
        await _settle(app, pilot)
        await _settle(app, pilot)
        out = Workspace(tmp_path / "ws").tokenizers / "sentencepiece-bpe-400"
        assert (out / "tokenizer.model").is_file()
        assert isinstance(screen, TokenizerScreen) and screen.vocab is not None and len(screen.vocab) == 400


async def test_cancel_training_leaves_nothing(tmp_path: Path, corpus_file: Path) -> None:
    """ctrl+x during training stops the child; the tokenizers folder stays empty."""
    app = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("t")
        screen.query_one("#train-corpus").value = str(corpus_file)
        screen.query_one("#train-vocab").value = "600"
        screen.query_one("#train-kind").value = "unigram"
        await pilot.pause()
        await pilot.click("#train-start")
        await pilot.pause(0.5)
        await pilot.press("ctrl+x")
        await _settle(app, pilot)
        assert list(Workspace(tmp_path / "ws").tokenizers.iterdir()) == []
        assert "Cancelled" in str(screen.query_one("#train-phase").render())


async def test_compare_two_tokenizers(trained: dict[str, Path], tmp_path: Path, screen_text) -> None:  # type: ignore[no-untyped-def]
    """Compare shows both tokenizers' figures and the sample split by each."""
    app = _app(tmp_path, start_path=str(trained["bytelevel-bpe"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        await pilot.press("c")
        compare = app.screen.query_one("#tok-compare-path")
        compare.value = str(trained["sentencepiece-unigram"])
        await pilot.press("enter")
        await _settle(app, pilot)
        shown = screen_text(app)
        assert "bytelevel-bpe:" in shown and "sentencepiece-unigram:" in shown and "tokens per word" in shown
