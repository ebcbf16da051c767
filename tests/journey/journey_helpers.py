"""Helpers of the journey tests: keys typed like a person (one at a time), the real binary, run waits."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from tmux_driver import STUDIO, TmuxSession

# One BLAS thread per process: the journey's processes share two cores.
QUIET_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def type_keys(tmux: TmuxSession, *keys: str, pause: float = 0.25) -> None:
    """Send keys one at a time with a pause, as a person types (a burst can outrun a busy app)."""
    for key in keys:
        tmux.send(key)
        time.sleep(pause)


def type_text(tmux: TmuxSession, text: str) -> None:
    """Type literal text into the focused input."""
    tmux.send("-l", text)
    time.sleep(0.25)


def studio(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the real `studio` binary headless; output captured as text."""
    return subprocess.run(
        [STUDIO, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **QUIET_ENV},
    )


def start_app(*args: str, width: int, height: int, cwd: Path | None = None) -> TmuxSession:
    """The real binary in tmux at a given size (in folder `cwd`)."""
    return TmuxSession([STUDIO, *args], width, height, env={"TERM": "xterm-256color", **QUIET_ENV}, cwd=cwd)


def run_state(workspace: Path, run_id: str) -> dict[str, Any]:
    """The run as `studio runs --json` lists it (the real binary)."""
    listed = studio("runs", "--json", "-w", str(workspace), timeout=60)
    assert listed.returncode == 0, listed.stderr
    return {r["id"]: r for r in json.loads(listed.stdout)["runs"]}[run_id]


def wait_run_end(workspace: Path, run_id: str, timeout: float = 240) -> dict[str, Any]:
    """Wait until the run is no longer live (polled in-process: cheap), then return its `studio runs --json` entry."""
    from studio.train.runs import run_info

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not run_info(workspace / "runs" / run_id).is_live:
            return run_state(workspace, run_id)
        time.sleep(0.5)
    pytest.fail(f"run {run_id} still live after {timeout:.0f} s")


def probes_of(run_dir: Path) -> list[Any]:
    """The probe events of a run."""
    from studio.train.events import EventLog, Probe

    return [e for e in EventLog(run_dir / "events.jsonl").replay() if isinstance(e, Probe)]


def wait_first_probe(run_dir: Path, timeout: float = 240) -> None:
    """Wait until the run has emitted its first probe event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (run_dir / "events.jsonl").exists() and probes_of(run_dir):
            return
        time.sleep(0.5)
    pytest.fail(f"no probe from {run_dir.name} within {timeout:.0f} s")


def _has_probe(screen: str) -> bool:
    return "fill-mask at step" in screen or "generate at step" in screen


def reveal_probes(tmux: TmuxSession, attempts: int = 16) -> str:
    """Bring the Train screen's Probes tab forward by keyboard: Tab along the widgets, Right on each.

    Right on the app's own tab bar switches screens: then 4 brings the Train screen back and the
    walk goes on from there.
    """
    for _ in range(attempts):
        for key in ("Tab", "Right", "Right"):
            type_keys(tmux, key, pause=0.4)
            screen = tmux.screen()
            if _has_probe(screen):
                return screen
            if key == "Right" and "Studio · Train" not in screen:
                type_keys(tmux, "4", pause=0.4)
                tmux.wait_for("Studio · Train", timeout=20)
                break
    return tmux.wait_for(_has_probe, timeout=10)


def final_files(final_dir: Path) -> set[str]:
    """Names of the files in a final/ directory."""
    return {p.name for p in final_dir.iterdir()}
