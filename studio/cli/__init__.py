"""The `studio` command: the app by default, and headless subcommands for scripts.

Each subcommand group lives in its own module with a `register(subparsers)` function; handlers
import the heavy libraries they need inside their bodies, so `studio --help` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from studio import __version__
from studio.errors import StudioError

# Each module registers its subcommands; order is the order shown in --help.
COMMAND_MODULES = ("app", "corpus", "tokenizer", "model", "config", "train", "bench")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="studio",
        description="A terminal training studio for language models trained from scratch.\n"
        "Run `studio [WORKSPACE]` to open the app, or a subcommand for headless work.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"studio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"studio.cli.{name}").register(subparsers)
    return parser


def _command_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    commands = _command_names(parser)
    first = next((a for a in args_list if a != "--debug"), None)
    if first is None or (first not in commands and not first.startswith("-")):
        args_list.insert(args_list.index(first) if first else len(args_list), "open")  # `studio [WORKSPACE]`
    args = parser.parse_args(args_list)
    debug = args.debug or bool(os.environ.get("STUDIO_DEBUG"))
    try:
        return int(args.func(args) or 0)
    except StudioError as exc:
        if debug:
            raise
        print(f"studio: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("studio: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so plainly, the traceback only on request
        if debug:
            raise
        print(f"studio: internal error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        print("  hint: run again with --debug for the traceback, and report it", file=sys.stderr)
        return 1
