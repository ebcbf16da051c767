"""Typed text split into coloured tokens with their ids, updated as you type."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from studio.tui.widgets.tokenizer.vocab_table import token_text

if TYPE_CHECKING:
    from studio.tokenizer.vocab import Vocabulary

# Alternating backgrounds so that neighbouring tokens can be told apart.
PALETTE = ("#3b4261", "#4a3b61", "#3b6150", "#61503b", "#613b47", "#3b5761")
MAX_CHARS = 2000  # longer input is cut: the box is for trying words, not books


def pieces_text(pieces: list[tuple[int, str]], specials: set[int], with_ids: bool = True) -> Text:
    """Tokens on alternating backgrounds, each followed by its id in grey."""
    out = Text(end="")
    for n, (token_id, readable) in enumerate(pieces):
        piece = token_text(readable, token_id in specials)
        piece.stylize(Style(bgcolor=PALETTE[n % len(PALETTE)]))
        out.append_text(piece)
        if with_ids:
            out.append(f"{token_id}", Style(color="grey50", italic=True))
        out.append(" ")
    return out


class TryItBox(Vertical):
    """An input; below it the text as the open tokenizer splits it."""

    DEFAULT_CSS = """
    TryItBox { height: auto; max-height: 12; }
    TryItBox > Input { height: 1; margin: 1 0 0 0; }
    TryItBox > #try-output { height: auto; max-height: 8; padding: 0 1; }
    TryItBox > #try-summary { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.vocab: Vocabulary | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder="try it (y): type text to see its tokens", id="try-input", compact=True)
        yield Static(Text(""), id="try-output")
        yield Static(Text(""), id="try-summary")

    def set_vocab(self, vocab: Vocabulary | None) -> None:
        self.vocab = vocab
        self.show(self.query_one("#try-input", Input).value)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "try-input":
            event.stop()
            self.show(event.value)

    def show(self, text: str) -> None:
        output = self.query_one("#try-output", Static)
        summary = self.query_one("#try-summary", Static)
        if self.vocab is None or not text:
            output.update(Text(""))
            summary.update(Text(""))
            return
        text = text[:MAX_CHARS]
        pieces = self.vocab.readable_pieces(text)
        output.update(pieces_text(pieces, self.vocab.special_ids_set))
        words = len(text.split())
        summary.update(
            Text(
                f"{len(pieces)} tokens · {len(text)} chars · {words} words"
                f"{f' · {len(pieces) / words:.2f} tokens/word' if words else ''}"
            )
        )
