"""The Runs screen (its features arrive with their layer; until then it says what it will hold)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from studio.tui.screens.base import StudioScreen


class RunsScreen(StudioScreen):
    MODE = "runs"
    TITLE = "Runs"
    HELP = "Every run of the workspace with its state; attach to one started elsewhere, resume, compare loss curves."

    def compose_body(self) -> ComposeResult:
        lines = [
            self.HELP,
            "",
            "This screen will hold:",
            "- running, completed, stopped, failed or lost, seen within seconds",
            "- Attach, stop, resume, delete",
            "- Two or more runs' loss curves on one chart",
            "",
            "Headless today: studio runs --json",
        ]
        with VerticalScroll(classes="placeholder"):
            yield Static("\n".join(lines), markup=False)
