"""`studio corpus ...`: real subprocesses; figures equal wc; every bad input is one clear line, exit 2."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus_samples import SAMPLE_LINES, run_studio

from studio.cli import main
from studio.workspace import Workspace


def _wc(path: Path) -> tuple[int, int]:
    out = subprocess.run(
        ["wc", "-l", "-c", str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), int(out[1])


def test_stats_json_equals_wc_and_python(corpora: dict[str, Path]) -> None:
    """`corpus stats --json` prints one object whose lines/bytes equal wc and chars/words Python's counts."""
    result = run_studio("corpus", "stats", str(corpora["txt"]), "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    text = corpora["txt"].read_text(encoding="utf-8")
    assert (figures["lines"], figures["bytes"]) == _wc(corpora["txt"])
    assert (figures["chars"], figures["words"]) == (len(text), len(text.split()))
    for field in ("distinct_chars", "empty_lines", "duplicate_lines", "invalid_utf8_lines"):
        assert isinstance(figures[field], int)
    assert figures["empty_lines"] == 1 and figures["duplicate_lines"] == 1


def test_stats_human_output_and_column(corpora: dict[str, Path]) -> None:
    """Without --json the figures are a readable table; --column picks a CSV's text column."""
    result = run_studio("corpus", "stats", str(corpora["csv"]), "--column", "body")
    assert result.returncode == 0, result.stderr
    assert f"lines                {len(SAMPLE_LINES)}" in result.stdout


def test_search_and_index_json(corpora: dict[str, Path]) -> None:
    """`corpus search --json` lists hits with 1-based lines; `corpus index --json` counts lines."""
    hits = json.loads(run_studio("corpus", "search", str(corpora["txt"]), "HUNDO", "--json").stdout)["hits"]
    assert [h["line"] for h in hits] == [1, 6]
    index = json.loads(run_studio("corpus", "index", str(corpora["txt"]), "--json").stdout)
    assert index["lines"] == len(SAMPLE_LINES)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("missing.txt", None, "no such file or folder"),
        ("empty-dir", "dir", "holds no readable corpus files"),
        ("corrupt.txt.gz", gzip.compress(b"hello\n" * 1000)[:40], "corrupt or truncated gzip"),
        ("weird.xyz", b"abc", "unknown corpus format"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, name: str, data: object, message: str) -> None:
    """Bad input exits 2 with the problem and a hint on stderr, and no traceback."""
    path = tmp_path / name
    if data == "dir":
        path.mkdir()
    elif isinstance(data, bytes):
        path.write_bytes(data)
    result = run_studio("corpus", "stats", str(path), "--json")
    assert result.returncode == 2
    assert message in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_binary_and_empty_files_are_described(tmp_path: Path) -> None:
    """A binary file is counted and called binary; an empty file says it is empty."""
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01ELF\x00" * 100)
    result = run_studio("corpus", "stats", str(binary))
    assert result.returncode == 0 and "looks like a binary file" in result.stdout
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = run_studio("corpus", "stats", str(empty))
    assert result.returncode == 0 and "the corpus is empty" in result.stdout


def test_view_refuses_a_missing_path_before_opening_the_app(tmp_path: Path) -> None:
    """`corpus view` checks the path first, so a typo never opens a blank app."""
    result = run_studio("corpus", "view", str(tmp_path / "nope.txt"), "-w", str(tmp_path / "ws"))
    assert result.returncode == 2 and "no such file or folder" in result.stderr


@pytest.fixture
def unreadable_file() -> Iterator[Path]:
    """A file nobody but its owner may read, in a folder anyone can search."""
    folder = Path(tempfile.mkdtemp(prefix="studio-perm-", dir="/tmp"))
    folder.chmod(0o755)
    path = folder / "secret.txt"
    path.write_text("hidden\n")
    path.chmod(0o000)
    yield path
    path.chmod(0o600)
    path.unlink()
    folder.rmdir()


def _run_as_nobody(argv: list[str]) -> tuple[int, str]:
    """Run `studio.cli.main(argv)` in a forked child that dropped root (root reads any file)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.close(read_end)
            sys.stdout = sys.stderr = open(write_end, "w", closefd=False)
            os.setgid(65534)
            os.setuid(65534)
            code = main(argv)
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        output = pipe.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


def test_permission_denied(unreadable_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unreadable file is reported as permission denied, exit 2."""
    if os.geteuid() == 0:
        code, output = _run_as_nobody(["corpus", "stats", str(unreadable_file)])
    else:
        code = main(["corpus", "stats", str(unreadable_file)])
        output = capsys.readouterr().err
    assert code == 2 and "permission denied" in output and "Traceback" not in output


def test_view_opens_the_corpus_screen_on_path(
    corpora: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`corpus view PATH` starts the app on the Corpus screen with PATH as its start path."""
    import studio.cli.app

    calls: list[tuple[object, ...]] = []

    def fake_launch(*args: object, **kwargs: object) -> int:
        calls.append((args, kwargs))
        return 0

    monkeypatch.setattr(studio.cli.app, "launch_app", fake_launch)
    assert main(["corpus", "view", str(corpora["txt"]), "-w", str(tmp_path / "ws")]) == 0
    assert calls == [
        ((Workspace(tmp_path / "ws"), False), {"start_screen": "corpus", "start_path": str(corpora["txt"])})
    ]
