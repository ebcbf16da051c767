"""The Train screen (its features arrive with their layer; until then it says what it will hold)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from studio.tui.screens.base import StudioScreen


class TrainScreen(StudioScreen):
    MODE = "train"
    TITLE = "Train"
    HELP = "Watch a run live: loss curves, learning rate, gradient norm, tokens/s, GPU memory, the worker's log, checkpoints and probes."

    def compose_body(self) -> ComposeResult:
        lines = [
            self.HELP,
            "",
            "This screen will hold:",
            "- Curves with axes, smoothing and log scale",
            "- Devices, CPU and RAM at a glance",
            "- Keys to stop (checkpoint first), save now, evaluate now, detach",
            "",
            "Headless today: studio train CONFIG",
        ]
        with VerticalScroll(classes="placeholder"):
            yield Static("\n".join(lines), markup=False)
