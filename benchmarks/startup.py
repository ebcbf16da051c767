"""Start-up speed: `studio --help` and the app's first frame, medians over repeated runs.

The first frame is measured as a person sees it: the real binary starts in tmux and the screen is
polled (every 5 ms) until the screen's header is drawn: the app on a workspace, `studio vocab` on a
tokenizer and `studio corpus view` on the demo corpus.

    python benchmarks/startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

STUDIO = str(Path(sys.executable).parent / "studio")


def time_help(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([STUDIO, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def seconds_to_frame(
    command: str, marker: str, width: int = 120, height: int = 40, timeout: float = 30.0
) -> float:
    """Seconds from launching `command` in a fresh tmux window until `marker` is on its screen."""
    socket, name = f"studio-bench-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex[:8]
    start = time.perf_counter()
    subprocess.run(
        ["tmux", "-L", socket, "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), command],
        check=True,
    )
    try:
        while True:
            screen = subprocess.run(
                ["tmux", "-L", socket, "capture-pane", "-p", "-t", name], capture_output=True, text=True
            ).stdout
            if marker in screen:
                return time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"{command}: no {marker!r} after {timeout} s:\n{screen}")
            time.sleep(0.005)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def time_first_frame(runs: int, command: str, marker: str) -> list[float]:
    seconds_to_frame(command, marker)  # warm the page cache, as a second launch would be
    return [seconds_to_frame(command, marker) for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    rows = [("studio --help", time_help(args.runs), 0.5)]
    if shutil.which("tmux"):
        with tempfile.TemporaryDirectory() as tmp:
            workspace = Path(tmp) / "workspace"
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    f"from studio.workspace import open_workspace; open_workspace({str(workspace)!r})",
                ],
                check=True,
            )
            corpus = workspace / "corpora" / "demo-esperanto.txt"
            tokenizer = Path(tmp) / "tokenizer"
            subprocess.run(
                [
                    STUDIO,
                    "tokenizer",
                    "train",
                    "--corpus",
                    str(corpus),
                    "--kind",
                    "bytelevel-bpe",
                    "--vocab-size",
                    "8000",
                    "--out",
                    str(tokenizer),
                ],
                check=True,
                capture_output=True,
            )
            screens = [
                ("first frame: studio WORKSPACE", f"{STUDIO} {workspace}", "Studio · Corpus"),
                (
                    "first frame: studio vocab DIR",
                    f"{STUDIO} vocab {tokenizer} -w {workspace}",
                    "Studio · Tokenizer",
                ),
                (
                    "first frame: studio corpus view",
                    f"{STUDIO} corpus view {corpus} -w {workspace}",
                    "Studio · Corpus",
                ),
            ]
            for label, command, marker in screens:
                rows.append((label, time_first_frame(args.runs, command, marker), 1.0))
    print(f"{'what':<34}{'median':>10}{'min':>10}{'max':>10}{'goal':>10}")
    for name, times, goal in rows:
        print(
            f"{name:<34}{statistics.median(times):>9.3f}s{min(times):>9.3f}s{max(times):>9.3f}s{goal:>9.1f}s"
        )


if __name__ == "__main__":
    main()
