"""The learning-rate curve, drawn with plotext from the points the real scheduler gave."""

from __future__ import annotations

from collections.abc import Sequence

from textual_plotext import PlotextPlot


class SchedulePlot(PlotextPlot):
    """Learning rate against step; `show(points)` redraws it."""

    DEFAULT_CSS = """
    SchedulePlot { height: 10; min-height: 6; border: round $primary; }
    """

    def on_mount(self) -> None:
        self.border_title = "Learning-rate schedule"
        self.show([])

    def show(self, points: Sequence[tuple[int, float]], title: str = "") -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if points:
            plt.plot([p[0] for p in points], [p[1] for p in points], marker="braille")
        plt.xlabel("step")
        plt.title(title)
        self.refresh()
