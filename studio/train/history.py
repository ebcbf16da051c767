"""A run's history in memory, bounded however long the run: what charts and panels draw from.

`RunHistory.apply(event)` takes live events one at a time (from the queue or `EventLog.follow`);
`RunHistory.replay(path)` rebuilds it from an `events.jsonl` of any size, fast: step lines are
sampled *before* they are parsed (a line's type is known from its first bytes, since every event
starts with `{"v":1,"type":...`), so a million-step file parses only a few thousand lines. Non-finite
losses are always kept (they are never hidden), and the newest step is always exact.

Series are evenly downsampled: a series keeps every `stride`-th point, and when it holds
`capacity` points it drops every other one and doubles the stride (like TensorBoard's bounded
scalars, but deterministic). Latest-only things (system samples, probes, logs, checkpoints) are
bounded deques. Core module: no textual, no torch.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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
    parse_event,
)

SERIES_CAPACITY = 2048
STEP_FIELDS = ("loss", "learning_rate", "grad_norm", "tokens_per_s")
_PREFIX = b'{"v":1,"type":"'
_STEP = _PREFIX + b'step"'
_SYSTEM = _PREFIX + b'system"'
_LOG = _PREFIX + b'log"'
_PROBE = _PREFIX + b'probe"'
_NON_FINITE_LOSS = b'"loss":"'  # NaN/Inf travel as strings ("nan", "inf", "-inf")
_NL = b"\n"
_NL_STEP = _NL + _STEP
_NL_STRUCTURAL = tuple(
    _NL + _PREFIX + name + b'"' for name in (b"run_started", b"eval", b"checkpoint", b"state", b"finished")
)
READ_CHUNK = 8 << 20


class DownsampledSeries:
    """Aligned series sharing one x axis (the step), bounded to `capacity` evenly spaced points."""

    def __init__(self, names: Iterable[str], capacity: int = SERIES_CAPACITY) -> None:
        self.names = tuple(names)
        self.capacity = max(4, capacity)
        self.stride = 1
        self.seen = 0
        self.xs: list[int] = []
        self.ys: dict[str, list[float | None]] = {name: [] for name in self.names}
        self.last: tuple[int, dict[str, float | None]] | None = None

    def accept(self) -> bool:
        """Count one more point and say whether it is kept (decided before it is even parsed)."""
        keep = self.seen % self.stride == 0
        self.seen += 1
        return keep

    def keep(self, x: int, values: dict[str, float | None]) -> None:
        """Store a point `accept()` said to keep (or one that must be kept, such as a NaN)."""
        self.xs.append(x)
        for name in self.names:
            self.ys[name].append(values.get(name))
        if len(self.xs) > self.capacity:
            # Every other point goes, except non-finite ones: a NaN is never downsampled away.
            kept = [i for i in range(len(self.xs)) if i % 2 == 0 or self._non_finite(i)]
            if len(kept) > self.capacity * 3 // 4:  # mostly NaN: bounded memory wins
                kept = list(range(0, len(self.xs), 2))
            self.xs = [self.xs[i] for i in kept]
            for name in self.names:
                column = self.ys[name]
                self.ys[name] = [column[i] for i in kept]
            self.stride *= 2

    def _non_finite(self, index: int) -> bool:
        return any(
            (value := self.ys[name][index]) is not None and not math.isfinite(value) for name in self.names
        )

    def add(self, x: int, values: dict[str, float | None], force: bool = False) -> None:
        """`accept()` then `keep()`; `force` keeps the point whatever the stride says."""
        kept = self.accept()
        if kept or force:
            self.keep(x, values)
        self.last = (x, values)

    def truncate_after(self, x: int) -> None:
        """Forget points after step `x` (a resume from an earlier checkpoint replays them)."""
        cut = next((i for i, value in enumerate(self.xs) if value > x), len(self.xs))
        self.xs = self.xs[:cut]
        for name in self.names:
            self.ys[name] = self.ys[name][:cut]
        if self.last is not None and self.last[0] > x:
            self.last = None

    def points(self, name: str) -> list[tuple[int, float]]:
        """(step, value) pairs of one series, oldest first, with the newest point always included."""
        out = [(x, y) for x, y in zip(self.xs, self.ys[name], strict=True) if y is not None]
        if self.last is not None and (not self.xs or self.last[0] > self.xs[-1]):
            value = self.last[1].get(name)
            if value is not None:
                out.append((self.last[0], value))
        return out

    def __len__(self) -> int:
        return len(self.xs)


class RunHistory:
    """Everything a live view needs about one run, in bounded memory.

    Series: `points("loss" | "learning_rate" | "grad_norm" | "tokens_per_s" | "eval_loss")`.
    Latest: `last_step`, `last_eval`, `system` (deque), `probes`, `checkpoints`, `logs`,
    `non_finite` (steps whose loss was NaN/Inf), `state`/`phase`, `finished`.
    """

    def __init__(
        self,
        capacity: int = SERIES_CAPACITY,
        keep_system: int = 600,
        keep_logs: int = 1000,
        keep_probes: int = 50,
        keep_checkpoints: int = 200,
    ) -> None:
        self.steps = DownsampledSeries(STEP_FIELDS, capacity)
        self.evals = DownsampledSeries(("eval_loss", "perplexity"), capacity)
        self.system: deque[System] = deque(maxlen=keep_system)
        self.logs: deque[Log] = deque(maxlen=keep_logs)
        self.probes: deque[Probe] = deque(maxlen=keep_probes)
        self.checkpoints: deque[Checkpoint] = deque(maxlen=keep_checkpoints)
        self.non_finite: deque[tuple[int, float]] = deque(maxlen=1000)
        self.started: RunStarted | None = None
        self.last_step: Step | None = None
        self.last_eval: Eval | None = None
        self.finished: Finished | None = None
        self.state = "preparing"
        self.phase = "preparing"
        self.total_steps: int | None = None
        self.events = 0
        self._recent: deque[tuple[float, int]] = deque(maxlen=64)  # (time, step) for the ETA

    # --- live -----------------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Take one event into the history."""
        self.events += 1
        if isinstance(event, Step):
            self._step(event, self.steps.accept())
        elif isinstance(event, System):
            self.system.append(event)
        elif isinstance(event, Eval):
            self._eval(event)
        elif isinstance(event, Log):
            self.logs.append(event)
        elif isinstance(event, Probe):
            self.probes.append(event)
        elif isinstance(event, Checkpoint):
            self.checkpoints.append(event)
        elif isinstance(event, State):
            self.phase = event.state
            self.state = "preparing" if event.state == "preparing" else "running"
        elif isinstance(event, RunStarted):
            self._started(event)
        elif isinstance(event, Finished):
            self.finished = event
            self.state = self.phase = event.state

    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    def points(self, name: str) -> list[tuple[int, float]]:
        """A series by name: loss, learning_rate, grad_norm, tokens_per_s, eval_loss, perplexity."""
        if name in self.evals.names:
            return self.evals.points(name)
        return self.steps.points(name)

    @property
    def step(self) -> int:
        return self.last_step.step if self.last_step is not None else 0

    def eta_s(self) -> float | None:
        """Seconds to `total_steps` at the recent pace, or None when unknown."""
        if self.total_steps is None or len(self._recent) < 2 or self.finished is not None:
            return None
        (t0, s0), (t1, s1) = self._recent[0], self._recent[-1]
        if s1 <= s0 or t1 <= t0:
            return None
        return max(0.0, (self.total_steps - s1) * (t1 - t0) / (s1 - s0))

    # --- replay ---------------------------------------------------------------------------------

    def replay(self, path: str | Path) -> int:
        """Rebuild from an events.jsonl; returns the byte offset read (complete lines only), from
        which `EventLog(path, offset=...)` follows what comes next.

        The file is scanned in chunks with C-speed searches, never split into Python lines: every
        structural event (run_started, eval, checkpoint, state, finished) and every non-finite
        loss is parsed, the newest system/log/probe events are parsed, and step events are
        sampled at evenly spaced byte offsets (about `capacity` of them), then all are applied in
        file order. Memory is one chunk plus what the history keeps.
        """
        size = os.path.getsize(path)
        spacing = max(1, size // self.steps.capacity)
        picked: dict[int, bytes] = {}  # file offset of a line -> the line
        tails: list[tuple[bytes, deque[bytes]]] = [
            (_NL + prefix, deque(maxlen=limit))
            for prefix, limit in (
                (_SYSTEM, self.system.maxlen),
                (_LOG, self.logs.maxlen),
                (_PROBE, self.probes.maxlen),
            )
        ]
        step_count = 0
        next_target = 0
        data_offset = -1  # file offset of data[0], always a newline (a virtual one before the file)
        carry = b"\n"
        with open(path, "rb") as f:
            while block := f.read(READ_CHUNK):
                data = carry + block
                cut = data.rfind(b"\n")
                if cut <= 0:
                    carry = data
                    continue
                end = cut + 1

                def line_at(p: int, data: bytes = data) -> bytes:
                    return data[p + 1 : data.index(b"\n", p + 1)]

                step_count += data.count(_NL_STEP, 0, end)
                for prefix in _NL_STRUCTURAL:
                    p = data.find(prefix, 0, end)
                    while p >= 0:
                        picked[data_offset + p + 1] = line_at(p)
                        p = data.find(prefix, p + 1, end)
                p = data.find(_NON_FINITE_LOSS, 0, end)
                while p >= 0:
                    start = data.rfind(b"\n", 0, p)
                    if data.startswith(_STEP, start + 1):
                        picked[data_offset + start + 1] = line_at(start)
                    p = data.find(_NON_FINITE_LOSS, p + 1, end)
                while next_target < data_offset + cut:
                    p = data.find(_NL_STEP, max(0, next_target - data_offset), end)
                    if p < 0:
                        break
                    picked[data_offset + p + 1] = line_at(p)
                    next_target = max(next_target + spacing, data_offset + p + 2)
                last = data.rfind(_NL_STEP, 0, end)
                if last >= 0:
                    picked[data_offset + last + 1] = line_at(last)  # the newest step is always exact
                for prefix, kept in tails:
                    found: list[bytes] = []
                    p = data.rfind(prefix, 0, end)
                    while p >= 0 and len(found) < (kept.maxlen or 0):
                        found.append(line_at(p))
                        p = data.rfind(prefix, 0, p)
                    kept.extend(reversed(found))
                data_offset += cut
                carry = data[cut:]
        for offset in sorted(picked):
            event = parse_event(picked[offset])
            if isinstance(event, Step):
                self.events += 1
                self._step(event, keep=True)
            elif event is not None:
                self.apply(event)
        if step_count > len(self.steps):  # live points continue at the stride the replay implies
            self.steps.seen = step_count
            self.steps.stride = max(1, -(-step_count // max(1, len(self.steps))))
        for _, kept in tails:
            for line in kept:
                if (event := parse_event(line)) is not None:
                    self.apply(event)
        return data_offset + 1

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> RunHistory:
        history = cls(**options)
        history.replay(path)
        return history

    # --- internals ------------------------------------------------------------------------------

    def _step(self, event: Step, keep: bool) -> None:
        values = _step_values(event)
        finite = event.loss is None or math.isfinite(event.loss)
        if keep or not finite:
            self.steps.keep(event.step, values)
        self.steps.last = (event.step, values)
        if not finite:
            self.non_finite.append((event.step, float(event.loss)))  # type: ignore[arg-type]
        self.last_step = event
        self._recent.append((event.time or time.time(), event.step))

    def _eval(self, event: Eval) -> None:
        self.evals.add(
            event.step,
            {"eval_loss": event.eval_loss, "perplexity": event.perplexity},
            force=event.eval_loss is not None and not math.isfinite(event.eval_loss),
        )
        self.last_eval = event

    def _started(self, event: RunStarted) -> None:
        self.started = event
        self.total_steps = event.total_steps
        self.finished = None
        self.state = self.phase = "preparing"
        if event.resumed_from:
            resumed_at = _checkpoint_step(event.resumed_from)
            if resumed_at is not None:  # steps after the checkpoint are trained again: drop the old ones
                self.steps.truncate_after(resumed_at)
                self.evals.truncate_after(resumed_at)
        self._recent.clear()


def _step_values(event: Step) -> dict[str, float | None]:
    return {
        "loss": event.loss,
        "learning_rate": event.learning_rate,
        "grad_norm": event.grad_norm,
        "tokens_per_s": event.tokens_per_s,
    }


def _checkpoint_step(path: str) -> int | None:
    name = Path(path).name
    _, _, number = name.rpartition("-")
    return int(number) if number.isdigit() else None
