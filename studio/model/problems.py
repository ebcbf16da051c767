"""Problems found in a run config, each naming its field, saying why, and carrying a fix.

A fix is one `--set`-style assignment (`model.num_attention_heads=8`): the same string is shown
in the Model screen, applied by its fix key, applied by `studio model check --fix`, and can be
typed by hand after `--set`. An empty value (`model.hiden_size=`) removes a model field, so
that the architecture's default applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config: the field (`section.name`), why, and a fix if there is one."""

    field: str
    message: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "fix": self.fix}


def assignment(field: str, value: Any) -> str:
    """`section.name=value` with the value written as inline YAML (`[64, 64]`, `true`, `0.1`)."""
    if value is None:
        return f"{field}="
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    if text.endswith("\n...") or text.endswith("..."):
        text = text.removesuffix("...").strip()
    return f"{field}={text}"


def fixes_of(problems: Iterable[Problem]) -> list[str]:
    """The fixes of these problems, once each and in order (several rules may agree on one)."""
    seen: dict[str, None] = {}
    for problem in problems:
        if problem.fix and problem.fix not in seen:
            seen[problem.fix] = None
    return list(seen)
