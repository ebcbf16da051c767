"""Two or more runs' loss curves on one chart, read from their `events.jsonl`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from studio.train.events import EventLog, Step
from studio.tui.bridge import BoundedSeries, Series
from studio.tui.widgets.train.curves import Curve, CurveChart

CURVE_POINTS = 1024  # per run: the whole run's shape, whatever its length


def read_loss_curve(events_path: Path, capacity: int = CURVE_POINTS) -> Series:
    """A run's training loss against step, downsampled while reading (flat memory for any length)."""
    series = BoundedSeries(capacity)
    log = EventLog(events_path)
    while batch := log.read_new(max_bytes=4 << 20):
        for event in batch:
            if isinstance(event, Step):
                series.add(event.step, event.loss)
    return series.points()


class CompareScreen(ModalScreen[None]):
    """A chart of the marked runs' loss curves; smoothing and log scale as on the Train screen."""

    DEFAULT_CSS = """
    CompareScreen { align: center middle; }
    CompareScreen > Vertical { width: 95%; height: 90%; border: thick $primary; background: $surface; }
    CompareScreen #compare-title { height: 1; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="compare.close", tooltip="Back to the runs"),
        Binding(
            "m", "toggle_smoothing", "Smooth", id="compare.smooth", tooltip="Smooth the curves (EMA 0.9)"
        ),
        Binding(
            "l",
            "toggle_log_scale",
            "Log scale",
            id="compare.log_scale",
            tooltip="Log scale for the loss axis",
        ),
    ]

    def __init__(self, curves: Sequence[tuple[str, Series]]) -> None:
        super().__init__()
        self._curves = [Curve(name, series) for name, series in curves]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Training loss of {len(self._curves)} runs", "bold"), id="compare-title")
            yield CurveChart("training loss", empty_text="these runs have no steps yet", id="compare-chart")
            yield Footer()

    def on_mount(self) -> None:
        self.query_one(CurveChart).set_curves(self._curves)

    def action_toggle_smoothing(self) -> None:
        chart = self.query_one(CurveChart)
        chart.smoothing = not chart.smoothing

    def action_toggle_log_scale(self) -> None:
        chart = self.query_one(CurveChart)
        chart.log_scale = not chart.log_scale
