"""The statistics panel: the figures, line-length histograms and the most frequent characters.

Everything is drawn as Rich renderables built from `Text` (never markup strings), because the
top-characters table shows corpus characters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from studio.text import visible

if TYPE_CHECKING:
    from studio.corpus.stats import CorpusStats

BAR_WIDTH = 18
FLAG_STYLES = {"control": "bold red", "unusual": "bold red", "rare script": "bold magenta"}


def _bucket_label(bucket: dict[str, int]) -> str:
    low, high = bucket["min"], bucket["max"]
    if high < 0:
        return f"{low:,}+"
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def histogram(title: str, buckets: list[dict[str, int]]) -> Table:
    """Horizontal bars of line counts per length bucket."""
    table = Table(title=Text(title), title_justify="left", box=None, padding=(0, 1), show_header=False)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    largest = max((b["count"] for b in buckets), default=0) or 1
    for bucket in buckets:
        filled = round(BAR_WIDTH * bucket["count"] / largest)
        bar = "█" * filled if filled or not bucket["count"] else "▏"
        table.add_row(Text(_bucket_label(bucket)), Text(bar, "cyan"), Text(f"{bucket['count']:,}"))
    return table


def figures_table(stats: CorpusStats) -> Table:
    table = Table(box=None, padding=(0, 1), show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    duplicate_note = "exact" if stats.duplicates_exact else "estimated"
    rows: list[tuple[str, str]] = [
        ("files", f"{stats.files:,}"),
        ("lines", f"{stats.lines:,}"),
        ("bytes", f"{stats.bytes:,}"),
        ("chars", f"{stats.chars:,}"),
        ("words", f"{stats.words:,}"),
        ("distinct chars", f"{stats.distinct_chars:,}"),
        ("empty lines", f"{stats.empty_lines:,}"),
        ("duplicate lines", f"{stats.duplicate_lines:,}"),
        ("  duplicates are", duplicate_note),
        ("invalid UTF-8", f"{stats.invalid_utf8_lines:,} lines"),
        ("longest line", f"#{stats.longest_line:,}"),
        ("  chars", f"{stats.longest_line_chars:,}"),
    ]
    for name, value in rows:
        table.add_row(Text(name), Text(value))
    return table


def top_chars_table(stats: CorpusStats, count: int = 24) -> Table:
    table = Table(title=Text("most frequent characters"), title_justify="left", box=None, padding=(0, 1))
    table.add_column(Text("char"), no_wrap=True)
    table.add_column(Text("U+"), no_wrap=True)
    table.add_column(Text("count"), justify="right", no_wrap=True)
    table.add_column(Text("flag"), no_wrap=True)
    for char, n, flag in stats.top_chars(count):
        shown = "␠" if char == " " else visible(char)
        table.add_row(
            Text(shown), Text(f"{ord(char):04X}"), Text(f"{n:,}"), Text(flag, FLAG_STYLES.get(flag, ""))
        )
    return table


def stats_renderable(stats: CorpusStats) -> RenderableType:
    parts: list[RenderableType] = [figures_table(stats)]
    if stats.looks_binary:
        parts.append(Text(f"{stats.nul_bytes:,} NUL bytes: this looks like a binary file", "bold red"))
    data = stats.to_json()["line_length_histogram"]
    parts += [
        Text(""),
        histogram("line length (chars)", data["chars"]),
        Text(""),
        histogram("line length (words)", data["words"]),
        Text(""),
        top_chars_table(stats),
    ]
    return Group(*parts)


class StatsPanel(VerticalScroll):
    """Shows a `CorpusStats`, or a line saying what is happening (computing 40 %, cancelled...)."""

    DEFAULT_CSS = """
    StatsPanel { height: 1fr; }
    StatsPanel > Static { width: auto; min-width: 100%; }
    """

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Text("Press t to compute the statistics."), id="stats-body")

    def show_message(self, message: str) -> None:
        self.query_one("#stats-body", Static).update(Text(message))

    def show_stats(self, stats: CorpusStats) -> None:
        self.query_one("#stats-body", Static).update(stats_renderable(stats))
