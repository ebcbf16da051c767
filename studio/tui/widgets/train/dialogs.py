"""Small modal questions: confirm an action, and what to do with a live run when quitting."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

DIALOG_CSS = """
DIALOG { align: center middle; }
DIALOG > Vertical {
    width: 64; max-width: 95%; height: auto; padding: 1 2;
    border: thick $primary; background: $surface;
}
DIALOG .dialog-question { margin-bottom: 1; }
DIALOG Horizontal { height: auto; align-horizontal: right; }
DIALOG Button { margin-left: 1; }
"""


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no. Enter/y confirms, Escape/n declines; the safe answer has the focus."""

    DEFAULT_CSS = DIALOG_CSS.replace("DIALOG", "ConfirmDialog")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="dialog.yes", tooltip="Confirm"),
        Binding("n,escape", "answer(False)", "No", id="dialog.no", tooltip="Cancel"),
    ]

    def __init__(self, question: str, confirm_label: str = "Yes", danger: bool = True) -> None:
        super().__init__()
        self._question = question
        self._confirm_label = confirm_label
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self._question), classes="dialog-question")
            with Horizontal():
                yield Button("Cancel", id="no")
                yield Button(self._confirm_label, id="yes", variant="error" if self._danger else "primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class QuitRunDialog(ModalScreen[str]):
    """Quitting during a run: "leave" (the default), "stop", or "cancel" (stay in the app)."""

    DEFAULT_CSS = DIALOG_CSS.replace("DIALOG", "QuitRunDialog")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "l", "answer('leave')", "Leave running", id="quit.leave", tooltip="Quit; the run keeps training"
        ),
        Binding(
            "s", "answer('stop')", "Stop run", id="quit.stop", tooltip="Save a checkpoint, stop the run, quit"
        ),
        Binding("escape", "answer('cancel')", "Cancel", id="quit.cancel", tooltip="Stay in Studio"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self._run_id = run_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(
                    "Run ",
                    (self._run_id, "bold"),
                    " is still training.\n",
                    "Leave it running (attach again with `studio attach`), or stop it (a checkpoint is saved first)?",
                ),
                classes="dialog-question",
            )
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Stop run", id="stop", variant="error")
                yield Button("Leave running", id="leave", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#leave", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id or "cancel")

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer)
