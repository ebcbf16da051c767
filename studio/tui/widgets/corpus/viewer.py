"""The corpus viewer: a virtualised line-API widget over a `CorpusDocument`.

Only the rows on screen are read (by `pread`, through the document's line index) and drawn
(`render_line`), so a 5 GB file scrolls like a 5 KB one. Decoded rows live in a small LRU cache.
Corpus text is never interpreted: bytes are decoded with replacement marks, every control or
invisible character goes through `studio.text.visible`, and everything is built as
`rich.text.Text`, so `[bold]` is drawn as typed and no escape sequence reaches the terminal.

Wrapping: the scroll position always counts rows (lines), so wrapping never needs the widths of
lines that are off screen; with wrap on, the lines from the top row are laid out to fill the view.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from studio.text import visible

if TYPE_CHECKING:
    from studio.corpus.document import CorpusDocument, Row

DISPLAY_CHARS = 4096  # characters of a line drawn; the rest is replaced by a marker
CACHE_ROWS = 4096
READ_AHEAD = 128
_RECORD_NEWLINE = str.maketrans({"\u2028": "\u2424"})  # a newline inside a record: ␤

GUTTER_STYLE = Style(color="grey50")
CURRENT_GUTTER_STYLE = Style(color="black", bgcolor="yellow")
HEADER_STYLE = Style(color="black", bgcolor="cyan", bold=True)
MARKER_STYLE = Style(color="magenta", italic=True)
MATCH_STYLE = Style(color="black", bgcolor="yellow")
SYMBOL_STYLE = Style(color="red")


# Every character `visible()` replaces (controls, C1, bidi and zero-width format characters), and
# U+2028 from materialised records: one regex scan decides whether the slow path is needed.
_NEEDS_STAND_IN = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028\u202a-\u202e\u2066-\u2069\ufeff]")


def display_text(data: bytes, pattern: re.Pattern[str] | None = None) -> Text:
    """A line's bytes as safe `Text`: replacement marks, visible controls, highlighted matches."""
    decoded = data.decode("utf-8", "replace")
    if len(decoded) > DISPLAY_CHARS:
        decoded = decoded[:DISPLAY_CHARS]
    if pattern is None and _NEEDS_STAND_IN.search(decoded) is None:
        return Text(decoded, no_wrap=True, end="")  # the common case: nothing to replace
    decoded = decoded.translate(_RECORD_NEWLINE)
    text = Text(no_wrap=True, end="")
    position = 0
    if pattern is not None:
        for match in pattern.finditer(decoded):
            if match.end() == match.start():
                continue
            _append_visible(text, decoded[position : match.start()])
            _append_visible(text, decoded[match.start() : match.end()], MATCH_STYLE)
            position = match.end()
    _append_visible(text, decoded[position:])
    return text


def _append_visible(text: Text, part: str, style: Style | None = None) -> None:
    if _NEEDS_STAND_IN.search(part) is None:
        text.append(part, style)
        return
    # Draw the stand-ins in a warning colour so they are not mistaken for corpus text.
    for char in part:
        stand_in = visible(char)
        text.append(stand_in, style if stand_in == char else (style or Style()) + SYMBOL_STYLE)


class CorpusViewer(ScrollView, can_focus=True):
    """Scrollable, virtualised view of a corpus; `goto_row` jumps, `highlight` marks matches."""

    DEFAULT_CSS = """
    CorpusViewer { height: 1fr; width: 1fr; background: $surface; }
    CorpusViewer:focus { background-tint: $foreground 3%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False, id="corpus.viewer.up", tooltip="Scroll up a line"),
        Binding(
            "down,j", "scroll_down", "Down", show=False, id="corpus.viewer.down", tooltip="Scroll down a line"
        ),
        Binding("left", "scroll_left", "Left", show=False, id="corpus.viewer.left", tooltip="Scroll left"),
        Binding(
            "right", "scroll_right", "Right", show=False, id="corpus.viewer.right", tooltip="Scroll right"
        ),
        Binding(
            "pageup", "page_up", "Page up", show=False, id="corpus.viewer.page_up", tooltip="Scroll up a page"
        ),
        Binding(
            "pagedown,space",
            "page_down",
            "Page down",
            show=False,
            id="corpus.viewer.page_down",
            tooltip="Scroll down a page",
        ),
        Binding(
            "home", "scroll_home", "Top", show=False, id="corpus.viewer.home", tooltip="Go to the first line"
        ),
        Binding(
            "end", "scroll_end", "Bottom", show=False, id="corpus.viewer.end", tooltip="Go to the last line"
        ),
    ]

    show_line_numbers: reactive[bool] = reactive(True)
    wrap: reactive[bool] = reactive(False)

    class Moved(Message):
        """The top row changed (for the status line)."""

        def __init__(self, top_row: int) -> None:
            super().__init__()
            self.top_row = top_row

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, CorpusViewer.Moved)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.document: CorpusDocument | None = None
        self.pattern: re.Pattern[str] | None = None
        self.current_row: int | None = None
        self._rows: OrderedDict[int, Row] = OrderedDict()
        self._widest = 0
        self._wrapped: tuple[tuple[int, int, int], list[Strip]] | None = None

    # -- document ---------------------------------------------------------------------------

    def set_document(self, document: CorpusDocument | None) -> None:
        self.document = document
        self.current_row = None
        self._forget()
        self.scroll_to(0, 0, animate=False)
        self.update_size()

    def update_size(self) -> None:
        """Re-read the row count (call as indexing makes progress)."""
        if self.document is not None:
            self.document.refresh()
            rows = self.document.row_count
        else:
            rows = 0
        self._wrapped = None
        self.virtual_size = Size(self._gutter_width() + max(self._widest, 1), rows)
        self.refresh()

    def set_pattern(self, pattern: re.Pattern[str] | None) -> None:
        self.pattern = pattern
        self._forget()
        self.refresh()

    def _forget(self) -> None:
        self._rows.clear()
        self._wrapped = None

    @property
    def top_row(self) -> int:
        return int(self.scroll_offset.y)

    def goto_row(self, row: int) -> None:
        """Put `row` near the top of the view and mark it."""
        self.current_row = row
        self._wrapped = None
        self.scroll_to(y=max(0, row - 2), animate=False)
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._wrapped = None
        self.post_message(self.Moved(int(new_value)))

    def watch_show_line_numbers(self) -> None:
        self.update_size()

    def watch_wrap(self) -> None:
        self._wrapped = None
        self.refresh()

    # -- rows -------------------------------------------------------------------------------

    def _row(self, number: int) -> Row | None:
        row = self._rows.get(number)
        if row is not None:
            self._rows.move_to_end(number)
            return row
        if self.document is None:
            return None
        first = max(0, number - READ_AHEAD // 4)
        for offset, fetched in enumerate(self.document.read_rows(first, READ_AHEAD)):
            self._rows[first + offset] = fetched
        while len(self._rows) > CACHE_ROWS:
            self._rows.popitem(last=False)
        return self._rows.get(number)

    def _gutter_width(self) -> int:
        if not self.show_line_numbers or self.document is None:
            return 0
        return len(f"{max(self.document.line_count, 1):,}") + 1

    def _row_texts(self, number: int) -> tuple[Text, Text]:
        """(gutter, content) for one row."""
        gutter_width = self._gutter_width()
        row = self._row(number)
        if row is None or self.document is None:
            return Text(" " * gutter_width), Text("")
        if row.line is None:
            label = self.document.segments[row.segment].label
            return Text(" " * gutter_width, HEADER_STYLE), Text(f"── {label} ──", HEADER_STYLE, end="")
        line_number = self.document.global_line(row.segment, row.line) + 1
        gutter_style = CURRENT_GUTTER_STYLE if number == self.current_row else GUTTER_STYLE
        gutter = (
            Text(f"{line_number:,}".rjust(gutter_width - 1) + " ", gutter_style) if gutter_width else Text("")
        )
        assert row.raw is not None
        content = display_text(row.raw.data, self.pattern)
        if row.raw.truncated or len(content) >= DISPLAY_CHARS:
            content.append(" … [line too long: only its start is shown]", MARKER_STYLE)
        return gutter, content

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if self.wrap:
            strips = self._wrapped_view(width)
            return strips[y] if y < len(strips) else Strip.blank(width, self.rich_style)
        number = self.top_row + y
        if self.document is None or number >= self.document.row_count:
            return Strip.blank(width, self.rich_style)
        gutter, content = self._row_texts(number)
        if content.cell_len > self._widest:
            self._widest = min(content.cell_len, DISPLAY_CHARS + 64)
            self.call_later(self.update_size)
        scroll_x = int(self.scroll_offset.x)
        body = Strip(content.render(self.app.console)).crop(scroll_x, scroll_x + width - gutter.cell_len)
        strip = Strip.join([Strip(gutter.render(self.app.console)), body])
        return strip.adjust_cell_length(width, self.rich_style).apply_style(self.rich_style)

    def _wrapped_view(self, width: int) -> list[Strip]:
        """Rows from the top, each wrapped to the width, until the view is full."""
        height = self.scrollable_content_region.height
        key = (self.top_row, width, height)
        if self._wrapped is not None and self._wrapped[0] == key:
            return self._wrapped[1]
        strips: list[Strip] = []
        number = self.top_row
        total = self.document.row_count if self.document is not None else 0
        while len(strips) < height and number < total:
            gutter, content = self._row_texts(number)
            text_width = max(1, width - gutter.cell_len)
            pieces = content.wrap(self.app.console, text_width, overflow="fold", no_wrap=False) or [Text("")]
            blank = Text(" " * gutter.cell_len, gutter.style)
            for index, piece in enumerate(pieces):
                head = gutter if index == 0 else blank
                line = Strip.join(
                    [Strip(head.render(self.app.console)), Strip(piece.render(self.app.console))]
                )
                strips.append(line.adjust_cell_length(width, self.rich_style))
                if len(strips) >= height:
                    break
            number += 1
        self._wrapped = (key, strips)
        return strips
