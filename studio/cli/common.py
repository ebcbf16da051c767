"""Helpers shared by the subcommand modules."""

from __future__ import annotations

import argparse
import json
import sys
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
