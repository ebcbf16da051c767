"""The training worker: a run's supervisor and trainer processes (see `studio.train.launcher`).

- `supervise` (the spawned child of the caller) starts its own session, ignores SIGHUP, sends its
  output to `worker.log`, holds `run.lock` (a second resume of the same run refuses), starts the
  worker (one spawned process, or `torchrun` for several), waits on it, and records how it ended
  when the worker could not (kill -9, OOM killer). It then runs the `studio.on_finish` hook.
- `run_worker` (one process) and `main` (each torchrun rank, `python -m studio.train.worker`) load
  the run's config, prepare the data, build the model and train with the HF `Trainer` and the
  Studio callback. SIGTERM/SIGINT: checkpoint, `finished(stopped)`, exit 0. Every failure ends as
  `finished(failed)` with a reason and the traceback's tail (the whole traceback in worker.log).

This module is imported by the launcher, so torch and transformers are imported inside functions.

Fault hooks for tests: `STUDIO_FAULT` holds comma-separated `name[:value]` items: `nan_at:N` (the
loss of step N is NaN), `nan_from:N`, `oom_at:N` (a CUDA out-of-memory error at step N),
`enospc_on_save:N` (the disk fills while saving the checkpoint of step N or later), `slow_eval:S`,
`slow_save:S`, `slow_step:S` (sleep S seconds in each), `fail_rank:R` (rank R raises at step 2).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import json
import logging
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from studio.errors import Cancelled, StudioError
from studio.progress import CancelFlag, ProgressUpdate
from studio.train import runs
from studio.train.events import (
    Event,
    EventWriter,
    Finished,
    Log,
    RunStarted,
    State,
)

FAULT_ENV = "STUDIO_FAULT"
TRACEBACK_TAIL_LINES = 12
EXIT_LOCKED = 75  # same value as launcher.EXIT_LOCKED (kept here so the supervisor stays light)
ON_FINISH_TIMEOUT_S = 3600


# --- the live channel and the reporter --------------------------------------------------------------


class LiveChannel:
    """Puts events on the caller's queue without ever blocking; a full, closed or missing queue
    drops them (the events file is the record, the queue only the fast path)."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.dropped = 0
        if queue is not None:
            with contextlib.suppress(Exception):
                queue.cancel_join_thread()  # never wait at exit for a reader that has gone

    def send(self, event: Event) -> None:
        if self.queue is None:
            return
        try:
            self.queue.put_nowait(event)
        except Exception:  # queue.Full, a closed pipe, a dead reader: not an error for the run
            self.dropped += 1


class Reporter:
    """Writes events (file + live channel) and keeps status.json fresh with a heartbeat thread.

    Only the main rank reports; on other ranks every method is a cheap no-op.
    """

    def __init__(self, run_dir: Path, channel: LiveChannel | None, is_main: bool) -> None:
        self.run_dir = run_dir
        self.is_main = is_main
        self.channel = channel or LiveChannel(None)
        self._lock = threading.Lock()
        self._writer = EventWriter(run_dir / runs.EVENTS_FILE) if is_main else None
        self._status: dict[str, Any] = {}
        self._heartbeat: threading.Thread | None = None
        self._closing = threading.Event()
        self.finished = False

    def begin(self, launch_id: str) -> None:
        """Claim status.json for this process and start the heartbeat."""
        if not self.is_main:
            return
        try:
            status = runs.read_status(self.run_dir)
        except StudioError:
            status = {}
        status.update(runs.process_identity(os.getpid()))
        status.update(launch_id=launch_id, state="preparing", phase="preparing", heartbeat=time.time())
        self._status = status
        self._write_status()
        self._heartbeat = threading.Thread(target=self._beat, name="studio-heartbeat", daemon=True)
        self._heartbeat.start()

    def emit(self, event: Event) -> None:
        if not self.is_main or self._writer is None:
            return
        with self._lock:
            self._writer.write(event)
        self.channel.send(event)

    def update(self, **figures: Any) -> None:
        """Figures for status.json (written at the next heartbeat)."""
        if self.is_main:
            with self._lock:
                self._status.update(figures)

    def set_phase(self, phase: str, detail: str = "", **figures: Any) -> None:
        if not self.is_main:
            return
        with self._lock:
            changed = self._status.get("phase") != phase
            self._status.update(figures, phase=phase, state=phase)
        if changed:
            self.emit(State(state=phase, detail=detail))
            self._write_status()

    def progress(self, update: ProgressUpdate) -> None:
        """A data-preparation progress report, as a log line and the phase's detail."""
        if update.note:
            self.emit(Log(level="info", message=update.note, source=update.phase))

    def finish(
        self,
        state: str,
        reason: str = "",
        traceback_tail: str = "",
        final_dir: str | None = None,
        figures: dict[str, Any] | None = None,
    ) -> None:
        """The last event of the run, and a terminal status.json."""
        if not self.is_main or self.finished:
            return
        self.finished = True
        figures = figures or {}
        step = int(self._status.get("step") or 0)
        self.emit(
            Finished(
                state=state,
                reason=reason,
                traceback_tail=traceback_tail,
                final_dir=final_dir,
                step=step,
                figures=figures,
            )
        )
        now = time.time()
        with self._lock:
            self._status.update(
                state=state,
                phase=state,
                reason=reason,
                ended=now,
                heartbeat=now,
                final_dir=final_dir,
                exit_code=0 if state != "failed" else 1,
            )
        self._write_status()

    def close(self) -> None:
        self._closing.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
        if self._writer is not None:
            with self._lock, contextlib.suppress(OSError):
                self._writer.close()

    def _beat(self) -> None:
        while not self._closing.wait(runs.HEARTBEAT_S):
            with contextlib.suppress(OSError):
                self._write_status()
                if self._writer is not None:
                    with self._lock:
                        self._writer.flush()

    def _write_status(self) -> None:
        with self._lock:
            if not self.finished:
                self._status["heartbeat"] = time.time()
            snapshot = dict(self._status)
        with contextlib.suppress(OSError):
            runs.write_status(self.run_dir, snapshot)


class _LogBridge(logging.Handler):
    """Warnings from transformers, datasets and friends become `log` events (they are in worker.log too)."""

    def __init__(self, reporter: Reporter) -> None:
        super().__init__(level=logging.WARNING)
        self.reporter = reporter

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            level = "error" if record.levelno >= logging.ERROR else "warning"
            self.reporter.emit(Log(level=level, message=record.getMessage()[:2000], source=record.name))


# --- fault hooks (tests) ----------------------------------------------------------------------------


@dataclass
class Faults:
    """Faults injected on purpose, parsed from `STUDIO_FAULT` (see the module docstring)."""

    items: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Faults:
        items = {}
        for part in os.environ.get(FAULT_ENV, "").split(","):
            name, _, value = part.strip().partition(":")
            if name:
                items[name] = value
        return cls(items)

    def number(self, name: str, default: float | None = None) -> float | None:
        if name not in self.items:
            return None
        try:
            return float(self.items[name])
        except ValueError:
            return default

    def __bool__(self) -> bool:
        return bool(self.items)


# --- the supervisor ---------------------------------------------------------------------------------


def supervise(run_dir_text: str, channel: Any, nproc: int, resume: bool, launch_id: str) -> None:
    """The run's parent process: own session, lock, start the worker, record its end, run the hook."""
    with contextlib.suppress(OSError):
        os.setsid()
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    run_dir = Path(run_dir_text)
    _redirect_output(run_dir / runs.LOG_FILE)
    lock = _acquire_lock(run_dir)
    if lock is None:
        print(
            f"[studio] {time.strftime('%H:%M:%S')} another process holds {runs.LOCK_FILE}: not starting",
            flush=True,
        )
        sys.exit(EXIT_LOCKED)
    _begin_session(run_dir, nproc, resume)
    workers: dict[str, Any] = {}

    def forward_stop(signum: int, frame: Any) -> None:  # `kill <supervisor>` stops the run cleanly
        with contextlib.suppress(OSError, StudioError):
            runs.write_control_request(run_dir, "stop")
        pid = workers.get("pid")
        if pid and nproc == 1:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward_stop)
    print(
        f"[studio] {time.strftime('%Y-%m-%d %H:%M:%S')} {'resuming' if resume else 'starting'} run "
        f"{run_dir.name} on {socket.gethostname()} ({nproc} process{'es' if nproc > 1 else ''})",
        flush=True,
    )
    if nproc == 1:
        import multiprocessing

        process = multiprocessing.get_context("spawn").Process(
            target=run_worker, args=(run_dir_text, channel, resume, launch_id), name="studio-worker"
        )
        process.start()
        workers["pid"] = process.pid
        process.join()
        exit_code = process.exitcode if process.exitcode is not None else 1
    else:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc-per-node={nproc}",
            "--module",
            "studio.train.worker",
            run_dir_text,
            "--launch-id",
            launch_id,
        ]
        if resume:
            command.append("--resume")
        proc = subprocess.Popen(command)
        workers["pid"] = proc.pid
        exit_code = proc.wait()
    status = _record_end(run_dir, exit_code, nproc, LiveChannel(channel))
    _run_on_finish_hook(run_dir, status)
    lock.close()


def _redirect_output(log_path: Path) -> None:
    """stdout and stderr of this process and its children go to worker.log (file descriptors 1, 2)."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)


def _acquire_lock(run_dir: Path) -> Any:
    """An exclusive `flock` on run.lock, held as long as the run goes on (released on any death)."""
    handle = open(run_dir / runs.LOCK_FILE, "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()} {socket.gethostname()}\n")
    handle.flush()
    return handle


def _begin_session(run_dir: Path, nproc: int, resume: bool) -> None:
    """status.json for a new session: the supervisor's identity, the figures of earlier sessions."""
    try:
        previous = runs.read_status(run_dir)
    except StudioError:
        previous = {}
    before = 0.0
    if resume:
        info = runs.run_info(run_dir)
        before = info.duration_s or 0.0
    now = time.time()
    status = {
        k: v
        for k, v in previous.items()
        if k
        in (
            "run_id",
            "name",
            "created",
            "started",
            "step",
            "total_steps",
            "last_loss",
            "last_eval_loss",
            "tokens_per_s",
            "tokens",
        )
    }
    identity = runs.process_identity(os.getpid())
    status.update(
        run_id=run_dir.name,
        state="preparing",
        phase="preparing",
        nproc=nproc,
        heartbeat=now,
        started=previous.get("started") or now,
        session_started=now,
        elapsed_before=before,
        supervisor_pid=identity["pid"],
        supervisor_created=identity["pid_created"],
        host=identity["host"],
        boot_time=identity["boot_time"],
        resumed=resume,
    )
    runs.write_status(run_dir, status)
    runs.take_control_requests(run_dir)  # requests left from an earlier session are stale
    shutil.rmtree(run_dir / runs.RANKS_DIR, ignore_errors=True)


def _record_end(run_dir: Path, exit_code: int, nproc: int, channel: LiveChannel) -> dict[str, Any]:
    """If the worker ended without saying how (killed, crashed hard), say it for them."""
    try:
        status = runs.read_status(run_dir)
    except StudioError:
        status = {}
    status["exit_code"] = exit_code
    if status.get("state") in runs.TERMINAL_STATES:
        runs.write_status(run_dir, status)
        return status
    signal_number = -exit_code if exit_code < 0 else None
    rank_error = _first_rank_error(run_dir) if nproc > 1 else None
    tail = ""
    if rank_error is not None:
        reason = f"rank {rank_error.get('rank')}: {rank_error.get('reason')}"
        tail = str(rank_error.get("traceback_tail") or "")
    elif signal_number:
        name = _signal_name(signal_number)
        reason = f"the worker was killed by signal {signal_number} ({name})"
        if signal_number == signal.SIGKILL:
            reason += ": kill -9, or the system's out-of-memory killer"
    else:
        reason = f"the worker exited with code {exit_code} without finishing (see {runs.LOG_FILE})"
    print(f"[studio] {time.strftime('%H:%M:%S')} run failed: {reason}", flush=True)
    event = Finished(state="failed", reason=reason, traceback_tail=tail, step=int(status.get("step") or 0))
    with contextlib.suppress(OSError), EventWriter(run_dir / runs.EVENTS_FILE) as writer:
        writer.write(event)
    channel.send(event)
    now = time.time()
    status.update(
        state="failed", phase="failed", reason=reason, exit_signal=signal_number, ended=now, heartbeat=now
    )
    runs.write_status(run_dir, status)
    return status


def _first_rank_error(run_dir: Path) -> dict[str, Any] | None:
    errors = []
    for path in sorted((run_dir / runs.RANKS_DIR).glob("rank-*.json")):
        with contextlib.suppress(OSError, ValueError):
            errors.append(json.loads(path.read_text(encoding="utf-8")))
    if not errors:
        return None
    # The first failure is the cause; the others are usually peers losing their connection.
    return min(
        errors, key=lambda e: (bool(e.get("secondary")), float(e.get("time") or 0), int(e.get("rank") or 0))
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _run_on_finish_hook(run_dir: Path, status: dict[str, Any]) -> None:
    """Run `studio.on_finish` with the run's figures in STUDIO_* environment variables."""
    try:
        command = runs.load_run_config(run_dir).studio.on_finish
    except StudioError:
        return
    if not command:
        return
    env = dict(os.environ)
    env.update(
        {key: "" if value is None else str(value) for key, value in hook_environment(run_dir, status).items()}
    )
    print(f"[studio] {time.strftime('%H:%M:%S')} on_finish: {command}", flush=True)
    try:
        result = subprocess.run(command, shell=True, env=env, timeout=ON_FINISH_TIMEOUT_S, check=False)
        code: int | str = result.returncode
    except (OSError, subprocess.TimeoutExpired) as exc:
        code = f"{exc.__class__.__name__}: {exc}"
    print(f"[studio] on_finish ended: {code}", flush=True)
    with contextlib.suppress(OSError):
        runs.update_status(run_dir, on_finish_result=code)


def hook_environment(run_dir: Path, status: dict[str, Any]) -> dict[str, Any]:
    """The STUDIO_* variables an `on_finish` command sees."""
    return {
        "STUDIO_RUN_ID": run_dir.name,
        "STUDIO_RUN_DIR": str(run_dir.resolve()),
        "STUDIO_RUN_STATE": status.get("state"),
        "STUDIO_REASON": status.get("reason"),
        "STUDIO_STEP": status.get("step"),
        "STUDIO_TOTAL_STEPS": status.get("total_steps"),
        "STUDIO_FINAL_LOSS": status.get("last_loss"),
        "STUDIO_FINAL_EVAL_LOSS": status.get("last_eval_loss"),
        "STUDIO_TOKENS_PER_S": status.get("tokens_per_s"),
        "STUDIO_FINAL_DIR": status.get("final_dir"),
        "STUDIO_EXIT_SIGNAL": status.get("exit_signal"),
    }


# --- the worker -------------------------------------------------------------------------------------


class StopFlag(CancelFlag):
    """The worker's stop flag: a `CancelFlag` (data preparation polls it) with the why."""

    def __init__(self) -> None:
        super().__init__()
        self.reason = ""

    def set(self, reason: str = "stop requested") -> None:  # type: ignore[override]
        if not self.is_set():
            self.reason = reason
        super().set()


def run_worker(run_dir_text: str, channel: Any, resume: bool, launch_id: str) -> None:
    """The single-process worker (spawned by the supervisor)."""
    code = _work(Path(run_dir_text), channel, resume, launch_id, rank=0, world_size=1)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    """`python -m studio.train.worker RUN_DIR [--resume]`: one torchrun rank; with `--supervise`,
    the supervisor of a detached run (started by the launcher in a new session)."""
    parser = argparse.ArgumentParser(prog="studio.train.worker")
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--launch-id", default="")
    parser.add_argument("--supervise", action="store_true")
    parser.add_argument("--nproc", type=int, default=1)
    args = parser.parse_args(argv)
    if args.supervise:
        supervise(args.run_dir, None, args.nproc, args.resume, args.launch_id)
        return 0
    rank = int(os.environ.get("RANK", "0"))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    return _work(Path(args.run_dir), None, args.resume, args.launch_id, rank=rank, world_size=world_size)


def _work(run_dir: Path, channel: Any, resume: bool, launch_id: str, rank: int, world_size: int) -> int:
    """Train one rank; returns the exit code (0 for completed or stopped)."""
    stop = StopFlag()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set(f"{_signal_name(signum)} received")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    is_main = rank == 0
    reporter = Reporter(run_dir, LiveChannel(channel) if is_main else None, is_main)
    reporter.begin(launch_id)
    session = _Session(run_dir, reporter, stop, resume, rank, world_size)
    code = 1
    try:
        session.run()
        code = 0
    except BaseException as exc:  # Rust panics (tokenizers) are BaseExceptions too
        if isinstance(exc, SystemExit) and not exc.code:
            code = 0
        else:
            session.fail(exc)
    finally:
        session.shutdown()
        reporter.close()
        if world_size > 1:
            _leave_now(code)
    return code


def _leave_now(code: int) -> None:
    """End a torchrun rank without tearing its objects down. Freeing the DDP model frees gloo's process
    group while holding the GIL, and its destructor joins a gloo thread that may be waiting for the GIL
    to drop a tensor: a rank hung there for good in CI after its run had completed. Everything the rank
    owes (events, checkpoints, final/) is written and closed by now."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _Session:
    """One rank's training session: config -> data -> model -> Trainer -> final artifacts."""

    def __init__(
        self, run_dir: Path, reporter: Reporter, stop: StopFlag, resume: bool, rank: int, world_size: int
    ) -> None:
        self.run_dir = run_dir
        self.reporter = reporter
        self.stop = stop
        self.resume = resume
        self.rank = rank
        self.world_size = world_size
        self.faults = Faults.from_env()
        self.config: Any = None
        self.trainer: Any = None
        self.callback: Any = None
        self.monitor: Any = None
        self.train_tokens = 0
        self.batch_size: int | None = None

    # --- the happy path -------------------------------------------------------------------------

    def run(self) -> None:
        reporter = self.reporter
        self.config = config = runs.load_run_config(self.run_dir)
        reporter.update(name=config.studio.name)
        checkpoint = runs.last_checkpoint(self.run_dir) if self.resume else None
        if self.resume and checkpoint is None:
            raise StudioError(f"run {self.run_dir.name} has no complete checkpoint to resume from")
        self._quiet_libraries()
        import torch

        device_type = "cuda" if torch.cuda.is_available() and not config.train.get("use_cpu") else "cpu"
        reporter.emit(
            RunStarted(
                run_id=self.run_dir.name,
                config=config.to_dict(),
                host=socket.gethostname(),
                pid=os.getpid(),
                devices=_devices(device_type),
                world_size=self.world_size,
                total_steps=_as_int(config.train.get("max_steps")),
                resumed_from=str(checkpoint.relative_to(self.run_dir)) if checkpoint else None,
            )
        )
        reporter.update(total_steps=_as_int(config.train.get("max_steps")), nproc=self.world_size)
        if self.reporter.is_main:
            from studio.train.monitor import SystemMonitor

            self.monitor = SystemMonitor(reporter.emit, config.studio.monitor_interval)
            self.monitor.start()
        tokenizer = _load_tokenizer(config.data.tokenizer)
        args = self._training_arguments(device_type)
        self.batch_size = int(args.per_device_train_batch_size)
        from studio.train.data import prepare_datasets

        reporter.set_phase("preparing", detail="preparing the data")
        cache = self.run_dir.parent.parent / ".cache"
        with args.main_process_first(desc="preparing the data"):
            prepared = prepare_datasets(
                config, tokenizer, cache_dir=cache, progress=reporter.progress, cancel=self.stop
            )
        self.train_tokens = prepared.train_tokens
        self.stop.check()
        self.trainer = self._build_trainer(args, tokenizer, prepared)
        reporter.set_phase("running", detail="training")
        self.trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        self._after_training(tokenizer, prepared)

    def _quiet_libraries(self) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import transformers

        transformers.logging.set_verbosity_warning()
        transformers.logging.disable_progress_bar()  # "Writing model shards" bars at every save
        logging.captureWarnings(True)
        if self.reporter.is_main:
            logging.getLogger().addHandler(_LogBridge(self.reporter))

    def _training_arguments(self, device_type: str) -> Any:
        import transformers

        from studio.config import training_argument_types
        from studio.train.engine import training_args_defaults

        config = self.config
        values = {**training_args_defaults(config, device_type), **config.train}
        if values.get("logging_nan_inf_filter"):
            self.reporter.emit(
                Log(
                    level="warning",
                    message="train.logging_nan_inf_filter is turned off: it hides "
                    "NaN losses and syncs the GPU every step; studio.nan_policy handles NaN",
                )
            )
        values["logging_nan_inf_filter"] = False
        values["output_dir"] = str(self.run_dir / runs.CHECKPOINTS_DIR)
        values.setdefault("report_to", "none")
        if self.world_size > 1:  # Studio's models use every parameter: skip DDP's extra graph walk
            values.setdefault("ddp_find_unused_parameters", False)
        values.setdefault("disable_tqdm", True)
        if values.get("report_to") not in (None, "none", []):
            # TensorBoard writes beside the run's own events (not under checkpoints/): transformers 5
            # reads the folder from the environment, 4.x from `logging_dir`.
            board = str(self.run_dir / runs.TENSORBOARD_DIR)
            os.environ.setdefault("TENSORBOARD_LOGGING_DIR", board)
            if "logging_dir" in training_argument_types():
                values.setdefault("logging_dir", board)
        if config.data.validation_split and "eval_strategy" not in config.train:
            values["eval_strategy"] = "steps"
            values.setdefault("eval_steps", values.get("save_steps") or 500)
        try:
            return transformers.TrainingArguments(**values)
        except (TypeError, ValueError) as exc:
            raise StudioError(
                f"train: {exc}", "fix the train section of the config (TrainingArguments)"
            ) from None

    def _build_trainer(self, args: Any, tokenizer: Any, prepared: Any) -> Any:
        import transformers

        from studio.train.callback import StudioCallback
        from studio.train.engine import build_collator, build_model
        from studio.train.probes import Prober, probe_texts_from

        config = self.config
        model = build_model(config, tokenizer)
        collator = build_collator(config, tokenizer)
        probe = None
        if self.reporter.is_main and config.studio.probe_every:
            texts = list(config.studio.probe_texts) or probe_texts_from(
                prepared.eval or prepared.train, tokenizer
            )
            prober = Prober(config.model.task, tokenizer, texts)

            def probe(model: Any, step: int) -> None:
                try:
                    event = prober.run(model, step)
                except Exception as exc:  # a probe must never end a run
                    self.reporter.emit(Log(level="warning", message=f"probe failed at step {step}: {exc}"))
                    return
                if event is not None:
                    self.reporter.emit(event)

        tokens_per_example = prepared.train_tokens / max(1, len(prepared.train))
        self.callback = StudioCallback(
            self.reporter,
            self.run_dir,
            self.stop,
            tokens_per_example,
            nan_policy=config.studio.nan_policy,
            world_size=self.world_size,
            probe=probe,
            probe_every=int(config.studio.probe_every or 0),
        )
        trainer_class = studio_trainer_class()
        trainer = trainer_class(
            model=model,
            args=args,
            train_dataset=prepared.train,
            eval_dataset=prepared.eval,
            data_collator=collator,
            processing_class=tokenizer,
            callbacks=[self.callback],
            studio_faults=self.faults,
            studio_callback=self.callback,
            studio_rank=self.rank,
        )
        # Every log is an event in events.jsonl; printed as well, each would add a line to worker.log.
        trainer.remove_callback(transformers.PrinterCallback)
        return trainer

    def _after_training(self, tokenizer: Any, prepared: Any) -> None:
        trainer, callback, reporter = self.trainer, self.callback, self.reporter
        step = int(trainer.state.global_step)
        reporter.update(step=step)
        if callback.nan_stopped_at is not None:
            raise _NanStop(
                f"the loss became {callback.last_loss} at step {callback.nan_stopped_at} "
                "(studio.nan_policy=stop)"
            )
        figures = self._figures()
        if self.stop.is_set() or callback.stopped_by_request:
            checkpoint = runs.last_checkpoint(self.run_dir)
            where = f"; checkpoint {checkpoint.name}" if checkpoint else ""
            reporter.finish(
                "stopped",
                reason=f"{self.stop.reason or 'stop requested'} at step {step}{where}",
                figures=figures,
            )
            return
        if prepared.eval is not None and callback.last_eval_step != step:
            reporter.set_phase("evaluating", detail="final evaluation")
            trainer.evaluate()
        final_dir = self.run_dir / runs.FINAL_DIR
        reporter.set_phase("saving", detail="final model")
        trainer.save_model(str(final_dir))
        if trainer.args.should_save:
            # The Trainer pickles its arguments beside the weights; final/ holds nothing that must
            # be unpickled to load (the arguments are in config.yaml and the model card).
            (final_dir / "training_args.bin").unlink(missing_ok=True)
            tokenizer.save_pretrained(str(final_dir))
            figures = self._figures()
            (final_dir / "README.md").write_text(
                model_card(self.config, figures, self.run_dir.name), encoding="utf-8"
            )
        reporter.finish("completed", final_dir=str(final_dir), figures=figures)

    def _figures(self) -> dict[str, Any]:
        trainer, callback = self.trainer, self.callback
        state = trainer.state
        args = trainer.args
        params = sum(p.numel() for p in trainer.model.parameters()) if trainer.model is not None else None
        throughput = _session_throughput(trainer, callback, self.world_size)
        if throughput is not None:
            self.reporter.update(tokens_per_s=throughput)
        return {
            "step": int(state.global_step),
            "total_steps": int(state.max_steps),
            "epoch": float(state.epoch or 0.0),
            "final_loss": callback.last_loss,
            "final_eval_loss": callback.last_eval_loss,
            "final_perplexity": math.exp(min(callback.last_eval_loss, 700.0))
            if callback.last_eval_loss is not None and math.isfinite(callback.last_eval_loss)
            else None,
            "tokens_per_s": throughput,
            "train_tokens": self.train_tokens,
            "tokens_seen": int(
                state.global_step
                * args.train_batch_size
                * args.gradient_accumulation_steps
                * self.world_size
                * callback.tokens_per_example
            ),
            "parameters": params,
            "skipped_steps": callback.skipped_steps,
            "world_size": self.world_size,
            "effective_batch": args.train_batch_size * args.gradient_accumulation_steps * self.world_size,
        }

    # --- the unhappy paths ----------------------------------------------------------------------

    def fail(self, exc: BaseException) -> None:
        """End the run as failed (or stopped, for a stop during data preparation)."""
        if isinstance(exc, Cancelled):
            self.reporter.finish(
                "stopped", reason=f"{self.stop.reason or 'stop requested'} before training began"
            )
            return
        tail = "".join(traceback.format_exception(exc)[-TRACEBACK_TAIL_LINES:]).rstrip()
        reason = self._explain(exc)
        if not isinstance(exc, StudioError | _NanStop):
            traceback.print_exception(exc, file=sys.stderr)  # the whole traceback goes to worker.log
        else:
            tail = "" if isinstance(exc, StudioError) else tail
        print(
            f"[studio] {time.strftime('%H:%M:%S')} rank {self.rank} failed: {reason}",
            file=sys.stderr,
            flush=True,
        )
        self._remove_incomplete_checkpoints()
        if self.world_size > 1:
            self._write_rank_error(exc, reason, tail)
            return
        figures = self._figures() if self.trainer is not None and self.callback is not None else {}
        self.reporter.finish("failed", reason=reason, traceback_tail=tail, figures=figures)

    def _explain(self, exc: BaseException) -> str:
        if isinstance(exc, StudioError):
            return f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message
        if isinstance(exc, _NanStop):
            return str(exc)
        if _is_out_of_memory(exc):
            return out_of_memory_message(
                self.batch_size or _as_int(self.config.train.get("per_device_train_batch_size"))
                if self.config
                else None,
                self.config,
            )
        if _is_disk_full(exc, self.run_dir / runs.CHECKPOINTS_DIR):
            step = self.trainer.state.global_step if self.trainer is not None else None
            where = f" while saving the checkpoint of step {step}" if step is not None else ""
            last = runs.last_checkpoint(self.run_dir)
            kept = f"; {last.name} is intact" if last else ""
            return (
                f"the disk is full{where}{kept} (free some space, then `studio resume {self.run_dir.name}`)"
            )
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__

    def _remove_incomplete_checkpoints(self) -> None:
        """A checkpoint without trainer_state.json (written last) was cut short: remove it, so the
        previous one is the one a resume uses."""
        if self.rank != 0:
            return
        folder = self.run_dir / runs.CHECKPOINTS_DIR
        for child in folder.glob("checkpoint-*") if folder.is_dir() else []:
            if child.is_dir() and not (child / "trainer_state.json").is_file():
                shutil.rmtree(child, ignore_errors=True)

    def _write_rank_error(self, exc: BaseException, reason: str, tail: str) -> None:
        folder = self.run_dir / runs.RANKS_DIR
        with contextlib.suppress(OSError):
            folder.mkdir(exist_ok=True)
            secondary = _looks_like_peer_loss(exc)
            payload = {
                "rank": self.rank,
                "reason": reason,
                "traceback_tail": tail,
                "time": time.time(),
                "secondary": secondary,
            }
            (folder / f"rank-{self.rank}.json").write_text(json.dumps(payload), encoding="utf-8")

    def shutdown(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()
        if self.world_size > 1:
            with contextlib.suppress(Exception):
                import torch.distributed as dist

                if dist.is_initialized():
                    dist.destroy_process_group()


class _NanStop(Exception):
    """Training stopped because the loss was not finite and nan_policy is stop."""


def _looks_like_peer_loss(exc: BaseException) -> bool:
    text = f"{exc.__class__.__name__} {exc}".lower()
    return any(
        word in text
        for word in (
            "connection closed",
            "connection reset",
            "broken pipe",
            "gloo",
            "nccl",
            "timed out",
            "socket",
        )
    )


# torch.save reports a full disk as a RuntimeError of its zip writer, not as OSError(ENOSPC).
_TORCH_WRITE_FAILURES = ("PytorchStreamWriter", "inline_container", "file write failed")
_NEARLY_FULL_BYTES = 64 * 2**20


def _is_disk_full(exc: BaseException, folder: Path) -> bool:
    """ENOSPC anywhere in the exception chain, or torch's writer failing on a disk with no room left."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, RuntimeError) and any(text in str(exc) for text in _TORCH_WRITE_FAILURES):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(folder if folder.exists() else folder.parent).free < _NEARLY_FULL_BYTES
    return False


def _is_out_of_memory(exc: BaseException) -> bool:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def out_of_memory_message(batch_size: int | None, config: Any) -> str:
    """What failed, and what to try: half the batch (same effective batch via accumulation)."""
    if not batch_size:
        return "CUDA out of memory; try a smaller train.per_device_train_batch_size"
    accumulation = _as_int(config.train.get("gradient_accumulation_steps")) if config else None
    accumulation = accumulation or 1
    if batch_size > 1:
        smaller = max(1, batch_size // 2)
        return (
            f"CUDA out of memory at per_device_train_batch_size={batch_size}; try "
            f"--set train.per_device_train_batch_size={smaller} --set "
            f"train.gradient_accumulation_steps={accumulation * batch_size // smaller} (same effective batch)"
        )
    block = config.data.block_size if config else None
    return (
        f"CUDA out of memory at per_device_train_batch_size=1; try a smaller data.block_size (now {block}) "
        "or --set train.gradient_checkpointing=true"
    )


def _session_throughput(trainer: Any, callback: Any, world_size: int) -> float | None:
    """Training tokens/s: the median of the logging windows (evaluation and saving left out); the
    Trainer's whole-session average when there were too few windows."""
    steady = callback.steady_tokens_per_s()
    if steady is not None:
        return float(steady)
    history = getattr(trainer.state, "log_history", [])
    runtime = next((h.get("train_runtime") for h in reversed(history) if "train_runtime" in h), None)
    steps = trainer.state.global_step - getattr(callback, "_first_step", 0)
    if not runtime or steps <= 0:
        return None
    args = trainer.args
    return (
        steps
        * args.train_batch_size
        * args.gradient_accumulation_steps
        * world_size
        * callback.tokens_per_example
        / float(runtime)
    )


def _load_tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    if not Path(path).exists():
        raise StudioError(
            f"data.tokenizer: {path}: no such tokenizer directory",
            "train one with `studio tokenizer train`, then give its directory",
        )
    try:
        return AutoTokenizer.from_pretrained(path)
    except Exception as exc:
        raise StudioError(
            f"data.tokenizer: {path}: cannot be loaded ({exc.__class__.__name__}: {exc})",
            "give a directory saved by `studio tokenizer train` or save_pretrained",
        ) from None


def _devices(device_type: str) -> list[dict[str, Any]]:
    if device_type == "cuda":
        import torch

        return [
            {
                "index": i,
                "type": "cuda",
                "name": torch.cuda.get_device_name(i),
                "memory_total": torch.cuda.get_device_properties(i).total_memory,
            }
            for i in range(torch.cuda.device_count())
        ]
    return [{"index": 0, "type": "cpu", "name": "cpu", "cores": os.cpu_count()}]


def _as_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


# --- the Trainer with Studio's hooks ----------------------------------------------------------------

_TRAINER_CLASS: type | None = None


def studio_trainer_class() -> type:
    """The HF `Trainer` plus nan_policy=skip and the fault hooks (built on first use: imports torch)."""
    global _TRAINER_CLASS
    if _TRAINER_CLASS is not None:
        return _TRAINER_CLASS
    import torch
    from transformers import Trainer

    class StudioTrainer(Trainer):
        def __init__(
            self,
            *args: Any,
            studio_faults: Faults | None = None,
            studio_callback: Any = None,
            studio_rank: int = 0,
            **kwargs: Any,
        ) -> None:
            super().__init__(*args, **kwargs)
            self.studio_faults = studio_faults or Faults()
            self.studio_callback = studio_callback
            self.studio_rank = studio_rank
            self._skip_optimizer_step = False
            self._skip_policy = bool(studio_callback is not None and studio_callback.nan_policy == "skip")

        def compute_loss(self, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
            result = super().compute_loss(model, inputs, *args, **kwargs)
            if not self.studio_faults or not model.training:
                return result
            step = self.state.global_step + 1  # the step being computed, counted from 1
            faults = self.studio_faults
            if (slow := faults.number("slow_step")) is not None:
                time.sleep(slow)
            if faults.number("oom_at") == step:
                raise torch.OutOfMemoryError(
                    f"CUDA out of memory. Tried to allocate 2.00 GiB (injected by {FAULT_ENV})"
                )
            if faults.number("fail_rank") == self.studio_rank and step >= 2:
                raise RuntimeError(f"injected failure on rank {self.studio_rank} ({FAULT_ENV})")
            nan_from = faults.number("nan_from")
            if faults.number("nan_at") == step or (nan_from is not None and step >= nan_from):
                if isinstance(result, tuple):
                    return (result[0] * float("nan"), *result[1:])
                return result * float("nan")
            return result

        def training_step(self, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
            loss = super().training_step(model, inputs, *args, **kwargs)
            # nan_policy=skip costs one sync per step (a finite check on every rank); stop costs none.
            if self._skip_policy and not _all_ranks_finite(loss):
                self._skip_optimizer_step = True
                if self.studio_callback is not None:  # reported as this window's loss, not averaged away
                    self.studio_callback.non_finite_loss = float(loss.detach().float().mean())
                # The Trainer's running sum would stay NaN for ever (its reset is `sum -= sum`).
                return torch.zeros_like(loss)
            return loss

        def create_optimizer(self, *args: Any, **kwargs: Any) -> Any:
            optimizer = super().create_optimizer(*args, **kwargs)
            if self._skip_policy and not getattr(optimizer, "_studio_wrapped", False):
                step = optimizer.step

                def guarded_step(*a: Any, **k: Any) -> Any:
                    if self._skip_optimizer_step:
                        self._skip_optimizer_step = False
                        optimizer.zero_grad(set_to_none=True)
                        if self.studio_callback is not None:
                            self.studio_callback.skipped_steps += 1
                        return None
                    return step(*a, **k)

                optimizer.step = guarded_step  # type: ignore[method-assign]
                optimizer._studio_wrapped = True  # type: ignore[attr-defined]
            return optimizer

        def _issue_warnings_after_load(self, load_result: Any) -> None:
            # A checkpoint holds a tied parameter once (RoBERTa's decoder is its word embedding);
            # the Trainer would report the other name as missing, though the tie loaded it.
            missing = list(load_result.missing_keys)
            aliases = tied_aliases(self.model, set(missing))
            super()._issue_warnings_after_load(
                SimpleNamespace(
                    missing_keys=[k for k in missing if k not in aliases],
                    unexpected_keys=list(load_result.unexpected_keys),
                )
            )

        def evaluate(self, *args: Any, **kwargs: Any) -> Any:
            if (slow := self.studio_faults.number("slow_eval")) is not None:
                time.sleep(slow)
            return super().evaluate(*args, **kwargs)

        def _save_checkpoint(self, model: Any, trial: Any) -> None:
            faults = self.studio_faults
            if (slow := faults.number("slow_save")) is not None:
                time.sleep(slow)
            full_from = faults.number("enospc_on_save")
            if full_from is not None and self.state.global_step >= full_from:
                folder = Path(str(self.args.output_dir)) / f"checkpoint-{self.state.global_step}"
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "model.safetensors").write_bytes(b"\0" * 1024)  # cut short, as a full disk does
                raise OSError(errno.ENOSPC, f"No space left on device (injected by {FAULT_ENV})")
            super()._save_checkpoint(model, trial)

    _TRAINER_CLASS = StudioTrainer
    return StudioTrainer


def tied_aliases(model: Any, missing: set[str]) -> set[str]:
    """The names in `missing` whose tensor is also reachable under a name that was loaded."""
    names_by_tensor: dict[int, list[str]] = {}
    for name, tensor in (
        *model.named_parameters(remove_duplicate=False),
        *model.named_buffers(remove_duplicate=False),
    ):
        names_by_tensor.setdefault(id(tensor), []).append(name)
    return {
        name
        for names in names_by_tensor.values()
        if any(n not in missing for n in names)
        for name in names
        if name in missing
    }


def _all_ranks_finite(loss: Any) -> bool:
    import torch
    import torch.distributed as dist

    finite = torch.isfinite(loss.detach()).all().to(torch.int32)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    return bool(finite.item())


# --- the model card ---------------------------------------------------------------------------------


def model_card(config: Any, figures: dict[str, Any], run_id: str) -> str:
    """README.md for final/: what was trained, on what, how far, how fast, and how to load it."""
    import yaml

    task = config.model.task
    pipeline_tag = "fill-mask" if task == "mlm" else "text-generation"
    arch = config.model.arch
    name = config.studio.name

    def fmt(value: Any, spec: str = ",.4f") -> str:
        if value is None:
            return "—"
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return format(value, spec)

    rows = [
        ("Architecture", f"{arch} ({'masked' if task == 'mlm' else 'causal'} language model)"),
        ("Parameters", fmt(figures.get("parameters"), ",")),
        ("Training data", f"{config.data.corpus} — {fmt(figures.get('train_tokens'), ',')} tokens"),
        ("Block size", f"{config.data.block_size} ({'packed' if config.data.packing else 'line by line'})"),
        ("Steps", f"{fmt(figures.get('step'), ',')} of {fmt(figures.get('total_steps'), ',')}"),
        ("Effective batch", fmt(figures.get("effective_batch"), ",")),
        ("Tokens seen", fmt(figures.get("tokens_seen"), ",")),
        ("Final training loss", fmt(figures.get("final_loss"))),
        ("Final evaluation loss", fmt(figures.get("final_eval_loss"))),
        ("Final perplexity", fmt(figures.get("final_perplexity"), ",.2f")),
        (
            "Throughput",
            f"{fmt(figures.get('tokens_per_s'), ',.0f')} tokens/s on {figures.get('world_size', 1)} "
            "process(es)",
        ),
        ("Skipped (non-finite) steps", fmt(figures.get("skipped_steps"), ",")),
    ]
    table = "\n".join(f"| {key} | {value} |" for key, value in rows)
    if task == "mlm":
        usage = (
            'from transformers import pipeline\n\nfill = pipeline("fill-mask", model="PATH")\n'
            'print(fill("La suno <mask> hodiaŭ."))'
        )
    else:
        usage = (
            "from transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
            'tokenizer = AutoTokenizer.from_pretrained("PATH")\n'
            'model = AutoModelForCausalLM.from_pretrained("PATH")\n'
            'ids = tokenizer("La suno", return_tensors="pt").input_ids\n'
            "print(tokenizer.decode(model.generate(ids, max_new_tokens=20)[0]))"
        )
    front = yaml.safe_dump(
        {
            "library_name": "transformers",
            "pipeline_tag": pipeline_tag,
            "tags": ["studio", arch, "from-scratch"],
        },
        sort_keys=False,
    ).strip()
    config_yaml = config.to_yaml().strip()
    return (
        f"---\n{front}\n---\n\n# {name}\n\nA {arch} model trained from scratch with Studio (run `{run_id}`).\n\n"
        f"## Training\n\n| | |\n|---|---|\n{table}\n\n## Use\n\n```python\n{usage}\n```\n\n"
        f"## Run config\n\n```yaml\n{config_yaml}\n```\n"
    )


if __name__ == "__main__":
    sys.exit(main())
