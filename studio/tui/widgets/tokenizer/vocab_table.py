"""The vocabulary as a virtualised table: only the rows on screen are drawn (`render_line`).

A 250,000-token vocabulary is a list of ids; filtering and sorting replace that list and nothing
else, so the table never holds a widget or a row object per token (a `DataTable` would block the
UI for seconds, TRAPS.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

if TYPE_CHECKING:
    from studio.tokenizer.vocab import Vocabulary

ID_WIDTH = 8
LEN_WIDTH = 5
FREQ_WIDTH = 10
CURSOR_STYLE = Style(bgcolor="blue", color="white", bold=True)
SPECIAL_STYLE = Style(color="magenta", bold=True)
MARK_STYLE = Style(color="cyan")
DIM_STYLE = Style(color="grey50")
_MARKS = frozenset("␣↵")


def token_text(readable: str, special: bool) -> Text:
    """A readable token as `Text`, its marks (␣ ↵ <0x..>) tinted so they read as marks."""
    if special:
        return Text(readable, style=SPECIAL_STYLE, no_wrap=True, end="")
    text = Text(no_wrap=True, end="")
    start = 0
    i = 0
    while i < len(readable):
        char = readable[i]
        if char in _MARKS or (
            char == "<" and readable.startswith("<0x", i) and readable[i + 5 : i + 6] == ">"
        ):
            text.append(readable[start:i])
            width = 1 if char in _MARKS else 6
            text.append(readable[i : i + width], MARK_STYLE)
            i += width
            start = i
        else:
            i += 1
    text.append(readable[start:])
    return text


class VocabTable(ScrollView, can_focus=True):
    """Id, token, length in bytes and corpus frequency of the tokens in `ids`, one row each."""

    DEFAULT_CSS = """
    VocabTable { height: 1fr; width: 1fr; background: $surface; }
    VocabTable:focus { background-tint: $foreground 3%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False, id="tokenizer.table.up", tooltip="Previous token"),
        Binding("down", "move(1)", "Down", show=False, id="tokenizer.table.down", tooltip="Next token"),
        Binding(
            "pageup", "page(-1)", "Page up", show=False, id="tokenizer.table.page_up", tooltip="A page up"
        ),
        Binding(
            "pagedown",
            "page(1)",
            "Page down",
            show=False,
            id="tokenizer.table.page_down",
            tooltip="A page down",
        ),
        Binding("home", "jump(0)", "First", show=False, id="tokenizer.table.home", tooltip="First token"),
        Binding("end", "jump(-1)", "Last", show=False, id="tokenizer.table.end", tooltip="Last token"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    class Highlighted(Message):
        """The token under the cursor changed."""

        def __init__(self, token_id: int | None) -> None:
            super().__init__()
            self.token_id = token_id

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, VocabTable.Highlighted)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.vocab: Vocabulary | None = None
        self.ids: list[int] = []

    def set_view(self, vocab: Vocabulary | None, ids: list[int]) -> None:
        """Show these ids (a filtered and sorted list) of this vocabulary; the cursor goes to the top."""
        self.vocab = vocab
        self.ids = ids
        self.virtual_size = Size(ID_WIDTH + 40 + LEN_WIDTH + FREQ_WIDTH, len(ids))
        self.scroll_to(0, 0, animate=False)
        self.cursor = 0
        self.refresh()

    @property
    def current_id(self) -> int | None:
        return self.ids[self.cursor] if 0 <= self.cursor < len(self.ids) else None

    def watch_cursor(self, row: int) -> None:
        if self.ids:
            self.scroll_to_region(Region(0, row, 1, 1), animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Highlighted(self.current_id))

    def action_move(self, delta: int) -> None:
        if self.ids:
            self.cursor = max(0, min(len(self.ids) - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, row: int) -> None:
        if self.ids:
            self.cursor = row if row >= 0 else len(self.ids) - 1

    def on_click(self, event: object) -> None:
        offset = getattr(event, "y", None)
        if isinstance(offset, int) and self.ids:
            self.cursor = max(0, min(len(self.ids) - 1, int(self.scroll_offset.y) + offset))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = int(self.scroll_offset.y) + y
        vocab = self.vocab
        if vocab is None or row >= len(self.ids):
            return Strip.blank(width, self.rich_style)
        token_id = self.ids[row]
        token_width = max(4, width - ID_WIDTH - LEN_WIDTH - FREQ_WIDTH - 3)
        line = Text(no_wrap=True, end="")
        line.append(f"{token_id:>{ID_WIDTH}} ", DIM_STYLE)
        token = token_text(vocab.readable[token_id], vocab.raw[token_id] in vocab.special)
        token.truncate(token_width, overflow="ellipsis", pad=True)
        line.append_text(token)
        line.append(f" {vocab.lengths[token_id]:>{LEN_WIDTH}}")
        frequency = "" if vocab.frequency is None else f"{vocab.frequency[token_id]:,}"
        line.append(f" {frequency:>{FREQ_WIDTH}}", DIM_STYLE)
        if row == self.cursor:
            line.stylize(CURSOR_STYLE if self.has_focus else Style(reverse=True))
        strip = Strip(line.render(self.app.console))
        return strip.adjust_cell_length(width, self.rich_style).apply_style(self.rich_style)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


def header_text(width: int) -> Text:
    """The column titles, aligned with the rows of `VocabTable`."""
    token_width = max(4, width - ID_WIDTH - LEN_WIDTH - FREQ_WIDTH - 3)
    return Text(
        f"{'id':>{ID_WIDTH}} {'token':<{token_width}} {'bytes':>{LEN_WIDTH}} {'frequency':>{FREQ_WIDTH}}",
        style="bold",
        no_wrap=True,
        end="",
    )
