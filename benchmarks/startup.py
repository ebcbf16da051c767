"""Start-up speed: `studio --help` and the app's first frame, medians over repeated runs.

The first frame is measured as a person sees it: the real binary starts in tmux and the screen is
polled (every 5 ms) until the Corpus screen's header is drawn.

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


def time_first_frame(runs: int, workspace: Path, marker: str = "Studio · Corpus") -> list[float]:
    socket = f"studio-bench-{uuid.uuid4().hex[:6]}"
    times = []
    for _ in range(runs):
        name = uuid.uuid4().hex[:8]
        start = time.perf_counter()
        subprocess.run(
            [
                "tmux",
                "-L",
                socket,
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "120",
                "-y",
                "40",
                f"{STUDIO} {workspace}",
            ],
            check=True,
        )
        while True:
            screen = subprocess.run(
                ["tmux", "-L", socket, "capture-pane", "-p", "-t", name], capture_output=True, text=True
            ).stdout
            if marker in screen:
                times.append(time.perf_counter() - start)
                break
            if time.perf_counter() - start > 30:
                raise SystemExit(f"no first frame after 30 s:\n{screen}")
            time.sleep(0.005)
        subprocess.run(["tmux", "-L", socket, "kill-session", "-t", name], capture_output=True)
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    return times


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
            time_first_frame(1, workspace)  # warm the page cache, as a second launch would be
            rows.append(("first frame of the app", time_first_frame(args.runs, workspace), 1.0))
    print(f"{'what':<26}{'median':>10}{'min':>10}{'max':>10}{'goal':>10}")
    for name, times, goal in rows:
        print(
            f"{name:<26}{statistics.median(times):>9.3f}s{min(times):>9.3f}s{max(times):>9.3f}s{goal:>9.1f}s"
        )


if __name__ == "__main__":
    main()
