"""`studio corpus` subcommands: stats, search, index, view."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from studio.cli.common import add_workspace_option, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    corpus = subparsers.add_parser("corpus", help="look at a corpus: statistics, search, the viewer")
    commands = corpus.add_subparsers(dest="corpus_command", metavar="COMMAND", required=True)

    p = commands.add_parser("stats", help="lines, bytes, chars, words, duplicates, ... of a corpus")
    _add_source_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes counting a big corpus (default: one per CPU; 1 counts in this process)",
    )
    p.set_defaults(func=run_stats)

    p = commands.add_parser("search", help="find a string or a regular expression, with line numbers")
    _add_source_arguments(p)
    p.add_argument("query", help="the text (or, with --regex, the pattern) to find")
    p.add_argument("--regex", action="store_true", help="QUERY is a Python regular expression")
    p.add_argument("--case-sensitive", action="store_true", help="match case exactly")
    p.add_argument("--max-hits", type=int, default=1000, help="stop after this many hits (default 1000)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_search)

    p = commands.add_parser("index", help="build (or reuse) the line index the viewer uses")
    _add_source_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_index)

    p = commands.add_parser("view", help="open the app's Corpus screen on PATH")
    p.add_argument("path", help="a corpus file or folder")
    add_workspace_option(p)
    p.add_argument("--no-animations", action="store_true", help="turn animations off (slow links)")
    p.set_defaults(func=run_view)


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", help=".txt, .gz, .jsonl, .csv, .parquet, a folder of them, or a saved dataset"
    )
    parser.add_argument(
        "--column", default="text", help="the text column of .jsonl/.csv/.parquet (default: text)"
    )
    add_workspace_option(parser)


def _cache_dir(args: argparse.Namespace) -> Path:
    """The workspace's cache when one is named (and exists), else a per-user temp cache."""
    from studio.corpus.document import default_cache_dir

    if args.workspace and Path(args.workspace, ".cache").is_dir():
        return Path(args.workspace, ".cache")
    return default_cache_dir()


def _progress_printer(enabled: bool) -> Any:
    """A progress callback that redraws one line on stderr when it is a terminal."""
    from studio.progress import ProgressUpdate, no_progress

    if not enabled or not sys.stderr.isatty():
        return no_progress

    def report(update: ProgressUpdate) -> None:
        fraction = update.fraction
        share = f"{fraction:4.0%}" if fraction is not None else "    "
        sys.stderr.write(f"\r{update.phase:>10} {share} {update.note[:50]:<50}")
        sys.stderr.flush()

    return report


def _clear_progress() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 70 + "\r")


def run_stats(args: argparse.Namespace) -> int:
    from studio.corpus.stats import compute_stats
    from studio.text import visible

    try:
        stats = compute_stats(
            args.path,
            _progress_printer(True),
            column=args.column,
            cache_dir=_cache_dir(args),
            workers=None if args.workers is None else max(1, args.workers),
        )
    finally:
        _clear_progress()
    if args.json:
        print_json(stats.to_json())
        return 0
    rows = [
        ("files", stats.files),
        ("lines", stats.lines),
        ("bytes", stats.bytes),
        ("chars", stats.chars),
        ("words", stats.words),
        ("distinct chars", stats.distinct_chars),
        ("empty lines", stats.empty_lines),
        ("duplicate lines", f"{stats.duplicate_lines:,}" + ("" if stats.duplicates_exact else " (estimate)")),
        ("invalid UTF-8 lines", stats.invalid_utf8_lines),
        ("longest line", f"line {stats.longest_line:,}: {stats.longest_line_chars:,} chars"),
    ]
    print(stats.path)
    for name, value in rows:
        print(f"  {name:<20} {value:,}" if isinstance(value, int) else f"  {name:<20} {value}")
    if stats.bytes == 0:
        print("  the corpus is empty")
    if stats.looks_binary:
        print(f"  warning: {stats.nul_bytes:,} NUL bytes: this looks like a binary file, not text")
    top = ", ".join(
        f"{visible(char)}:{n:,}" + (f" ({flag})" if flag else "") for char, n, flag in stats.top_chars(12)
    )
    if top:
        print(f"  top characters       {top}")
    return 0


def run_search(args: argparse.Namespace) -> int:
    from studio.corpus.document import CorpusDocument
    from studio.corpus.search import search_corpus
    from studio.text import visible

    document = CorpusDocument(args.path, args.column, _cache_dir(args))
    try:
        document.prepare()
        hits = search_corpus(
            document,
            args.query,
            args.regex,
            args.case_sensitive,
            max_hits=args.max_hits,
            progress=_progress_printer(True),
        )
    finally:
        _clear_progress()
        document.close()
    labels = [segment.label for segment in document.segments]
    if args.json:
        print_json(
            {
                "query": args.query,
                "hits": [
                    {
                        "file": labels[h.segment],
                        "line": h.line + 1,
                        "start": h.start,
                        "end": h.end,
                        "text": h.snippet,
                    }
                    for h in hits
                ],
                "truncated": len(hits) >= args.max_hits,
            }
        )
        return 0
    for hit in hits:
        where = f"{labels[hit.segment]}:" if document.multi_file else ""
        print(f"{where}{hit.line + 1}: {visible(hit.snippet)}")
    if not hits:
        print("no matches", file=sys.stderr)
        return 1
    return 0


def run_index(args: argparse.Namespace) -> int:
    import time

    from studio.corpus.document import open_document

    started = time.perf_counter()
    try:
        document = open_document(args.path, args.column, _cache_dir(args), progress=_progress_printer(True))
    finally:
        _clear_progress()
    seconds = time.perf_counter() - started
    payload = {
        "path": str(document.path),
        "lines": document.line_count,
        "newlines": document.newline_count,
        "files": len(document.segments),
        "index_bytes": sum(s.index.memory_bytes for s in document.segments if s.index is not None),
        "seconds": round(seconds, 3),
    }
    document.close()
    if args.json:
        print_json(payload)
    else:
        print(f"{payload['path']}: {payload['lines']:,} lines indexed in {seconds:.2f} s")
    return 0


def run_view(args: argparse.Namespace) -> int:
    from studio.cli.app import launch_app
    from studio.corpus.formats import describe_corpus
    from studio.workspace import inspection_workspace

    describe_corpus(args.path)  # a missing or unreadable path is reported before the app opens
    workspace = inspection_workspace(args.workspace)
    return launch_app(workspace, args.no_animations, start_screen="corpus", start_path=str(args.path))
