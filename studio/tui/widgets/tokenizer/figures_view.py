"""Figures on held-out text as a small table: one tokenizer, or two side by side."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

ROWS = (
    ("fertility", "tokens per word", "{:.3f}"),
    ("bytes_per_token", "bytes per token", "{:.2f}"),
    ("chars_per_token", "chars per token", "{:.2f}"),
    ("unk_rate", "unknown rate", "{:.3%}"),
    ("vocab_used", "vocab used", "{:.1%}"),
    ("split3_share", "words in 3+ pieces", "{:.1%}"),
)


def figures_table(figures: list[dict[str, Any]], names: list[str]) -> Table:
    """A rich Table: one row per figure, one column per tokenizer."""
    table = Table(box=None, padding=(0, 1), show_edge=False, expand=False)
    table.add_column("figure", style="bold")
    for name in names:
        table.add_column(Text(name), justify="right")
    for key, label, fmt in ROWS:
        table.add_row(label, *(fmt.format(f[key]) for f in figures))
    table.add_row(
        Text("measured on", style="dim"), *(Text(f"{f['lines']:,} lines", style="dim") for f in figures)
    )
    return table


class FiguresView(Static):
    """Shows `figures_table`, or a line saying what is being measured."""

    DEFAULT_CSS = """
    FiguresView { height: auto; padding: 0 1; }
    """

    def show_figures(self, figures: list[dict[str, Any]], names: list[str]) -> None:
        self.update(figures_table(figures, names))

    def show_note(self, note: str) -> None:
        self.update(Text(note, style="italic"))
