"""What an architecture module declares, and the context its rules are checked in.

Each architecture is one small module in this package defining `ARCH`; adding the next one is
writing that module and naming it in `studio.model.archs.MODULES`. Nothing here imports
transformers: the HF config class is named by its dotted path and loaded when first needed.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studio.config import RunConfig
    from studio.model.problems import Problem
    from studio.model.tokenizer_info import TokenizerInfo


@dataclass(frozen=True)
class Dims:
    """The HF names of the sizes that the shared rules and the estimates need."""

    hidden: str = "hidden_size"
    layers: str = "num_hidden_layers"
    heads: str = "num_attention_heads"
    positions: str | None = "max_position_embeddings"
    heads_divide_hidden: bool = True  # False where a head's width is its own field (Reformer)


@dataclass(frozen=True)
class RuleContext:
    """One check: the run config, its effective model fields (HF defaults, then the task's, then
    the user's valid values), and the tokenizer when it could be read."""

    config: RunConfig
    fields: dict[str, Any]
    tokenizer: TokenizerInfo | None

    @property
    def task(self) -> str:
        return self.config.model.task

    @property
    def block_size(self) -> int:
        return self.config.data.block_size


Rule = Callable[[RuleContext], Iterable["Problem"]]


@dataclass(frozen=True)
class Arch:
    """What Studio knows about one architecture."""

    name: str
    config_class: str  # dotted path inside transformers, imported lazily
    tasks: tuple[str, ...]
    tokenizer_kinds: tuple[str, ...]
    description: str
    special_tokens: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # task -> roles needed
    dims: Dims = field(default_factory=Dims)
    rules: tuple[Rule, ...] = ()
    form_fields: tuple[str, ...] = ()  # the fields the Model screen shows first
    task_fields: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # set for the user by task
    position_offset: Callable[[Mapping[str, Any]], int] = lambda fields: 0  # positions used beyond the block

    def load_config_class(self) -> type:
        module, _, attr = self.config_class.rpartition(".")
        return getattr(importlib.import_module(module), attr)


# --- small arithmetic the fixes share ----------------------------------------------------------


def divisors(n: int) -> list[int]:
    """All positive divisors of n, ascending."""
    if n <= 0:
        return []
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted({*small, *(n // d for d in small)})


def nearest_divisor(n: int, target: int) -> int:
    """The divisor of n closest to target (the smaller one on a tie)."""
    return min(divisors(n), key=lambda d: (abs(d - target), d))


def largest_divisor_at_most(n: int, limit: int) -> int:
    """The largest divisor of n that is at most limit (at least 1)."""
    return max([d for d in divisors(n) if d <= max(1, limit)] or [1])


def two_factors(n: int) -> list[int]:
    """n as two factors as close to its square root as possible, smaller first ([64, 64] for 4096)."""
    first = largest_divisor_at_most(n, math.isqrt(n))
    return [first, n // first]


def as_int(value: Any) -> int | None:
    """The value if it is a real integer (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
