"""A run's life with real processes: the CLI in the foreground, stop, resume, kill -9."""

from __future__ import annotations

import itertools
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.config import save_config
from studio.train import launcher, runs
from studio.train.events import EventLog, Finished, Probe, RunStarted, Step, System
from studio.workspace import open_workspace

pytestmark = pytest.mark.slow


def studio(*args: str, cwd: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run the real `studio` command line."""
    return subprocess.run(
        [sys.executable, "-m", "studio", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def events_of(run_dir: Path) -> list:
    return EventLog(run_dir / runs.EVENTS_FILE).replay()


@pytest.fixture(scope="module")
def completed_run(tmp_path_factory, tiny_config):
    """One run trained in the foreground by `studio train`, with an on_finish hook, reporting to
    TensorBoard as well (`train.report_to`, as with the Trainer)."""
    root = tmp_path_factory.mktemp("foreground")
    config_path = root / "tiny.yaml"
    config = tiny_config("train.report_to=[tensorboard]")
    config.studio.on_finish = (
        f'{sys.executable} -c "import os, json; json.dump({{k: v for k, v in '
        f"os.environ.items() if k.startswith('STUDIO_')}}, open('{root / 'hook.json'}', 'w'))\""
    )
    save_config(config, config_path)
    result = studio("train", str(config_path), "-w", str(root / "ws"))
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (root / "ws" / "runs").iterdir()
    return {"root": root, "run_dir": run_dir, "result": result}


def test_foreground_train_ends_with_final_figures(completed_run):
    """`studio train CONFIG` trains to the end and prints the final figures; exit 0."""
    result = completed_run["result"]
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for text in (
        "completed",
        "final loss",
        "eval loss",
        "tokens/s",
        "6 of 6",
        str(completed_run["run_dir"].name),
    ):
        assert text in out, out


def test_events_record_the_whole_run(completed_run):
    """events.jsonl holds run_started, every step with loss and tokens, evals, checkpoints, probes,
    system samples, and one finished(completed) at the end."""
    events = events_of(completed_run["run_dir"])
    assert isinstance(events[0], RunStarted) and events[0].total_steps == 6
    assert events[0].config["model"]["arch"] == "roberta" and events[0].pid > 0
    steps = [e for e in events if isinstance(e, Step)]
    assert [s.step for s in steps] == [1, 2, 3, 4, 5, 6]
    assert all(math.isfinite(s.loss) and s.learning_rate is not None for s in steps)
    assert [s.tokens for s in steps] == [256 * i for i in range(1, 7)]
    assert all(s.tokens_per_s and s.tokens_per_s > 0 for s in steps[1:])
    assert [e.step for e in events if e.TYPE == "eval"] == [3, 6]
    assert [e.step for e in events if e.TYPE == "checkpoint"] == [3, 6]
    probes = [e for e in events if isinstance(e, Probe)]
    assert [p.step for p in probes] == [3, 6] and probes[0].kind == "fill-mask"
    assert probes[0].results and len(probes[0].results[0]["outputs"]) == 5
    system = [e for e in events if isinstance(e, System)]
    assert system and system[0].ram_total and system[0].rss_bytes and system[0].gpus == []
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.state == "completed" and finished.step == 6
    assert finished.figures["final_loss"] == steps[-1].loss and finished.figures["final_eval_loss"]


def test_worker_log_holds_what_the_events_do_not(completed_run):
    """worker.log is for tracebacks and library messages: no line per log (events.jsonl has them),
    no progress bars redrawn with carriage returns at every save, so a long run's log stays small."""
    log = (completed_run["run_dir"] / runs.LOG_FILE).read_text(encoding="utf-8")
    assert "starting run" in log
    assert "{'loss'" not in log and "'eval_loss'" not in log, log[-2000:]
    assert "\r" not in log and "it/s]" not in log, log[-2000:]


def test_tensorboard_gets_the_same_losses(completed_run):
    """report_to=tensorboard writes event files in runs/<id>/tensorboard/ (not under checkpoints/) with
    the loss of every logged step, equal to Studio's own step events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    board = completed_run["run_dir"] / runs.TENSORBOARD_DIR
    assert list(board.glob("events.out.tfevents.*")), sorted(
        p.name for p in completed_run["run_dir"].iterdir()
    )
    scalars = EventAccumulator(str(board)).Reload()
    logged = {e.step: e.value for e in scalars.Scalars("train/loss")}
    steps = [e for e in events_of(completed_run["run_dir"]) if isinstance(e, Step)]
    assert sorted(logged) == [s.step for s in steps]
    assert all(logged[s.step] == pytest.approx(s.loss, rel=1e-5) for s in steps)
    assert [e.step for e in scalars.Scalars("eval/loss")] == [3, 6]


def test_final_model_loads_with_plain_transformers(completed_run):
    """final/ is a standard save_pretrained directory: pipeline("fill-mask") loads and runs it."""
    from transformers import pipeline

    final = completed_run["run_dir"] / runs.FINAL_DIR
    fill = pipeline("fill-mask", model=str(final), tokenizer=str(final), device="cpu")
    outputs = fill("La suno <mask> hodiaŭ.")
    assert len(outputs) == 5 and all("token_str" in o for o in outputs)
    config = json.loads((final / "config.json").read_text())
    assert config["architectures"] == ["RobertaForMaskedLM"]


def test_model_card_has_the_run_figures(completed_run):
    """final/README.md names the config, data size, steps, final losses and throughput."""
    card = (completed_run["run_dir"] / runs.FINAL_DIR / "README.md").read_text()
    for text in (
        "pipeline_tag: fill-mask",
        "| Steps | 6 of 6 |",
        "Final training loss",
        "Final evaluation loss",
        "tokens/s",
        "tokens |",
        "hidden_size: 32",
        'pipeline("fill-mask"',
    ):
        assert text in card, text


def test_on_finish_hook_gets_the_figures(completed_run):
    """studio.on_finish runs at the end with the run's figures in STUDIO_* variables."""
    env = json.loads((completed_run["root"] / "hook.json").read_text())
    assert env["STUDIO_RUN_ID"] == completed_run["run_dir"].name
    assert env["STUDIO_RUN_STATE"] == "completed" and env["STUDIO_STEP"] == "6"
    assert float(env["STUDIO_FINAL_LOSS"]) > 0 and float(env["STUDIO_TOKENS_PER_S"]) > 0
    assert Path(env["STUDIO_FINAL_DIR"]).is_dir()


def test_runs_json_lists_the_run(completed_run):
    """`studio runs --json` prints one object with the run, its state, step, loss and duration."""
    result = studio("runs", "--json", "-w", str(completed_run["root"] / "ws"))
    assert result.returncode == 0, result.stderr
    (run,) = json.loads(result.stdout)["runs"]
    assert run["id"] == completed_run["run_dir"].name and run["state"] == "completed"
    assert run["step"] == 6 and run["last_loss"] > 0 and run["duration_s"] > 0 and run["final_dir"]


def _phase(run_dir: Path) -> str:
    info = runs.run_info(run_dir)
    return info.phase if info.is_live else info.state


def test_a_run_named_by_its_directory_is_found_from_anywhere(completed_run, tmp_path):
    """`studio stop WORKSPACE/runs/ID` from another folder finds the run's own workspace (there is
    no ./workspace there, and none is created)."""
    run_dir = completed_run["run_dir"]
    result = studio("stop", str(run_dir), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"run {run_dir.name} is not running (it is completed)" in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_stop_in_eval_and_save_then_resume_to_the_end(tmp_path, tiny_config, monkeypatch, wait_for):
    """SIGTERM during evaluation and during saving each checkpoint and stop cleanly; two resumes at
    once: one refuses; the last resume reaches the original end with the step and LR continuing."""
    workspace = open_workspace(tmp_path / "ws", demo=False)
    monkeypatch.setenv("STUDIO_FAULT", "slow_eval:4")
    handle = launcher.start_run(
        tiny_config("train.max_steps=9", "studio.probe_every=0"), workspace, live=False
    )
    monkeypatch.delenv("STUDIO_FAULT")
    wait_for(lambda: _phase(handle.path) == "evaluating", timeout=120)
    launcher.stop_run(workspace, handle.run_id)
    info = handle.wait(timeout=60)
    assert info.state == "stopped", info.reason
    assert info.step == 3 and runs.last_checkpoint(handle.path).name == "checkpoint-3"
    assert "SIGTERM" in info.reason

    # Two resumes at once: exactly one starts the run, the other refuses.
    env = {**os.environ, "STUDIO_FAULT": "slow_save:4"}
    both = [
        subprocess.Popen(
            [sys.executable, "-m", "studio", "resume", handle.run_id, "--detach", "-w", str(workspace.root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outcomes = sorted((p.wait(timeout=120), p.stderr.read()) for p in both)
    assert [code for code, _ in outcomes] == [0, 2], outcomes
    assert "already" in outcomes[1][1]
    wait_for(lambda: _phase(handle.path) == "saving" and runs.run_info(handle.path).step >= 6, timeout=120)
    info = launcher.stop_run(workspace, handle.run_id, wait=60)
    assert info.state == "stopped", info.reason
    assert runs.last_checkpoint(handle.path).name == "checkpoint-6"

    resumed = launcher.resume_run(workspace, handle.run_id, live=True)
    assert resumed.wait(timeout=120).state == "completed"
    events = events_of(handle.path)
    starts = [e for e in events if isinstance(e, RunStarted)]
    assert [s.resumed_from for s in starts] == [None, "checkpoints/checkpoint-3", "checkpoints/checkpoint-6"]
    steps = [e.step for e in events if isinstance(e, Step)]
    assert steps == list(range(1, 10)), steps
    rates = [e.learning_rate for e in events if isinstance(e, Step)]
    decrements = {round(a - b, 9) for a, b in itertools.pairwise(rates)}
    assert len(decrements) == 1, rates  # the linear schedule goes on where it stopped
    warnings = [e.message for e in events if e.TYPE == "log" and e.level != "info"]
    assert not [w for w in warnings if "missing keys" in w], warnings  # the tied head loads through the tie


def test_requests_sighup_and_kill_9(workspace, tiny_config, monkeypatch, wait_for):
    """ "save" and "evaluate" requests reach a live worker; SIGHUP does not stop it; kill -9 shows as
    failed with signal 9 within 10 s, never as running forever."""
    monkeypatch.setenv("STUDIO_FAULT", "slow_step:0.3")
    config = tiny_config(
        "train.max_steps=500", "train.save_steps=1000", "train.eval_steps=1000", "studio.probe_every=0"
    )
    handle = launcher.start_run(config, workspace, live=False)
    wait_for(lambda: runs.run_info(handle.path).step >= 1, timeout=120)
    os.kill(handle.pid, signal.SIGHUP)
    launcher.request(workspace, handle.run_id, "evaluate")
    launcher.request(workspace, handle.run_id, "save")
    wait_for(lambda: {"eval", "checkpoint"} <= {e.TYPE for e in events_of(handle.path)}, timeout=60)
    assert runs.run_info(handle.path).is_live  # SIGHUP was ignored
    os.kill(handle.pid, signal.SIGKILL)
    killed = time.monotonic()
    info = wait_for(
        lambda: (i := runs.find_run(workspace, handle.run_id)).state in ("failed", "lost") and i, timeout=10
    )
    assert time.monotonic() - killed < 10
    assert info.state == "failed" and info.exit_signal == 9 and "SIGKILL" in info.reason
    finished = events_of(handle.path)[-1]
    assert isinstance(finished, Finished) and finished.state == "failed" and "signal 9" in finished.reason
