"""Faults a training run meets, tried on purpose with real worker processes.

The runs of this module are started together by one fixture (each with its own fault injected by
`STUDIO_FAULT`) and each test waits on its own: the expensive part of a run is its worker importing
torch, and doing that once per run in parallel keeps the module to about the time of one run.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from reliability_helpers import (
    QUIET_ENV,
    STUDIO_BIN,
    assert_clean_error,
    read_status,
    run_events,
    start_faulted_run,
    studio,
    wait_finished,
    wait_until,
    worker_log,
)
from tmux_driver import STUDIO, TmuxSession

from studio.config import RunConfig
from studio.train.events import Finished, Step
from studio.workspace import open_workspace

# name -> (config overrides, fault). A "long" run takes ~0.4 s a step so a test can act in the middle.
FAULT_RUNS: dict[str, tuple[tuple[str, ...], str]] = {
    "nan-stop": (("studio.nan_policy=stop",), "nan_at:2"),
    "nan-skip": (("studio.nan_policy=skip",), "nan_at:2"),
    "oom": ((), "oom_at:2"),
    "disk-full-hook": (("train.save_steps=2", "train.max_steps=4"), "enospc_on_save:4"),
    "hangup": (("train.max_steps=2000", "train.save_steps=1000", "train.eval_steps=1000"), "slow_step:0.4"),
    "kill9": (("train.max_steps=2000", "train.save_steps=1000", "train.eval_steps=1000"), "slow_step:0.4"),
    "sigterm-save": (
        ("train.max_steps=2000", "train.save_steps=2", "train.eval_steps=1000"),
        "slow_save:2.5",
    ),
    "sigterm-eval": (
        ("train.max_steps=2000", "train.eval_steps=2", "train.save_steps=1000"),
        "slow_eval:2.5",
    ),
}


@pytest.fixture(scope="module")
def fault_runs(
    tmp_path_factory: pytest.TempPathFactory, tiny_config: Callable[..., RunConfig]
) -> dict[str, Path]:
    """Every run of FAULT_RUNS started at once in one workspace; name -> run directory."""
    workspace = open_workspace(tmp_path_factory.mktemp("fault-runs") / "ws", demo=False).root
    started = {}
    try:
        for name, (overrides, fault) in FAULT_RUNS.items():
            started[name] = start_faulted_run(
                workspace, tiny_config(*overrides, f"studio.name={name}"), fault
            )
        yield started
    finally:
        for run_dir in started.values():  # nothing keeps training after the module
            _kill_run(run_dir)


def _kill_run(run_dir: Path) -> None:
    status = read_status(run_dir)
    for key in ("pid", "supervisor_pid"):
        pid = status.get(key)
        if pid and status.get("state") not in ("completed", "stopped", "failed"):
            with contextlib.suppress(psutil.Error):
                psutil.Process(int(pid)).kill()


def _finished_event(run_dir: Path) -> Finished:
    ends = [e for e in run_events(run_dir) if isinstance(e, Finished)]
    assert ends, f"no finished event; worker.log:\n{worker_log(run_dir)}"
    return ends[-1]


def _wait_phase(run_dir: Path, phase: str, min_step: int = 0) -> dict:
    return wait_until(
        lambda: (
            (s := read_status(run_dir)).get("phase") == phase and int(s.get("step") or 0) >= min_step and s
        ),
        90,
        0.05,
        f"{run_dir.name} to be {phase} at step >= {min_step}\n{worker_log(run_dir)}",
    )


def _assert_complete_checkpoint(folder: Path) -> None:
    """A checkpoint that the Trainer can resume from and transformers can load."""
    from transformers import AutoModelForMaskedLM

    assert (folder / "trainer_state.json").is_file(), sorted(p.name for p in folder.iterdir())
    AutoModelForMaskedLM.from_pretrained(folder)


def test_nan_loss_stops_the_run_and_says_so(fault_runs: dict[str, Path]) -> None:
    """A NaN loss (nan_policy=stop) ends the run as failed, naming NaN and the step; the NaN is recorded."""
    run_dir = fault_runs["nan-stop"]
    info = wait_finished(run_dir)
    assert info.state == "failed", (info.reason, worker_log(run_dir))
    assert "nan" in info.reason.lower() and "2" in info.reason, info.reason
    losses = {e.step: e.loss for e in run_events(run_dir) if isinstance(e, Step)}
    assert losses.get(2) is not None and math.isnan(losses[2]), losses
    listed = studio("runs", "--json", "-w", str(run_dir.parent.parent))
    assert listed.returncode == 0 and '"failed"' in listed.stdout


def test_nan_loss_is_skipped_and_counted(fault_runs: dict[str, Path]) -> None:
    """With nan_policy=skip the NaN step is dropped, counted, and the run still completes."""
    run_dir = fault_runs["nan-skip"]
    info = wait_finished(run_dir)
    assert info.state == "completed", (info.reason, worker_log(run_dir))
    assert _finished_event(run_dir).figures.get("skipped_steps") == 1


def test_cuda_out_of_memory_names_the_batch_size(fault_runs: dict[str, Path]) -> None:
    """A (simulated) CUDA OOM ends the run as failed, naming the batch size that failed and one to try."""
    run_dir = fault_runs["oom"]
    info = wait_finished(run_dir)
    assert info.state == "failed", (info.reason, worker_log(run_dir))
    reason = info.reason.lower()
    assert "out of memory" in reason and "4" in reason and "2" in reason, info.reason
    assert "Traceback" not in info.reason


def test_full_disk_during_save_keeps_the_previous_checkpoint(fault_runs: dict[str, Path]) -> None:
    """ENOSPC while saving checkpoint-4 (fault hook): failed with "disk is full"; checkpoint-2 intact, no half one."""
    run_dir = fault_runs["disk-full-hook"]
    info = wait_finished(run_dir)
    assert info.state == "failed", (info.reason, worker_log(run_dir))
    assert "disk is full" in info.reason and "checkpoint-2" in info.reason, info.reason
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert checkpoints == ["checkpoint-2"], checkpoints
    _assert_complete_checkpoint(run_dir / "checkpoints" / "checkpoint-2")
    assert info.can_resume


def test_kill_9_of_the_worker_is_seen_within_10_s(fault_runs: dict[str, Path]) -> None:
    """`kill -9` of a training worker: `studio runs` shows it failed (signal 9) or lost within 10 s."""
    run_dir = fault_runs["kill9"]
    status = _wait_phase(run_dir, "running", min_step=1)
    os.kill(int(status["pid"]), signal.SIGKILL)
    workspace = run_dir.parent.parent

    def dead() -> dict | None:
        import json

        listed = studio("runs", "--json", "-w", str(workspace), timeout=30)
        runs = {r["id"]: r for r in json.loads(listed.stdout)["runs"]}
        run = runs[run_dir.name]
        return run if run["state"] in ("failed", "lost") else None

    run = wait_until(dead, 10, 0.5, "the killed run to show as failed or lost")
    if run["state"] == "failed":
        assert run["exit_signal"] == signal.SIGKILL, run


def test_sigterm_during_a_checkpoint_save(fault_runs: dict[str, Path]) -> None:
    """SIGTERM while a checkpoint is being written: the save completes, the run ends stopped, exit 0."""
    run_dir = fault_runs["sigterm-save"]
    status = _wait_phase(run_dir, "saving", min_step=4)  # checkpoint-2 is done, a later one is being saved
    os.kill(int(status["pid"]), signal.SIGTERM)
    info = wait_finished(run_dir)
    assert info.state == "stopped", (info.reason, worker_log(run_dir))
    assert read_status(run_dir).get("exit_code") == 0
    folder = run_dir / "checkpoints"
    names = sorted(p.name for p in folder.iterdir())
    assert f"checkpoint-{status['step']}" in names, (status["step"], names)
    for name in names:  # nothing half-written is left behind
        _assert_complete_checkpoint(folder / name)
    assert info.can_resume


def test_sigterm_during_evaluation(fault_runs: dict[str, Path]) -> None:
    """SIGTERM while evaluating: the run saves a checkpoint, then ends stopped (not failed)."""
    run_dir = fault_runs["sigterm-eval"]
    status = _wait_phase(run_dir, "evaluating", min_step=2)
    os.kill(int(status["pid"]), signal.SIGTERM)
    info = wait_finished(run_dir)
    assert info.state == "stopped", (info.reason, worker_log(run_dir))
    assert info.has_checkpoint


@pytest.mark.xfail(
    strict=True,
    reason="studio/train/launcher.py resume_run (via runs.last_checkpoint) accepts a checkpoint whose "
    "model.safetensors is truncated: the worker starts and fails with a bare SafetensorError that names no path, "
    "and the broken checkpoint stays the one every later resume picks",
)
def test_corrupted_checkpoint_on_resume_is_refused(fault_runs: dict[str, Path]) -> None:
    """Resuming from a corrupted last checkpoint refuses, naming its path; the earlier one still loads."""
    from studio.train.launcher import resume_run
    from studio.train.runs import last_checkpoint

    source = fault_runs["sigterm-save"]
    wait_finished(source)
    run_dir = source.with_name(source.name + "-copy")
    shutil.copytree(source, run_dir, ignore=shutil.ignore_patterns("run.lock"))
    checkpoints = sorted(
        (run_dir / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])
    )
    assert len(checkpoints) >= 2, checkpoints
    broken, earlier = checkpoints[-1], checkpoints[-2]
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # cut short, as a crash does

    from studio.errors import StudioError

    try:
        handle = resume_run(run_dir.parent.parent, run_dir.name, live=False)
    except StudioError as exc:
        assert str(broken) in f"{exc.message} {exc.hint}" or broken.name in exc.message, exc.message
    else:
        _kill_run(handle.path)
        pytest.fail(f"resume started a worker on the corrupted {broken.name} instead of refusing")
    _assert_complete_checkpoint(earlier)
    assert last_checkpoint(run_dir) in (broken, earlier)


@pytest.mark.parametrize("ref", ["../..", "../../etc", "/etc", "..", "./../x"])
def test_run_references_cannot_escape_the_workspace(fault_runs: dict[str, Path], ref: str) -> None:
    """`studio stop/resume/attach` with a run id that climbs out of runs/ is refused, one clear line."""
    workspace = next(iter(fault_runs.values())).parent.parent
    for command in ("stop", "resume"):
        assert_clean_error(studio(command, ref, "-w", str(workspace), timeout=30))


def test_corpus_smaller_than_one_block_fails_clearly(fault_runs: dict[str, Path]) -> None:
    """A corpus of three short lines (less than one block) ends the run as failed with a plain reason."""
    run_dir = fault_runs["tiny-corpus"]
    info = wait_finished(run_dir)
    assert info.state == "failed", (info.reason, worker_log(run_dir))
    assert "smaller than one block" in info.reason and "block_size" in info.reason, info.reason
    assert _finished_event(run_dir).traceback_tail == ""


def _copy_run(source: Path, suffix: str) -> Path:
    target = source.with_name(f"{source.name}-{suffix}")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("run.lock"))
    return target


def test_hand_edited_run_directory_is_a_clear_error(fault_runs: dict[str, Path]) -> None:
    """A run whose config.yaml was broken by hand: `studio resume` says which run and what, exit 2."""
    source = fault_runs["sigterm-eval"]
    wait_finished(source)
    run_dir = _copy_run(source, "edited")
    (run_dir / "config.yaml").write_text("model: {arch: roberta\ntrain: [", encoding="utf-8")
    assert_clean_error(
        studio("resume", run_dir.name, "-w", str(run_dir.parent.parent), timeout=60),
        run_dir.name,
        "edited by hand",
    )
    (run_dir / "config.yaml").unlink()
    assert_clean_error(
        studio("resume", run_dir.name, "-w", str(run_dir.parent.parent), timeout=60), "config.yaml is missing"
    )


def test_two_resumes_at_once_the_second_refuses(fault_runs: dict[str, Path]) -> None:
    """Two `studio resume` of one stopped run started together: one resumes, the other refuses (exit 2)."""
    source = fault_runs["sigterm-eval"]
    wait_finished(source)
    run_dir = _copy_run(source, "twice")
    workspace = str(run_dir.parent.parent)
    env = {**os.environ, **QUIET_ENV}
    both = [
        subprocess.Popen(
            [STUDIO_BIN, "resume", run_dir.name, "--detach", "-w", workspace],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        results = sorted((p.wait(timeout=120), p.stderr.read()) for p in both)
    finally:
        _kill_run(run_dir)
    (ok, _), (refused, message) = results
    assert ok == 0 and refused == 2, results
    assert "already" in message and "Traceback" not in message, message


def test_hangup_of_the_app_during_a_run_leaves_it_training(fault_runs: dict[str, Path]) -> None:
    """`studio attach` in tmux, then the terminal goes (SIGHUP): the run keeps training; `studio stop` ends it."""
    run_dir = fault_runs["hangup"]
    workspace = run_dir.parent.parent
    _wait_phase(run_dir, "running", min_step=1)
    tmux = TmuxSession([STUDIO, "attach", run_dir.name, "-w", str(workspace)], 120, 40)
    try:
        tmux.wait_for(lambda s: "Studio · Train" in s and run_dir.name[:15] in s, timeout=60)
        app_pids = [
            p.pid
            for p in psutil.process_iter(["cmdline"])
            if "attach" in (p.info["cmdline"] or []) and run_dir.name in (p.info["cmdline"] or [])
        ]
    finally:
        tmux.kill()  # the terminal closes: the app gets SIGHUP
    _gone, alive = psutil.wait_procs(
        [psutil.Process(pid) for pid in app_pids if psutil.pid_exists(pid)], timeout=15
    )
    assert alive == [], "the app outlived its terminal"
    step_then = int(read_status(run_dir).get("step") or 0)
    wait_until(
        lambda: int(read_status(run_dir).get("step") or 0) > step_then + 2,
        60,
        0.2,
        "the run to keep training after the hang-up",
    )
    worker = psutil.Process(int(read_status(run_dir)["pid"]))
    assert [c for c in worker.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN] == []
    stopped = studio("stop", run_dir.name, "--wait", "90", "-w", str(workspace), timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    info = wait_finished(run_dir)
    assert info.state == "stopped" and info.has_checkpoint, info.reason
