"""The `studio` command: fast help, and one-line errors (exit 2, no traceback) for bad workspaces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _studio(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_help_lists_the_commands() -> None:
    """`studio --help` names the subcommands."""
    result = _studio("--help")
    assert result.returncode == 0
    for command in ("corpus", "tokenizer", "model", "config", "train", "runs", "bench", "vocab", "attach"):
        assert command in result.stdout


def _assert_clean_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("studio: error:")
    for word in words:
        assert word in result.stderr


def test_workspace_that_is_a_file(tmp_path: Path) -> None:
    """A workspace path that is a file: one line, exit 2."""
    target = tmp_path / "file"
    target.write_text("x")
    _assert_clean_error(_studio(str(target)), "is a file")


def test_unwritable_workspace(read_only_dir: Path) -> None:
    """A workspace that cannot be written: one line, exit 2, nothing created."""
    _assert_clean_error(_studio(str(read_only_dir / "ws")), "not writable")
    assert not (read_only_dir / "ws").exists()


def test_full_disk_workspace(small_disk) -> None:  # type: ignore[no-untyped-def]
    """A disk too small for the demo corpus: one line, exit 2, and no half-written corpus."""
    with small_disk("256k") as disk:
        _assert_clean_error(_studio(str(disk / "ws")), "disk is full")
        leftovers = list((disk / "ws" / "corpora").iterdir()) if (disk / "ws" / "corpora").exists() else []
        assert leftovers == []


def test_bad_config_yaml_is_one_line(tmp_path: Path) -> None:
    """`studio config init` with a bad --set names the field, no traceback."""
    result = _studio(
        "config",
        "init",
        "--preset",
        "nope",
        "--corpus",
        "c.txt",
        "--tokenizer",
        "t",
        "--out",
        str(tmp_path / "x.yaml"),
    )
    _assert_clean_error(result, "unknown preset 'nope'", "tiny-cpu")


@pytest.mark.parametrize("args", [["model", "check", "missing.yaml"], ["train", "missing.yaml"]])
def test_missing_config_file(args: list[str], tmp_path: Path) -> None:
    """Commands that take a CONFIG say plainly when it does not exist."""
    result = _studio(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "missing.yaml" in result.stderr
