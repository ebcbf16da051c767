"""Scripted runs for the Train and Runs screen tests: events with fixed times, no process, no GPU."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

from studio.train.events import (
    Checkpoint,
    Eval,
    Event,
    Finished,
    Log,
    Probe,
    RunStarted,
    State,
    Step,
    System,
)

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC: every event time is fixed, so screens are too
GIB = 2**30


def gpu(index: int, used: float, total: float = 80.0) -> dict:
    """One GPU reading as the monitor reports it (sizes in GiB here, bytes on the wire)."""
    return {
        "index": index,
        "name": "NVIDIA H100 80GB HBM3",
        "memory_used": int(used * GIB),
        "memory_total": int(total * GIB),
        "utilization": 97.0,
        "temperature": 64.0,
        "power": 512.0,
        "torch_allocated": int((used - 4) * GIB),
        "torch_reserved": int((used - 2) * GIB),
        "torch_peak": int((used - 1) * GIB),
    }


def loss_at(step: int) -> float:
    return 2.0 + 8.0 * math.exp(-step / 150)


def scripted_run(
    steps: int = 400,
    total: int = 1000,
    gpus: int = 0,
    every: int = 10,
    run_id: str = "20260101-000000-demo",
    finish: str | None = None,
    nan_at: int | None = None,
) -> list[Event]:
    """A plausible run: start, logs, steps every `every`, evals, a checkpoint, a probe, system readings."""
    events: list[Event] = [
        RunStarted(
            run_id=run_id,
            host="gpu-box",
            pid=4242,
            world_size=1,
            total_steps=total,
            time=T0,
            devices=[{"index": i, "name": "NVIDIA H100 80GB HBM3"} for i in range(gpus)],
        ),
        State(state="running", time=T0 + 1),
        Log(
            level="info",
            message="training 6 layers, 768 hidden, 84M parameters [bold]not markup[/bold]",
            time=T0 + 1,
        ),
        Log(level="warning", message="tokenizer has no pad token; using </s>", time=T0 + 1),
    ]
    for step in range(every, steps + 1, every):
        t = T0 + 2 + step * 0.5
        loss = float("nan") if nan_at is not None and step >= nan_at else loss_at(step)
        lr = 5e-4 * min(1.0, step / 100) * (1 - step / total)
        events.append(
            Step(
                step=step,
                epoch=step / 500,
                loss=loss,
                learning_rate=lr,
                grad_norm=1 + 3 * math.exp(-step / 80),
                tokens=step * 8192,
                tokens_per_s=16384.0 + (step % 70) * 10,
                time=t,
            )
        )
        if step % 100 == 0:
            events.append(
                Eval(
                    step=step, eval_loss=loss_at(step) + 0.3, perplexity=math.exp(loss_at(step) + 0.3), time=t
                )
            )
            events.append(
                System(
                    gpus=[gpu(i, 40.0 + 10 * i) for i in range(gpus)],
                    cpu_percent=85.0,
                    rss_bytes=3 * GIB,
                    ram_used=21 * GIB,
                    ram_total=64 * GIB,
                    time=t,
                )
            )
        if step % 200 == 0:
            events.append(Checkpoint(step=step, path=f"/runs/{run_id}/checkpoints/checkpoint-{step}", time=t))
            events.append(
                Probe(
                    step=step,
                    kind="fill-mask",
                    time=t,
                    results=[
                        {
                            "input": "La suno <mask> hela.",
                            "outputs": [
                                {"token_str": " estas", "score": 0.61},
                                {"token_str": " brilas", "score": 0.22},
                            ],
                        },
                    ],
                )
            )
    if finish:
        events.append(
            Log(
                level="error" if finish == "failed" else "info",
                message=f"run {finish}",
                time=T0 + 3 + steps * 0.5,
            )
        )
        events.append(
            Finished(
                state=finish,
                step=steps,
                reason="CUDA out of memory" if finish == "failed" else "",
                time=T0 + 3 + steps * 0.5,
            )
        )
    return events


def write_events(path: Path, events: list[Event]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(e.to_json() + "\n" for e in events), encoding="utf-8")
    return path


STEP_LINE = (
    '{"v":1,"type":"step","time":%.2f,"step":%d,"epoch":%.4f,"loss":%.5f,"learning_rate":0.0005,'
    '"grad_norm":1.0,"tokens":%d,"tokens_per_s":51200.0,"skipped_steps":0}\n'
)


def write_long_run(path: Path, steps: int, every: int = 1, chunk: int = 20_000) -> Path:
    """An events.jsonl of a `steps`-step run, a step event every `every` steps (written fast)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(RunStarted(run_id=path.parent.name, total_steps=steps, host="h", time=T0).to_json() + "\n")
        numbers: Iterator[int] = iter(range(every, steps + 1, every))
        while True:
            block = [next(numbers, None) for _ in range(chunk)]
            lines = [
                STEP_LINE % (T0 + s * 0.01, s, s / 1e4, 2 + 8 * math.exp(-s / 1e5), s * 512)
                for s in block
                if s
            ]
            if not lines:
                break
            f.write("".join(lines))
        f.write(Finished(state="completed", step=steps, time=T0 + steps * 0.01 + 1).to_json() + "\n")
    return path


def write_run_dir(
    runs_root: Path,
    run_id: str,
    state: str,
    step: int,
    total: int,
    loss: float | None,
    started: float,
    duration: float,
    events: list[Event] | None = None,
    pid: int | None = None,
) -> Path:
    """A run directory as the worker leaves it: config.yaml, status.json, events.jsonl."""
    run_dir = runs_root / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(f"studio: {{name: {run_id.split('-', 2)[-1]}}}\n", encoding="utf-8")
    status = {
        "version": 1,
        "run_id": run_id,
        "state": state,
        "phase": state,
        "host": "gpu-box",
        "step": step,
        "total_steps": total,
        "last_loss": loss,
        "tokens_per_s": 16384.0,
        "started": started,
        "session_started": started,
        "ended": started + duration,
        "heartbeat": started + duration,
        "pid": pid or 999_999_9,
        "created": started,
    }
    (run_dir / "status.json").write_text(json.dumps(status), encoding="utf-8")
    write_events(run_dir / "events.jsonl", events or [])
    return run_dir


async def wait_for(pilot, condition, timeout: float = 20.0, step: float = 0.05, busy: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Pause the Pilot until `condition()` holds (a generous limit: a test fails on its assert, not on a clock).

    `busy`: the app is flooded on purpose, so sleep plainly (Pilot's pause waits for an idle app).
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        if busy:
            await asyncio.sleep(step)
        else:
            await pilot.pause(step)


async def follow_scripted(pilot, events: list[Event], run_id: str = "20260101-000000-demo") -> None:  # type: ignore[no-untyped-def]
    """Feed `events` to the Train screen through a scripted source and wait until all are shown."""
    from studio.tui.bridge import ScriptedSource

    screen = pilot.app.screen
    screen.follow(ScriptedSource([events]), run_id, None)
    await wait_for(pilot, lambda: screen.snapshot is not None and screen.snapshot.events == len(events))
    screen.redraw()
    await pilot.pause(0.1)  # let the layout settle (the side panel's text changed height)
    await pilot.pause()
