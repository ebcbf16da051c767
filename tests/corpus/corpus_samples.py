"""Sample text and helpers shared by the corpus tests (imported by name: tests are not a package)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from studio.corpus.stats import CHAR_LENGTH_CAP, WORD_LENGTH_CAP

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


def reference_stats(data: bytes, block: int) -> dict[str, Any]:
    """Every figure of `compute_stats`, the slow and obvious way (per-line lengths of valid lines).
    Lines of `block` bytes or more are too long to be checked for duplicates, as documented."""
    text = data.decode("utf-8", "replace")
    lines = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        lines.pop()
    seen: set[bytes] = set()
    duplicates = invalid = 0
    chars_per_line, words_per_line = [], []
    for line in lines:
        if line and len(line) < block:
            duplicates += line in seen
            seen.add(line)
        words_per_line.append(len(line.decode("utf-8", "replace").split()))
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError:
            invalid += 1
            continue
        chars_per_line.append(len(decoded.removesuffix("\r")))
    longest = max(chars_per_line, default=0)
    return {
        "lines": data.count(b"\n"),
        "bytes": len(data),
        "chars": len(text),
        "words": len(text.split()),
        "distinct_chars": len(set(text)),
        "empty_lines": sum(1 for line in lines if not line.removesuffix(b"\r")),
        "duplicate_lines": duplicates,
        "invalid_utf8_lines": invalid,
        "char_counts": dict(Counter(text)),
        "longest_line": chars_per_line.index(longest) + 1 if chars_per_line and not invalid else None,
        "line_chars": np.bincount(np.minimum(chars_per_line, CHAR_LENGTH_CAP), minlength=CHAR_LENGTH_CAP + 1),
        "line_words": np.bincount(np.minimum(words_per_line, WORD_LENGTH_CAP), minlength=WORD_LENGTH_CAP + 1),
    }
