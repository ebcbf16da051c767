"""Commands that open the app: `studio [WORKSPACE]`, `studio corpus view`, `studio vocab`, `studio attach`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studio.workspace import Workspace


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("open", help="open the studio on a workspace (the default command)")
    p.add_argument("workspace", nargs="?", default=None, help="workspace folder (default: ./workspace)")
    p.add_argument("--no-animations", action="store_true", help="turn animations off (slow links)")
    p.set_defaults(func=run_open)

    p = subparsers.add_parser("vocab", help="open the vocabulary inspector on a tokenizer")
    p.add_argument("path", help="a tokenizer directory, a tokenizer.json, or a SentencePiece .model")
    p.add_argument("-w", "--workspace", default=None)
    p.add_argument("--no-animations", action="store_true")
    p.set_defaults(func=run_vocab)

    p = subparsers.add_parser("attach", help="follow a run live in the app (from any terminal)")
    p.add_argument("run", help="run id (or a unique prefix) or run directory")
    p.add_argument("-w", "--workspace", default=None)
    p.add_argument("--no-animations", action="store_true")
    p.set_defaults(func=run_attach)


def launch_app(workspace: Workspace, no_animations: bool = False, **start: object) -> int:
    """Run the app on `workspace`; `start` picks the first screen and what it shows."""
    from studio.tui.app import StudioApp  # textual is imported only when the app really opens

    app = StudioApp(workspace, animations=not no_animations, **start)  # type: ignore[arg-type]
    app.run()
    return app.return_code or 0


def run_open(args: argparse.Namespace) -> int:
    from studio.workspace import open_workspace

    return launch_app(open_workspace(args.workspace), args.no_animations)


def run_vocab(args: argparse.Namespace) -> int:
    from studio.tokenizer.vocab import find_tokenizer_file
    from studio.workspace import inspection_workspace

    path = Path(args.path)
    find_tokenizer_file(path)  # a StudioError saying what was expected, before the app opens
    workspace = inspection_workspace(args.workspace)
    return launch_app(workspace, args.no_animations, start_screen="tokenizer", start_path=str(path))


def run_attach(args: argparse.Namespace) -> int:
    from studio.cli.common import workspace_of_run
    from studio.train.runs import find_run
    from studio.workspace import existing_workspace

    workspace = existing_workspace(workspace_of_run(args.workspace, args.run))
    find_run(workspace, args.run)  # an unknown run is a one-line error, before the app opens
    return launch_app(workspace, args.no_animations, start_screen="train", start_run=args.run)
