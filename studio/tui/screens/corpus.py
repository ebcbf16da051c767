"""The Corpus screen (its features arrive with their layer; until then it says what it will hold)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from studio.tui.screens.base import StudioScreen


class CorpusScreen(StudioScreen):
    MODE = "corpus"
    TITLE = "Corpus"
    HELP = "Browse the text you will train on: any .txt, .gz, .jsonl, .csv, .parquet, folder or saved dataset; scroll files of any size, jump to a line, search, and measure it."

    def compose_body(self) -> ComposeResult:
        lines = [
            self.HELP,
            "",
            "This screen will hold:",
            "- A virtualised viewer over a line index (a 5 GB file scrolls like a 5 KB one)",
            "- Statistics: lines, words, characters, bytes, distinct characters, line-length histogram, empty, duplicate and invalid-UTF-8 lines",
            "- Literal or regex search, streamed hits, jump to a hit",
            "",
            "Headless today: studio corpus stats PATH --json",
        ]
        with VerticalScroll(classes="placeholder"):
            yield Static("\n".join(lines), markup=False)
