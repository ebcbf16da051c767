"""The Runs screen: every run of the workspace, its state seen within seconds; attach, stop,
resume, delete, and compare loss curves.

The list is read from the runs' `status.json` files every `REFRESH_S` seconds on a worker thread
(only while the screen is shown) and applied in place, so the cursor and the marks stay put.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from studio.tui.screens.base import StudioScreen
from studio.tui.widgets.runs.compare import CompareScreen, read_loss_curve
from studio.tui.widgets.runs.table import RunsTable
from studio.tui.widgets.train.dialogs import ConfirmDialog

REFRESH_S = 2.0
_SEVERITY: dict[str, SeverityLevel] = {"completed": "information", "stopped": "warning"}
ENDED = ("completed", "stopped", "failed", "lost")


class RunsListed(Message):
    """A fresh reading of the workspace's runs (newest first)."""

    def __init__(self, runs: list[Any]) -> None:
        super().__init__()
        self.runs = runs


class RunsChanged(Message):
    """A run was stopped, resumed or deleted: say so and read the list again."""

    def __init__(self, text: str, handle: Any = None) -> None:
        super().__init__()
        self.text, self.handle = text, handle


class CurvesLoaded(Message):
    def __init__(self, curves: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.curves = curves


class RunsScreen(StudioScreen):
    MODE = "runs"
    TITLE = "Runs"
    HELP = (
        "Every run of the workspace with its state (running, completed, stopped, failed, lost), refreshed every "
        "two seconds. Enter attaches (follow it live on the Train screen), whichever terminal started it; resume "
        "continues a stopped run from its last checkpoint; mark runs with space and compare their loss curves."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "a", "attach", "Attach", id="runs.attach", tooltip="Follow the run on the Train screen (or Enter)"
        ),
        Binding(
            "s", "stop_run", "Stop", id="runs.stop", tooltip="Stop the run (a checkpoint is saved first)"
        ),
        Binding(
            "r", "resume_run", "Resume", id="runs.resume", tooltip="Resume the run from its last checkpoint"
        ),
        Binding(
            "x,delete",
            "delete_run",
            "Delete",
            key_display="x",
            id="runs.delete",
            tooltip="Delete the run's folder (asks to confirm)",
        ),
        Binding("space", "toggle_mark", "Mark", id="runs.mark", tooltip="Mark the run for comparison"),
        Binding(
            "c",
            "compare",
            "Compare",
            id="runs.compare",
            tooltip="Loss curves of the marked runs on one chart",
        ),
        Binding(
            "f5", "refresh_runs", "Refresh", show=False, id="runs.refresh", tooltip="Read the runs again now"
        ),
    ]
    DEFAULT_CSS = """
    RunsScreen #runs-detail { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    RunsScreen #runs-empty { padding: 1 2; }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._states: dict[str, str] | None = None  # run id -> state at the last reading

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Reading the runs…", "dim"), id="runs-empty")
        yield RunsTable(id="runs-table")
        yield Static(id="runs-detail")

    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self._tick)
        self.action_refresh_runs()
        self.query_one(RunsTable).focus()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.action_refresh_runs()

    # --- reading the runs --------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.is_current:  # nothing is read or drawn while another screen is shown
            self.action_refresh_runs()

    def action_refresh_runs(self) -> None:
        self._list_runs()

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs-list", description="list runs")
    def _list_runs(self) -> None:
        from studio.train import runs

        self.post_message(RunsListed(runs.list_runs(self.studio.workspace)))

    @on(RunsListed)
    def _on_runs_listed(self, message: RunsListed) -> None:
        table = self.query_one(RunsTable)
        empty = self.query_one("#runs-empty", Static)
        empty.display = not message.runs
        if not message.runs:
            empty.update(
                Text(
                    "No runs yet. Configure a model on the Model screen (3) and start training, "
                    "or run `studio train CONFIG` in any terminal."
                )
            )
        with self.app.batch_update():
            table.show_runs(message.runs)
            self._show_detail()
        self._notify_endings(message.runs)

    def _notify_endings(self, infos: list[Any]) -> None:
        """Say when a run that was live ends (the Train screen already says it for the run it follows)."""
        states = {info.id: info.state for info in infos}
        before, self._states = self._states, states
        if before is None:
            return
        followed = self.studio.run_state.split(":", 1)[0]
        for info in infos:
            was = before.get(info.id)
            if was in ("running", "preparing") and info.state in ENDED and info.id != followed:
                severity = _SEVERITY.get(info.state, "error")
                reason = f": {info.reason}" if info.reason else ""
                self.notify(
                    f"Run {info.id} {info.state}{reason}",
                    title=f"Run {info.state}",
                    severity=severity,
                    markup=False,
                )
                self.app.bell()

    @on(DataTable.RowHighlighted)
    def _on_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        info = self.query_one(RunsTable).current_run
        detail = self.query_one("#runs-detail", Static)
        if info is None:
            detail.update("")
            return
        text = Text(info.id, "bold")
        if info.host:
            text.append(f"  on {info.host}")
        if info.reason:
            text.append("\n")
            text.append(info.reason, "red" if info.state in ("failed", "lost") else "")
        detail.update(text)

    # --- actions -----------------------------------------------------------------------------------

    def _selected(self) -> Any | None:
        info = self.query_one(RunsTable).current_run
        if info is None:
            self.notify("No run here yet.", severity="warning")
        return info

    @on(DataTable.RowSelected)
    def _on_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_attach()

    def action_attach(self) -> None:
        info = self._selected()
        if info is None:
            return
        self._train_screen().attach(info.id)

    def _train_screen(self) -> Any:
        self.app.switch_mode("train")
        return self.app.screen

    def action_stop_run(self) -> None:
        info = self._selected()
        if info is None:
            return
        if not info.is_live:
            self.notify(
                f"Run {info.id} is not running (it is {info.state}).", severity="warning", markup=False
            )
            return
        self.app.push_screen(
            ConfirmDialog(f"Stop run {info.id}? A checkpoint is saved first, then the run ends.", "Stop run"),
            self._when_confirmed("stop", info.id),
        )

    def action_resume_run(self) -> None:
        info = self._selected()
        if info is not None:
            self._change_run("resume", info.id)

    def action_delete_run(self) -> None:
        info = self._selected()
        if info is None:
            return
        if info.is_live:
            self.notify(f"Run {info.id} is {info.state}: stop it first.", severity="warning", markup=False)
            return
        self.app.push_screen(
            ConfirmDialog(
                f"Delete run {info.id} and everything in its folder (checkpoints, final model)?\n{info.path}",
                "Delete",
            ),
            self._when_confirmed("delete", info.id),
        )

    def _when_confirmed(self, action: str, run_id: str) -> Callable[[bool | None], None]:
        def answered(yes: bool | None) -> None:
            if yes:
                self._change_run(action, run_id)

        return answered

    @work(thread=True, exit_on_error=False, group="runs-change", description="change a run")
    def _change_run(self, action: str, run_id: str) -> None:
        from studio.train import launcher, runs

        workspace = self.studio.workspace
        if action == "stop":
            launcher.stop_run(workspace, run_id)
            self.post_message(RunsChanged(f"Run {run_id}: stop requested (a checkpoint is saved first)."))
        elif action == "delete":
            runs.delete_run(workspace, run_id)
            self.post_message(RunsChanged(f"Run {run_id} deleted."))
        elif action == "resume":
            handle = launcher.resume_run(workspace, run_id, live=True)
            self.post_message(RunsChanged(f"Run {run_id} resumed.", handle=handle))

    @on(RunsChanged)
    def _on_runs_changed(self, message: RunsChanged) -> None:
        self.notify(message.text, markup=False)
        if message.handle is not None:
            self._train_screen().follow_handle(message.handle)
        else:
            self.action_refresh_runs()

    def action_toggle_mark(self) -> None:
        self.query_one(RunsTable).toggle_mark()

    def action_compare(self) -> None:
        table = self.query_one(RunsTable)
        chosen = [table.runs[run_id] for run_id in table.runs if run_id in table.marked]
        if len(chosen) < 2:
            self.notify("Mark two or more runs with space, then compare (c).", severity="warning")
            return
        self._load_curves([(info.id, info.path) for info in chosen])

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="runs-compare", description="read loss curves"
    )
    def _load_curves(self, runs: list[tuple[str, Any]]) -> None:
        from studio.train.runs import EVENTS_FILE

        self.post_message(
            CurvesLoaded([(run_id, read_loss_curve(path / EVENTS_FILE)) for run_id, path in runs])
        )

    @on(CurvesLoaded)
    def _on_curves_loaded(self, message: CurvesLoaded) -> None:
        self.app.push_screen(CompareScreen(message.curves))

    @on(Worker.StateChanged)
    def _on_worker_state(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        self.notify_error(event.worker.error, title="Runs")
        if event.worker.group == "runs-change":
            self.action_refresh_runs()
