"""Attach from anywhere, for real: a run started with `studio train --detach`, followed by `studio attach`
in tmux; closing the terminal (killing the tmux session) leaves the run training."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tmux_driver import STUDIO, TmuxSession

from studio.config import save_config
from studio.corpus.demo import iter_demo_lines

pytestmark = pytest.mark.slow

# A model small enough to train hundreds of steps a minute on 2 cores, for far longer than the test.
TINY = [
    "model.hidden_size=32",
    "model.intermediate_size=64",
    "model.num_attention_heads=2",
    "model.num_hidden_layers=1",
    "model.max_position_embeddings=66",
    "data.block_size=64",
    "train.per_device_train_batch_size=4",
    "train.max_steps=100000",
    "train.logging_steps=2",
    "train.save_steps=100000",
    "train.eval_steps=100000",
    "train.warmup_steps=0",
    "data.validation_split=0.05",
    "studio.probe_every=100000",
    "studio.monitor_interval=0.5",
    "studio.name=tmux-attach",
]
STEP = re.compile(r"step\s+([\d,]+)/100,000")


def studio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studio", *args], capture_output=True, text=True, timeout=240
    )


def shown_step(screen: str) -> int:
    match = STEP.search(screen)
    return int(match.group(1).replace(",", "")) if match else -1


def test_attach_follows_a_detached_run_that_outlives_the_terminal(
    tmp_path: Path, roberta_tokenizer: Path
) -> None:
    """`studio attach` in tmux shows step and loss moving; killing tmux leaves the run training."""
    from studio.model.build import config_from_preset
    from studio.train import runs

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(itertools.islice(iter_demo_lines(seed=3), 1500)) + "\n", encoding="utf-8")
    tokenizer = roberta_tokenizer
    config = config_from_preset("tiny-cpu", str(corpus), str(tokenizer), name="tmux-attach").with_overrides(
        TINY
    )
    save_config(config, tmp_path / "run.yaml")
    workspace = tmp_path / "ws"
    started = studio("train", str(tmp_path / "run.yaml"), "--detach", "-w", str(workspace))
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.strip().splitlines()[-1]
    tmux = TmuxSession([STUDIO, "attach", run_id, "-w", str(workspace)], 120, 40)
    try:
        screen = tmux.wait_for(lambda s: shown_step(s) > 0 and "loss" in s, timeout=240)
        first = shown_step(screen)
        screen = tmux.wait_for(lambda s: shown_step(s) > first, timeout=120)
        assert run_id in screen and re.search(r"loss\s+\d+\.\d+", screen), screen
        tmux.kill()  # the terminal goes away: the app gets SIGHUP, the run must not
        seen = runs.find_run(workspace, run_id).step
        deadline = time.monotonic() + 60
        info = runs.find_run(workspace, run_id)
        while info.step <= seen and time.monotonic() < deadline:
            time.sleep(0.5)
            info = runs.find_run(workspace, run_id)
        assert info.state == "running" and info.step > seen, info
    finally:
        tmux.kill()
        studio("stop", run_id, "-w", str(workspace), "--wait", "60")
