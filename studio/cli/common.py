"""Helpers shared by the subcommand modules."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from studio.workspace import default_workspace_path


def add_workspace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-w",
        "--workspace",
        default=None,
        help=f"workspace folder (default: $STUDIO_WORKSPACE or ./{default_workspace_path()})",
    )


def print_json(payload: Any) -> None:
    """Print one JSON object on stdout, as every `--json` promises."""
    json.dump(payload, sys.stdout, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


def workspace_of_run(workspace: str | None, run: str) -> str | None:
    """`-w` as given; without it (and without $STUDIO_WORKSPACE), a run named by its directory
    (`.../runs/ID`) belongs to the workspace that holds it, wherever the command is run from."""
    if workspace is None and run and "STUDIO_WORKSPACE" not in os.environ:
        path = Path(run).resolve()
        if path.is_dir() and path.parent.name == "runs":
            return str(path.parent.parent)
    return workspace
