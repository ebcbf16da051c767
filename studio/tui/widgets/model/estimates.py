"""The live estimates: parameters, FLOPs per token, memory, tokens, and time to train."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from studio.model.estimate import human_bytes as _bytes
from studio.model.estimate import human_count as _count
from studio.model.estimate import human_seconds


def _duration(seconds: float | None) -> str:
    return "measure to know" if seconds is None else human_seconds(seconds)


class EstimatesView(Static):
    """A small table of figures; `show(estimates, measured)` repaints it."""

    DEFAULT_CSS = """
    EstimatesView { height: auto; border: round $primary; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.border_title = "Estimates"
        self.show(None, None, ["checking…"])

    def show(
        self,
        estimates: dict[str, Any] | None,
        measured: dict[str, Any] | None,
        notes: list[str] | None = None,
    ) -> None:
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        if estimates:
            memory = estimates["memory"]
            table.add_row("parameters", f"{estimates['params']:,} ({_count(estimates['params'])})")
            table.add_row("FLOPs/token", _count(estimates["flops_per_token"]))
            table.add_row(
                "memory",
                f"{_bytes(memory['total'])}: weights {_bytes(memory['weights'])}, grads "
                f"{_bytes(memory['gradients'])}, AdamW {_bytes(memory['optimizer'])}, activations "
                f"{_bytes(memory['activations'])}",
            )
            chinchilla = estimates["chinchilla_tokens"]
            planned = estimates["planned_tokens"]
            ratio = f" ({planned / chinchilla:.2g}× of 20/param)" if planned and chinchilla else ""
            table.add_row("tokens", f"{_count(planned)} planned{ratio}")
            epochs = estimates.get("epochs")
            corpus = _count(estimates["corpus_tokens"])
            table.add_row("corpus", f"{corpus} tokens" + (f", {epochs:.3g} epochs" if epochs else ""))
            table.add_row("optimal", f"{_count(chinchilla)} tokens (Chinchilla, 20 per parameter)")
            table.add_row("time", _duration(estimates.get("seconds_to_train")))
        if measured:
            table.add_row(
                "measured",
                f"{measured['step_seconds']:.3g} s/step, peak "
                f"{_bytes(measured['peak_memory_bytes'])}, {measured['tokens_per_second']:,.0f} tok/s "
                f"on {measured['device']}",
            )
        for note in notes or ():
            table.add_row("", Text(note, style="italic"))
        self.update(table)
