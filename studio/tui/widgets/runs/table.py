"""The table of a workspace's runs, updated in place so the cursor and marks survive a refresh."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from studio.tui.widgets.train.format import count, duration, number

COLUMNS = (
    ("mark", " "),
    ("run", "Run"),  # the name: the id repeats the start time, and is shown under the table
    ("state", "State"),
    ("progress", "Progress"),
    ("loss", "Loss"),
    ("tps", "Tok/s"),
    ("started", "Started"),
    ("duration", "Duration"),
)
NAME_WIDTH = 24
STATE_STYLES = {
    "running": "green",
    "preparing": "yellow",
    "completed": "bold green",
    "stopped": "yellow",
    "failed": "bold red",
    "lost": "bold red",
}


def row_cells(info: Any, marked: bool) -> tuple[Text, ...]:
    """The cells of one `RunInfo` row (every value as `Text`: run names are user data)."""
    state = info.state + (
        f" ({info.phase})" if info.phase and info.phase not in ("running", info.state) else ""
    )
    if info.total_steps:
        fraction = min(1.0, info.step / info.total_steps)
        progress = f"{count(info.step)}/{count(info.total_steps)} {fraction:4.0%}"
    else:
        progress = count(info.step)
    started = time.strftime("%m-%d %H:%M", time.localtime(info.started)) if info.started else "–"
    return (
        Text("●" if marked else " ", "bold magenta"),
        Text(info.name if len(info.name) <= NAME_WIDTH else info.name[: NAME_WIDTH - 1] + "…"),
        Text(state, STATE_STYLES.get(info.state, "")),
        Text(progress, justify="right"),
        Text(number(info.last_loss), justify="right"),
        Text(count(info.tokens_per_s), justify="right"),
        Text(started),
        Text(duration(info.duration_s), justify="right"),
    )


class RunsTable(DataTable):
    """One row per run, keyed by run id; `marked` runs are compared (space toggles a mark)."""

    DEFAULT_CSS = """
    RunsTable { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.runs: dict[str, Any] = {}
        self.marked: set[str] = set()

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    @property
    def current_run(self) -> Any | None:
        """The `RunInfo` under the cursor, or None for an empty table."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.runs.get(key or "")

    def show_runs(self, infos: Sequence[Any]) -> None:
        """Update to this list (newest first): changed cells only, the cursor stays on its run."""
        previous = self.runs
        self.runs = {info.id: info for info in infos}
        self.marked &= set(self.runs)
        if list(previous) != list(self.runs):
            self._rebuild()
            return
        for run_id, info in self.runs.items():
            if info != previous.get(run_id):
                for (key, _), cell in zip(COLUMNS, row_cells(info, run_id in self.marked), strict=True):
                    self.update_cell(run_id, key, cell)

    def toggle_mark(self) -> None:
        info = self.current_run
        if info is None:
            return
        self.marked ^= {info.id}
        self.update_cell(info.id, "mark", row_cells(info, info.id in self.marked)[0])

    def _rebuild(self) -> None:
        current = self.current_run
        self.clear()
        for run_id, info in self.runs.items():
            self.add_row(*row_cells(info, run_id in self.marked), key=run_id)
        if current is not None and current.id in self.runs:
            self.move_cursor(row=self.get_row_index(current.id))
