"""The Model screen (its features arrive with their layer; until then it says what it will hold)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from studio.tui.screens.base import StudioScreen


class ModelScreen(StudioScreen):
    MODE = "model"
    TITLE = "Model"
    HELP = "Configure a transformer: architecture, task, preset and sizes, validated on every edit, with parameter, FLOP, memory and time estimates."

    def compose_body(self) -> ComposeResult:
        lines = [
            self.HELP,
            "",
            "This screen will hold:",
            "- RoBERTa, BERT, GPT-2, Llama-style and Reformer, masked or causal LM",
            "- Problems named by field, each with a fix one key away",
            "- The learning-rate schedule drawn from the scheduler the run will use",
            "",
            "Headless today: studio model check CONFIG --json",
        ]
        with VerticalScroll(classes="placeholder"):
            yield Static("\n".join(lines), markup=False)
