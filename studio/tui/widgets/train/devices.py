"""Devices at a glance: per GPU a memory bar (with torch reserved and peak), utilisation,
temperature and power; then CPU and RAM. Without GPUs only the CPU line is shown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Static

from studio.tui.widgets.train.format import gib

BAR_WIDTH = 20


def memory_bar(used: float, total: float, reserved: float | None, peak: float | None, width: int = BAR_WIDTH) -> Text:
    """`[███▓▓▒····]`: █ used by torch (reserved), ▓ used by others, │ the peak torch reached."""
    bar = Text("[")
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
    for char, style in cells:
        bar.append(char, style)
    bar.append("]")
    return bar


def gpu_lines(gpu: Mapping[str, Any]) -> Text:
    """Two lines for one GPU: name and memory bar, then utilisation, temperature and power."""
    used = float(gpu.get("memory_used") or 0)
    total = float(gpu.get("memory_total") or 0)
    reserved = gpu.get("torch_reserved")
    peak = gpu.get("torch_peak")
    name = str(gpu.get("name") or "GPU")
    line = Text.assemble((f"GPU{gpu.get('index', '?')} ", "bold"), (name, "dim"), "\n")
    line.append_text(memory_bar(used, total, reserved, peak))
    line.append(f" {gib(used)}/{gib(total)} GiB\n")
    parts = []
    if reserved is not None:
        parts.append(f"res {gib(reserved)}")
    if peak is not None:
        parts.append(f"peak {gib(peak)}")
    for key, unit in (("utilization", "%"), ("temperature", "°C"), ("power", "W")):
        value = gpu.get(key)
        if value is not None:
            parts.append(f"{float(value):.0f}{unit}")
    line.append("  " + "  ".join(parts) if parts else "  –")
    return line


def host_line(cpu_percent: float | None, ram_used: int | None, ram_total: int | None, rss: int | None) -> Text:
    """CPU use and RAM (used/total, and the worker's own resident memory)."""
    text = Text.assemble(("CPU ", "bold"), f"{cpu_percent:.0f}%" if cpu_percent is not None else "–")
    text.append("  ")
    text.append("RAM ", "bold")
    text.append(f"{gib(ram_used)}/{gib(ram_total)} GiB" if ram_total else "–")
    if rss is not None:
        text.append(f"  worker {gib(rss)} GiB")
    return text


class DevicesPanel(Static):
    """Renders the latest `system` event; GPU rows vanish when the run has no GPU."""

    DEFAULT_CSS = """
    DevicesPanel { height: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Text("devices: waiting for the first reading", style="dim"), **kwargs)
        self._shown: object = None

    def show_system(
        self,
        gpus: Sequence[Mapping[str, Any]],
        cpu_percent: float | None,
        ram_used: int | None,
        ram_total: int | None,
        rss: int | None,
    ) -> None:
        """Draw a reading (skipped when it is the one already shown)."""
        key = ([dict(g) for g in gpus], cpu_percent, ram_used, ram_total, rss)
        if key == self._shown:
            return
        self._shown = key
        text = Text()
        for gpu in gpus:
            text.append_text(gpu_lines(gpu))
            text.append("\n")
        text.append_text(host_line(cpu_percent, ram_used, ram_total, rss))
        self.set_class(not gpus, "-cpu-only")
        self.update(text)
