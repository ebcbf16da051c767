"""Starting, stopping and resuming runs: the process tree behind a training run.

```
caller (studio train, the TUI)          its own session, ignores SIGHUP, outlives the caller
  └─ supervisor  (spawn; a subprocess when detached) holds runs/<id>/run.lock, waits on the worker and records
       └─ worker (spawn)                  how it ended (exit code, signal) even after a kill -9
       └─ torchrun → N ranks              for --nproc N (rank 0 reports)
```

The live channel is a `multiprocessing` queue created here and handed down to the worker, which
puts `Event` objects on it without ever blocking (a full or broken queue drops events: the file
`events.jsonl` is the record). The supervisor runs the `studio.on_finish` hook once the run is over.

This module stays light (no torch): the TUI and the CLI import it on their main thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import queue as queue_module
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.config import RunConfig
from studio.errors import StudioError
from studio.train import runs
from studio.train.events import Event
from studio.workspace import Workspace

# Events a slow (or gone) reader may leave in the queue before the worker starts dropping them.
QUEUE_MAX_EVENTS = 5000
# How long a launch may take to show a live worker before it is reported as failed to start.
START_TIMEOUT_S = 60.0
# How long a resume waits for the previous session's supervisor to let go of the run.
FINISHING_GRACE_S = 15.0
EXIT_LOCKED = 75  # the supervisor's exit code when another process already holds the run


@dataclass
class RunHandle:
    """A run this process started: where it lives, and its live channel (None when detached)."""

    run_id: str
    path: Path
    queue: Any  # multiprocessing.Queue of `Event` objects, or None
    pid: int
    supervisor: Any = field(default=None, repr=False)  # the supervisor process (is_alive(), exitcode)

    def poll_events(self, max_events: int = 10_000) -> list[Event]:
        """Every event waiting on the live channel, without blocking (empty when detached)."""
        out: list[Event] = []
        if self.queue is None:
            return out
        while len(out) < max_events:
            try:
                out.append(self.queue.get_nowait())
            except (queue_module.Empty, EOFError, OSError, ValueError):
                break
        return out

    def next_events(self, timeout: float = 0.5) -> list[Event]:
        """Wait up to `timeout` for at least one event, then return all that are waiting."""
        if self.queue is None:
            time.sleep(timeout)
            return []
        try:
            first = self.queue.get(timeout=timeout)
        except (queue_module.Empty, EOFError, OSError, ValueError):
            return []
        return [first, *self.poll_events()]

    def supervisor_alive(self) -> bool:
        """True while the supervisor (and so the run) is still going."""
        if self.supervisor is not None:
            return bool(self.supervisor.is_alive())
        return runs.process_alive(self.pid)

    def wait(self, timeout: float | None = None) -> runs.RunInfo:
        """Block until the run has ended (or `timeout` passed) and return its state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.supervisor_alive():
            self.poll_events()  # keep the channel drained so the worker never drops events
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return runs.run_info(self.path)


# --- starting -----------------------------------------------------------------------------------------


def start_run(
    config: RunConfig,
    workspace: Workspace | str | Path,
    nproc: int = 1,
    live: bool = True,
    check: bool = True,
) -> RunHandle:
    """Create `runs/<yyyymmdd-hhmmss>-<name>/` (config.yaml, command.txt) and start its worker.

    `live=False` starts the run without a live channel (detached: read `events.jsonl` instead);
    with `nproc > 1` there is no queue either (torchrun's ranks cannot share one).
    `check` validates the config against the HF classes first (imports transformers).
    Raises `StudioError` for a config that cannot run (missing corpus or tokenizer, bad field).
    """
    if nproc < 1:
        raise StudioError(f"--nproc {nproc}: needs at least one process")
    config = _with_absolute_paths(config)
    check_runnable(config, check_fields=check)
    run_dir = runs.create_run_dir(workspace, config, command="")
    command = ["studio", "train", str(run_dir / runs.CONFIG_FILE)] + (
        ["--nproc", str(nproc)] if nproc > 1 else []
    )
    (run_dir / runs.COMMAND_FILE).write_text(shlex.join(command) + "\n", encoding="utf-8")
    return _launch(run_dir, nproc=nproc, resume=False, live=live)


def resume_run(workspace: Workspace | str | Path, ref: str | Path, live: bool = True) -> RunHandle:
    """Continue a stopped, failed or lost run from its last checkpoint to its original end."""
    info = runs.find_run(workspace, ref)
    if info.is_live:
        raise StudioError(
            f"run {info.id} is already {info.state} (pid {info.pid} on {info.host or 'this host'})",
            f"watch it with `studio attach {info.id}` or stop it with `studio stop {info.id}`",
        )
    if info.state == "completed":
        raise StudioError(f"run {info.id} has already completed", "start a new run to train further")
    runs.load_run_config(info.path)  # a hand-edited, broken config.yaml is refused here, clearly
    # A run that has just stopped may still be finishing (its on_finish hook): give it a moment.
    deadline = time.monotonic() + FINISHING_GRACE_S
    while runs.lock_is_held(info.path) and time.monotonic() < deadline:
        time.sleep(0.1)
    checkpoint = runs.last_checkpoint(info.path)
    if checkpoint is None:
        raise StudioError(
            f"run {info.id} has no complete checkpoint to resume from",
            f"start it again with `studio train {info.path / runs.CONFIG_FILE}`",
        )
    damage = runs.checkpoint_damage(checkpoint)
    if damage:  # refused here, before a worker starts and fails on it with a bare library error
        raise StudioError(
            f"run {info.id}: its last checkpoint {checkpoint} is damaged ({damage})",
            f"remove it (rm -r {shlex.quote(str(checkpoint))}) to resume from the checkpoint before it",
        )
    return _launch(info.path, nproc=info.nproc, resume=True, live=live)


def _with_absolute_paths(config: RunConfig) -> RunConfig:
    """The run's config.yaml names its inputs absolutely, so a resume works from any folder."""
    data = dataclasses.replace(
        config.data,
        corpus=str(Path(config.data.corpus).expanduser().resolve()) if config.data.corpus else "",
        tokenizer=str(Path(config.data.tokenizer).expanduser().resolve()) if config.data.tokenizer else "",
    )
    return dataclasses.replace(config, data=data)


def check_runnable(config: RunConfig, check_fields: bool = True) -> None:
    """Refuse, before any process starts, a config whose corpus or tokenizer is missing or that
    `studio model check` finds a problem in."""
    if not config.data.corpus:
        raise StudioError("data.corpus is not set", "give it in the config or with --set data.corpus=PATH")
    if not Path(config.data.corpus).exists():
        raise StudioError(
            f"data.corpus: {config.data.corpus}: no such file or folder",
            "check the path in the config (relative paths start where you run studio)",
        )
    if not config.data.tokenizer:
        raise StudioError(
            "data.tokenizer is not set", "give it in the config or with --set data.tokenizer=DIR"
        )
    tokenizer = Path(config.data.tokenizer)
    if not tokenizer.is_dir() or not any(
        (tokenizer / name).exists() for name in ("tokenizer.json", "tokenizer_config.json")
    ):
        raise StudioError(
            f"data.tokenizer: {config.data.tokenizer}: not a tokenizer directory",
            "train one with `studio tokenizer train`, then give its directory",
        )
    if check_fields:
        from studio.config import check_hf_fields
        from studio.model.validate import check

        check_hf_fields(config)
        # What the Model screen refuses to train, `studio train` refuses too: a vocabulary smaller
        # than the tokenizer's, heads that do not divide the hidden size ... would fail in the worker.
        problems = check(config)
        if problems:
            first = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            fix = f"--set {first.fix}; " if first.fix else ""
            raise StudioError(
                f"{first.field}: {first.message}{more}",
                f"{fix}`studio model check CONFIG` lists every problem (--fix applies the fixes)",
            )


def _launch(run_dir: Path, nproc: int, resume: bool, live: bool) -> RunHandle:
    launch_id = uuid.uuid4().hex
    run_dir = run_dir.resolve()  # the worker's paths (checkpoints, final/) do not depend on its cwd
    # torchrun's ranks are not our children's children in the multiprocessing sense: they cannot
    # share the queue, so a run on several processes is followed through events.jsonl.
    if live and nproc == 1:
        from studio.train import worker

        ctx = multiprocessing.get_context("spawn")
        _start_resource_tracker_quietly()
        channel = ctx.Queue(maxsize=QUEUE_MAX_EVENTS)
        process = ctx.Process(
            target=worker.supervise,
            args=(str(run_dir), channel, nproc, resume, launch_id),
            name=f"studio-run-{run_dir.name}",
            daemon=False,
        )
        process.start()
        # The run must outlive this process: multiprocessing would otherwise join it at exit.
        children = getattr(multiprocessing.process, "_children", None)
        if isinstance(children, set):
            children.discard(process)
        supervisor = _Supervisor(process=process)
    else:
        # Detached: no live channel, so nothing of this process needs to reach the run. A plain
        # subprocess in a new session holds none of our pipes (`studio train --detach | cat` returns).
        channel = None
        command = [
            sys.executable,
            "-m",
            "studio.train.worker",
            "--supervise",
            str(run_dir),
            "--nproc",
            str(nproc),
            "--launch-id",
            launch_id,
        ] + (["--resume"] if resume else [])
        with open(run_dir / runs.LOG_FILE, "ab") as log:
            popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
        supervisor = _Supervisor(popen=popen)
    pid = _wait_for_worker(run_dir, supervisor, launch_id)
    return RunHandle(run_id=run_dir.name, path=run_dir, queue=channel, pid=pid, supervisor=supervisor)


@dataclass
class _Supervisor:
    """The supervisor process as this process sees it: a multiprocessing child or a subprocess."""

    process: Any = None
    popen: subprocess.Popen[bytes] | None = None

    def is_alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return bool(self.process.is_alive())

    @property
    def exitcode(self) -> int | None:
        if self.popen is not None:
            return self.popen.poll()
        return self.process.exitcode  # type: ignore[no-any-return]

    @property
    def pid(self) -> int:
        return int(self.popen.pid if self.popen is not None else self.process.pid)


def _start_resource_tracker_quietly() -> None:
    """multiprocessing's resource tracker inherits our stderr and lives as long as the run; start it
    on /dev/null, so a pipe on our stderr is not held open until the run ends."""
    from multiprocessing import resource_tracker

    saved = sys.stderr
    try:
        with open(os.devnull, "w") as devnull:
            sys.stderr = devnull
            resource_tracker.ensure_running()
    except (OSError, ValueError):
        pass
    finally:
        sys.stderr = saved


def _wait_for_worker(run_dir: Path, process: _Supervisor, launch_id: str) -> int:
    """Wait until the worker of this launch has started; refuse if another launch holds the run."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(StudioError):
            status = runs.read_status(run_dir)
            if status.get("launch_id") == launch_id and status.get("pid"):
                return int(status["pid"])
        if not process.is_alive():
            if process.exitcode == EXIT_LOCKED:
                raise StudioError(
                    f"run {run_dir.name} is already running or being resumed by another process",
                    f"see `studio runs`; watch it with `studio attach {run_dir.name}`",
                )
            info = runs.run_info(run_dir)
            raise StudioError(
                f"run {run_dir.name} failed to start: {info.reason or f'exit code {process.exitcode}'}",
                f"see {run_dir / runs.LOG_FILE}",
            )
        time.sleep(0.02)
    raise StudioError(
        f"run {run_dir.name}: the worker did not start within {START_TIMEOUT_S:.0f} s",
        f"see {run_dir / runs.LOG_FILE}",
    )


# --- stopping and requests ----------------------------------------------------------------------------


def stop_run(workspace: Workspace | str | Path, ref: str | Path, wait: float = 0.0) -> runs.RunInfo:
    """Ask a live run to stop: it saves a checkpoint, emits `finished(stopped)` and exits 0.

    One process: SIGTERM to the worker. Several (torchrun): a stop request that every rank reads
    at its next logging step. `wait` seconds (0: return at once) for the run to have stopped.
    """
    info = runs.find_run(workspace, ref)
    if not info.is_live:
        raise StudioError(f"run {info.id} is not running (it is {info.state})", "nothing to stop")
    runs.write_control_request(info.path, "stop")
    if info.nproc == 1 and info.pid and info.host in ("", socket.gethostname()):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while wait and time.monotonic() < deadline:
        info = runs.run_info(info.path)
        if not info.is_live and not runs.lock_is_held(info.path):
            break
        time.sleep(0.1)
    return runs.run_info(info.path)


def request(workspace: Workspace | str | Path, ref: str | Path, action: str) -> None:
    """Ask a live worker to "save" a checkpoint or "evaluate" now (picked up within a second or
    at the next logging step with several processes)."""
    if action not in ("save", "evaluate", "stop"):
        raise StudioError(f"unknown request {action!r}", "choose save, evaluate or stop")
    if action == "stop":
        stop_run(workspace, ref)
        return
    info = runs.find_run(workspace, ref)
    if not info.is_live:
        raise StudioError(f"run {info.id} is not running (it is {info.state})")
    runs.write_control_request(info.path, action)


def follow_events(handle: RunHandle, poll_s: float = 0.25) -> Iterator[list[Event]]:
    """Batches of live events until the run has ended: from the queue, or the file when detached."""
    from studio.train.events import EventLog, Finished

    log = EventLog(handle.path / runs.EVENTS_FILE) if handle.queue is None else None
    while True:
        batch = handle.next_events(poll_s) if log is None else log.read_new()
        if batch:
            yield batch
            if any(isinstance(e, Finished) for e in batch):
                return
        elif not handle.supervisor_alive():
            # The supervisor wrote the last word to the file (a killed worker cannot).
            tail: list[Event] = [
                e for e in EventLog(handle.path / runs.EVENTS_FILE).replay() if isinstance(e, Finished)
            ]
            if tail:
                yield tail[-1:]
            return
        elif log is not None:
            time.sleep(poll_s)
