"""The one error type a user sees: what is wrong and what to do about it, never a traceback."""

from __future__ import annotations


class StudioError(Exception):
    """A problem caused by the user's input or environment, explained in plain words.

    `message` says what is wrong; `hint` says what to do. The CLI prints both on stderr and exits
    with `exit_code`; the TUI shows them in a notification. Anything else that escapes is a bug.
    """

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class Cancelled(Exception):
    """Raised inside long work when its cancel flag was set; callers treat it as a clean stop."""
