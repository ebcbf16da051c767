"""The Tokenizer screen (its features arrive with their layer; until then it says what it will hold)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from studio.tui.screens.base import StudioScreen


class TokenizerScreen(StudioScreen):
    MODE = "tokenizer"
    TITLE = "Tokenizer"
    HELP = "Train a tokenizer on a corpus (byte-level BPE, WordPiece, Unigram, SentencePiece) and inspect its vocabulary."

    def compose_body(self) -> ComposeResult:
        lines = [
            self.HELP,
            "",
            "This screen will hold:",
            "- Training in its own process with progress and cancel",
            "- The whole vocabulary in a filterable table, each token readable",
            "- A try-it box, figures on held-out text, and a side-by-side comparison",
            "",
            "Headless today: studio tokenizer train --corpus PATH --kind bytelevel-bpe --vocab-size 52000 --out DIR",
        ]
        with VerticalScroll(classes="placeholder"):
            yield Static("\n".join(lines), markup=False)
