"""The Train screen, fed by scripted events (no worker process, no GPU): what it shows, keys, quitting."""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from pathlib import Path

import pytest
from _train_fixtures import (
    T0,
    follow_scripted,
    scripted_run,
    wait_for,
    write_run_dir,
)
from textual import events
from textual.widgets import TabbedContent

from studio.config import RunConfig
from studio.train.events import Finished, Log, Step
from studio.tui.app import StudioApp
from studio.tui.bridge import QueueSource
from studio.tui.screens.train import TrainScreen
from studio.tui.widgets.train.curves import CurveChart
from studio.tui.widgets.train.dialogs import ConfirmDialog, QuitRunDialog
from studio.workspace import open_workspace

RUN_ID = "20260101-000000-demo"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A workspace named by a relative path (the header shows it: snapshots stay the same) in UTC."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    return open_workspace("ws", demo=False)


def live_run(workspace, steps: int = 200, run_id: str = RUN_ID) -> Path:  # type: ignore[no-untyped-def]
    """A run that reads as running: its heartbeat comes from another host and is fresh."""
    run_dir = write_run_dir(workspace.runs, run_id, "running", steps, 1000, 2.5, T0, 60, scripted_run(steps))
    status = json.loads((run_dir / "status.json").read_text())
    status.update(host="another-host", heartbeat=time.time() + 3600, ended=None)
    (run_dir / "status.json").write_text(json.dumps(status))
    return run_dir


def train_app(workspace, **start) -> StudioApp:  # type: ignore[no-untyped-def]
    return StudioApp(workspace, animations=False, start_screen="train", **start)


async def test_follow_shows_progress_curves_devices_and_log(workspace, screen_text) -> None:  # type: ignore[no-untyped-def]
    """Scripted events fill progress, ETA, curves, GPU bars and the log; log text is never markup."""
    app = train_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await follow_scripted(pilot, scripted_run(steps=400, total=1000, gpus=2))
        text = screen_text(app)
        assert "400/1,000 (40.0%)" in text and "ETA       5m00s" in text and "tokens    3.28M" in text
        assert "[bold]not markup[/bold]" in text and "WARNING tokenizer has no pad token" in text
        assert "GPU0" in text and "GPU1" in text and "40.0/80.0 GiB" in text and "CPU 85%" in text
        chart = app.screen.query_one("#loss-chart", CurveChart)
        assert [len(c.series[0]) for c in chart.curves] == [40, 4]
        assert app.run_state == f"{RUN_ID}: running · step 400/1,000"


async def test_devices_are_hidden_without_gpus(workspace) -> None:  # type: ignore[no-untyped-def]
    """A CPU-only run shows no GPU panel at all, only the CPU/RAM line."""
    app = train_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await follow_scripted(pilot, scripted_run(steps=200, gpus=0))
        assert not app.screen.query_one("#devices-box").display
        await follow_scripted(pilot, scripted_run(steps=200, gpus=1))
        assert app.screen.query_one("#devices-box").display


async def test_tabs_show_checkpoints_and_probe_outputs(workspace, screen_text) -> None:  # type: ignore[no-untyped-def]
    """The checkpoint list and the latest fill-mask predictions are drawn when their tab is opened."""
    app = train_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await follow_scripted(pilot, scripted_run(steps=400))
        app.screen.query_one("#train-tabs", TabbedContent).active = "tab-checkpoints"
        await pilot.pause()
        text = screen_text(app)
        assert "checkpoint-400" in text and "checkpoint-200" in text
        app.screen.query_one("#train-tabs", TabbedContent).active = "tab-probes"
        await pilot.pause()
        text = screen_text(app)
        assert "fill-mask at step 400" in text and "La suno <mask> hela." in text and "estas  0.610" in text


async def test_attach_replays_the_file_then_follows_it(workspace, screen_text) -> None:  # type: ignore[no-untyped-def]
    """`studio attach PREFIX` rebuilds the run from events.jsonl, then shows what is appended."""
    run_dir = live_run(workspace, steps=200)
    app = train_app(workspace, start_run="20260101")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.snapshot is not None and screen.snapshot.step == 200)
        with open(run_dir / "events.jsonl", "a", encoding="utf-8") as f:
            f.write(Step(step=210, loss=2.25, tokens=210 * 8192, time=T0 + 200).to_json() + "\n")
            f.write(Log(level="error", message="a worker error line", time=T0 + 200).to_json() + "\n")
        await wait_for(pilot, lambda: screen.snapshot.step == 210)
        screen.redraw()
        await pilot.pause()
        text = screen_text(app)
        assert "210/1,000" in text and "ERROR a worker error line" in text
        assert screen.run_id == RUN_ID and screen.live_run


async def test_attach_to_an_unknown_run_says_so(workspace) -> None:  # type: ignore[no-untyped-def]
    """Attaching to a run that does not exist is an error notification, not a crash."""
    app = train_app(workspace, start_run="nope")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: any("no run 'nope'" in n.message for n in app._notifications))
        assert app.screen.snapshot is None


async def test_notifies_nan_and_the_end_with_the_bell(workspace, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A NaN loss and the run's end each raise a notification and ring the bell, as they happen."""
    app = train_app(workspace)
    bells: list[int] = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(1))
    channel: queue.Queue = queue.Queue()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        events = scripted_run(steps=100)
        screen.follow(QueueSource(channel, workspace.runs / "none.jsonl"), RUN_ID, None)
        for event in events:
            channel.put(event)
        await wait_for(pilot, lambda: screen.snapshot is not None and screen.snapshot.events == len(events))
        channel.put(Step(step=110, loss=float("nan"), time=T0 + 300))
        await wait_for(pilot, lambda: screen.snapshot.nan_steps == 1)
        channel.put(Finished(state="failed", reason="loss is NaN (nan_policy=stop)", step=110, time=T0 + 301))
        await wait_for(pilot, lambda: screen.snapshot.finished is not None)
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("loss is NaN at step 110" in m for m in messages)
        assert any("failed: loss is NaN (nan_policy=stop)" in m for m in messages)
        assert len(bells) == 2 and not screen.live_run


async def test_replayed_history_raises_no_notification(workspace) -> None:  # type: ignore[no-untyped-def]
    """Attaching to a run that already completed shows it, without announcing it again."""
    write_run_dir(
        workspace.runs, RUN_ID, "completed", 400, 1000, 2.5, T0, 60, scripted_run(400, finish="completed")
    )
    app = train_app(workspace, start_run=RUN_ID)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.snapshot is not None and screen.snapshot.finished is not None)
        await pilot.pause()
        assert not app._notifications and not screen.live_run


async def test_save_evaluate_and_stop_reach_the_run(workspace) -> None:  # type: ignore[no-untyped-def]
    """c and e drop requests for the worker; s asks first, then requests the stop."""
    run_dir = live_run(workspace)
    app = train_app(workspace, start_run=RUN_ID)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.live_run)
        await pilot.press("c")
        await wait_for(pilot, lambda: (run_dir / "control" / "save").exists())
        await pilot.press("e")
        await wait_for(pilot, lambda: (run_dir / "control" / "evaluate").exists())
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await pilot.pause()
        assert not (run_dir / "control" / "stop").exists()
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: (run_dir / "control" / "stop").exists())


async def test_steering_keys_need_a_live_run(workspace) -> None:  # type: ignore[no-untyped-def]
    """Without a run, stop/save/evaluate only explain what to do."""
    app = train_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.screen.run_action("save_now")
        await pilot.pause()
        assert any("No run is training here" in n.message for n in app._notifications)


async def test_detach_leaves_the_run_alone(workspace) -> None:  # type: ignore[no-untyped-def]
    """d stops following: the screen and header forget the run; nothing is sent to it."""
    run_dir = live_run(workspace)
    app = train_app(workspace, start_run=RUN_ID)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.live_run)
        await pilot.press("d")
        await pilot.pause()
        assert screen.snapshot is None and app.run_state == "no active run"
        assert not (run_dir / "control").exists()


async def test_quit_during_a_run_leaves_it_running_by_default(workspace) -> None:  # type: ignore[no-untyped-def]
    """q asks; escape stays; q then Enter (leave, the default) quits without touching the run."""
    run_dir = live_run(workspace)
    app = train_app(workspace, start_run=RUN_ID)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.live_run)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitRunDialog))
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TrainScreen)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitRunDialog))
        await pilot.press("enter")
        await pilot.pause()
    assert app._exit_renderables is not None or app.return_code in (0, None)
    assert not (run_dir / "control").exists()


async def test_quit_and_stop_the_run(workspace) -> None:  # type: ignore[no-untyped-def]
    """q then s (stop) requests the stop (checkpoint first) and quits."""
    run_dir = live_run(workspace)
    app = train_app(workspace, start_run=RUN_ID)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.live_run)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitRunDialog))
        await pilot.press("s")
        await wait_for(pilot, lambda: (run_dir / "control" / "stop").exists())
    assert (run_dir / "control" / "stop").exists()


async def test_smoothing_and_log_scale_from_keys_and_palette(workspace) -> None:  # type: ignore[no-untyped-def]
    """m and l toggle the chart; the command palette offers the same actions by name."""
    app = train_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await follow_scripted(pilot, scripted_run(steps=100))
        chart = app.screen.query_one("#loss-chart", CurveChart)
        await pilot.press("m", "l")
        await pilot.pause()
        assert chart.smoothing and chart.log_scale
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Train: Log scale")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not chart.log_scale)


async def test_start_run_reports_a_config_that_cannot_run(workspace) -> None:  # type: ignore[no-untyped-def]
    """The Model screen's launch with no corpus set is a clear error notification."""
    app = StudioApp(workspace, animations=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.launch_run(RunConfig())
        await wait_for(pilot, lambda: any("data.corpus is not set" in n.message for n in app._notifications))
        assert app.current_mode == "train" and app.screen.snapshot is None


async def test_keys_are_answered_while_1000_events_per_second_flow(workspace) -> None:  # type: ignore[no-untyped-def]
    """With 1,000 events/s arriving, every key press still takes effect and the screen keeps up."""
    app = train_app(workspace)
    channel: queue.Queue = queue.Queue()
    stop = threading.Event()

    def feed() -> None:
        step = 0
        channel.put(scripted_run(steps=0)[0])
        while not stop.is_set():
            for _ in range(10):
                step += 1
                channel.put(
                    Step(step=step, loss=2 + 1 / step, learning_rate=1e-4, tokens_per_s=5e4, time=T0 + step)
                )
            time.sleep(0.01)

    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        screen.follow(QueueSource(channel, workspace.runs / "none.jsonl"), RUN_ID, None)
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            chart = screen.query_one("#loss-chart", CurveChart)
            await wait_for(
                pilot, lambda: screen.snapshot is not None and screen.snapshot.step > 100, busy=True
            )
            for presses in range(1, 9):
                # The path a terminal's key takes (Pilot.press would wait for an idle app, which a flood never is).
                app.post_message(events.Key("m", "m"))
                await wait_for(pilot, lambda presses=presses: chart.smoothing == bool(presses % 2), busy=True)
            first = screen.snapshot.step
            await wait_for(pilot, lambda: screen.snapshot.step > first + 500, busy=True)
        finally:
            stop.set()
            feeder.join()


@pytest.mark.parametrize("gpus,size", [(2, (120, 40)), (0, (80, 24))], ids=["gpus-120x40", "cpu-80x24"])
def test_train_screen_snapshot(workspace, snap_compare, gpus: int, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """The Train screen following a run, with two GPUs and without any."""

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await follow_scripted(pilot, scripted_run(steps=400, total=1000, gpus=gpus))

    assert snap_compare(train_app(workspace), terminal_size=size, run_before=run_before)


def test_no_screen_module_imports_torch() -> None:
    """The Train and Runs screens and the bridge stay light: no torch or transformers at import."""
    import subprocess
    import sys

    code = (
        "import sys, studio.tui.screens.train, studio.tui.screens.runs, studio.tui.bridge;"
        "print(sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert out.stdout.strip() == "[]"
