"""The worker's log, the checkpoints and the latest probe outputs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable, RichLog, Static

from studio.text import visible
from studio.train.events import Checkpoint, Log, Probe

LEVEL_STYLES = {"debug": "dim", "info": "", "warning": "bold yellow", "error": "bold red"}


def log_line(event: Log, with_time: bool = True) -> Text:
    """One log record as `Text`: user data is never read as markup; warnings and errors stand out."""
    style = LEVEL_STYLES.get(event.level, "")
    line = Text(no_wrap=False)
    if with_time:
        line.append(time.strftime("%H:%M:%S ", time.localtime(event.time)), "dim")
    if event.level in ("warning", "error"):
        line.append(f"{event.level.upper()} ", style)
    line.append(visible(event.message, keep_tabs=True), style)
    return line


class WorkerLog(RichLog):
    """The worker's log, bounded by `max_lines`; lines arrive in batches, one refresh per batch."""

    DEFAULT_CSS = """
    WorkerLog { height: 1fr; }
    """

    def __init__(self, max_lines: int = 2000, show_time: bool = True, **kwargs: Any) -> None:
        super().__init__(max_lines=max_lines, markup=False, highlight=False, wrap=True, **kwargs)
        self.show_time = show_time
        self.written = 0  # sequence number of the last record written

    def write_records(self, records: Sequence[Log], last_seq: int) -> None:
        """Write the records newer than what is shown; `last_seq` numbers the last of `records`."""
        fresh = last_seq - self.written
        if fresh <= 0:
            return
        batch = records[-min(fresh, len(records), self.max_lines or len(records)) :]
        if fresh > len(batch):
            self.write(Text(f"… {fresh - len(batch)} earlier lines not shown (see worker.log)", "dim"))
        for record in batch:
            self.write(log_line(record, self.show_time), scroll_end=False)
        self.written = last_seq
        if self.auto_scroll:
            self.scroll_end(animate=False, immediate=False)


class CheckpointTable(DataTable):
    """Checkpoints saved so far, newest first."""

    DEFAULT_CSS = """
    CheckpointTable { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._shown: tuple[tuple[int, str], ...] = ()

    def on_mount(self) -> None:
        self.add_columns("step", "path")

    def show_checkpoints(self, checkpoints: Sequence[Checkpoint], run_dir: str | None) -> None:
        """Redraw when the list changed; paths are shown relative to the run directory."""
        rows = tuple((c.step, _relative(c.path, run_dir)) for c in reversed(checkpoints))
        if rows == self._shown:
            return
        self._shown = rows
        self.clear()
        for step, path in rows:
            self.add_row(Text(f"{step:,}", justify="right"), Text(visible(path)))


class ProbeView(Static):
    """The latest probe: fill-mask predictions with their scores, or generated text."""

    DEFAULT_CSS = """
    ProbeView { height: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Text("no probe yet (every studio.probe_every steps)", "dim"), **kwargs)
        self._shown: Probe | None = None

    def show_probe(self, probe: Probe | None) -> None:
        if probe is None or probe is self._shown:
            return
        self._shown = probe
        self.update(probe_text(probe))


def probe_text(probe: Probe) -> Text:
    """Each probe input, then its outputs: tokens with scores for fill-mask, text for generation."""
    text = Text.assemble((f"{probe.kind} at step {probe.step:,}", "bold"), "\n")
    for result in probe.results:
        text.append(visible(str(result.get("input", ""))), "italic")
        text.append("\n")
        for output in result.get("outputs", []) or []:
            text.append("  → ")
            text.append_text(_probe_output(output))
            text.append("\n")
    text.rstrip()
    return text


def _probe_output(output: Any) -> Text:
    if isinstance(output, dict):
        token = output.get("token_str", output.get("token", output.get("text", output.get("sequence", ""))))
        line = Text(visible(str(token)))
        score = output.get("score")
        if isinstance(score, int | float):
            line.append(f"  {score:.3f}", "dim")
        return line
    return Text(visible(str(output)))


def _relative(path: str, run_dir: str | None) -> str:
    if run_dir and path.startswith(run_dir.rstrip("/") + "/"):
        return path[len(run_dir.rstrip("/")) + 1 :]
    return path
