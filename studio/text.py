"""Text from corpora and vocabularies is shown, never interpreted.

`visible()` turns every character a terminal could act on into a visible stand-in: C0 controls
become the Unicode control pictures (ESC → ␛, TAB → ␉, NUL → ␀), DEL → ␡, and C1 controls,
bidi overrides and other invisible format characters become `<U+XXXX>`. Callers then put the
result in a `rich.text.Text` (never a markup string), so `[bold]` is shown as typed.
"""

from __future__ import annotations

import unicodedata

_CONTROL_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)} | {0x7F: "\u2421"}
# Characters that reorder or hide text (bidi controls, zero-width joiners, BOM): shown by code point.
_FORMAT_CHARS = {
    c: f"<U+{c:04X}>"
    for c in (*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF, 0x00AD)
}
_C1 = {code: f"<U+{code:04X}>" for code in range(0x80, 0xA0)}
_TABLE = {**_CONTROL_PICTURES, **_C1, **_FORMAT_CHARS}
_TABLE_KEEP_TABS = {k: v for k, v in _TABLE.items() if k != 0x09}


def visible(text: str, keep_tabs: bool = False) -> str:
    """Replace control and invisible format characters with visible symbols."""
    return text.translate(_TABLE_KEEP_TABS if keep_tabs else _TABLE)


def from_argv(text: str) -> str:
    """A command-line argument as text: bytes that are not UTF-8, which Python keeps as lone
    surrogates, become U+FFFD (as an invalid byte in a corpus does), so no library chokes on them."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def is_unusual(char: str) -> bool:
    """True for characters worth flagging in statistics: controls, format and private-use chars."""
    return unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs", "Cn")
