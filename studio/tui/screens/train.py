"""The Train screen: watch one run live (started here, or attached to), and steer it.

A `RunBridge` on a worker thread reads the run's events (the live queue of a run started here,
or its `events.jsonl`) and posts at most one `RunUpdate` per frame. The screen keeps only the
newest snapshot and draws it inside `batch_update()`, and only into what is visible: a hidden tab
or a screen in the background is drawn when it is shown again. The chart, the costliest widget,
is redrawn a few times a second at most, so keys are answered at once during a flood of events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import ProgressBar, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from studio.tui.bridge import EventSource, FileSource, QueueSource, RunBridge, RunSnapshot, RunUpdate
from studio.tui.screens.base import StudioScreen
from studio.tui.widgets.train.curves import Curve, CurveChart, MetricSpark
from studio.tui.widgets.train.devices import DevicesPanel, host_text
from studio.tui.widgets.train.dialogs import ConfirmDialog, QuitRunDialog
from studio.tui.widgets.train.format import count, duration, number
from studio.tui.widgets.train.panels import CheckpointTable, ProbeView, WorkerLog

CHART_INTERVAL_S = 0.5  # the chart (plotext: tens of ms a draw) is redrawn at most twice a second
HEADER_INTERVAL_S = 0.5  # the header's step counter: enough for a glance, cheap in a flood
STATUS_INTERVAL_S = 2.0  # how often status.json is read to catch a worker that died silently
EVENTS_FILE = "events.jsonl"  # studio.train.runs.EVENTS_FILE (not imported: keeps start-up light)


class RunFollowed(Message):
    """A run was found or started: follow it from this source."""

    def __init__(self, run_id: str, run_dir: Path, source: EventSource) -> None:
        super().__init__()
        self.run_id, self.run_dir, self.source = run_id, run_dir, source


class RunLaunched(Message):
    """A run was started (or resumed) here: follow it through its live queue."""

    def __init__(self, handle: Any) -> None:
        super().__init__()
        self.handle = handle


class RunStatusRead(Message):
    """What status.json says about the followed run (its derived state and why)."""

    def __init__(self, run_id: str, state: str, reason: str) -> None:
        super().__init__()
        self.run_id, self.state, self.reason = run_id, state, reason


class RunRequestDone(Message):
    """A request to the followed run was sent (say so); `then_exit` quits the app afterwards."""

    def __init__(self, text: str, then_exit: bool = False) -> None:
        super().__init__()
        self.text, self.then_exit = text, then_exit


class TrainScreen(StudioScreen):
    MODE = "train"
    TITLE = "Train"
    HELP = (
        "Watch a run live: loss curves, learning rate, gradient norm, tokens/s, GPU memory, the worker's log, "
        "checkpoints and probes. Start a run from the Model screen, attach with Enter on the Runs screen or "
        "`studio attach RUN`. Detaching or quitting leaves the run training."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "s",
            "stop_run",
            "Stop",
            id="train.stop",
            tooltip="Stop the run (a checkpoint is saved first); asks to confirm",
        ),
        Binding("c", "save_now", "Save now", id="train.save", tooltip="Save a checkpoint now"),
        Binding("e", "evaluate_now", "Evaluate", id="train.evaluate", tooltip="Run an evaluation now"),
        Binding(
            "d",
            "detach",
            "Detach",
            id="train.detach",
            tooltip="Stop watching; the run keeps training (attach again from Runs)",
        ),
        Binding(
            "m", "toggle_smoothing", "Smooth", id="train.smooth", tooltip="Smooth the loss curve (EMA 0.9)"
        ),
        Binding(
            "l", "toggle_log_scale", "Log scale", id="train.log_scale", tooltip="Log scale for the loss axis"
        ),
    ]
    DEFAULT_CSS = """
    TrainScreen #train-top { height: 3fr; min-height: 9; }
    TrainScreen #loss-chart { width: 2fr; }
    TrainScreen #train-side { width: 1fr; min-width: 32; max-width: 52; padding: 0 1; }
    TrainScreen #run-title { height: auto; text-style: bold; }
    TrainScreen #progress-bar { height: 1; }
    TrainScreen #progress-bar Bar { width: 1fr; }
    TrainScreen #progress-text { height: auto; min-height: 8; margin-bottom: 1; }
    TrainScreen #host { height: auto; }
    TrainScreen #train-bottom { height: 2fr; min-height: 7; }
    TrainScreen #train-tabs { width: 2fr; }
    TrainScreen #devices-box { width: 1fr; min-width: 34; max-width: 52; padding: 0 1; display: none; }
    TrainScreen #train-tabs TabPane { padding: 0; }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.snapshot: RunSnapshot | None = None
        self.run_id = ""
        self.run_dir: Path | None = None
        self._bridge: RunBridge | None = None
        self._bridge_worker: Worker[Any] | None = None
        self._lost_reason = ""
        self._chart_drawn = 0.0
        self._header_drawn = 0.0
        self._chart_timer: Any = None
        self._ready = False
        self._pending: Callable[[], None] | None = None  # asked for before the screen was mounted
        self._shown: RunSnapshot | None = None  # the snapshot the visible widgets show

    # --- layout ------------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="train-top"):
            yield CurveChart("loss", empty_text="no run yet", id="loss-chart")
            with VerticalScroll(id="train-side"):
                yield Static(Text("No run followed", "dim"), id="run-title")
                # A still, empty bar while no run is followed (an indeterminate one would animate
                # for ever, redrawing over a slow link for nothing).
                yield ProgressBar(total=1, show_eta=False, id="progress-bar")
                yield Static(Text(_IDLE_HINT), id="progress-text")
                yield MetricSpark("learning rate", id="spark-lr")
                yield MetricSpark("grad norm", id="spark-grad")
                yield MetricSpark("tokens/s", formatter=count, id="spark-tps")
                yield Static(Text("CPU –  RAM –", "dim"), id="host")
        with Horizontal(id="train-bottom"):
            with TabbedContent(id="train-tabs", initial="tab-log"):
                with TabPane("Log", id="tab-log"):
                    yield WorkerLog(id="worker-log")
                with TabPane("Checkpoints", id="tab-checkpoints"):
                    yield CheckpointTable(id="checkpoints")
                with TabPane("Probes", id="tab-probes"), VerticalScroll():
                    yield ProbeView(id="probe")
            with VerticalScroll(id="devices-box"):
                yield DevicesPanel(id="devices")

    def on_mount(self) -> None:
        self._ready = True  # (is_mounted only turns true after this handler)
        self.studio.quit_guards.append(self.confirm_quit)
        self.set_interval(STATUS_INTERVAL_S, self._check_status)
        ref = self.studio.start_args_for(self.MODE).pop("start_run", None)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending()
        elif ref:
            self.attach(str(ref))

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self._draw(force=True)

    # --- what to follow ----------------------------------------------------------------------------

    def start_run(self, config: Any) -> None:
        """Start a training run from a `RunConfig` in a new worker process and follow it live."""
        if not self._ready:  # called right after the app switched to this screen
            self._pending = lambda: self.start_run(config)
            return
        if self.snapshot is not None and self.snapshot.is_live:
            self.notify(
                f"Run {self.run_id} is still training here; detach first (d) to start another.",
                severity="warning",
            )
            return
        self._set_title(Text("Starting a run…", "italic"))
        self._launch(config)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run-launch", description="start run")
    def _launch(self, config: Any) -> None:
        from studio.train import launcher

        handle = launcher.start_run(config, self.studio.workspace, live=True)
        self.post_message(RunLaunched(handle))

    def follow_handle(self, handle: Any) -> None:
        """Follow a run this app started or resumed (a `RunHandle`) through its live queue."""
        if not self._ready:
            self._pending = lambda: self.follow_handle(handle)
            return
        source = QueueSource(handle.queue, handle.path / EVENTS_FILE, alive=handle.supervisor_alive)
        self.follow(source, handle.run_id, handle.path)

    def attach(self, ref: str) -> None:
        """Follow a run of the workspace (id, unique prefix or directory): replay its file, then live."""
        if not self._ready:
            self._pending = lambda: self.attach(ref)
            return
        self._set_title(Text.assemble("Attaching to ", (ref, "bold"), "…"))
        self._find_and_attach(ref)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run-launch", description="attach")
    def _find_and_attach(self, ref: str) -> None:
        from studio.train import runs

        info = runs.find_run(self.studio.workspace, ref)
        self.post_message(RunFollowed(info.id, info.path, FileSource(info.path / EVENTS_FILE)))

    def follow(self, source: EventSource, run_id: str = "", run_dir: str | Path | None = None) -> None:
        """Follow events from any source (tests inject scripted ones); replaces what was followed."""
        self._stop_bridge()
        self.run_id = run_id
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.snapshot, self._shown, self._lost_reason = None, None, ""
        self._reset_widgets()
        bridge = RunBridge(
            source, lambda snap: self.post_message(RunUpdate(snap, bridge.id)), run_id=run_id, run_dir=run_dir
        )
        self._bridge = bridge
        self._bridge_worker = self._run_bridge(bridge)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run-bridge", description="follow run")
    def _run_bridge(self, bridge: RunBridge) -> None:
        worker = get_current_worker()
        bridge.run(cancelled=lambda: worker.is_cancelled)

    def _stop_bridge(self) -> None:
        if self._bridge_worker is not None:
            self._bridge_worker.cancel()
        self._bridge, self._bridge_worker = None, None

    @on(RunFollowed)
    def _on_run_followed(self, message: RunFollowed) -> None:
        self.follow(message.source, message.run_id, message.run_dir)

    @on(RunLaunched)
    def _on_run_launched(self, message: RunLaunched) -> None:
        self.follow_handle(message.handle)

    @on(Worker.StateChanged)
    def _on_worker_state(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "run-launch" and self.snapshot is None:
            self._show_idle()
        self.notify_error(event.worker.error, title="Run")

    # --- live updates ------------------------------------------------------------------------------

    @on(RunUpdate)
    def _on_run_update(self, message: RunUpdate) -> None:
        if self._bridge is None or message.bridge_id != self._bridge.id:
            return  # from a bridge that was replaced or detached
        previous, self.snapshot = self.snapshot, message.snapshot
        self.run_id = message.snapshot.run_id or self.run_id
        self._notify_changes(previous, message.snapshot)
        self._update_run_state(message.snapshot)
        if self.is_current:
            self._draw()

    def _update_run_state(self, snap: RunSnapshot, now: bool = False) -> None:
        """The header's run line: at once when the state changes, else at most twice a second."""
        line = self._run_state_line(snap)
        state_changed = line.split(" · ", 1)[0] != self.studio.run_state.split(" · ", 1)[0]
        if now or state_changed or time.monotonic() - self._header_drawn >= HEADER_INTERVAL_S:
            self.studio.run_state = line
            self._header_drawn = time.monotonic()

    def _notify_changes(self, before: RunSnapshot | None, after: RunSnapshot) -> None:
        """A notification and the bell when the run ends or its loss turns NaN, as it happens."""
        if before is None or before.catching_up:
            return  # replaying history: nothing new happened
        name = after.run_id or "the run"
        if after.finished is not None and before.finished is None:
            finished = after.finished
            if finished.state == "completed":
                self.notify(
                    f"Run {name} completed at step {finished.step:,}.", title="Run completed", markup=False
                )
            elif finished.state == "stopped":
                self.notify(
                    f"Run {name} stopped at step {finished.step:,}.",
                    title="Run stopped",
                    severity="warning",
                    markup=False,
                )
            else:
                self.notify(
                    f"Run {name} failed: {finished.reason or 'see its log'}",
                    title="Run failed",
                    severity="error",
                    timeout=10,
                    markup=False,
                )
            self.app.bell()
        if after.nan_steps > before.nan_steps and before.nan_steps == 0:
            self.notify(
                f"Run {name}: the loss is NaN at step {after.step:,}.",
                title="NaN loss",
                severity="error",
                timeout=10,
                markup=False,
            )
            self.app.bell()

    def redraw(self) -> None:
        """Draw the newest snapshot everywhere now, the chart included (its rest is skipped)."""
        self._draw(force=True)

    def _draw(self, force: bool = False) -> None:
        """Show the newest snapshot in the visible widgets, in one batch."""
        snap = self.snapshot
        if snap is None or (snap is self._shown and not force):
            return
        with self.app.batch_update():
            self._draw_progress(snap)
            self.query_one("#spark-lr", MetricSpark).set_values(snap.lr_series[1])
            self.query_one("#spark-grad", MetricSpark).set_values(snap.grad_series[1])
            self.query_one("#spark-tps", MetricSpark).set_values(snap.tps_series[1])
            self._draw_devices(snap)
            self._draw_active_tab(snap)
            self._draw_chart(snap, force)
        self._shown = snap

    def _draw_progress(self, snap: RunSnapshot) -> None:
        state = "lost" if self._lost_reason else snap.state
        title = Text.assemble(
            (snap.run_id or self.run_id or "run", "bold"), "  ", (state, _STATE_STYLES.get(state, ""))
        )
        self._set_title(title)
        bar = self.query_one("#progress-bar", ProgressBar)
        bar.update(total=snap.total_steps, progress=snap.step)
        lines = Text()
        total = f"/{snap.total_steps:,}" if snap.total_steps else ""
        pct = f" ({snap.fraction:.1%})" if snap.fraction is not None else ""
        rows = [
            ("step", f"{snap.step:,}{total}{pct}"),
            ("epoch", f"{snap.epoch:.2f}"),
            ("tokens", count(snap.tokens)),
            ("tokens/s", count(snap.tokens_per_s)),
            ("elapsed", duration(snap.elapsed_s)),
            ("ETA", duration(snap.eta_s) if snap.is_live else "–"),
            ("loss", number(snap.loss)),
            (
                "eval loss",
                number(snap.eval_loss) + (f"  ppl {number(snap.perplexity)}" if snap.perplexity else ""),
            ),
        ]
        for i, (label, value) in enumerate(rows):
            lines.append(f"{label:<10}", "dim")
            lines.append(value, "bold red" if value == "nan" else "")
            if i < len(rows) - 1:
                lines.append("\n")
        detail = self._lost_reason or (snap.finished.reason if snap.finished else snap.detail)
        if snap.nan_steps:
            lines.append(f"\n{snap.nan_steps} steps with NaN/Inf loss", "bold red")
        if detail:
            lines.append("\n")
            lines.append(detail, "red" if snap.state == "failed" or self._lost_reason else "italic")
        if snap.catching_up:
            lines.append("\nreading the run's history…", "italic dim")
        _update_text(self.query_one("#progress-text", Static), lines)

    def _draw_devices(self, snap: RunSnapshot) -> None:
        """GPUs in their own column (gone when the run has none); CPU and RAM under the sparklines."""
        system = snap.system
        gpus = system.gpus if system is not None else []
        box = self.query_one("#devices-box")
        box.display = bool(gpus)
        if gpus:
            self.query_one(DevicesPanel).show_gpus(gpus)
        if system is not None:
            _update_text(
                self.query_one("#host", Static),
                host_text(system.cpu_percent, system.ram_used, system.ram_total, system.rss_bytes),
            )

    def _draw_active_tab(self, snap: RunSnapshot) -> None:
        active = self.query_one("#train-tabs", TabbedContent).active
        if active == "tab-log":
            self.query_one(WorkerLog).write_records(snap.logs, snap.log_seq)
        elif active == "tab-checkpoints":
            self.query_one(CheckpointTable).show_checkpoints(snap.checkpoints, snap.run_dir)
        elif active == "tab-probes":
            self.query_one(ProbeView).show_probe(snap.probe)

    def _draw_chart(self, snap: RunSnapshot, force: bool = False) -> None:
        """Redraw the chart now if it has rested long enough, else once its rest is over."""
        wait = CHART_INTERVAL_S - (time.monotonic() - self._chart_drawn)
        if wait > 0 and not force:
            if self._chart_timer is None:
                self._chart_timer = self.set_timer(wait, self._chart_due)
            return
        chart = self.query_one("#loss-chart", CurveChart)
        chart.set_curves(
            [
                Curve("loss", snap.loss_series),
                Curve("eval loss", snap.eval_series, marker="dot"),
            ]
        )
        chart.refresh()
        self._chart_drawn = time.monotonic()

    def _chart_due(self) -> None:
        self._chart_timer = None
        if self.snapshot is not None and self.is_current:
            self._draw_chart(self.snapshot, force=True)

    @on(TabbedContent.TabActivated)
    def _on_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if self.snapshot is not None:
            self._draw_active_tab(self.snapshot)

    def _reset_widgets(self) -> None:
        self.query_one(WorkerLog).clear().written = 0
        self.query_one("#loss-chart", CurveChart).set_curves([])
        self.query_one("#loss-chart", CurveChart).refresh()
        _update_text(
            self.query_one("#progress-text", Static), Text("waiting for the first events…", "italic dim")
        )

    def _set_title(self, text: Text) -> None:
        _update_text(self.query_one("#run-title", Static), text)

    def _run_state_line(self, snap: RunSnapshot) -> str:
        state = "lost" if self._lost_reason else snap.state
        total = f"/{snap.total_steps:,}" if snap.total_steps else ""
        return f"{snap.run_id or self.run_id}: {state} · step {snap.step:,}{total}"

    # --- status of the followed run ----------------------------------------------------------------

    def _check_status(self) -> None:
        snap = self.snapshot
        if self.run_dir is None or snap is None or snap.finished is not None or snap.catching_up:
            return
        self._read_status(self.run_id, self.run_dir)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run-status", description="run status")
    def _read_status(self, run_id: str, run_dir: Path) -> None:
        from studio.train import runs

        info = runs.run_info(run_dir)
        self.post_message(RunStatusRead(run_id, info.state, info.reason))

    @on(RunStatusRead)
    def _on_status(self, message: RunStatusRead) -> None:
        if message.run_id != self.run_id or self.snapshot is None or self.snapshot.finished is not None:
            return
        lost = message.state == "lost"
        if lost and not self._lost_reason:
            self._lost_reason = message.reason or "the worker is gone"
            self.notify(
                f"Run {self.run_id} is lost: {self._lost_reason}",
                title="Run lost",
                severity="error",
                timeout=10,
                markup=False,
            )
            self.app.bell()
        elif not lost:
            self._lost_reason = ""
        self._update_run_state(self.snapshot, now=True)
        if self.is_current:
            self._draw(force=True)

    # --- keys --------------------------------------------------------------------------------------

    @property
    def live_run(self) -> bool:
        """True while the followed run is training (so stop, save and evaluate make sense)."""
        return self.snapshot is not None and self.snapshot.is_live and not self._lost_reason

    def _require_live(self) -> bool:
        if not self.live_run:
            self.notify(
                "No run is training here: start one from the Model screen or attach from Runs.",
                severity="warning",
            )
            return False
        return True

    def action_stop_run(self) -> None:
        if not self._require_live():
            return
        run_id = self.run_id

        def answered(yes: bool | None) -> None:
            if yes:
                self._send_request(run_id, "stop")

        self.app.push_screen(
            ConfirmDialog(f"Stop run {run_id}? A checkpoint is saved first, then the run ends.", "Stop run"),
            answered,
        )

    def action_save_now(self) -> None:
        if self._require_live():
            self._send_request(self.run_id, "save")

    def action_evaluate_now(self) -> None:
        if self._require_live():
            self._send_request(self.run_id, "evaluate")

    @work(thread=True, exit_on_error=False, group="run-request", description="run request")
    def _send_request(self, run_id: str, action: str) -> None:
        from studio.train import launcher

        launcher.request(self.studio.workspace, run_id, action)
        said = {
            "stop": "stop requested: saving a checkpoint, then stopping",
            "save": "checkpoint requested",
            "evaluate": "evaluation requested",
        }[action]
        self.post_message(RunRequestDone(f"Run {run_id}: {said}."))

    @on(RunRequestDone)
    def _on_request_done(self, message: RunRequestDone) -> None:
        if message.then_exit:
            self.app.exit()
        else:
            self.notify(message.text, markup=False)

    def _show_idle(self) -> None:
        self._set_title(Text("No run followed", "dim"))
        self.query_one("#progress-bar", ProgressBar).update(total=1, progress=0)

    def action_detach(self) -> None:
        if self._bridge is None:
            return
        run_id, live = self.run_id, self.live_run
        self._stop_bridge()
        self.snapshot, self._shown = None, None
        self._show_idle()
        _update_text(self.query_one("#progress-text", Static), Text(_IDLE_HINT))
        self.studio.run_state = "no active run"
        if live:
            self.notify(
                f"Detached from {run_id}; it keeps training. Attach again from Runs (5).", markup=False
            )

    def action_toggle_smoothing(self) -> None:
        chart = self.query_one("#loss-chart", CurveChart)
        chart.smoothing = not chart.smoothing

    def action_toggle_log_scale(self) -> None:
        chart = self.query_one("#loss-chart", CurveChart)
        chart.log_scale = not chart.log_scale

    # --- quitting during a run ---------------------------------------------------------------------

    def confirm_quit(self) -> bool:
        """Called by the app's quit: while a run trains, ask whether to leave it running (default)
        or stop it. Returns True if it asked (the dialog then exits the app itself)."""
        if not self.live_run:
            return False
        run_id = self.run_id

        def answered(choice: str | None) -> None:
            if choice == "stop":
                self._stop_and_exit(run_id)
            elif choice == "leave":
                self._stop_bridge()
                self.app.exit()

        self.app.push_screen(QuitRunDialog(run_id), answered)
        return True

    @work(thread=True, exit_on_error=False, group="run-request", description="stop run and quit")
    def _stop_and_exit(self, run_id: str) -> None:
        from studio.train import launcher

        try:
            launcher.stop_run(self.studio.workspace, run_id)
        finally:
            self.post_message(RunRequestDone(f"Run {run_id}: stop requested.", then_exit=True))


def _update_text(widget: Static, text: Text) -> None:
    """Update a Static only when its text really changed (each update costs a layout pass)."""
    if text == getattr(widget, "_studio_text", None):
        return
    widget.update(text)
    widget._studio_text = text  # type: ignore[attr-defined]


_IDLE_HINT = (
    "Start a run from the Model screen (3), or attach to one: Enter on the Runs screen (5) or "
    "`studio attach RUN`."
)
_STATE_STYLES = {
    "running": "green",
    "preparing": "yellow",
    "evaluating": "cyan",
    "saving": "cyan",
    "stopping": "yellow",
    "completed": "bold green",
    "stopped": "yellow",
    "failed": "bold red",
    "lost": "bold red",
}
