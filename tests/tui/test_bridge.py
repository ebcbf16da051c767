"""The bridge from a run's events to the screen: bounded history, coalesced frames, file and queue sources."""

from __future__ import annotations

import math
import multiprocessing
import queue
import threading
import time
from pathlib import Path

from _train_fixtures import scripted_run, write_events, write_long_run

from studio.train.events import Finished, Log, RunStarted, Step
from studio.tui.bridge import (
    SERIES_CAPACITY,
    BoundedSeries,
    FileSource,
    LiveRun,
    QueueSource,
    RunBridge,
    RunSnapshot,
    RunUpdate,
    ScriptedSource,
)


def test_bounded_series_keeps_the_shape_in_fixed_memory() -> None:
    """A million points fold into at most `capacity`, spanning the whole run, with the mean preserved."""
    series = BoundedSeries(capacity=256)
    for step in range(1, 1_000_001):
        series.add(step, 1.0 + (step % 2))  # alternating 1, 2: the mean is 1.5
    xs, ys = series.points()
    assert len(xs) <= 256 and len(xs) == len(ys)
    assert xs[0] < 10_000 and xs[-1] == 1_000_000
    assert all(abs(y - 1.5) < 1e-9 for y in ys)


def test_bounded_series_skips_non_finite_values() -> None:
    """NaN is remembered as the last value but never averaged into the curve."""
    series = BoundedSeries(capacity=8)
    for step, value in enumerate([2.0, float("nan"), 3.0]):
        series.add(step, value)
    assert series.points()[1] == (2.0, 3.0)
    series.add(3, float("inf"))
    assert series.last == float("inf")


def test_live_run_folds_every_kind_of_event() -> None:
    """Steps, evals, logs, checkpoints, probes, system and the end all land in the snapshot."""
    live = LiveRun()
    for event in scripted_run(steps=400, total=1000, gpus=2, finish="completed"):
        live.apply(event)
    snap = live.snapshot()
    assert snap.run_id == "20260101-000000-demo" and snap.state == "completed"
    assert snap.step == 400 and snap.total_steps == 1000 and snap.fraction == 0.4
    assert len(snap.loss_series[0]) == 40 and snap.eval_series[0] == (100, 200, 300, 400)
    assert snap.log_seq == 3 and snap.logs[1].level == "warning"
    assert [c.step for c in snap.checkpoints] == [200, 400]
    assert snap.probe is not None and snap.probe.step == 400
    assert snap.system is not None and len(snap.system.gpus) == 2
    assert snap.elapsed_s == 203.0 and snap.eta_s is None and not snap.is_live


def test_live_run_pace_gives_an_eta_and_counts_nan() -> None:
    """The recent pace gives the ETA; NaN losses are counted."""
    live = LiveRun()
    for event in scripted_run(steps=200, total=1000, nan_at=150):
        live.apply(event)
    snap = live.snapshot()
    assert snap.eta_s == 400.0 and snap.is_live
    assert snap.nan_steps == 6 and math.isnan(snap.loss or 0.0)


def test_a_resumed_run_is_live_again() -> None:
    """A run_started after a finished(stopped) (a resume) clears the end; the new session's start counts."""
    live = LiveRun()
    for event in scripted_run(steps=100, finish="stopped"):
        live.apply(event)
    resumed_at = (live.updated or 0) + 60
    live.apply(RunStarted(run_id="r", total_steps=1000, resumed_from="checkpoint-100", time=resumed_at))
    live.apply(Step(step=110, loss=2.0, time=resumed_at + 5))
    snap = live.snapshot()
    assert snap.finished is None and snap.state == "running" and snap.is_live and snap.started == resumed_at


def test_bridge_posts_one_coalesced_snapshot_per_frame() -> None:
    """10,000 events in 1,000 tiny batches reach the sink as a few cumulative snapshots."""
    batches = [[Step(step=i * 10 + j, loss=2.0, time=float(i)) for j in range(10)] for i in range(1000)]
    batches.append([Finished(state="completed", step=9999, time=1000.0)])
    posted: list[RunSnapshot] = []
    bridge = RunBridge(ScriptedSource(batches), posted.append, frame_s=0.05)
    final = bridge.run()
    assert final.events == 10_001 and final.finished is not None
    assert posted[-1].events == 10_001
    assert len(posted) < 200  # one per frame, not one per batch
    assert [s.events for s in posted] == sorted(s.events for s in posted)


def test_run_update_replaces_only_its_own_bridge() -> None:
    """A newer snapshot replaces an unhandled older one of the same bridge, never another bridge's."""
    a1, a2, b = RunUpdate(RunSnapshot(), 1), RunUpdate(RunSnapshot(), 1), RunUpdate(RunSnapshot(), 2)
    assert a2.can_replace(a1) and not b.can_replace(a1)


def test_file_source_follows_appends_and_holds_back_torn_lines(tmp_path: Path) -> None:
    """Events appended after the replay are read; half a line waits for its newline."""
    path = write_events(tmp_path / "events.jsonl", scripted_run(steps=50))
    source = FileSource(path, chunk_bytes=1024)
    seen = []
    while source.behind:
        seen.extend(source.read(0.0))
    assert len(seen) == len(scripted_run(steps=50))
    line = Log(message="fresh", time=1.0).to_json() + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line[:10])
        f.flush()
        assert source.read(0.0) == []
        f.write(line[10:])
    assert [e.message for e in source.read(0.0)] == ["fresh"]  # type: ignore[attr-defined]


def test_queue_source_drains_a_multiprocessing_queue(tmp_path: Path) -> None:
    """Events put on a real multiprocessing queue (pickled) come out in order."""
    channel = multiprocessing.get_context("spawn").Queue()
    events = scripted_run(steps=30)
    for event in events:
        channel.put(event)
    source = QueueSource(channel, tmp_path / "events.jsonl")
    got: list = []
    while len(got) < len(events):
        got.extend(source.read(1.0))
    assert [type(e) for e in got] == [type(e) for e in events] and got[-1].time == events[-1].time


def test_queue_source_falls_back_to_the_file_when_the_run_is_gone(tmp_path: Path) -> None:
    """A silent queue whose run has died switches to events.jsonl, skipping what the queue delivered."""
    events = scripted_run(steps=40, finish="failed")
    path = write_events(tmp_path / "events.jsonl", events)
    channel: queue.Queue = queue.Queue()
    for event in events[:10]:
        channel.put(event)
    source = QueueSource(channel, path, alive=lambda: False)
    source.SILENCE_CHECK_S = 0.0
    got: list = []
    for _ in range(50):
        got.extend(source.read(0.01))
        if got and isinstance(got[-1], Finished):
            break
    assert isinstance(got[-1], Finished)
    times = [e.time for e in got]
    assert len(got) <= len(events) + 3 and times == sorted(times)


def test_replaying_a_million_step_run_keeps_history_bounded(tmp_path: Path) -> None:
    """A 1,000,000-step run's file (a step event every 10 steps) is rebuilt into bounded history, then followed."""
    path = write_long_run(tmp_path / "events.jsonl", steps=1_000_000, every=10)
    posted: list[RunSnapshot] = []
    final = RunBridge(FileSource(path), posted.append, frame_s=0.0).run()
    assert final.step == 1_000_000 and final.finished is not None and final.state == "completed"
    xs, ys = final.loss_series
    assert len(xs) <= SERIES_CAPACITY and xs[0] <= 1_000 and xs[-1] == 1_000_000 and ys[0] > ys[-1]
    assert len(posted) <= 3


def test_replay_then_follow_sees_what_is_appended(tmp_path: Path) -> None:
    """After the fast rebuild the file is followed from where it stopped: nothing twice, nothing lost."""
    path = write_events(tmp_path / "events.jsonl", scripted_run(steps=200))
    posted: list[RunSnapshot] = []
    bridge = RunBridge(FileSource(path), posted.append, frame_s=0.0)
    done = threading.Event()

    def append_later() -> None:
        while not posted:
            time.sleep(0.01)
        with open(path, "a", encoding="utf-8") as f:
            f.write(Step(step=210, loss=2.0, time=2e9).to_json() + "\n")
            f.write(Log(message="after the replay", time=2e9).to_json() + "\n")
            f.write(Finished(state="completed", step=210, time=2e9 + 1).to_json() + "\n")
        done.set()

    writer = threading.Thread(target=append_later)
    writer.start()
    final = bridge.run()
    writer.join()
    assert final.step == 210 and final.finished is not None and final.log_seq == 3
    assert final.logs[-1].message == "after the replay" and final.loss_series[0][-1] == 210


def test_slow_replay_reads_in_parts_and_says_it_is_catching_up(tmp_path: Path) -> None:
    """Without the fast rebuild, a file is read in bounded chunks, each frame marked as catching up."""
    path = write_long_run(tmp_path / "events.jsonl", steps=20_000)
    posted: list[RunSnapshot] = []
    bridge = RunBridge(FileSource(path, chunk_bytes=256 << 10), posted.append, frame_s=0.0)
    bridge.fast_replay = False
    final = bridge.run()
    assert final.step == 20_000 and final.events == 20_002 and len(final.loss_series[0]) <= SERIES_CAPACITY
    assert any(s.catching_up for s in posted) and not posted[-1].catching_up
