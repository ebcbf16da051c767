"""Curves with axes (plotext) and labelled sparklines, fed with bounded series."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Sparkline, Static
from textual_plotext import PlotextPlot

from studio.tui.widgets.train.format import number

# (steps, values); both tuples of the same length.
Series = tuple[tuple[float, ...], tuple[float, ...]]
EMPTY_SERIES: Series = ((), ())


@dataclass(frozen=True)
class Curve:
    """One line of a chart: a label, its points, and how plotext draws them."""

    label: str
    series: Series
    marker: str = "braille"
    color: str | None = None


def smooth(values: Sequence[float], weight: float = 0.9) -> list[float]:
    """TensorBoard-style exponential moving average, debiased so the start is not dragged to 0."""
    smoothed: list[float] = []
    average, norm = 0.0, 0.0
    for value in values:
        if not math.isfinite(value):
            smoothed.append(value)
            continue
        average = weight * average + (1 - weight) * value
        norm = weight * norm + (1 - weight)
        smoothed.append(average / norm)
    return smoothed


def thin(xs: Sequence[float], ys: Sequence[float], limit: int) -> tuple[list[float], list[float]]:
    """At most `limit` points, evenly picked (the last point always kept): plotting cost stays flat."""
    n = len(xs)
    if n <= limit or limit < 2:
        return list(xs), list(ys)
    stride = (n - 1) / (limit - 1)
    picks = [round(i * stride) for i in range(limit)]
    return [xs[i] for i in picks], [ys[i] for i in picks]


def drawable(xs: Sequence[float], ys: Sequence[float], log_scale: bool) -> tuple[list[float], list[float]]:
    """Drop points a chart cannot place: NaN/Inf always, and values <= 0 on a log axis."""
    keep = [(x, y) for x, y in zip(xs, ys, strict=False) if math.isfinite(y) and (y > 0 or not log_scale)]
    return [x for x, _ in keep], [y for _, y in keep]


class CurveChart(PlotextPlot):
    """Lines against step with real axes; `smoothing` and `log_scale` toggle how they are drawn.

    Setting curves only stores them; the (costly) plot is rebuilt when the widget next renders,
    and the screen refreshes it at a few hertz at most, so a flood of steps never starves the keys.
    """

    DEFAULT_CSS = """
    CurveChart { height: 1fr; min-height: 6; }
    """

    smoothing: reactive[bool] = reactive(False)
    log_scale: reactive[bool] = reactive(False)

    def __init__(self, title: str = "", empty_text: str = "no data yet", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._title = title
        self._empty_text = empty_text
        self._curves: tuple[Curve, ...] = ()
        self._stale = True

    @property
    def curves(self) -> tuple[Curve, ...]:
        return self._curves

    def set_curves(self, curves: Sequence[Curve]) -> None:
        """Replace the lines; redrawn on the next refresh."""
        self._curves = tuple(curves)
        self._stale = True

    def watch_smoothing(self) -> None:
        self._stale = True
        self.refresh()

    def watch_log_scale(self) -> None:
        self._stale = True
        self.refresh()

    def render(self):  # type: ignore[no-untyped-def]
        if self._stale:
            self._stale = False
            self._build()
        return super().render()

    def _build(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        # Two points per braille column is all the detail a terminal can show.
        limit = max(16, self.size.width * 2)
        drawn = 0
        for curve in self._curves:
            xs, ys = curve.series
            if self.smoothing and curve.marker == "braille":
                ys = tuple(smooth(ys))
            xs_d, ys_d = drawable(*thin(xs, ys, limit), log_scale=self.log_scale)
            if not xs_d:
                continue
            if curve.color:
                plt.plot(xs_d, ys_d, label=curve.label, marker=curve.marker, color=curve.color)
            else:  # plotext picks the next colour of its sequence
                plt.plot(xs_d, ys_d, label=curve.label, marker=curve.marker)
            drawn += 1
        suffix = []
        if self.smoothing:
            suffix.append("smoothed")
        if self.log_scale:
            suffix.append("log scale")
        title = self._title + (f" ({', '.join(suffix)})" if suffix else "")
        plt.title(title if drawn else f"{title}: {self._empty_text}")
        plt.xlabel("step")
        plt.yscale("log" if self.log_scale and drawn else "linear")


class MetricSpark(Vertical):
    """A name, the latest value, and a sparkline of the recent values."""

    DEFAULT_CSS = """
    MetricSpark { height: 2; }
    MetricSpark > .metric-label { height: 1; }
    MetricSpark > Sparkline { height: 1; }
    """

    def __init__(
        self, label: str, formatter: Callable[[float | None], str] = number, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._label = label
        self._formatter = formatter
        self._shown: object = None

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{self._label}  –"), classes="metric-label")
        yield Sparkline([], summary_function=max)

    def set_values(self, values: Sequence[float]) -> None:
        """Show the whole run's shape (thinned to the width) and the newest value as a figure."""
        width = max(8, self.size.width or 30)
        picked = thin(values, values, width)[1]  # thin first: the cost stays flat for long series
        key = (len(values), tuple(picked))
        if key == self._shown:
            return
        self._shown = key
        latest = self._formatter(values[-1]) if values else "–"
        self.query_one(".metric-label", Static).update(
            Text.assemble((self._label, "bold"), "  ", latest), layout=False
        )
        self.query_one(Sparkline).data = [v for v in picked if math.isfinite(v)]
