"""The run protocol: versioned events, one JSON object per line, and the one parser of the format.

Every event is written to `runs/<id>/events.jsonl` (the record) and, while a live channel exists,
sent on a multiprocessing queue (the fast path). Anyone can rebuild a whole run from the file.

Each line is `{"v": 1, "type": ..., "time": <unix seconds>, ...fields}`. Unknown fields are kept
(`extra`) and unknown types are skipped by readers, so newer workers stay readable by older apps.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import IO, Any, ClassVar

PROTOCOL_VERSION = 1


@dataclass
class Event:
    """Base of every event. `time` is set when the event is made."""

    TYPE: ClassVar[str] = ""
    time: float = field(default_factory=time.time, kw_only=True)
    extra: dict[str, Any] = field(default_factory=dict, kw_only=True, repr=False)

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        extra = body.pop("extra")
        return {"v": PROTOCOL_VERSION, "type": self.TYPE, **extra, **body}

    def to_json(self) -> str:
        # NaN/Inf are real outcomes of training and must survive the trip: JSON has no literal for
        # them, so they travel as strings ("nan", "inf", "-inf") and come back as floats.
        return json.dumps(_encode_floats(self.to_dict()), ensure_ascii=False, separators=(",", ":"))


@dataclass
class RunStarted(Event):
    TYPE: ClassVar[str] = "run_started"
    run_id: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    host: str = ""
    pid: int = 0
    devices: list[dict[str, Any]] = field(default_factory=list)
    world_size: int = 1
    total_steps: int | None = None
    resumed_from: str | None = None


@dataclass
class Log(Event):
    TYPE: ClassVar[str] = "log"
    level: str = "info"  # debug, info, warning, error
    message: str = ""
    source: str = "worker"


@dataclass
class Step(Event):
    TYPE: ClassVar[str] = "step"
    step: int = 0
    epoch: float = 0.0
    loss: float | None = None
    learning_rate: float | None = None
    grad_norm: float | None = None
    tokens: int = 0  # real (non-padding) tokens seen so far
    tokens_per_s: float | None = None
    skipped_steps: int = 0  # steps dropped by nan_policy=skip so far


@dataclass
class Eval(Event):
    TYPE: ClassVar[str] = "eval"
    step: int = 0
    eval_loss: float | None = None
    perplexity: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class System(Event):
    TYPE: ClassVar[str] = "system"
    gpus: list[dict[str, Any]] = field(default_factory=list)  # index, name, memory_used, memory_total,
    # utilization, temperature, power, torch_allocated, torch_reserved, torch_peak (bytes, %, °C, W)
    cpu_percent: float | None = None
    rss_bytes: int | None = None
    ram_used: int | None = None
    ram_total: int | None = None


@dataclass
class Probe(Event):
    TYPE: ClassVar[str] = "probe"
    step: int = 0
    kind: str = "fill-mask"  # or "generate"
    results: list[dict[str, Any]] = field(default_factory=list)  # [{"input":..., "outputs":[...]}]


@dataclass
class Checkpoint(Event):
    TYPE: ClassVar[str] = "checkpoint"
    step: int = 0
    path: str = ""


@dataclass
class State(Event):
    TYPE: ClassVar[str] = "state"
    state: str = "running"  # preparing, running, evaluating, saving, stopping
    detail: str = ""


@dataclass
class Finished(Event):
    TYPE: ClassVar[str] = "finished"
    state: str = "completed"  # completed, stopped, failed
    reason: str = ""
    traceback_tail: str = ""
    final_dir: str | None = None
    step: int = 0
    figures: dict[str, Any] = field(default_factory=dict)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls for cls in (RunStarted, Log, Step, Eval, System, Probe, Checkpoint, State, Finished)
}


def parse_event(line: str | bytes) -> Event | None:
    """Parse one line; None for blank, torn, unknown-type or newer-version lines."""
    try:
        raw = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(raw, dict):
        return None
    cls = EVENT_TYPES.get(raw.pop("type", None))
    if cls is None or raw.pop("v", None) != PROTOCOL_VERSION:
        return None
    known = {f.name for f in fields(cls)}
    kwargs = {k: _decode_float(v) if k in _FLOAT_FIELDS else v for k, v in raw.items() if k in known}
    kwargs["extra"] = {k: v for k, v in raw.items() if k not in known}
    try:
        return cls(**kwargs)
    except TypeError:
        return None


class EventWriter:
    """Appends events to `events.jsonl`, flushing at least once a second and on important events."""

    FLUSH_EVERY_S = 0.2  # a follower (studio attach) sees events within 0.5 s at p99
    URGENT: ClassVar[tuple[type[Event], ...]] = (RunStarted, Checkpoint, State, Finished, Eval)

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] = open(self.path, "a", encoding="utf-8", buffering=1 << 16)
        self._last_flush = time.monotonic()

    def write(self, event: Event) -> None:
        self._file.write(event.to_json() + "\n")
        now = time.monotonic()
        if isinstance(event, self.URGENT) or now - self._last_flush >= self.FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventLog:
    """Reads an `events.jsonl`: `replay()` what is there, `follow()` for what comes next.

    Only complete lines are parsed: a line still being written is held back until its newline
    arrives, so a reader never sees half an event.
    """

    def __init__(self, path: str | Path, offset: int = 0) -> None:
        """`offset`: start reading there (e.g. where `RunHistory.replay` stopped), at a line start."""
        self.path = Path(path)
        self._offset = offset
        self._pending = b""

    @property
    def offset(self) -> int:
        """How many bytes of the file have been read so far (compare with its size to see the lag)."""
        return self._offset

    def read_new(self, max_bytes: int | None = None) -> list[Event]:
        """Every complete event appended since the last call (all of them the first time).

        `max_bytes` reads at most that much of the file per call, so a huge file is replayed in
        parts with flat memory (call again until it returns nothing new).
        """
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self._offset:  # truncated or replaced: start again
                    self._offset, self._pending = 0, b""
                f.seek(self._offset)
                chunk = f.read() if max_bytes is None else f.read(max_bytes)
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        data = self._pending + chunk
        complete, _, self._pending = data.rpartition(b"\n")
        if not complete:
            return []
        return [e for line in complete.split(b"\n") if line and (e := parse_event(line)) is not None]

    def replay(self) -> list[Event]:
        return self.read_new()

    def follow(self, poll_s: float = 0.2, stop: Any = None) -> Iterator[list[Event]]:
        """Yield batches of new events until `stop()` is true or a `finished` event is read."""
        while stop is None or not stop():
            batch = self.read_new()
            if batch:
                yield batch
                if any(isinstance(e, Finished) for e in batch):
                    return
            else:
                time.sleep(poll_s)


_FLOAT_FIELDS = frozenset({"loss", "learning_rate", "grad_norm", "tokens_per_s", "eval_loss", "perplexity"})


def _encode_floats(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _encode_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode_floats(v) for v in value]
    return value


def _decode_float(value: Any) -> Any:
    if value in ("nan", "inf", "-inf"):
        return float(value)
    return value
