"""The viewer's text: hostile bytes are shown, never interpreted; matches highlighted; long lines cut."""

from __future__ import annotations

import re

from studio.text import visible
from studio.tui.widgets.corpus.viewer import _NEEDS_STAND_IN, DISPLAY_CHARS, MATCH_STYLE, display_text


def test_markup_is_literal_and_escapes_are_visible() -> None:
    """`[bold]` stays text; ESC, NUL, DEL and bidi overrides become visible stand-ins."""
    text = display_text(b"[bold]x[/] \x1b[31mred\x00\x7f \xe2\x80\xae")
    assert text.plain == "[bold]x[/] ␛[31mred␀␡ <U+202E>"
    assert not text.spans or all(span.style for span in text.spans)
    assert "\x1b" not in text.plain


def test_invalid_utf8_gets_replacement_marks() -> None:
    """Bytes that are not UTF-8 show as U+FFFD."""
    assert display_text(b"ok \xff\xfe end").plain == "ok \ufffd\ufffd end"


def test_record_newline_is_shown() -> None:
    """A newline inside a record (stored as U+2028) is drawn as ␤."""
    assert display_text("a\u2028b".encode()).plain == "a\u2424b"


def test_matches_are_highlighted_on_the_visible_text() -> None:
    """Search matches are styled, even next to control characters."""
    text = display_text(b"\tneedle and needle", re.compile("needle"))
    assert text.plain == "␉needle and needle"
    highlighted = [text.plain[span.start : span.end] for span in text.spans if span.style == MATCH_STYLE]
    assert highlighted == ["needle", "needle"]


def test_only_the_start_of_a_huge_line_is_drawn() -> None:
    """A very long line is cut to DISPLAY_CHARS characters before drawing."""
    assert len(display_text(b"y" * (DISPLAY_CHARS * 3)).plain) == DISPLAY_CHARS


def test_fast_path_misses_nothing_visible_would_replace() -> None:
    """Every BMP character that `visible()` replaces is caught by the fast-path check."""
    for code in range(0x10000):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        if visible(char) != char:
            assert _NEEDS_STAND_IN.search(char), hex(code)
