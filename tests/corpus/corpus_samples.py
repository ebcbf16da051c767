"""Sample text and helpers shared by the corpus tests (imported by name: tests are not a package)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# Lines that exercise the tricky parts: markup, escapes, controls, non-ASCII, tabs, empties, dups.
SAMPLE_LINES = [
    "La hundo kuras en la parko.",
    "[bold red]not markup[/] and \x1b[31mescape\x1b[0m",
    "",
    "ĉu ŝi manĝas? ĝis! ŭa ĥo ĵe",
    "tab\tseparated\u00a0nbsp\u2003emspace",
    "La hundo kuras en la parko.",
    "日本語のテキスト 😀",
    "last line",
]


def write_text(path: Path, lines: list[str], final_newline: bool = True, newline: str = "\n") -> Path:
    """Write lines as UTF-8 text with the given line ending."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = newline.join(lines) + (newline if final_newline else "")
    path.write_bytes(data.encode("utf-8"))
    return path


def run_studio(
    *args: str, cwd: Path | None = None, user: int | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `studio` command in a subprocess (optionally as another user id)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    preexec: Callable[[], None] | None = None
    if user is not None:
        env["HOME"] = "/tmp"

        def preexec() -> None:
            os.setgid(user)
            os.setuid(user)

    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
        preexec_fn=preexec,
    )
