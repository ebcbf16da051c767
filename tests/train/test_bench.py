"""`studio bench`: both contenders train and are measured; the CLI prints one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _engine_fixtures import TINY_MODEL, make_corpus

from studio.errors import StudioError
from studio.progress import CancelFlag

# A shrunk tiny-cpu, so the bench's full path (tokenizer, data, two Trainers) runs in seconds.
# The recipe's lines are cut at 128 tokens, so positions cover 128 + 2 specials.
TINY_SETS = [
    *(f"model.{key}={value}" for key, value in TINY_MODEL.items()),
    "model.max_position_embeddings=130",
    "data.block_size=64",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1,500-line demo corpus."""
    return make_corpus(tmp_path_factory.mktemp("bench"), lines=1500)


def test_run_bench_cancels(corpus: Path, tmp_path: Path) -> None:
    """A set cancel flag stops the bench with `Cancelled` before any training."""
    from studio.errors import Cancelled
    from studio.train.bench import run_bench

    flag = CancelFlag()
    flag.set()
    with pytest.raises(Cancelled):
        run_bench(
            corpus=corpus,
            device="cpu",
            vocab_size=500,
            steps=1,
            warmup=0,
            overrides=TINY_SETS,
            work_dir=tmp_path,
            cancel=flag,
        )


def test_bench_rejects_bad_arguments(corpus: Path, tmp_path: Path) -> None:
    """A missing corpus and a step count below 1 are StudioErrors, not tracebacks."""
    from studio.train.bench import run_bench

    with pytest.raises(StudioError, match="no such file"):
        run_bench(corpus=tmp_path / "missing.txt", device="cpu", work_dir=tmp_path)
    with pytest.raises(StudioError, match="--steps"):
        run_bench(corpus=corpus, device="cpu", steps=0, work_dir=tmp_path)


def _studio(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(
        [sys.executable, "-m", "studio", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


@pytest.mark.slow
def test_cli_bench_measures_both_contenders(corpus: Path, tmp_path: Path) -> None:
    """`studio bench --json` trains both, prints one JSON object: tokens/s, ratio, setups, device."""
    sets = [item for pair in (("--set", s) for s in TINY_SETS) for item in pair]
    done = _studio(
        "bench",
        "--json",
        "--corpus",
        str(corpus),
        "--device",
        "cpu",
        "--vocab-size",
        "800",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--rounds",
        "1",
        "--threads",
        "1",
        *sets,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # exactly one object: anything else on stdout fails here
    assert result["device"] == "cpu" and result["seed_tokens_per_s"] > 0 and result["studio_tokens_per_s"] > 0
    assert result["ratio"] == pytest.approx(
        result["studio_tokens_per_s"] / result["seed_tokens_per_s"], rel=1e-2
    )
    seed, studio = result["seed_setup"], result["studio_setup"]
    assert seed["packed"] is False and seed["block_size"] == 128 and seed["mode"] == "recipe"
    assert studio["packed"] is True and studio["block_size"] == 64 and studio["mode"] == "fast"
    assert studio["tokens"] == 2 * 16 * 64  # packed blocks: every token is real
    assert 0 < seed["tokens"] <= 2 * 16 * 128  # line by line: the padding is not counted
    assert result["vocab_size"] == 800 and result["model"]["hidden_size"] == TINY_MODEL["hidden_size"]


def test_cli_bench_without_cuda_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Asking for CUDA where there is none: one line and a hint on stderr, exit 2, no traceback."""
    import torch

    from studio.cli import main

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["bench", "--device", "cuda"]) == 2
    captured = capsys.readouterr()
    assert "no CUDA device" in captured.err and "hint:" in captured.err and captured.out == ""
