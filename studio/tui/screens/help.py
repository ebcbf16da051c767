"""The help screen (`?` or F1): what the current screen is for, and every key, per screen."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def _bindings_table(title: str, bindings: list[BindingType]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2))
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("what it does")
    for binding in bindings:
        if isinstance(binding, Binding) and binding.description:
            keys = binding.key_display or binding.key.replace(",", " / ")
            table.add_row(Text(keys), Text(binding.tooltip or binding.description))
    return table


class HelpScreen(ModalScreen[None]):
    """Keys for the screen underneath first, then the app-wide ones and the other screens'."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close", tooltip="Close help"),
    ]

    def __init__(self, underneath: Screen) -> None:
        super().__init__()
        self.underneath = underneath

    def compose(self) -> ComposeResult:
        from studio.tui.app import StudioApp, screen_classes

        current = type(self.underneath)
        parts: list[Static] = []
        about = getattr(current, "HELP", "")
        if about:
            parts.append(Static(Text(about), classes="help-about"))
        # "Everywhere" first: a screen with many keys must not push the app's own keys out of view.
        parts.append(Static(_bindings_table("Everywhere", StudioApp.BINDINGS)))
        parts.append(Static(_bindings_table(f"{getattr(current, 'TITLE', '')} screen", current.BINDINGS)))
        for cls in screen_classes().values():
            if cls is not current and cls.BINDINGS:
                parts.append(Static(_bindings_table(f"{cls.TITLE} screen", cls.BINDINGS)))
        parts.append(Static(Text("ctrl+p opens the command palette: every action by name.")))
        with VerticalScroll():
            yield from parts

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
