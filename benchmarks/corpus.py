"""Corpus layer figures on a generated file: index GB/s and stats MB/s (vs `wc -l`), first page and
goto-line latency, and memory while browsing.

    .venv/bin/python benchmarks/corpus.py            # 1 GB file in a temp dir, deleted afterwards
    .venv/bin/python benchmarks/corpus.py --gb 5     # the 5 GB variant (needs ~5 GB of free disk)
    .venv/bin/python benchmarks/corpus.py --file F --skip-app --repeat 3   # an existing file, medians

The file is Esperanto-like text from the demo generator, every line made distinct (a copy number
in front), so duplicate detection works as hard as it can. The page cache is warmed first: the
figures are for a warm cache, as the issue asks. `wc -l` runs on the same file in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

from studio.corpus.demo import iter_demo_lines
from studio.corpus.document import CorpusDocument
from studio.corpus.index import build_line_index, load_line_index
from studio.corpus.stats import compute_stats

PAGE_ROWS = 40
GOTO_TRIALS = 300


def generate(path: Path, size: int) -> None:
    """Write `size` bytes of distinct demo-like lines."""
    base = [line.encode() for line in iter_demo_lines(200_000)]
    written, copy = 0, 0
    with open(path, "wb", buffering=16 << 20) as out:
        while written < size:
            prefix = b"%d " % copy
            block = b"".join(prefix + line + b"\n" for line in base)
            block = block[: size - written]
            if written + len(block) >= size:  # end on a whole line
                block = block[: block.rfind(b"\n") + 1] or block
            out.write(block)
            written += len(block)
            copy += 1
            if len(block) == 0:
                break


def warm(path: Path) -> None:
    with open(path, "rb") as handle:
        while handle.read(64 << 20):
            pass


def timed(action):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def cpu_seconds() -> float:
    """CPU time of this process and its finished children: unlike wall time, it does not grow when
    other jobs share the machine, so MB per CPU-second shows what a quiet machine would do."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def rate(size: int, wall: float, cpu: float, unit: float, name: str) -> str:
    return f"{size / wall / unit:.2f} {name}/s wall ({wall:.1f} s), {size / cpu / unit:.2f} {name} per CPU-s"


def first_page_seconds(path: Path, cache: Path) -> float:
    """Open with an empty cache, start indexing in a thread, and time until a page can be drawn."""
    from studio.tui.widgets.corpus.viewer import display_text

    start = time.perf_counter()
    document = CorpusDocument(path, cache_dir=cache)
    document.prepare()
    builder = threading.Thread(target=document.build_indexes, daemon=True)
    builder.start()
    while True:
        document.refresh()
        if document.row_count >= PAGE_ROWS or not builder.is_alive():
            break
        time.sleep(0.0005)
    rows = document.read_rows(0, PAGE_ROWS)
    [display_text(row.raw.data) for row in rows if row.raw is not None]
    elapsed = time.perf_counter() - start
    indexing_finished = not builder.is_alive()
    builder.join()
    document.close()
    if indexing_finished:
        print("  note: indexing finished before the first page (small file)")
    return elapsed


def goto_latencies(path: Path, cache: Path) -> list[float]:
    """Jump to random lines of an indexed document and draw a page each time."""
    from studio.tui.widgets.corpus.viewer import display_text

    document = CorpusDocument(path, cache_dir=cache)
    document.prepare()
    document.build_indexes()
    rng = random.Random(7)
    seconds = []
    for _ in range(GOTO_TRIALS):
        line = rng.randrange(document.line_count)
        start = time.perf_counter()
        rows = document.read_rows(document.row_of_global_line(line), PAGE_ROWS)
        [display_text(row.raw.data) for row in rows if row.raw is not None]
        seconds.append(time.perf_counter() - start)
    document.close()
    return seconds


async def app_browse_rss(path: Path, workspace_dir: Path) -> tuple[float, float]:
    """Open the real app on the file, jump around, and return (seconds to first page, RSS MB)."""
    from studio.tui.app import StudioApp
    from studio.tui.screens.corpus import CorpusScreen
    from studio.workspace import open_workspace

    workspace = open_workspace(workspace_dir, demo=False)
    app = StudioApp(workspace, animations=False, start_path=str(path))
    start = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        while not (
            isinstance(screen, CorpusScreen) and screen.document and screen.document.row_count >= PAGE_ROWS
        ):
            await pilot.pause(0.001)
            screen = app.screen
        first_page = time.perf_counter() - start
        await app.workers.wait_for_complete()
        assert isinstance(screen, CorpusScreen) and screen.document is not None
        total = screen.document.line_count
        for fraction in (0.1, 0.5, 0.9, 0.33, 0.99):
            screen.goto_line(str(int(total * fraction)))
            await pilot.pause()
        rss = psutil.Process().memory_info().rss / 1e6
    return first_page, rss


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--gb", type=float, default=1.0, help="file size in GB (default 1; 5 for the big run)"
    )
    parser.add_argument("--dir", default=None, help="where to write the file (default: a temp dir)")
    parser.add_argument("--skip-app", action="store_true", help="skip the app (Pilot) measurement")
    parser.add_argument("--file", default=None, help="measure this file instead of generating one (kept)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="statistics runs per setting; the median is shown (default 1)"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="studio-corpus-bench-", dir=args.dir))
    path = Path(args.file) if args.file else folder / "corpus.txt"
    rows: list[tuple[str, str]] = []
    try:
        if not args.file:
            _, seconds = timed(lambda: generate(path, int(args.gb * 1e9)))
            print(f"generated {path.stat().st_size / 1e9:.2f} GB in {seconds:.1f} s", file=sys.stderr)
        size = path.stat().st_size
        warm(path)

        cpu = cpu_seconds()
        wc, wc_seconds = timed(
            lambda: subprocess.run(["wc", "-l", str(path)], capture_output=True, text=True, check=True)
        )
        rows.append(("wc -l", rate(size, wc_seconds, cpu_seconds() - cpu, 1e9, "GB")))

        cpu = cpu_seconds()
        index, index_seconds = timed(lambda: build_line_index(path))
        assert index.newlines == int(wc.stdout.split()[0]), "index and wc -l disagree"
        rows.append(
            ("line index (numpy over mmap)", rate(size, index_seconds, cpu_seconds() - cpu, 1e9, "GB"))
        )
        rows.append(("index memory", f"{index.memory_bytes / 1e6:.1f} MB for {index.line_count:,} lines"))

        cache = folder / "cache"
        load_line_index(path, cache)  # writes the cache
        _, cached_seconds = timed(lambda: load_line_index(path, cache))
        rows.append(("reopen with cached index", f"{cached_seconds * 1000:.1f} ms"))

        rows.append(
            ("first page (empty cache)", f"{first_page_seconds(path, folder / 'cold') * 1000:.1f} ms")
        )
        latencies = goto_latencies(path, cache)
        rows.append(
            (
                f"goto line + draw {PAGE_ROWS} rows",
                f"median {statistics.median(latencies) * 1000:.2f} ms, max {max(latencies) * 1000:.2f} ms",
            )
        )
        rows.append(("RSS after browsing (core)", f"{psutil.Process().memory_info().rss / 1e6:.0f} MB"))
        if not args.skip_app:
            first_page, rss = asyncio.run(app_browse_rss(path, folder / "ws"))
            rows.append(("app: first page on screen", f"{first_page * 1000:.0f} ms (includes app start)"))
            rows.append(("app: RSS while browsing", f"{rss:.0f} MB (whole process)"))

        # one process, then the default (one worker process per CPU for a corpus this big)
        for workers in (1, None):
            walls, cpus = [], []
            for _ in range(args.repeat):
                cpu = cpu_seconds()
                stats, stats_seconds = timed(lambda workers=workers: compute_stats(path, workers=workers))
                assert stats.lines == index.newlines and stats.bytes == size
                walls.append(stats_seconds)
                cpus.append(cpu_seconds() - cpu)
            wall, used = statistics.median(walls), statistics.median(cpus)
            label = "statistics, 1 process" if workers == 1 else "statistics, default (worker processes)"
            rows.append((label, rate(size, wall, used, 1e6, "MB")))
            if args.repeat > 1:
                rows.append(("  runs (MB/s wall)", ", ".join(f"{size / w / 1e6:.0f}" for w in walls)))
            if workers is None:  # what the workers would give with the CPUs to themselves
                cpus_used = min(len(os.sched_getaffinity(0)), 8)
                rows.append(("  if each had a free CPU", f"{size / (used / cpus_used) / 1e6:.0f} MB/s"))
        exactness = "exact" if stats.duplicates_exact else "estimate"
        rows.append(("  duplicate lines", f"{stats.duplicate_lines:,} ({exactness})"))
        rows.append(("RSS after statistics", f"{psutil.Process().memory_info().rss / 1e6:.0f} MB"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    width = max(len(name) for name, _ in rows)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"corpus benchmark: {size / 1e9:.2f} GB, {os.cpu_count()} CPUs, load average {load}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
