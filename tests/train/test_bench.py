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


def test_run_bench_measures_both_contenders(corpus: Path, tmp_path: Path) -> None:
    """The recipe and Studio's default both report real tokens/s, memory and their setups."""
    from studio.train.bench import run_bench

    notes: list[str] = []
    result = run_bench(
        corpus=corpus,
        device="cpu",
        vocab_size=1000,
        steps=2,
        warmup=1,
        rounds=1,
        overrides=TINY_SETS,
        work_dir=tmp_path,
        threads=1,
        progress=lambda update: notes.append(update.note),
    )
    assert result.device == "cpu" and result.seed_tokens_per_s > 0 and result.studio_tokens_per_s > 0
    assert result.ratio == pytest.approx(result.studio_tokens_per_s / result.seed_tokens_per_s, rel=1e-2)
    assert result.seed_setup["packed"] is False and result.seed_setup["block_size"] == 128
    assert result.studio_setup["packed"] is True and result.studio_setup["block_size"] == 64
    assert result.studio_setup["tokens"] == 2 * 16 * 64  # packed blocks: every token is real
    assert 0 < result.seed_setup["tokens"] <= 2 * 16 * 128  # line by line: padding is not counted
    assert result.vocab_size == 1000 and result.model["hidden_size"] == TINY_MODEL["hidden_size"]
    assert any("round 1: studio" in note for note in notes)


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
def test_cli_bench_json_prints_one_object(corpus: Path, tmp_path: Path) -> None:
    """`studio bench --json` prints exactly one JSON object with the documented fields."""
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
        "1",
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
    payload = json.loads(done.stdout)
    assert {"seed_tokens_per_s", "studio_tokens_per_s", "ratio", "device"} <= set(payload)
    assert payload["device"] == "cpu"


def test_cli_bench_without_cuda_is_a_clean_error(tmp_path: Path) -> None:
    """Asking for CUDA where there is none: one line and a hint on stderr, exit 2, no traceback."""
    done = _studio("bench", "--device", "cuda", cwd=tmp_path)
    assert done.returncode == 2
    assert "no CUDA device" in done.stderr and "Traceback" not in done.stderr
