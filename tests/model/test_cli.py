"""`studio model check` and `studio config init`, run as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml


def _studio(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "studio", *map(str, args)], capture_output=True, text=True,
                          timeout=240)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory, bpe_tokenizer: Path, corpus_file: Path) -> Path:
    """A tiny-cpu run config written by `studio config init`."""
    out = tmp_path_factory.mktemp("cli") / "configs" / "tiny.yaml"
    result = _studio("config", "init", "--preset", "tiny-cpu", "--corpus", corpus_file, "--tokenizer",
                     bpe_tokenizer, "--out", out)
    assert result.returncode == 0, result.stderr
    return out


def test_config_init_takes_vocab_and_ids_from_the_tokenizer(config_file: Path) -> None:
    """The written config has the tokenizer's vocabulary size and special ids, and no problems."""
    data = yaml.safe_load(config_file.read_text())
    assert data["model"]["vocab_size"] == 600 and data["model"]["pad_token_id"] == 1
    assert data["data"]["block_size"] == 128


@pytest.mark.slow
def test_check_json_valid(config_file: Path) -> None:
    """A valid config: exit 0 and one JSON object with the promised fields."""
    result = _studio("model", "check", config_file, "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["valid"] is True and payload["problems"] == []
    assert payload["params"] > 400_000 and payload["flops_per_token"] > payload["params"]
    assert payload["memory_bytes"] > 16 * payload["params"]
    assert payload["hf_config"]["model_type"] == "roberta" and payload["hf_config"]["vocab_size"] == 600


@pytest.mark.slow
def test_check_json_invalid_then_fix(config_file: Path, tmp_path: Path) -> None:
    """Problems come with fixes and a non-zero exit; --fix writes a config that then checks clean."""
    bad = ["--set", "model.num_attention_heads=3", "--set", "model.hidden_dropout_prob=2",
           "--set", "model.hiden_size=10"]
    result = _studio("model", "check", config_file, *bad, "--json")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["valid"] is False
    assert {p["field"]: p["fix"] for p in payload["problems"]} == {
        "model.num_attention_heads": "model.num_attention_heads=2",
        "model.hidden_dropout_prob": "model.hidden_dropout_prob=0.1",
        "model.hiden_size": "model.hiden_size=",
    }
    fixed = tmp_path / "fixed.yaml"
    result = _studio("model", "check", config_file, *bad, "--fix", "--out", fixed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hiden_size" not in fixed.read_text()
    assert _studio("model", "check", fixed).returncode == 0


def test_unknown_architecture_is_named_not_a_traceback(config_file: Path) -> None:
    """An unknown arch is a model.arch problem in the JSON, exit 1, no traceback."""
    result = _studio("model", "check", config_file, "--set", "model.arch=robertta", "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    payload = json.loads(result.stdout)
    assert payload["problems"][0]["field"] == "model.arch"
    assert payload["problems"][0]["fix"] == "model.arch=roberta"


def test_bad_set_and_missing_file_are_one_line_errors(config_file: Path, tmp_path: Path) -> None:
    """A malformed --set or a missing config is one error line with a hint, exit 2."""
    result = _studio("model", "check", config_file, "--set", "nonsense")
    assert result.returncode == 2 and "section.field=value" in result.stderr and "Traceback" not in result.stderr
    result = _studio("model", "check", tmp_path / "nope.yaml")
    assert result.returncode == 2 and "no such config file" in result.stderr


def test_config_init_reports_problems_of_the_pairing(bpe_tokenizer: Path, corpus_file: Path,
                                                     tmp_path: Path) -> None:
    """reformer-tiny with a byte-level BPE is written, but the wrong tokenizer kind is reported."""
    result = _studio("config", "init", "--preset", "reformer-tiny", "--task", "clm", "--corpus", corpus_file,
                     "--tokenizer", bpe_tokenizer, "--out", tmp_path / "r.yaml")
    assert result.returncode == 0
    assert "problem: data.tokenizer" in result.stdout
    data = yaml.safe_load((tmp_path / "r.yaml").read_text())
    assert data["model"]["is_decoder"] is True and data["model"]["task"] == "clm"
