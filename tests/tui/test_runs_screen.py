"""The Runs screen on real run directories (status.json, events.jsonl): list, attach, stop, delete, compare."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from _train_fixtures import T0, scripted_run, wait_for, write_run_dir

from studio.tui.app import StudioApp
from studio.tui.screens.train import TrainScreen
from studio.tui.widgets.runs.compare import CompareScreen, read_loss_curve
from studio.tui.widgets.runs.table import RunsTable
from studio.tui.widgets.train.curves import CurveChart
from studio.tui.widgets.train.dialogs import ConfirmDialog
from studio.workspace import open_workspace

DAY = 86400.0


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Four runs that ended in each way (fixed times, UTC, a relative workspace path: stable screens)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    ws = open_workspace("ws", demo=False)
    write_run_dir(
        ws.runs,
        "20260101-000000-base",
        "completed",
        1000,
        1000,
        2.31,
        T0,
        2 * 3600 + 5,
        scripted_run(400, finish="completed"),
    )
    write_run_dir(
        ws.runs,
        "20260102-000000-wide",
        "stopped",
        600,
        1000,
        2.5,
        T0 + DAY,
        1800,
        scripted_run(300, run_id="20260102-000000-wide", finish="stopped"),
    )
    write_run_dir(
        ws.runs,
        "20260103-000000-lr-high",
        "failed",
        40,
        1000,
        9.9,
        T0 + 2 * DAY,
        30,
        scripted_run(40, run_id="20260103-000000-lr-high", finish="failed"),
    )
    write_run_dir(
        ws.runs,
        "20260104-000000-tiny",
        "completed",
        200,
        200,
        3.1,
        T0 + 3 * DAY,
        95,
        scripted_run(200, total=200, run_id="20260104-000000-tiny", finish="completed"),
    )
    return ws


def runs_app(workspace) -> StudioApp:  # type: ignore[no-untyped-def]
    return StudioApp(workspace, animations=False, start_screen="runs")


async def table_ready(pilot) -> RunsTable:  # type: ignore[no-untyped-def]
    table = pilot.app.screen.query_one(RunsTable)
    await wait_for(pilot, lambda: table.row_count > 0)
    return table


async def test_lists_every_run_with_its_figures(workspace, screen_text) -> None:  # type: ignore[no-untyped-def]
    """Each run shows name, state, progress, last loss, tokens/s, start and duration; newest first."""
    app = runs_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await table_ready(pilot)
        assert list(table.runs) == [
            "20260104-000000-tiny",
            "20260103-000000-lr-high",
            "20260102-000000-wide",
            "20260101-000000-base",
        ]
        text = screen_text(app)
        assert "completed" in text and "stopped" in text and "failed" in text
        assert "600/1k  60%" in text and "2.31" in text and "01-01 00:00" in text and "2h00m" in text
        assert "20260104-000000-tiny" in text  # the highlighted run's id, under the table


async def test_state_changes_show_within_seconds(workspace) -> None:  # type: ignore[no-untyped-def]
    """A new run and a run whose worker died (lost) appear at the next refresh, with a notification."""
    app = runs_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await table_ready(pilot)
        run_dir = write_run_dir(
            workspace.runs, "20260105-000000-new", "running", 10, 1000, 5.0, T0 + 4 * DAY, 5
        )
        status = json.loads((run_dir / "status.json").read_text())
        status.update(host="another-host", heartbeat=time.time() + 3600)
        (run_dir / "status.json").write_text(json.dumps(status))
        await wait_for(pilot, lambda: "20260105-000000-new" in table.runs)
        assert table.runs["20260105-000000-new"].state == "running"
        status.update(host="", heartbeat=T0, pid=999_999_9)  # this host, and its process is gone
        (run_dir / "status.json").write_text(json.dumps(status))
        await wait_for(pilot, lambda: table.runs["20260105-000000-new"].state == "lost")
        await wait_for(
            pilot, lambda: any("20260105-000000-new lost" in n.message for n in app._notifications)
        )


async def test_enter_attaches_on_the_train_screen(workspace) -> None:  # type: ignore[no-untyped-def]
    """Enter on a run switches to the Train screen, which replays that run's events."""
    app = runs_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await table_ready(pilot)
        table.move_cursor(row=2)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, TrainScreen)
                and app.screen.snapshot is not None
                and app.screen.snapshot.finished is not None
            ),
        )
        assert app.screen.run_id == "20260102-000000-wide" and app.screen.snapshot.step == 300
        assert app.run_state.startswith("20260102-000000-wide: stopped")


async def test_delete_asks_first(workspace) -> None:  # type: ignore[no-untyped-def]
    """x asks; No keeps the run, Yes deletes its folder and the row."""
    app = runs_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await table_ready(pilot)
        target = workspace.runs / "20260104-000000-tiny"
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("escape")
        await pilot.pause()
        assert target.exists()
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: "20260104-000000-tiny" not in table.runs)
        assert not target.exists()


async def test_stop_and_resume_explain_what_they_cannot_do(workspace) -> None:  # type: ignore[no-untyped-def]
    """Stopping a finished run, or resuming one without a checkpoint, is a clear message."""
    app = runs_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await table_ready(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: any("is not running" in n.message for n in app._notifications))
        table.move_cursor(row=2)  # the stopped run
        await pilot.press("r")
        await wait_for(pilot, lambda: any("no complete checkpoint" in n.message for n in app._notifications))


async def test_compare_marked_runs_on_one_chart(workspace) -> None:  # type: ignore[no-untyped-def]
    """Space marks runs; c draws their loss curves together (and asks for two or more first)."""
    app = runs_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        await pilot.press("space", "c")
        await wait_for(pilot, lambda: any("Mark two or more runs" in n.message for n in app._notifications))
        await pilot.press("down", "down", "space", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        chart = app.screen.query_one(CurveChart)
        assert [c.label for c in chart.curves] == ["20260104-000000-tiny", "20260102-000000-wide"]
        assert [len(c.series[0]) for c in chart.curves] == [20, 30]
        await pilot.press("l")
        assert chart.log_scale
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)


def test_loss_curve_of_a_long_run_is_bounded(tmp_path: Path) -> None:
    """Comparing reads any length of run into a fixed number of points."""
    from _train_fixtures import write_long_run

    xs, ys = read_loss_curve(write_long_run(tmp_path / "events.jsonl", steps=200_000, every=10), capacity=256)
    assert len(xs) <= 256 and xs[-1] == 200_000 and ys[0] > ys[-1]


def test_runs_screen_snapshot(workspace, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """The Runs screen with a run in each end state, one of them marked."""

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await table_ready(pilot)
        await pilot.press("down", "space", "up")
        await pilot.pause()

    assert snap_compare(runs_app(workspace), terminal_size=(80, 24), run_before=run_before)
