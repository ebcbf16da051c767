"""The app shell: five screens by key and by tab, help, command palette, quit; at 80x24 and 120x40."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Footer, Tabs

from studio.tui.app import SCREEN_MODULES, StudioApp, screen_class, screen_classes
from studio.tui.screens.help import HelpScreen
from studio.tui.widgets.chrome import StudioHeader
from studio.workspace import open_workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return open_workspace(tmp_path_factory.mktemp("ws") / "workspace")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_every_screen_by_number_key(workspace, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """Keys 1-5 reach the five screens, each with header, tab bar and footer."""
    app = StudioApp(workspace)
    async with app.run_test(size=size) as pilot:
        for key, mode in zip("12345", SCREEN_MODULES, strict=True):
            await pilot.press(key)
            await pilot.pause()
            assert app.current_mode == mode
            screen = app.screen
            assert isinstance(screen, screen_class(mode))
            assert screen.query_one(StudioHeader) and screen.query_one(Footer)
            assert screen.query_one(Tabs).active == mode


async def test_tab_bar_switches_screens(workspace) -> None:  # type: ignore[no-untyped-def]
    """Activating a tab in the tab bar switches to that screen."""
    app = StudioApp(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.screen.query_one(Tabs).active = "runs"
        await pilot.pause()
        assert app.current_mode == "runs"


async def test_help_lists_keys_and_closes(workspace, screen_text) -> None:  # type: ignore[no-untyped-def]
    """`?` opens help naming the app's keys; escape closes it."""
    app = StudioApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Quit Studio" in text and "Keys and what each screen is for" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_every_binding_has_id_and_tooltip(workspace) -> None:  # type: ignore[no-untyped-def]
    """Each key of the app and of every screen can be remapped (id) and explains itself (tooltip)."""
    from textual.app import App
    from textual.binding import Binding
    from textual.screen import ModalScreen, Screen

    textuals = {
        (b.key, b.action)
        for base in (App, Screen, ModalScreen)
        for b in base.BINDINGS
        if isinstance(b, Binding)
    }
    for owner in (StudioApp, *screen_classes().values(), HelpScreen):
        for binding in owner.BINDINGS:
            if isinstance(binding, Binding) and (binding.key, binding.action) not in textuals:
                assert binding.id, f"{owner.__name__}: {binding.key} has no id"
                assert binding.tooltip, f"{owner.__name__}: {binding.key} has no tooltip"


async def test_command_palette_offers_screens(workspace) -> None:  # type: ignore[no-untyped-def]
    """The command palette finds "Go to Runs" and runs it."""
    app = StudioApp(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"go to runs")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "runs"


async def test_q_quits(workspace) -> None:  # type: ignore[no-untyped-def]
    """`q` quits the app."""
    app = StudioApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)


def test_workspace_path_is_shown_literally(tmp_path: Path) -> None:
    """A workspace path with Rich markup in its name is shown as typed, not interpreted."""
    import asyncio

    ws = open_workspace(tmp_path / "[bold]ws", demo=False)

    async def run() -> str:
        app = StudioApp(ws)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            return str(app.screen.query_one("#workspace").render())

    assert "[bold]ws" in asyncio.run(run())


async def test_a_long_workspace_path_keeps_its_end_in_the_header(tmp_path: Path) -> None:
    """A path longer than the header line loses its start (`…/deep/workspace`), never its end,
    and never wraps out of sight; resizing refits it."""
    from rich.cells import cell_len
    from textual.widgets import Static

    root = tmp_path / ("a-rather-long-folder-name-" * 4) / "deep" / "workspace"
    app = StudioApp(open_workspace(root, demo=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        label = app.screen.query_one("#workspace", Static)
        shown = str(label.render())
        assert shown.startswith("workspace …") and shown.endswith("/deep/workspace"), shown
        assert cell_len(shown) <= label.size.width
        await pilot.resize_terminal(260, 24)
        await pilot.pause()
        assert str(label.render()) == f"workspace {root}"
