"""`studio model check` and `studio config init`: one real subprocess for the JSON contract, the rest
through `studio.cli.main` in this process (the same code path, without re-importing torch each time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from studio.cli import main


def _main(capsys: pytest.CaptureFixture[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    """`studio ARGS` through `studio.cli.main` in this process, captured like a subprocess."""
    capsys.readouterr()
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory, bpe_tokenizer: Path, corpus_file: Path) -> Path:
    """A tiny-cpu run config written by `studio config init`."""
    out = tmp_path_factory.mktemp("cli") / "configs" / "tiny.yaml"
    code = main(
        [
            "config",
            "init",
            "--preset",
            "tiny-cpu",
            "--corpus",
            str(corpus_file),
            "--tokenizer",
            str(bpe_tokenizer),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def test_config_init_takes_vocab_and_ids_from_the_tokenizer(config_file: Path) -> None:
    """The written config has the tokenizer's vocabulary size and special ids."""
    data = yaml.safe_load(config_file.read_text())
    assert data["model"]["vocab_size"] == 600 and data["model"]["pad_token_id"] == 1
    assert data["data"]["block_size"] == 128


@pytest.mark.slow
def test_check_json_valid_in_a_subprocess(config_file: Path) -> None:
    """A valid config: exit 0 and exactly one JSON object on stdout with the promised fields."""
    result = subprocess.run(
        [sys.executable, "-m", "studio", "model", "check", str(config_file), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["valid"] is True and payload["problems"] == []
    assert payload["params"] > 400_000 and payload["flops_per_token"] > payload["params"]
    assert payload["memory_bytes"] > 16 * payload["params"]
    assert payload["hf_config"]["model_type"] == "roberta" and payload["hf_config"]["vocab_size"] == 600


def test_check_json_invalid_then_fix(
    capsys: pytest.CaptureFixture[str], config_file: Path, tmp_path: Path
) -> None:
    """Problems come with fixes and exit 1; --fix writes a config that checks clean (exit 0)."""
    bad = [
        "--set",
        "model.num_attention_heads=3",
        "--set",
        "model.hidden_dropout_prob=2",
        "--set",
        "model.hiden_size=10",
    ]
    result = _main(capsys, "model", "check", config_file, *bad, "--json")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["valid"] is False and payload["params"] is None
    assert {p["field"]: p["fix"] for p in payload["problems"]} == {
        "model.num_attention_heads": "model.num_attention_heads=2",
        "model.hidden_dropout_prob": "model.hidden_dropout_prob=0.1",
        "model.hiden_size": "model.hiden_size=",
    }
    fixed = tmp_path / "fixed.yaml"
    result = _main(capsys, "model", "check", config_file, *bad, "--fix", "--out", fixed, "--json")
    assert result.returncode == 0, result.stdout
    payload = json.loads(result.stdout)
    assert payload["valid"] is True and len(payload["applied"]) == 3 and payload["written"] == str(fixed)
    assert "hiden_size" not in fixed.read_text()


def test_check_text_output(capsys: pytest.CaptureFixture[str], config_file: Path) -> None:
    """Without --json each problem is a line with its field, and the fix is a ready `--set`."""
    result = _main(capsys, "model", "check", config_file, "--set", "data.block_size=256")
    assert result.returncode == 1
    assert "problem: model.max_position_embeddings:" in result.stdout
    assert "fix: --set model.max_position_embeddings=258" in result.stdout


def test_unknown_architecture_is_named_not_a_traceback(
    capsys: pytest.CaptureFixture[str], config_file: Path
) -> None:
    """An unknown arch is a model.arch problem in the JSON, exit 1, no traceback."""
    result = _main(capsys, "model", "check", config_file, "--set", "model.arch=robertta", "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    payload = json.loads(result.stdout)
    assert payload["problems"][0]["field"] == "model.arch"
    assert payload["problems"][0]["fix"] == "model.arch=roberta"


def test_bad_set_and_missing_file_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], config_file: Path, tmp_path: Path
) -> None:
    """A malformed --set or a missing config is one error line with a hint, exit 2."""
    result = _main(capsys, "model", "check", config_file, "--set", "nonsense")
    assert result.returncode == 2 and "section.field=value" in result.stderr
    result = _main(capsys, "model", "check", tmp_path / "nope.yaml")
    assert result.returncode == 2 and "no such config file" in result.stderr


def test_config_init_reports_problems_of_the_pairing(
    capsys: pytest.CaptureFixture[str], bpe_tokenizer: Path, corpus_file: Path, tmp_path: Path
) -> None:
    """reformer-tiny with a byte-level BPE is written, but the wrong tokenizer kind is reported."""
    result = _main(
        capsys,
        "config",
        "init",
        "--preset",
        "reformer-tiny",
        "--task",
        "clm",
        "--corpus",
        corpus_file,
        "--tokenizer",
        bpe_tokenizer,
        "--out",
        tmp_path / "r.yaml",
    )
    assert result.returncode == 0
    assert "problem: data.tokenizer" in result.stdout
    data = yaml.safe_load((tmp_path / "r.yaml").read_text())
    assert data["model"]["is_decoder"] is True and data["model"]["task"] == "clm"
