"""One editable config field: its HF name on the left, its value (typed as YAML) on the right."""

from __future__ import annotations

from typing import Any

import yaml
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label


def format_value(value: Any) -> str:
    """A field's value as the user would type it (YAML flow style: `[8, 16]`, `true`, `0.001`)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


class FieldEdited(Message):
    """The user changed a field: `field` is `section.name`, `text` what is typed (empty: the default)."""

    def __init__(self, field: str, text: str) -> None:
        super().__init__()
        self.field = field
        self.text = text


class FieldRow(Horizontal):
    """`name ........ [value]`; the placeholder shows the default, the tooltip the help text."""

    DEFAULT_CSS = """
    FieldRow { height: 1; margin: 0 0 0 1; }
    FieldRow > Label { width: 1fr; height: 1; text-overflow: ellipsis; text-wrap: nowrap; color: $text-muted; }
    FieldRow.-problem > Label { color: $error; text-style: bold; }
    FieldRow > Input { width: 16; height: 1; }
    """

    def __init__(self, field: str, value: Any, default: Any = None, help_text: str = "") -> None:
        super().__init__(id=f"field-{field.replace('.', '-')}")
        self.field = field
        self.help_text = help_text
        self._value = format_value(value)
        self._default = format_value(default)

    def compose(self) -> ComposeResult:
        yield Label(Text(self.field.split(".", 1)[1]))
        yield Input(
            self._value,
            placeholder=self._default,
            compact=True,
            select_on_focus=False,
            tooltip=Text(self.help_text or self.field),
        )

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def show(self, value: Any) -> None:
        """Set the shown value without reporting it as an edit."""
        text = format_value(value)
        if self.input.value != text:
            with self.input.prevent(Input.Changed):
                self.input.value = text

    def set_help(self, default: Any, help_text: str) -> None:
        self.help_text = help_text
        self.input.placeholder = format_value(default)
        self.input.tooltip = Text(help_text or self.field)

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(FieldEdited(self.field, event.value))
