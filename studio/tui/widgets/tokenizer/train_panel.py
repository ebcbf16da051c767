"""The trainer form: corpus, kind, sizes, output; a start/cancel button, phase and progress."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, ProgressBar, Select, Static

from studio.tokenizer.options import KINDS, SENTENCEPIECE_KINDS, TrainOptions


class TrainPanel(VerticalScroll):
    """Builds `TrainOptions` from the form; the screen runs the training and reports back here."""

    DEFAULT_CSS = """
    TrainPanel { padding: 0 1; }
    TrainPanel .row { height: 1; margin: 0 0 1 0; }
    TrainPanel .row > Label { width: 16; padding: 0 1 0 0; }
    TrainPanel .row > Checkbox { width: auto; margin: 0 2 0 0; }
    TrainPanel .row > Input { width: 1fr; }
    TrainPanel .row > Select { width: 1fr; }
    TrainPanel #train-buttons { height: 1; margin: 0 0 1 0; }
    TrainPanel #train-buttons > Button { margin: 0 2 0 0; }
    TrainPanel #train-phase { height: auto; padding: 0 1; }
    TrainPanel ProgressBar { padding: 0 1; }
    """

    class Start(Message):
        """The user asked to train with these options into this directory."""

        def __init__(self, options: TrainOptions, out_dir: Path, force: bool) -> None:
            super().__init__()
            self.options = options
            self.out_dir = out_dir
            self.force = force

    class Cancel(Message):
        """The user asked to cancel the training in progress."""

    def __init__(self, corpus: str, tokenizers_dir: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._corpus = corpus
        self._tokenizers_dir = tokenizers_dir
        self.running = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label("corpus")
            yield Input(
                self._corpus,
                placeholder="path to a .txt/.jsonl/.csv/.parquet or folder",
                id="train-corpus",
                compact=True,
            )
        with Horizontal(classes="row"):
            yield Label("kind")
            yield Select(
                [(k, k) for k in KINDS],
                value="bytelevel-bpe",
                allow_blank=False,
                id="train-kind",
                compact=True,
            )
        with Horizontal(classes="row"):
            yield Label("vocab size")
            yield Input("52000", type="integer", id="train-vocab", compact=True)
        with Horizontal(classes="row"):
            yield Label("min frequency")
            yield Input("2", type="integer", id="train-min-frequency", compact=True)
        with Horizontal(classes="row"):
            yield Label("sample (lines)")
            yield Input("", type="integer", placeholder="all lines", id="train-sample", compact=True)
        with Horizontal(classes="row"):
            yield Label("output")
            yield Input(
                "",
                placeholder="folder name under tokenizers/ (default: kind-vocab)",
                id="train-out",
                compact=True,
            )
        with Horizontal(classes="row"):
            yield Checkbox("lowercase", id="train-lowercase", compact=True)
            yield Checkbox("byte fallback (SentencePiece)", id="train-byte-fallback", compact=True)
            yield Checkbox("replace existing", id="train-force", compact=True)
        with Horizontal(id="train-buttons"):
            yield Button("Train", variant="primary", id="train-start", compact=True)
            yield Button("Cancel", variant="error", id="train-cancel", disabled=True, compact=True)
        yield Static(Text("Not training."), id="train-phase")
        yield ProgressBar(total=1, show_eta=False, id="train-progress")

    def read_options(self) -> tuple[TrainOptions, Path, bool]:
        """The options typed in the form (checked by the core when training starts)."""
        kind = str(self.query_one("#train-kind", Select).value)
        vocab = int(self.query_one("#train-vocab", Input).value or 0)
        sample = self.query_one("#train-sample", Input).value
        options = TrainOptions(
            corpus=self.query_one("#train-corpus", Input).value.strip(),
            kind=kind,
            vocab_size=vocab,
            min_frequency=int(self.query_one("#train-min-frequency", Input).value or 2),
            sample_lines=int(sample) if sample else None,
            lowercase=self.query_one("#train-lowercase", Checkbox).value,
            byte_fallback=self.query_one("#train-byte-fallback", Checkbox).value,
            normalization="nmt_nfkc" if kind in SENTENCEPIECE_KINDS else "nfkc",
        )
        name = self.query_one("#train-out", Input).value.strip() or f"{kind}-{vocab}"
        out_dir = Path(name) if Path(name).is_absolute() else self._tokenizers_dir / name
        return options, out_dir, self.query_one("#train-force", Checkbox).value

    def set_sample(self, lines: int) -> None:
        """Fill in a sample size (offered when SentencePiece would not fit in memory)."""
        self.query_one("#train-sample", Input).value = str(lines)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "train-start" and not self.running:
            options, out_dir, force = self.read_options()
            self.post_message(self.Start(options, out_dir, force))
        elif event.button.id == "train-cancel" and self.running:
            self.post_message(self.Cancel())

    def set_running(self, running: bool) -> None:
        self.running = running
        start, cancel = self.query_one("#train-start", Button), self.query_one("#train-cancel", Button)
        enabled, disabled = (cancel, start) if running else (start, cancel)
        enabled.disabled = False
        # Hand focus over before disabling: focus that fell into a hidden tab would show that tab.
        if self.screen.focused in (None, disabled):
            enabled.focus()
        disabled.disabled = True
        bar = self.query_one("#train-progress", ProgressBar)
        bar.update(total=None if running else 1, progress=0)

    def show_phase(self, text: str, fraction: float | None = None) -> None:
        self.query_one("#train-phase", Static).update(Text(text))
        if fraction is not None:
            self.query_one("#train-progress", ProgressBar).update(total=1.0, progress=fraction)
