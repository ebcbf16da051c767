"""The frame every screen shares: a header line and a tab bar of the five screens."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Static, Tab, Tabs

# (mode id, tab label); keys 1-5 follow this order.
SCREEN_TABS: tuple[tuple[str, str], ...] = (
    ("corpus", "1 Corpus"),
    ("tokenizer", "2 Tokenizer"),
    ("model", "3 Model"),
    ("train", "4 Train"),
    ("runs", "5 Runs"),
)


class StudioHeader(Horizontal):
    """One line: the product and current screen, the workspace, and the state of the active run."""

    DEFAULT_CSS = """
    StudioHeader { height: 1; background: $primary; color: $text; }
    StudioHeader #title { width: auto; padding: 0 1; text-style: bold; }
    StudioHeader #workspace { width: 1fr; }
    StudioHeader #run-state { width: auto; padding: 0 1; }
    """

    run_state: reactive[str] = reactive("no active run")

    def __init__(self, workspace: str, screen_title: str = "") -> None:
        super().__init__()
        self._workspace = workspace
        self._title = f"Studio · {screen_title}" if screen_title else "Studio"

    def compose(self) -> ComposeResult:
        yield Static(self._title, id="title")
        # Paths are user data: Text() keeps any `[` in them from being read as markup.
        yield Static(Text(f"workspace {self._workspace}"), id="workspace")
        yield Static(Text(self.run_state), id="run-state")

    def watch_run_state(self, state: str) -> None:
        if self.is_mounted:
            self.query_one("#run-state", Static).update(Text(state))


class ScreenTabs(Tabs):
    """The tab bar; selecting a tab switches the app's mode (one mode per screen)."""

    def __init__(self, active: str) -> None:
        super().__init__(*(Tab(label, id=mode) for mode, label in SCREEN_TABS), active=active)
