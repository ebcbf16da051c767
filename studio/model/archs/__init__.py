"""One module per architecture; each defines `ARCH`. Add the next architecture here."""

from __future__ import annotations

import importlib

from studio.model.archs.base import Arch

MODULES = ("roberta", "bert", "gpt2", "llama", "reformer")


def load_all() -> list[Arch]:
    """Every registered architecture, in the order shown to users."""
    return [importlib.import_module(f"studio.model.archs.{name}").ARCH for name in MODULES]
