"""Short, human figures for the live panels: durations, counts, bytes, rates."""

from __future__ import annotations

import math

_UNITS = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def duration(seconds: float | None) -> str:
    """`1h02m`, `3m05s`, `42s`; a dash when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def count(value: float | None) -> str:
    """`1.25M`, `830k`, `912`; a dash when unknown."""
    if value is None or not math.isfinite(value):
        return "–"
    for scale, suffix in _UNITS:
        if abs(value) >= scale:
            scaled = value / scale
            return f"{scaled:.3g}{suffix}" if scaled < 100 else f"{scaled:.0f}{suffix}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def gib(value: float | None) -> str:
    """Bytes as GiB with one decimal (`12.3`); a dash when unknown."""
    if value is None:
        return "–"
    return f"{value / 2**30:.1f}"


def number(value: float | None, digits: int = 4) -> str:
    """A loss, rate or norm: `2.3456`, `5.00e-04`, `nan`; a dash when unknown."""
    if value is None:
        return "–"
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.{digits}g}"
