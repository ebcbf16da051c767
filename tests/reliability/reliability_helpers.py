"""Helpers of the reliability suite: the real `studio` binary, waiting on runs, and starting real training
processes with a fault injected (`STUDIO_FAULT`).

Everything here is sized so a run starts, trains a few steps and ends in seconds on 2 cores: the cost
of a run is the worker importing torch, so tests start their runs together and wait on them together.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from studio.config import RunConfig

STUDIO_BIN = str(Path(sys.executable).parent / "studio")
CORPUS_LINES = 1500
VOCAB_SIZE = 600

# The tiny-cpu preset shrunk until a step takes milliseconds: the faults, not the model, are under test.
TINY_OVERRIDES = (
    "model.hidden_size=32",
    "model.intermediate_size=64",
    "model.num_attention_heads=2",
    "model.num_hidden_layers=1",
    "model.max_position_embeddings=66",
    "data.block_size=64",
    "data.validation_split=0.05",
    "train.per_device_train_batch_size=4",
    "train.per_device_eval_batch_size=8",
    "train.max_steps=6",
    "train.logging_steps=1",
    "train.save_steps=3",
    "train.eval_steps=3",
    "train.warmup_steps=0",
    "train.dataloader_num_workers=0",
    "studio.probe_every=0",
    "studio.monitor_interval=1.0",
)

# One thread per worker: several runs share two cores, and oversubscribed BLAS threads only slow them.
QUIET_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def studio(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `studio` binary; output captured as text, stdin closed."""
    return subprocess.run(
        [STUDIO_BIN, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **QUIET_ENV, **(env or {})},
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], *words: str, code: int = 2) -> None:
    """A user error: exit `code`, `studio: error:` first on stderr, the words present, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("studio: error:"), result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def wait_until(
    predicate: Callable[[], Any], timeout: float = 90.0, interval: float = 0.1, what: str = ""
) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what or predicate}")


def read_status(run_dir: Path) -> dict[str, Any]:
    """status.json as it is now ({} while it is being replaced)."""
    try:
        return json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def run_events(run_dir: Path) -> list[Any]:
    """Every event of a run, read through the project's only parser."""
    from studio.train.events import EventLog

    return EventLog(run_dir / "events.jsonl").replay()


def worker_log(run_dir: Path) -> str:
    """The tail of worker.log, for assertion messages."""
    with contextlib.suppress(OSError):
        return (run_dir / "worker.log").read_text(encoding="utf-8", errors="replace")[-3000:]
    return ""


def wait_finished(run_dir: Path, timeout: float = 120.0) -> Any:
    """Wait for the run to leave the live states; return its `RunInfo`."""
    from studio.train.runs import run_info

    def ended() -> Any:
        info = run_info(run_dir)
        return None if info.is_live else info

    return wait_until(ended, timeout, 0.2, f"run {run_dir.name} to end; worker.log:\n{worker_log(run_dir)}")


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for processes spawned inside the block (spawn copies os.environ)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def start_faulted_run(workspace: Path, config: RunConfig, fault: str = "") -> Path:
    """Start a detached run whose worker has `STUDIO_FAULT=fault`; return its run directory.

    Returns once the worker process exists (its pid is in status.json), long before it trains.
    """
    from studio.train.launcher import start_run

    with environment(STUDIO_FAULT=fault, **QUIET_ENV):
        handle = start_run(config, workspace, live=False, check=False)
    return handle.path
