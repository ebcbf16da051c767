"""One snapshot of the Tokenizer screen: a byte-level BPE open in the inspector, at 80x24."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from studio.tui.app import StudioApp
from studio.tui.screens.tokenizer import TokenizerScreen
from studio.tui.widgets.tokenizer.vocab_table import VocabTable
from studio.workspace import open_workspace


def test_tokenizer_screen_snapshot(
    snap_compare,
    trained: dict[str, Path],
    tmp_path: Path,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The inspector with the vocabulary, the detail of token 0, the try-it text and the figures."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(trained["bytelevel-bpe"], tmp_path / "bytelevel-bpe")
    # A relative workspace (empty, no demo corpus): nothing on screen depends on tmp paths.
    workspace = open_workspace(Path("workspace"), demo=False)
    app = StudioApp(workspace, start_screen="tokenizer", start_path="bytelevel-bpe")

    async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
        for _ in range(1200):
            await pilot.pause(0.05)
            if isinstance(app.screen, TokenizerScreen) and app.screen.idle:
                break
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("y", *"La hundo")
        app.screen.query_one(VocabTable).focus()  # no blinking text cursor in the picture
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)
