"""From a run's events to the screen: one reader thread, one coalesced message per frame.

A run's events arrive from a live `multiprocessing` queue (a run this app started) or from its
`events.jsonl` (attach from anywhere: the file is replayed from the start, then followed). The
`RunBridge` drains its `EventSource` on a worker thread, folds every event into `LiveRun` (a bounded,
downsampled `RunHistory`: memory stays flat however long the run; a file is first rebuilt in one
fast sampled pass) and, at most `frame_s` apart, posts
one immutable `RunSnapshot` inside a `RunUpdate` message. Snapshots are cumulative, so a newer one
replaces any that the UI has not handled yet (`can_replace`): a flood never queues up.
"""

from __future__ import annotations

import itertools
import math
import queue as queue_module
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from textual.message import Message

from studio.train.events import (
    Checkpoint,
    Event,
    EventLog,
    Finished,
    Log,
    Probe,
    RunStarted,
    Step,
    System,
    parse_event,
)
from studio.train.history import RunHistory

Series = tuple[tuple[float, ...], tuple[float, ...]]  # (steps, values)

FRAME_S = 1 / 20  # at most 20 snapshots a second reach the UI (each costs the UI thread a few ms)
SERIES_CAPACITY = 2048  # points kept per curve, whatever the run length
LOG_CAPACITY = 1000  # newest log records carried in a snapshot
CHECKPOINT_CAPACITY = 50


class BoundedSeries:
    """A curve of at most `capacity` points over the whole run.

    When full, neighbouring points are merged in pairs (mean value, later step) and from then on
    every `stride` new points are averaged into one: the shape of a 1,000,000-step run survives
    in 2,048 points, and memory never grows. Non-finite values are not averaged in (they are
    counted by `LiveRun.nan_steps` instead), so one NaN never erases a curve.
    """

    def __init__(self, capacity: int = SERIES_CAPACITY) -> None:
        self.capacity = max(4, capacity - capacity % 2)
        self.stride = 1
        self._xs: list[float] = []
        self._ys: list[float] = []
        self._pending_x = 0.0
        self._pending_sum = 0.0
        self._pending_n = 0
        self.last: float | None = None

    def add(self, x: float, y: float | None) -> None:
        if y is None:
            return
        self.last = y
        if not math.isfinite(y):
            return
        self._pending_x = x
        self._pending_sum += y
        self._pending_n += 1
        if self._pending_n >= self.stride:
            self._xs.append(self._pending_x)
            self._ys.append(self._pending_sum / self._pending_n)
            self._pending_sum, self._pending_n = 0.0, 0
            if len(self._xs) >= self.capacity:
                self._halve()

    def _halve(self) -> None:
        self._xs = self._xs[1::2]
        self._ys = [(a + b) / 2 for a, b in zip(self._ys[0::2], self._ys[1::2], strict=False)]
        self.stride *= 2

    def __len__(self) -> int:
        return len(self._xs) + (1 if self._pending_n else 0)

    def points(self) -> Series:
        """An immutable copy, including the partly filled newest point."""
        xs, ys = tuple(self._xs), tuple(self._ys)
        if self._pending_n:
            xs += (self._pending_x,)
            ys += (self._pending_sum / self._pending_n,)
        return xs, ys


@dataclass(frozen=True)
class RunSnapshot:
    """Everything the Train screen shows about a run at one moment; never mutated once posted."""

    run_id: str = ""
    run_dir: str | None = None
    state: str = (
        "waiting"  # waiting, preparing, running, evaluating, saving, stopping, completed, stopped, failed
    )
    detail: str = ""
    host: str = ""
    world_size: int = 1
    step: int = 0
    total_steps: int | None = None
    epoch: float = 0.0
    tokens: int = 0
    tokens_per_s: float | None = None
    loss: float | None = None
    eval_loss: float | None = None
    perplexity: float | None = None
    started: float | None = None  # time of the (latest) run_started event
    updated: float | None = None  # time of the newest event
    eta: float | None = None  # seconds left at the recent pace (None before it is known)
    loss_series: Series = ((), ())
    eval_series: Series = ((), ())
    lr_series: Series = ((), ())
    grad_series: Series = ((), ())
    tps_series: Series = ((), ())
    logs: tuple[Log, ...] = ()
    log_seq: int = 0  # how many log records were seen in total (numbers the last of `logs`)
    checkpoints: tuple[Checkpoint, ...] = ()
    probe: Probe | None = None
    system: System | None = None
    finished: Finished | None = None
    nan_steps: int = 0  # step events whose loss was NaN or infinite
    skipped_steps: int = 0
    catching_up: bool = False  # still replaying what the file already held
    events: int = 0  # events folded in so far
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_live(self) -> bool:
        return self.finished is None and self.state not in (
            "waiting",
            "lost",
            "completed",
            "stopped",
            "failed",
        )

    @property
    def elapsed_s(self) -> float | None:
        """Seconds from the run's start to its newest event (event times: no clock is read)."""
        if self.started is None or self.updated is None:
            return None
        return max(0.0, self.updated - self.started)

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the recent pace, or None before the pace is known (or once ended)."""
        return self.eta if self.finished is None else None

    @property
    def fraction(self) -> float | None:
        if not self.total_steps:
            return None
        return min(1.0, self.step / self.total_steps)


class LiveRun:
    """A `RunHistory` (bounded, downsampled: studio.train.history) plus what the screen numbers,
    turned into immutable snapshots. Used on the reader thread only."""

    def __init__(
        self,
        run_id: str = "",
        run_dir: str | Path | None = None,
        capacity: int = SERIES_CAPACITY,
        log_capacity: int = LOG_CAPACITY,
    ) -> None:
        self.run_id = run_id
        self.run_dir = str(run_dir) if run_dir is not None else None
        self.history = RunHistory(
            capacity=capacity, keep_logs=log_capacity, keep_checkpoints=CHECKPOINT_CAPACITY
        )
        self.log_seq = 0  # every log record seen, so the screen writes each one once
        self.nan_steps = 0
        self.updated: float | None = None

    def apply(self, event: Event) -> None:
        """Fold one event in; unknown kinds are ignored (newer workers stay readable)."""
        self.history.apply(event)
        self.updated = event.time
        if isinstance(event, Log):
            self.log_seq += 1
        elif isinstance(event, Step) and event.loss is not None and not math.isfinite(event.loss):
            self.nan_steps += 1
        elif isinstance(event, RunStarted) and event.run_id:
            self.run_id = event.run_id

    def replay(self, path: Path) -> int:
        """Rebuild from a whole `events.jsonl` at once (sampled before parsing: fast for any size);
        returns the byte offset to follow from."""
        try:
            offset = self.history.replay(path)
        except FileNotFoundError:
            return 0
        history = self.history
        self.log_seq = len(history.logs)
        self.nan_steps = len(history.non_finite)
        if history.started is not None and history.started.run_id:
            self.run_id = history.started.run_id
        latest = [e.time for e in (history.last_step, history.finished, history.last_eval) if e is not None]
        self.updated = max(latest) if latest else None
        return offset

    def _series(self, name: str) -> Series:
        points = self.history.points(name)
        return tuple(float(x) for x, _ in points), tuple(y for _, y in points)

    def snapshot(self, catching_up: bool = False) -> RunSnapshot:
        """An immutable copy of everything the screen needs (bounded: copying it is cheap)."""
        h = self.history
        last, started = h.last_step, h.started
        state = h.phase if h.events else "waiting"
        if state == "preparing" and last is not None:  # steps are coming: it is training
            state = "running"
        return RunSnapshot(
            run_id=self.run_id,
            run_dir=self.run_dir,
            state=state,
            detail=h.finished.reason if h.finished is not None else "",
            host=started.host if started is not None else "",
            world_size=started.world_size if started is not None else 1,
            step=max(h.step, h.finished.step if h.finished is not None else 0),
            total_steps=h.total_steps,
            epoch=last.epoch if last is not None else 0.0,
            tokens=last.tokens if last is not None else 0,
            tokens_per_s=last.tokens_per_s if last is not None else None,
            loss=last.loss if last is not None else None,
            eval_loss=h.last_eval.eval_loss if h.last_eval is not None else None,
            perplexity=h.last_eval.perplexity if h.last_eval is not None else None,
            started=started.time if started is not None else None,
            updated=self.updated,
            eta=h.eta_s(),
            loss_series=self._series("loss"),
            eval_series=self._series("eval_loss"),
            lr_series=self._series("learning_rate"),
            grad_series=self._series("grad_norm"),
            tps_series=self._series("tokens_per_s"),
            logs=tuple(h.logs),
            log_seq=self.log_seq,
            checkpoints=tuple(h.checkpoints),
            probe=h.probes[-1] if h.probes else None,
            system=h.system[-1] if h.system else None,
            finished=h.finished,
            nan_steps=self.nan_steps,
            skipped_steps=last.skipped_steps if last is not None else 0,
            catching_up=catching_up,
            events=h.events,
        )


# --- event sources ------------------------------------------------------------------------------------


class EventSource(Protocol):
    """Where a bridge reads events from."""

    def read(self, timeout: float) -> list[Event]:
        """The events available now, waiting at most `timeout` seconds for the first one."""
        ...

    @property
    def behind(self) -> bool:
        """True while more events are already waiting (replaying a file): no need to wait."""
        ...

    def close(self) -> None: ...


class FileSource:
    """Replays an `events.jsonl` from the start in bounded chunks, then follows what is appended."""

    def __init__(self, path: str | Path, chunk_bytes: int = 4 << 20, poll_s: float = 0.1) -> None:
        self.path = Path(path)
        self.chunk_bytes = chunk_bytes
        self.poll_s = poll_s
        self._log = EventLog(self.path)
        self._behind = True

    def replay_into(self, live: LiveRun) -> None:
        """Rebuild `live` from what the file already holds in one fast pass; then follow from there."""
        self._log = EventLog(self.path, offset=live.replay(self.path))

    @property
    def behind(self) -> bool:
        return self._behind

    def read(self, timeout: float) -> list[Event]:
        events = self._log.read_new(max_bytes=self.chunk_bytes)
        try:
            self._behind = self._log.offset < self.path.stat().st_size
        except OSError:
            self._behind = False
        if not events and not self._behind:
            time.sleep(min(timeout, self.poll_s))
        return events

    def skip_until(self, moment: float) -> list[Event]:
        """Read the whole file, keeping only events at or after `moment` (a queue's fallback)."""
        kept: list[Event] = []
        while True:
            chunk = self._log.read_new(max_bytes=self.chunk_bytes)
            kept.extend(e for e in chunk if e.time >= moment)
            if not chunk:
                break
        return kept

    def close(self) -> None:
        pass


class QueueSource:
    """Drains the live queue of a run this app started; falls back to the file when it breaks.

    The queue is the fast path (events reach the screen within a frame); `events.jsonl` is the
    record. When the queue breaks, or stays silent while the run's processes are gone (a killed
    worker cannot say goodbye, its supervisor writes the last word to the file), the source
    switches to the file, skipping what the queue already delivered.
    """

    MAX_BATCH = 10_000
    SILENCE_CHECK_S = 2.0

    def __init__(
        self, channel: Any, events_path: str | Path, alive: Callable[[], bool] | None = None
    ) -> None:
        self.channel = channel
        self.events_path = Path(events_path)
        self.alive = alive
        self._file: FileSource | None = None
        self._last_time = 0.0
        self._silent_since = time.monotonic()

    @property
    def behind(self) -> bool:
        return self._file.behind if self._file is not None else False

    def read(self, timeout: float) -> list[Event]:
        if self._file is not None:
            return self._file.read(timeout)
        batch: list[Event] = []
        try:
            batch.append(self.channel.get(timeout=max(0.001, timeout)))
            while len(batch) < self.MAX_BATCH:
                batch.append(self.channel.get_nowait())
        except queue_module.Empty:
            pass
        except (EOFError, OSError, ValueError):  # the channel broke: the file has the rest
            return batch + self._switch_to_file()
        events = [e for e in (coerce_event(item) for item in batch) if e is not None]
        now = time.monotonic()
        if events:
            self._last_time = max(self._last_time, events[-1].time)
            self._silent_since = now
        elif now - self._silent_since > self.SILENCE_CHECK_S:
            self._silent_since = now
            if self.alive is not None and not self.alive():
                return self._switch_to_file()
        return events

    def _switch_to_file(self) -> list[Event]:
        self._file = FileSource(self.events_path)
        return self._file.skip_until(self._last_time + 1e-6) if self._last_time else []

    def close(self) -> None:
        pass


class ScriptedSource:
    """Replays prepared batches (tests and benchmarks): no process, no file, no sleeps."""

    def __init__(self, batches: Sequence[Sequence[Event]] | Any) -> None:
        self._batches = iter(batches)
        self._done = False

    @property
    def behind(self) -> bool:
        return False

    def read(self, timeout: float) -> list[Event]:
        if self._done:
            time.sleep(min(timeout, 0.05))
            return []
        try:
            return list(next(self._batches))
        except StopIteration:
            self._done = True
            return []

    def close(self) -> None:
        pass


def coerce_event(item: Any) -> Event | None:
    """A queue item as an `Event`: events pass through, JSON lines are parsed, the rest dropped."""
    if isinstance(item, Event):
        return item
    if isinstance(item, str | bytes):
        return parse_event(item)
    return None


# --- the bridge ---------------------------------------------------------------------------------------


class RunUpdate(Message):
    """The newest snapshot of a followed run; a newer one replaces it if it was not handled yet."""

    def __init__(self, snapshot: RunSnapshot, bridge_id: int) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.bridge_id = bridge_id

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunUpdate) and message.bridge_id == self.bridge_id


_bridge_ids = itertools.count(1)


class RunBridge:
    """Reads a source on the calling (worker) thread and posts a snapshot at most once a frame."""

    def __init__(
        self,
        source: EventSource,
        post: Callable[[RunSnapshot], object],
        *,
        run_id: str = "",
        run_dir: str | Path | None = None,
        frame_s: float = FRAME_S,
        capacity: int = SERIES_CAPACITY,
        log_capacity: int = LOG_CAPACITY,
    ) -> None:
        self.id = next(_bridge_ids)
        self.source = source
        self.post = post
        self.frame_s = frame_s
        self.live = LiveRun(run_id, run_dir, capacity=capacity, log_capacity=log_capacity)
        self.posted = 0
        self.fast_replay = True  # False folds every old event in one by one (tests compare both)

    def run(
        self, cancelled: Callable[[], bool] = lambda: False, stop_when_finished: bool = True
    ) -> RunSnapshot:
        """Follow until cancelled (or the run has finished and nothing more is waiting)."""
        last_post = 0.0
        dirty = True  # the first (possibly empty) snapshot tells the screen whom it follows
        replay = getattr(self.source, "replay_into", None)
        if replay is not None and self.fast_replay:
            replay(self.live)
        try:
            while not cancelled():
                wait = max(0.0, self.frame_s - (time.monotonic() - last_post)) if dirty else 0.25
                events = self.source.read(wait)
                for event in events:
                    self.live.apply(event)
                dirty = dirty or bool(events)
                behind = self.source.behind
                now = time.monotonic()
                if dirty and now - last_post >= self.frame_s:
                    self._post(behind)
                    last_post, dirty = now, False
                if (
                    stop_when_finished
                    and self.live.history.finished is not None
                    and not behind
                    and not events
                ):
                    break
        finally:
            self.source.close()
        snapshot = self.live.snapshot(catching_up=False)
        if dirty:
            self.posted += 1
            self.post(snapshot)
        return snapshot

    def _post(self, catching_up: bool) -> None:
        self.posted += 1
        self.post(self.live.snapshot(catching_up=catching_up))
