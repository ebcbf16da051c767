"""`studio tokenizer train` and `studio tokenizer inspect` as a user runs them (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def studio(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "studio", *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )


def test_train_json(corpus_file: Path, tmp_path: Path) -> None:
    """`tokenizer train --json` prints one JSON object and writes the directory."""
    out = tmp_path / "tok"
    done = studio(
        "tokenizer",
        "train",
        "--corpus",
        str(corpus_file),
        "--kind",
        "bytelevel-bpe",
        "--vocab-size",
        "500",
        "--out",
        str(out),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["vocab_size"] == 500 and payload["kind"] == "bytelevel-bpe" and Path(payload["out"]) == out
    assert (out / "tokenizer.json").is_file()


def test_inspect_json_fields(trained: dict[str, Path], corpus_file: Path) -> None:
    """`tokenizer inspect --json` has fertility, bytes_per_token, unk_rate and vocab_used."""
    for extra in (["--corpus", str(corpus_file), "--lines", "200"], ["--text", "La hundo manĝas."]):
        done = studio("tokenizer", "inspect", str(trained["wordpiece"]), *extra, "--json")
        assert done.returncode == 0, done.stderr
        payload = json.loads(done.stdout)
        for field in (
            "fertility",
            "bytes_per_token",
            "unk_rate",
            "vocab_used",
            "chars_per_token",
            "split3_share",
        ):
            assert isinstance(payload[field], float), field
        assert payload["vocab_size"] == 600


def test_inspect_text_that_is_not_utf8(trained: dict[str, Path]) -> None:
    """`--text` with bytes that are not UTF-8 (a shell can pass any) is measured with U+FFFD for each,
    as a corpus line would be; not an internal error."""
    command: list[str | bytes] = [sys.executable, "-m", "studio", "tokenizer", "inspect"]
    command += [str(trained["bytelevel-bpe"]), "--json", "--text", b"La hundo \xff\xfe mangxas."]
    done = subprocess.run(
        command,
        capture_output=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr.decode()
    payload = json.loads(done.stdout)
    assert payload["chars"] == len("La hundo \ufffd\ufffd mangxas.") and payload["tokens"] > 0


def test_errors_are_one_line_with_hint(tmp_path: Path, corpus_file: Path) -> None:
    """Bad input exits non-zero with a message and a hint, never a traceback."""
    (tmp_path / "exists").mkdir()
    cases = [
        (
            "tokenizer",
            "train",
            "--corpus",
            str(corpus_file),
            "--vocab-size",
            "10",
            "--out",
            str(tmp_path / "a"),
        ),
        ("tokenizer", "train", "--corpus", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "b")),
        (
            "tokenizer",
            "train",
            "--corpus",
            str(corpus_file),
            "--vocab-size",
            "500",
            "--out",
            str(tmp_path / "exists"),
        ),
        ("tokenizer", "inspect", str(corpus_file)),
        ("vocab", str(tmp_path / "missing")),
        ("vocab", str(corpus_file)),
    ]
    for args in cases:
        done = studio(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert "studio: error:" in done.stderr and "hint:" in done.stderr, args
        assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists"]
