"""The frame every screen shares: a header line and a tab bar of the five screens."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
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
    StudioHeader #workspace { width: 1fr; text-wrap: nowrap; }
    StudioHeader #run-state { width: auto; padding: 0 1; }
    """

    run_state: reactive[str] = reactive("no active run")

    def __init__(self, workspace: str, screen_title: str = "") -> None:
        super().__init__()
        self._workspace = workspace
        self._title = f"Studio · {screen_title}" if screen_title else "Studio"

    def compose(self) -> ComposeResult:
        yield Static(self._title, id="title")
        yield PathLabel("workspace ", self._workspace, id="workspace")
        yield Static(Text(self.run_state), id="run-state")

    def watch_run_state(self, state: str) -> None:
        if self.is_mounted:
            self.query_one("#run-state", Static).update(Text(state))


class PathLabel(Static):
    """`prefix` and a path on one line. A path too long for it loses its start, not its end
    (`…/data/studio/workspace`): the end names the folder. The home folder is shown as `~`."""

    def __init__(self, prefix: str, path: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self._prefix = prefix
        home = str(Path.home())
        self._path = "~" + path[len(home) :] if home != "/" and (path + "/").startswith(home + "/") else path

    def on_mount(self) -> None:
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        room = max(1, self.size.width - cell_len(self._prefix)) if self.size.width else 10_000
        # Paths are user data: Text() keeps any `[` in them from being read as markup.
        self.update(Text(self._prefix + _keep_end(self._path, room)))


def _keep_end(text: str, width: int) -> str:
    """`text` in `width` cells, an ellipsis standing for what is cut from its start."""
    if cell_len(text) <= width:
        return text
    kept: list[str] = []
    room = width - 1
    for char in reversed(text):
        room -= cell_len(char)
        if room < 0:
            break
        kept.append(char)
    return "…" + "".join(reversed(kept))


class ScreenTabs(Tabs):
    """The tab bar; selecting a tab switches the app's mode (one mode per screen)."""

    def __init__(self, active: str) -> None:
        super().__init__(*(Tab(label, id=mode) for mode, label in SCREEN_TABS), active=active)
