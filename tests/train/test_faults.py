"""Faults with real worker processes: each ends the run with a clear reason, nothing hidden.

The faulty runs are started together (they overlap on the cores while importing torch), then each
test reads the outcome of its own run.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.config import save_config
from studio.train import launcher, runs
from studio.train.events import EventLog, Finished, Log, Step
from studio.workspace import open_workspace

pytestmark = pytest.mark.slow

# name -> (config overrides, STUDIO_FAULT)
SCENARIOS: dict[str, tuple[tuple[str, ...], str]] = {
    "nan_stop": (("train.max_steps=6",), "nan_from:3"),
    "nan_skip": (("train.max_steps=4", "studio.nan_policy=skip"), "nan_at:2"),
    "oom": (("train.max_steps=6",), "oom_at:2"),
    "enospc": (("train.max_steps=6",), "enospc_on_save:6"),
    "exception": (("train.max_steps=6",), "fail_rank:0"),
    "tiny_corpus": ((), ""),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, tiny_config):
    """Start every faulty run at once; return {name: (RunInfo, events)} once all have ended."""
    root = tmp_path_factory.mktemp("faults")
    workspace = open_workspace(root / "ws", demo=False)
    small = root / "small.txt"
    small.write_text("La suno brilas.\nMi legas.\n", encoding="utf-8")
    handles = {}
    for name, (overrides, fault) in SCENARIOS.items():
        config = tiny_config("studio.probe_every=0", f"studio.name={name}", *overrides)
        if name == "tiny_corpus":
            config.data.corpus = str(small)
        os.environ["STUDIO_FAULT"] = fault
        try:
            handles[name] = launcher.start_run(config, workspace, live=False, check=False)
        finally:
            del os.environ["STUDIO_FAULT"]
    return {
        name: (handle.wait(timeout=300), EventLog(handle.path / runs.EVENTS_FILE).replay())
        for name, handle in handles.items()
    }


def finished_of(events) -> Finished:
    finished = [e for e in events if isinstance(e, Finished)]
    assert len(finished) == 1, finished
    return finished[0]


def test_nan_loss_stops_the_run_and_is_reported(outcomes):
    """nan_policy=stop: the NaN step is in the events (not filtered) and the run fails naming it."""
    info, events = outcomes["nan_stop"]
    assert info.state == "failed" and "nan" in info.reason and "step 3" in info.reason
    losses = {e.step: e.loss for e in events if isinstance(e, Step)}
    assert math.isnan(losses[3]) and max(losses) == 3
    assert any(isinstance(e, Log) and e.level == "error" and "nan" in e.message for e in events)


def test_nan_loss_is_skipped_and_counted(outcomes):
    """nan_policy=skip: the bad step is skipped and counted, reported, and training completes."""
    info, events = outcomes["nan_skip"]
    assert info.state == "completed", info.reason
    finished = finished_of(events)
    assert finished.figures["skipped_steps"] == 1
    steps = [e for e in events if isinstance(e, Step)]
    assert math.isnan(steps[1].loss) and steps[-1].skipped_steps == 1 and math.isfinite(steps[-1].loss)
    assert any(isinstance(e, Log) and e.level == "warning" and "skipped" in e.message for e in events)


def test_out_of_memory_names_the_batch_size_and_a_smaller_one(outcomes):
    """A CUDA out-of-memory error ends the run with the failing batch size and one to try."""
    info, _ = outcomes["oom"]
    assert info.state == "failed"
    assert "per_device_train_batch_size=4" in info.reason and "per_device_train_batch_size=2" in info.reason


def test_full_disk_while_saving_keeps_the_previous_checkpoint(outcomes):
    """ENOSPC while saving checkpoint-6: the run fails saying so, checkpoint-3 stays whole and
    resumable, and the half-written checkpoint is removed."""
    info, _ = outcomes["enospc"]
    assert info.state == "failed" and "disk is full" in info.reason and "checkpoint-3" in info.reason
    checkpoints = info.path / runs.CHECKPOINTS_DIR
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-3"]
    assert runs.last_checkpoint(info.path).name == "checkpoint-3" and info.can_resume
    from transformers import AutoModelForMaskedLM

    AutoModelForMaskedLM.from_pretrained(checkpoints / "checkpoint-3")  # intact


def test_exception_gives_a_traceback_tail_and_the_full_one_in_the_log(outcomes):
    """Any exception: failed, its tail in the finished event, the whole traceback in worker.log."""
    info, events = outcomes["exception"]
    assert info.state == "failed" and "RuntimeError: injected failure on rank 0" in info.reason
    finished = finished_of(events)
    assert "injected failure" in finished.traceback_tail and "compute_loss" in finished.traceback_tail
    log = (info.path / runs.LOG_FILE).read_text()
    assert "Traceback (most recent call last)" in log and "trainer.py" in log


def test_corpus_smaller_than_one_block(outcomes):
    """A corpus with less than one block of text fails with that plain reason and a fix."""
    info, events = outcomes["tiny_corpus"]
    assert info.state == "failed"
    assert "smaller than one block" in info.reason and "block_size" in info.reason
    assert finished_of(events).traceback_tail == ""


def studio(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studio", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_missing_corpus_or_tokenizer_is_refused_before_starting(tmp_path, tiny_config):
    """`studio train` with a missing corpus or tokenizer: one clear line, exit 2, no run created."""
    for field, value, words in (
        ("corpus", "nowhere.txt", "data.corpus"),
        ("tokenizer", "no-tok", "data.tokenizer"),
    ):
        config = tiny_config()
        setattr(config.data, field, str(tmp_path / value))
        save_config(config, tmp_path / "c.yaml")
        result = studio("train", str(tmp_path / "c.yaml"), "-w", str(tmp_path / "ws"))
        assert result.returncode == 2, result.stderr
        assert words in result.stderr and "Traceback" not in result.stderr
    assert not any((tmp_path / "ws" / "runs").iterdir())


def test_a_config_with_a_problem_is_refused_before_starting(tmp_path, tiny_config):
    """What `studio model check` finds (here a vocabulary smaller than the tokenizer's, which
    would crash in the embedding) stops `studio train` at once: the problem, its fix, no run."""
    config = tiny_config("model.vocab_size=100")
    save_config(config, tmp_path / "c.yaml")
    result = studio("train", str(tmp_path / "c.yaml"), "-w", str(tmp_path / "ws"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "model.vocab_size: vocab_size (100) differs from the tokenizer" in result.stderr, result.stderr
    assert "--set model.vocab_size=" in result.stderr and "studio model check" in result.stderr
    assert not any((tmp_path / "ws" / "runs").iterdir())


def test_hand_edited_run_directory_is_a_clear_error(outcomes):
    """A run whose config.yaml was edited into nonsense: `studio resume` says so, no traceback."""
    info, _ = outcomes["enospc"]
    (info.path / runs.CONFIG_FILE).write_text("train: [oops\n", encoding="utf-8")
    result = studio("resume", info.id, "-w", str(info.path.parent.parent))
    assert result.returncode == 2
    assert "edited by hand" in result.stderr and "Traceback" not in result.stderr
    (info.path / runs.STATUS_FILE).write_text("garbage", encoding="utf-8")
    listed = studio("runs", "-w", str(info.path.parent.parent))
    assert listed.returncode == 0 and "lost" in listed.stdout
