"""The architecture registry: one module per architecture in `studio.model.archs`, found here by name.

Importing this module is cheap; the HF config classes are imported only when asked for.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from studio.errors import StudioError
from studio.model.archs import load_all
from studio.model.archs.base import Arch, Dims, RuleContext

__all__ = ["ARCHES", "Arch", "Dims", "RuleContext", "field_help", "get_arch", "hf_config_fields"]

ARCHES: dict[str, Arch] = {arch.name: arch for arch in load_all()}


def get_arch(name: str) -> Arch:
    try:
        return ARCHES[name]
    except (KeyError, TypeError):
        raise StudioError(f"unknown architecture {name!r}", f"choose one of: {', '.join(ARCHES)}") from None


@functools.cache
def hf_config_fields(arch: str) -> dict[str, Any]:
    """Every field of the architecture's HF config class, with its default value."""
    cls = get_arch(arch).load_config_class()
    return dict(cls().to_dict())


_ARG_LINE = re.compile(r"^\s{4}(\w+) \(`[^`]*`(?:[^)]*)\):\s*$")


@functools.cache
def field_help(arch: str) -> dict[str, str]:
    """Each field's help text, taken from the HF config class's own docstring (imports transformers)."""
    doc = get_arch(arch).load_config_class().__doc__ or ""
    help_texts: dict[str, str] = {}
    current: str | None = None
    for line in doc.splitlines():
        match = _ARG_LINE.match(line)
        if match:
            current = match.group(1)
            help_texts[current] = ""
        elif current and line.startswith(" " * 8) and line.strip():
            help_texts[current] = f"{help_texts[current]} {line.strip()}".strip()
        elif current and line.strip() and not line.startswith(" " * 8):
            current = None
    return {
        name: re.sub(r"\[`?([^\]`]+)`?\]", r"\1", text).replace("`", "") for name, text in help_texts.items()
    }
