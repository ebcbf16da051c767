"""Layering: the core never loads textual, and the app never loads the heavy ML libraries."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import studio


def _modules_after_import(*modules: str) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def _core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(studio.__path__, prefix="studio."):
        if info.name.startswith(("studio.tui", "studio.__main__")):
            continue
        names.append(info.name)
    return names


def test_core_never_imports_textual() -> None:
    """Every module outside studio.tui imports without textual appearing in sys.modules."""
    core = _core_modules()
    assert "studio.config" in core and "studio.train.events" in core
    loaded = _modules_after_import(*core)
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_app_does_not_import_heavy_libraries() -> None:
    """Importing the app (and every screen) loads no torch, transformers or datasets."""
    from studio.tui.app import SCREEN_MODULES

    screens = [target.partition(":")[0] for target in SCREEN_MODULES.values()]
    loaded = _modules_after_import("studio.tui.app", "studio.cli", *screens)
    heavy = {"torch", "transformers", "datasets", "sentencepiece", "tokenizers"}
    assert not heavy & loaded


def test_import_contracts_hold() -> None:
    """The import-linter contracts in pyproject.toml are kept."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], capture_output=True, text=True)
    assert "Contracts:" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
