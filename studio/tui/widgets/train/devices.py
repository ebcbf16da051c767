"""Devices at a glance: per GPU a memory bar (with torch reserved and peak), utilisation,
temperature and power; and a line for the host's CPU and RAM."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Static

from studio.tui.widgets.train.format import gib

BAR_WIDTH = 18


def memory_bar(
    used: float, total: float, reserved: float | None, peak: float | None, width: int = BAR_WIDTH
) -> Text:
    """`[███▓▓│····]`: █ reserved by torch, ▓ used by anything else, │ the peak torch reached."""
    if total <= 0:
        return Text("[" + "·" * width + "]")
    cells = [("·", "dim")] * width
    used_cells = min(width, round(width * used / total))
    reserved_cells = min(used_cells, round(width * (reserved or 0) / total))
    for i in range(used_cells):
        cells[i] = ("█", "green") if i < reserved_cells else ("▓", "yellow")
    if peak:
        mark = min(width - 1, max(0, round(width * peak / total) - 1))
        cells[mark] = ("│", "bold magenta")
    bar = Text("[")
    for char, style in cells:
        bar.append(char, style)
    bar.append("]")
    return bar


def gpu_text(gpu: Mapping[str, Any]) -> Text:
    """Three lines for one GPU: its name; the memory bar; reserved, peak, utilisation, temperature, power."""
    used = float(gpu.get("memory_used") or 0)
    total = float(gpu.get("memory_total") or 0)
    reserved, peak = gpu.get("torch_reserved"), gpu.get("torch_peak")
    text = Text.assemble((f"GPU{gpu.get('index', '?')} ", "bold"), (str(gpu.get("name") or ""), "dim"), "\n")
    text.append_text(memory_bar(used, total, reserved, peak))
    text.append(f" {gib(used)}/{gib(total)} GiB\n")
    parts = []
    if reserved is not None:
        parts.append(f"res {gib(reserved)}")
    if peak is not None:
        parts.append(f"peak {gib(peak)}")
    for key, unit in (("utilization", "%"), ("temperature", "°C"), ("power", "W")):
        value = gpu.get(key)
        if value is not None:
            parts.append(f"{float(value):.0f}{unit}")
    text.append(" " + "  ".join(parts) if parts else " –", "")
    return text


def host_text(
    cpu_percent: float | None, ram_used: int | None, ram_total: int | None, rss: int | None
) -> Text:
    """CPU use and RAM (used/total, and the worker's own resident memory)."""
    text = Text.assemble(("CPU ", "dim"), f"{cpu_percent:.0f}%" if cpu_percent is not None else "–")
    text.append("  RAM ", "dim")
    text.append(f"{gib(ram_used)}/{gib(ram_total)} GiB" if ram_total else "–")
    if rss is not None:
        text.append("  worker ", "dim")
        text.append(f"{gib(rss)} GiB")
    return text


class DevicesPanel(Static):
    """The run's GPUs from the latest `system` event; the panel hides itself when there are none."""

    DEFAULT_CSS = """
    DevicesPanel { height: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: object = None

    def show_gpus(self, gpus: Sequence[Mapping[str, Any]]) -> None:
        """Draw a reading (skipped when it is the one already shown)."""
        key = [dict(g) for g in gpus]
        if key == self._shown:
            return
        self._shown = key
        text = Text()
        for i, gpu in enumerate(gpus):
            if i:
                text.append("\n")
            text.append_text(gpu_text(gpu))
        self.update(text)
