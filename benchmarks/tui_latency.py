"""Train screen liveness: event-to-screen latency, key-press latency under 1,000 events/s, and the
app's memory after following a 1,000,000-step run.

The app runs headless (`run_test`) in this process; a feeder thread plays a worker at 1,000
events/s, either on a queue (a run started here) or appended to an `events.jsonl` through the
real `EventWriter` (a run attached from another terminal: its writer flushes every 0.2 s).

- event-to-screen: from an event's creation to the end of the screen's update that shows it;
- key press: from a key event entering the app (the path a terminal's key takes) to its action;
- memory: resident set size after attaching to (replaying and drawing) a 1,000,000-step file.

    python benchmarks/tui_latency.py [--seconds 5] [--steps 1000000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
from textual import events

from studio.train.events import EventWriter, Finished, RunStarted, Step
from studio.tui.app import StudioApp
from studio.tui.bridge import FileSource, QueueSource
from studio.tui.screens.train import TrainScreen
from studio.workspace import open_workspace

RATE = 1000  # events per second
BATCH = 10  # events put together, every BATCH / RATE seconds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, float]:
    if not values:  # nothing arrived in the window (a machine too loaded to feed at RATE)
        return {"n": 0}
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values) * 1000, 2),
        "p99_ms": round(percentile(values, 0.99) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


def feed(mode: str, target: Any, halt: Any, rate: int = RATE) -> None:
    """A worker stand-in in its own process: `rate` step events a second, stamped when made."""
    writer = EventWriter(target) if mode == "file" else None
    put = writer.write if writer is not None else target.put
    put(RunStarted(run_id="bench", total_steps=10**9, time=time.time()))
    step, next_at = 0, time.perf_counter()
    while not halt.is_set():
        for _ in range(BATCH):
            step += 1
            put(
                Step(
                    step=step,
                    loss=2 + 1 / step,
                    learning_rate=1e-4,
                    grad_norm=1.0,
                    tokens=step * 4096,
                    tokens_per_s=4e6,
                    time=time.time(),
                )
            )
        next_at += BATCH / rate
        time.sleep(max(0.0, next_at - time.perf_counter()))
    if writer is not None:
        writer.close()


def instrument(screen: TrainScreen, latencies: list[float]) -> None:
    """For every step a screen update draws for the first time, how old it was by then.

    A snapshot carries its newest event's time; the steps before it in the same frame were made
    1/RATE s apart, so their ages follow (the feeder keeps its pace on an idle core)."""
    original = screen._draw
    shown = {"step": 0}

    def timed(force: bool = False) -> None:
        original(force)
        snap = screen.snapshot
        if snap is None or snap.updated is None:
            return
        done = time.time()
        for s in range(shown["step"] + 1, snap.step + 1):
            latencies.append(done - (snap.updated - (snap.step - s) / RATE))
        shown["step"] = max(shown["step"], snap.step)

    screen._draw = timed  # type: ignore[method-assign]


async def measure_live(workspace: Any, mode: str, seconds: float) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    halt = ctx.Event()
    if mode == "queue":
        target: Any = ctx.Queue()
        source: Any = QueueSource(target, workspace.runs / "none.jsonl")
    else:
        target = workspace.runs / "bench-events.jsonl"
        target.unlink(missing_ok=True)
        source = FileSource(target)
    app = StudioApp(workspace, animations=False, start_screen="train")
    latencies: list[float] = []
    key_latencies: list[float] = []
    async with app.run_test(size=(120, 40)):
        await asyncio.sleep(0.5)
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        instrument(screen, latencies)
        screen.follow(source, "bench", None)
        feeder = ctx.Process(target=feed, args=(mode, target, halt), daemon=True)
        feeder.start()
        await asyncio.sleep(2.0)  # warm up (the feeder process starts)
        latencies.clear()
        first_step = screen.snapshot.step if screen.snapshot else 0
        original_toggle = screen.action_toggle_smoothing
        pressed = {"at": 0.0}

        def toggle() -> None:
            key_latencies.append(time.perf_counter() - pressed["at"])
            original_toggle()

        screen.action_toggle_smoothing = toggle  # type: ignore[method-assign]
        start = time.perf_counter()
        end = start + seconds
        while time.perf_counter() < end:
            count = len(key_latencies)
            pressed["at"] = time.perf_counter()
            app.post_message(events.Key("m", "m"))  # the path a terminal's key takes
            while len(key_latencies) == count and time.perf_counter() < end + 5:
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - start
        shown = screen.snapshot.step if screen.snapshot else 0
        halt.set()
        feeder.join(5)
    return {
        "source": mode,
        "events_per_s_shown": round((shown - first_step) / elapsed),
        "event_to_screen": summary(latencies),
        "key_press": summary(key_latencies),
    }


def write_million(path: Path, steps: int) -> None:
    line = (
        '{"v":1,"type":"step","time":%.2f,"step":%d,"epoch":%.4f,"loss":%.5f,"learning_rate":0.0005,'
        '"grad_norm":1.0,"tokens":%d,"tokens_per_s":51200.0,"skipped_steps":0}\n'
    )
    t0 = 1_767_225_600.0
    with open(path, "w", encoding="utf-8") as f:
        f.write(RunStarted(run_id="million", total_steps=steps, time=t0).to_json() + "\n")
        for lo in range(1, steps + 1, 50_000):
            f.write(
                "".join(
                    line % (t0 + s * 0.01, s, s / 1e4, 2 + 8 * math.exp(-s / 1e5), s * 512)
                    for s in range(lo, min(steps, lo + 49_999) + 1)
                )
            )
        f.write(Finished(state="completed", step=steps, time=t0 + steps * 0.01 + 1).to_json() + "\n")


async def measure_memory(workspace: Any, steps: int) -> dict[str, Any]:
    run_dir = workspace.runs / "20260101-000000-million"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "status.json").write_text(json.dumps({"state": "completed", "run_id": run_dir.name}))
    write_million(run_dir / "events.jsonl", steps)
    process = psutil.Process()
    app = StudioApp(workspace, animations=False, start_screen="train")
    async with app.run_test(size=(120, 40)):
        await asyncio.sleep(0.5)
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        before = process.memory_info().rss
        start = time.perf_counter()
        screen.attach(run_dir.name)
        while screen.snapshot is None or screen.snapshot.finished is None:
            await asyncio.sleep(0.05)
        replay_s = time.perf_counter() - start
        screen.redraw()
        await asyncio.sleep(0.5)
        after = process.memory_info().rss
        points = len(screen.snapshot.loss_series[0])
    return {
        "steps": steps,
        "file_mb": round((run_dir / "events.jsonl").stat().st_size / 2**20, 1),
        "replay_s": round(replay_s, 1),
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "loss_points_kept": points,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of 1,000 events/s per source")
    parser.add_argument("--steps", type=int, default=1_000_000, help="length of the run to follow for memory")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = open_workspace(Path(tmp) / "ws", demo=False)
        results = {
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "live_queue": asyncio.run(measure_live(workspace, "queue", args.seconds)),
            "live_file": asyncio.run(measure_live(workspace, "file", args.seconds)),
            "memory": asyncio.run(measure_memory(workspace, args.steps)),
        }
    if args.json:
        print(json.dumps(results))
    else:
        for name, value in results.items():
            print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
