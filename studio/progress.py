"""Progress reporting and cancellation shared by every long-running core function.

Every piece of work the TUI starts is a core function taking `progress` and `cancel`, so the
headless commands and the screens drive the same code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from studio.errors import Cancelled


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """One report from long work: a phase name, how far along it is, and an optional note."""

    phase: str
    done: float
    total: float | None = None
    note: str = ""

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


ProgressCallback = Callable[[ProgressUpdate], None]


def no_progress(update: ProgressUpdate) -> None:
    """The default callback: report nowhere."""


class CancelFlag:
    """A thread-safe flag that long work polls between chunks; `check()` raises `Cancelled`."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()
