"""Run faults that no layer test covers: a really full disk during a checkpoint save, and a corrupted
checkpoint on resume. (NaN, OOM, kill -9, SIGTERM during eval/save, two resumes, a hand-edited run and
the fault-hook full disk are in tests/train/; see docs/RELIABILITY.md.)

One real run serves both: its `checkpoints/` folder is a tmpfs that is shrunk, once checkpoint-2 is
written, to hold exactly one more checkpoint, so checkpoint-6 meets a full disk for real (ENOSPC
from the kernel, no fault hook).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from reliability_helpers import (
    read_status,
    start_faulted_run,
    wait_finished,
    wait_until,
    worker_log,
)

from studio.config import RunConfig
from studio.errors import StudioError
from studio.workspace import open_workspace

pytestmark = pytest.mark.slow


def _mount(where: Path, options: str) -> None:
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.decode().strip()}): needs root")


def _used_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).used


@pytest.fixture(scope="module")
def full_disk_run(
    tmp_path_factory: pytest.TempPathFactory, tiny_config: Callable[..., RunConfig]
) -> Iterator[Path]:
    """A run whose checkpoints/ fills up for real while saving checkpoint-6; its run directory, once ended."""
    workspace = open_workspace(tmp_path_factory.mktemp("full-disk") / "ws", demo=False)
    config = tiny_config(
        "train.max_steps=8",
        "train.save_steps=2",
        "train.eval_steps=1000",
        "train.save_total_limit=10",
        "studio.name=full-disk",
    )
    # Each step sleeps 0.3 s, so there is time to shrink the disk between two saves.
    run_dir = start_faulted_run(workspace.root, config, "slow_step:0.3")
    checkpoints = run_dir / "checkpoints"
    checkpoints.mkdir(exist_ok=True)
    _mount(checkpoints, "size=64m")
    try:
        first = checkpoints / "checkpoint-2"
        wait_until(
            lambda: (first / "trainer_state.json").is_file(),
            120,
            0.05,
            f"checkpoint-2 to be written\n{worker_log(run_dir)}",
        )
        one_checkpoint = sum(p.stat().st_size for p in first.iterdir()) + 64 * 1024
        room = _used_bytes(checkpoints) + int(one_checkpoint * 1.5)  # checkpoint-4 fits, checkpoint-6 cannot
        subprocess.run(
            ["mount", "-o", f"remount,size={room}", str(checkpoints)], check=True, capture_output=True
        )
        wait_finished(run_dir, timeout=120)
        yield run_dir
    finally:
        _kill(run_dir)
        subprocess.run(["umount", "-l", str(checkpoints)], check=False, capture_output=True)


def _kill(run_dir: Path) -> None:
    status = read_status(run_dir)
    if status.get("state") in ("completed", "stopped", "failed"):
        return
    for key in ("pid", "supervisor_pid"):
        if status.get(key):
            try:
                psutil.Process(int(status[key])).kill()
            except psutil.Error:
                continue


def _assert_loads(checkpoint: Path) -> None:
    """A checkpoint the Trainer can resume from (trainer_state.json is written last) and transformers loads."""
    from transformers import AutoModelForMaskedLM

    assert (checkpoint / "trainer_state.json").is_file(), sorted(p.name for p in checkpoint.iterdir())
    AutoModelForMaskedLM.from_pretrained(checkpoint)


def test_full_disk_during_a_checkpoint_save_keeps_the_earlier_ones(full_disk_run: Path) -> None:
    """A real ENOSPC while saving checkpoint-6: the run fails; checkpoint-2 and -4 intact, no half-written one."""
    from studio.train.runs import run_info

    info = run_info(full_disk_run)
    assert info.state == "failed", (info.reason, worker_log(full_disk_run))
    assert "Traceback" not in info.reason
    names = sorted(p.name for p in (full_disk_run / "checkpoints").iterdir())
    assert names == ["checkpoint-2", "checkpoint-4"], names
    for name in names:
        _assert_loads(full_disk_run / "checkpoints" / name)
    assert info.can_resume


def test_full_disk_during_a_checkpoint_save_says_the_disk_is_full(full_disk_run: Path) -> None:
    """The reason of a run that met a full disk says so, names the intact checkpoint, and how to go on."""
    from studio.train.runs import run_info

    reason = run_info(full_disk_run).reason
    assert "disk is full" in reason and "checkpoint-4" in reason and "resume" in reason, reason


def test_corrupted_checkpoint_on_resume_is_refused(full_disk_run: Path) -> None:
    """Resuming from a truncated last checkpoint refuses and names its path; the earlier one still loads."""
    from studio.train.launcher import resume_run
    from studio.train.runs import checkpoint_damage, last_checkpoint

    run_dir = full_disk_run.with_name(full_disk_run.name + "-corrupt")
    shutil.copytree(full_disk_run, run_dir, ignore=shutil.ignore_patterns("run.lock"))
    broken, earlier = run_dir / "checkpoints" / "checkpoint-4", run_dir / "checkpoints" / "checkpoint-2"
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # cut short, as a crash does
    try:
        handle = resume_run(run_dir.parent.parent, run_dir.name, live=False)
    except StudioError as exc:
        assert str(broken) in exc.message and "damaged" in exc.message, exc.message
        assert exc.hint and str(broken) in exc.hint, exc.hint
    else:
        _kill(handle.path)
        pytest.fail(f"resume started a worker on the corrupted {broken.name} instead of refusing")
    shutil.rmtree(broken)  # what the hint says: the checkpoint before it is then the one resumed from
    assert last_checkpoint(run_dir) == earlier and checkpoint_damage(earlier) is None
    _assert_loads(earlier)
