"""The base class of the five screens: header, tab bar, body, footer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Tabs

from studio.errors import StudioError
from studio.tui.widgets.chrome import ScreenTabs, StudioHeader

if TYPE_CHECKING:
    from studio.tui.app import StudioApp


class StudioScreen(Screen):
    """A top-level screen. Subclasses set `MODE` and `TITLE` and implement `compose_body`."""

    MODE = ""
    TITLE = ""
    HELP = ""  # a paragraph for the help screen: what this screen is for

    @property
    def studio(self) -> StudioApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield StudioHeader(str(self.studio.workspace.root), self.TITLE)
        yield ScreenTabs(active=self.MODE)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab.id and event.tab.id != self.MODE:
            self.app.switch_mode(event.tab.id)

    def on_screen_resume(self) -> None:
        self.query_one(ScreenTabs).active = self.MODE
        self.query_one(StudioHeader).run_state = self.studio.run_state

    def notify_error(self, error: BaseException | None, title: str = "") -> None:
        """Tell the user a background task failed: a `StudioError`'s message and hint, else the exception.
        Markup is off: the text may quote a path or a corpus."""
        if isinstance(error, StudioError):
            text = error.message + (f"\n{error.hint}" if error.hint else "")
        else:
            text = f"{error.__class__.__name__}: {error}"
        self.notify(text, title=title, severity="error", timeout=8, markup=False)
