"""The Tokenizer screen: inspect a vocabulary, train a tokenizer, compare two.

Inspect: the whole vocabulary in a virtualised table (filter as you type, sort by id, length or
corpus frequency), the highlighted token's detail, a try-it box and the figures on held-out text.
Train: the trainer form; training runs in its own process (cancel kills it). Compare: a second
tokenizer's figures next to the first, and the same text split by each.

Everything slow happens in thread workers (named groups) that report back with messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from studio.errors import Cancelled, StudioError
from studio.progress import CancelFlag, ProgressUpdate
from studio.tui.screens.base import StudioScreen
from studio.tui.widgets.tokenizer.figures_view import FiguresView
from studio.tui.widgets.tokenizer.train_panel import TrainPanel
from studio.tui.widgets.tokenizer.try_it import TryItBox, pieces_text
from studio.tui.widgets.tokenizer.vocab_table import VocabTable, header_text, token_text

if TYPE_CHECKING:
    from studio.tokenizer.train import TrainResult
    from studio.tokenizer.vocab import Vocabulary

SORTS = ("id", "length", "frequency")
FREQUENCY_SAMPLE_LINES = 5000
COMPARE_SAMPLE = "La bona hundo manĝas panon en Varsovio."


class VocabLoaded(Message):
    def __init__(self, vocab: Vocabulary, label: str) -> None:
        super().__init__()
        self.vocab = vocab
        self.label = label


class FrequencyReady(Message):
    def __init__(self, vocab: Vocabulary, lines: list[str], figures: dict[str, Any] | None) -> None:
        super().__init__()
        self.vocab = vocab
        self.lines = lines
        self.figures = figures


class TrainProgress(Message):
    def __init__(self, update: ProgressUpdate) -> None:
        super().__init__()
        self.update = update

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TrainProgress)


class TrainDone(Message):
    def __init__(self, result: TrainResult) -> None:
        super().__init__()
        self.result = result


class CompareReady(Message):
    def __init__(self, other: Vocabulary, label: str, figures: list[dict[str, Any]]) -> None:
        super().__init__()
        self.other = other
        self.label = label
        self.figures = figures


class TokenizerScreen(StudioScreen):
    MODE = "tokenizer"
    TITLE = "Tokenizer"
    HELP = (
        "Train a tokenizer on a corpus (byte-level BPE, WordPiece, Unigram, SentencePiece) and inspect its "
        "vocabulary: filter as you type, sort by id, length or corpus frequency, see a token's detail, try text, "
        "read its figures on held-out lines, and compare it with another tokenizer."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash",
            "focus_filter",
            "Filter",
            id="tokenizer.filter",
            tooltip="Filter the vocabulary as you type",
        ),
        Binding(
            "s", "cycle_sort", "Sort", id="tokenizer.sort", tooltip="Sort by id, length or corpus frequency"
        ),
        Binding("r", "reverse_sort", "Reverse", id="tokenizer.reverse", tooltip="Reverse the sort order"),
        Binding(
            "o",
            "focus_path",
            "Open",
            id="tokenizer.open",
            tooltip="Open a tokenizer folder, tokenizer.json or .model",
        ),
        Binding("y", "focus_try", "Try it", id="tokenizer.try", tooltip="Type text and see its tokens"),
        Binding(
            "t", "show_train", "Train", id="tokenizer.train", tooltip="Train a tokenizer (in its own process)"
        ),
        Binding(
            "c", "show_compare", "Compare", id="tokenizer.compare", tooltip="Compare with another tokenizer"
        ),
        Binding(
            "i", "show_inspect", "Inspect", id="tokenizer.inspect", tooltip="Back to the vocabulary inspector"
        ),
        Binding(
            "escape",
            "leave_input",
            "Leave field",
            show=False,
            id="tokenizer.leave",
            tooltip="Leave the text field, back to the vocabulary (so keys are commands again)",
        ),
        Binding(
            "ctrl+x",
            "cancel_training",
            "Cancel training",
            id="tokenizer.cancel",
            tooltip="Stop the training process now (nothing is written)",
        ),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vocab: Vocabulary | None = None
        self.sample_lines: list[str] = []
        self.figures: dict[str, Any] | None = None
        self.label = ""
        self.sort_key = "id"
        self.descending = False
        self._cancel: CancelFlag | None = None
        self._opening = 0  # tokenizers asked for and not yet loaded and measured

    @property
    def idle(self) -> bool:
        """True when no tokenizer is being opened or measured (tests wait for this)."""
        return self._opening == 0 and not any(
            w.group.startswith("tokenizer-") and not w.is_finished for w in self.workers
        )

    # --- layout ----------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        workspace = self.studio.workspace
        corpus = str(workspace.demo_corpus) if workspace.demo_corpus.exists() else ""
        with TabbedContent(initial="tok-inspect", id="tok-tabs"):
            with TabPane("Inspect", id="tok-inspect"):
                yield Input(
                    placeholder="tokenizer: folder, tokenizer.json or .model — Enter opens",
                    id="tok-path",
                    compact=True,
                )
                with Horizontal(id="tok-main"):
                    with Vertical(id="tok-vocab-side"):
                        yield Input(placeholder="filter tokens (/)", id="tok-filter", compact=True)
                        yield Static(Text(""), id="tok-header")
                        yield VocabTable(id="tok-table")
                        yield Static(Text("No tokenizer open."), id="tok-status")
                    with VerticalScroll(id="tok-detail-side"):
                        yield Static(Text(""), id="tok-detail")
                        yield TryItBox(id="tok-try")
                        yield FiguresView(Text(""), id="tok-figures")
            with TabPane("Train", id="tok-train"):
                yield TrainPanel(corpus, workspace.tokenizers, id="tok-train-panel")
            with TabPane("Compare", id="tok-compare"):
                yield Input(
                    placeholder="other tokenizer: folder, tokenizer.json or .model — Enter compares",
                    id="tok-compare-path",
                )
                yield Input(COMPARE_SAMPLE, placeholder="text tokenized by both", id="tok-compare-text")
                with VerticalScroll():
                    yield FiguresView(
                        Text("Open a tokenizer in Inspect, then give another one here."),
                        id="tok-compare-figures",
                    )
                    yield Static(Text(""), id="tok-compare-pieces")

    DEFAULT_CSS = """
    TokenizerScreen #tok-main { height: 1fr; }
    TokenizerScreen #tok-vocab-side { width: 1fr; min-width: 30; }
    TokenizerScreen #tok-detail-side { width: 1fr; min-width: 30; }
    TokenizerScreen #tok-header { height: 1; }
    TokenizerScreen #tok-status { height: 1; color: $text-muted; }
    TokenizerScreen #tok-detail { height: auto; padding: 0 1; }
    TokenizerScreen #tok-compare-pieces { height: auto; padding: 1 1; }
    TokenizerScreen #tok-tabs { height: 1fr; }
    TokenizerScreen #tok-tabs > ContentSwitcher { height: 1fr; }
    TokenizerScreen TabPane { padding: 0; height: 1fr; }
    """

    def on_mount(self) -> None:
        self._update_header()
        start = self.studio.start_args_for(self.MODE).get("start_path")
        if start:
            self.query_one("#tok-path", Input).value = str(start)
            self.open_tokenizer(str(start))
        else:
            latest = self._latest_tokenizer()
            if latest is not None:
                self.query_one("#tok-path", Input).value = str(latest)
                self.open_tokenizer(str(latest))

    def _latest_tokenizer(self) -> Path | None:
        folder = self.studio.workspace.tokenizers
        try:
            found = [p for p in folder.iterdir() if (p / "tokenizer.json").is_file()]
        except OSError:
            return None
        return max(found, key=lambda p: p.stat().st_mtime) if found else None

    def on_resize(self) -> None:
        self._update_header()

    def _update_header(self) -> None:
        table = self.query_one(VocabTable)
        width = table.size.width or max(30, self.size.width // 2)
        self.query_one("#tok-header", Static).update(header_text(width))

    # --- actions ---------------------------------------------------------------------------------

    def action_focus_filter(self) -> None:
        self.action_show_inspect()
        self.query_one("#tok-filter", Input).focus()

    def action_focus_path(self) -> None:
        self.action_show_inspect()
        self.query_one("#tok-path", Input).focus()

    def action_focus_try(self) -> None:
        self.action_show_inspect()
        self.query_one("#try-input", Input).focus()

    # Focus moves into the pane shown: focus left in a hidden pane would switch the tabs back.
    def action_show_inspect(self) -> None:
        self.query_one(TabbedContent).active = "tok-inspect"
        if self.focused is None or self.query_one("#tok-inspect") not in self.focused.ancestors:
            self.query_one(VocabTable).focus()

    def action_show_train(self) -> None:
        self.query_one(TabbedContent).active = "tok-train"
        self.query_one("#train-corpus", Input).focus()

    def action_show_compare(self) -> None:
        self.query_one(TabbedContent).active = "tok-compare"
        self.query_one("#tok-compare-path", Input).focus()

    def action_cycle_sort(self) -> None:
        choices = SORTS if self.vocab is not None and self.vocab.frequency is not None else SORTS[:2]
        self.sort_key = (
            choices[(choices.index(self.sort_key) + 1) % len(choices)] if self.sort_key in choices else "id"
        )
        self.descending = self.sort_key != "id"
        self.refresh_view()

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self.refresh_view()

    def action_leave_input(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one(VocabTable).focus()

    def action_cancel_training(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    # --- inspector -------------------------------------------------------------------------------

    @on(Input.Submitted, "#tok-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.open_tokenizer(event.value.strip())

    @on(Input.Changed, "#tok-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.refresh_view()

    def open_tokenizer(self, path: str) -> None:
        self.query_one("#tok-status", Static).update(Text(f"Opening {Path(path).name} …"))
        self._opening += 1
        # Loading holds the GIL inside Rust for a while (250k tokens: ~1 s), so it starts just
        # after the screen (the first frame of `studio vocab`) has been painted and written out.
        self.call_after_refresh(self.set_timer, 0.1, lambda: self._load(path))

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="tokenizer-load", description="open tokenizer"
    )
    def _load(self, path: str) -> None:
        from studio.tokenizer.vocab import open_vocabulary

        vocab = open_vocabulary(path)
        self.post_message(VocabLoaded(vocab, Path(path).name or path))

    def on_vocab_loaded(self, message: VocabLoaded) -> None:
        self.vocab = message.vocab
        self.label = message.label
        self.figures = None
        self.sample_lines = []
        self.sort_key, self.descending = "id", False
        self.refresh_view()
        self.query_one(TryItBox).set_vocab(message.vocab)
        self.query_one("#tok-figures", FiguresView).show_note("Measuring on held-out lines …")
        self._measure(message.vocab)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="tokenizer-frequency",
        description="count tokens",
    )
    def _measure(self, vocab: Vocabulary) -> None:
        """Corpus frequency of every token and the figures, on held-out lines of the training corpus."""
        from studio.tokenizer.figures import compute_figures, held_out_lines
        from studio.tokenizer.vocab import count_frequencies

        try:
            lines = held_out_lines(vocab, FREQUENCY_SAMPLE_LINES)
        except StudioError:  # the training corpus moved or changed: no figures, not an error
            lines = []
        if not lines:
            self.post_message(FrequencyReady(vocab, [], None))
            return
        counts = count_frequencies(vocab.tokenizer, lines, len(vocab))
        figures = compute_figures(vocab, lines).to_dict()
        vocab.set_frequency(counts)
        self.post_message(FrequencyReady(vocab, lines, figures))

    def on_frequency_ready(self, message: FrequencyReady) -> None:
        self._opening = max(0, self._opening - 1)
        if message.vocab is not self.vocab:
            return
        self.sample_lines = message.lines
        self.figures = message.figures
        view = self.query_one("#tok-figures", FiguresView)
        if message.figures is None:
            view.show_note(
                "No held-out text: the training corpus is not known or gone. "
                "Use `studio tokenizer inspect --corpus` for figures."
            )
        else:
            view.show_figures([message.figures], [self.label])
        self.query_one(VocabTable).refresh()
        self._show_detail(self.query_one(VocabTable).current_id)
        self._update_status()

    def refresh_view(self) -> None:
        """Apply the filter and the sort to the table."""
        table = self.query_one(VocabTable)
        if self.vocab is None:
            table.set_view(None, [])
            return
        query = self.query_one("#tok-filter", Input).value
        ids = self.vocab.filter(query)
        if self.sort_key != "id" or self.descending:
            ids = self.vocab.sort(ids, self.sort_key, self.descending)
        table.set_view(self.vocab, ids)
        self._update_status()

    def _update_status(self) -> None:
        vocab = self.vocab
        if vocab is None:
            return
        table = self.query_one(VocabTable)
        order = "↓" if self.descending else "↑"
        kind = vocab.info.record.get("kind") or vocab.info.model_type
        status = (
            f"{len(table.ids):,}/{len(vocab):,} tokens · sort {self.sort_key} {order} · {kind} · {self.label}"
        )
        self.query_one("#tok-status", Static).update(Text(status))

    def on_vocab_table_highlighted(self, message: VocabTable.Highlighted) -> None:
        self._show_detail(message.token_id)

    def _show_detail(self, token_id: int | None) -> None:
        widget = self.query_one("#tok-detail", Static)
        if self.vocab is None or token_id is None:
            widget.update(Text(""))
            return
        detail = self.vocab.detail(token_id, self.sample_lines)
        text = Text()
        text.append(f"token {detail['id']}  ", style="bold")
        text.append_text(token_text(detail["readable"], detail["special"]))
        text.append(f"\nraw {detail['raw']!r}  ·  {detail['length']} bytes: {detail['bytes'] or '-'}")
        if detail["merge"]:
            text.append("\nmerge ")
            text.append_text(token_text(detail["merge"][0], False))
            text.append(" + ")
            text.append_text(token_text(detail["merge"][1], False))
        if detail["frequency"] is not None:
            text.append(f"\nfrequency {detail['frequency']:,} in {len(self.sample_lines):,} held-out lines")
        for line in detail["examples"]:
            from studio.text import visible

            text.append("\n  … " + visible(line[:90]) + ("…" if len(line) > 90 else ""), style="dim")
        if detail["special"]:
            text.append("\nspecial token", style="magenta")
        widget.update(text)

    # --- training --------------------------------------------------------------------------------

    def on_train_panel_start(self, message: TrainPanel.Start) -> None:
        panel = self.query_one(TrainPanel)
        self._cancel = CancelFlag()
        panel.set_running(True)
        panel.show_phase(
            f"Starting: {message.options.kind}, vocab {message.options.vocab_size} → {message.out_dir.name}"
        )
        self._train(message.options, message.out_dir, message.force, self._cancel)

    def on_train_panel_cancel(self, message: TrainPanel.Cancel) -> None:
        self.action_cancel_training()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="tokenizer-train",
        description="train tokenizer",
    )
    def _train(self, options: Any, out_dir: Path, force: bool, cancel: CancelFlag) -> None:
        from studio.tokenizer.train import train_tokenizer

        def report(update: ProgressUpdate) -> None:
            self.post_message(TrainProgress(update))  # coalesced: TrainProgress.can_replace

        result = train_tokenizer(options, out_dir, progress=report, cancel=cancel, force=force)
        self.post_message(TrainDone(result))

    def on_train_progress(self, message: TrainProgress) -> None:
        update = message.update
        detail = f"{update.done:.0f}s" if update.note == "elapsed" else update.note
        self.query_one(TrainPanel).show_phase(f"{update.phase}: {detail}" if detail else update.phase)

    def on_train_done(self, message: TrainDone) -> None:
        self._cancel = None
        panel = self.query_one(TrainPanel)
        panel.set_running(False)
        record = message.result.record
        out_dir = message.result.out_dir
        root = self.studio.workspace.root
        shown = out_dir.relative_to(root) if out_dir.is_relative_to(root) else out_dir  # short enough to read
        panel.show_phase(
            f"Done: {record['vocab_size']:,} tokens in {message.result.seconds:.1f}s → {shown}", 1.0
        )
        self.notify(f"Tokenizer saved to {shown}", title="Training finished", markup=False)
        self.query_one("#tok-path", Input).value = str(message.result.out_dir)
        self.open_tokenizer(str(message.result.out_dir))

    # --- compare ---------------------------------------------------------------------------------

    @on(Input.Submitted, "#tok-compare-path")
    def _compare_submitted(self, event: Input.Submitted) -> None:
        if self.vocab is None:
            self.notify("Open a tokenizer in Inspect first.", severity="warning")
            return
        if event.value.strip():
            self.query_one("#tok-compare-figures", FiguresView).show_note("Measuring both …")
            self._compare(self.vocab, event.value.strip(), list(self.sample_lines))

    @on(Input.Changed, "#tok-compare-text")
    def _compare_text_changed(self, event: Input.Changed) -> None:
        self._show_compare_pieces()

    @work(thread=True, exclusive=True, exit_on_error=False, group="tokenizer-compare", description="compare")
    def _compare(self, vocab: Vocabulary, other_path: str, lines: list[str]) -> None:
        from studio.tokenizer.figures import compute_figures
        from studio.tokenizer.vocab import open_vocabulary

        other = open_vocabulary(other_path)
        figures = [compute_figures(v, lines).to_dict() for v in (vocab, other)] if lines else []
        self.post_message(CompareReady(other, Path(other_path).name or other_path, figures))

    def on_compare_ready(self, message: CompareReady) -> None:
        self._other = message.other
        self._other_label = message.label
        view = self.query_one("#tok-compare-figures", FiguresView)
        if message.figures:
            view.show_figures(message.figures, [self.label, message.label])
        else:
            view.show_note("No held-out lines to measure on; the text below is split by both.")
        self._show_compare_pieces()

    def _show_compare_pieces(self) -> None:
        other = getattr(self, "_other", None)
        if self.vocab is None or other is None:
            return
        sample = self.query_one("#tok-compare-text", Input).value
        parts = []
        for label, vocab in ((self.label, self.vocab), (self._other_label, other)):
            pieces = vocab.readable_pieces(sample) if sample else []
            parts.append(Text(f"{label}: {len(pieces)} tokens", style="bold"))
            parts.append(pieces_text(pieces, vocab.special_ids_set))
            parts.append(Text(""))
        self.query_one("#tok-compare-pieces", Static).update(Group(*parts))

    # --- errors ----------------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        ended_early = event.state in (WorkerState.ERROR, WorkerState.CANCELLED)
        if ended_early and worker.group in ("tokenizer-load", "tokenizer-frequency"):
            self._opening = max(0, self._opening - 1)
        if event.state != WorkerState.ERROR or not worker.group.startswith("tokenizer-"):
            return
        error = worker.error
        if worker.group == "tokenizer-train":
            self._cancel = None
            panel = self.query_one(TrainPanel)
            panel.set_running(False)
            if isinstance(error, Cancelled):
                panel.show_phase("Cancelled: the training process was stopped, nothing was written.")
                self.notify("Training cancelled.")
                return
            panel.show_phase(f"Failed: {getattr(error, 'message', error)}")
            if isinstance(error, StudioError) and error.hint and "--sample" in error.hint:
                suggestion = "".join(ch for ch in error.hint.split("--sample", 1)[1] if ch.isdigit())
                if suggestion:
                    panel.set_sample(int(suggestion))
                    panel.show_phase(
                        f"{error.message}. A sample of {int(suggestion):,} lines is filled in: "
                        "press Train again to train on it."
                    )
        if worker.group == "tokenizer-load":
            self.query_one("#tok-status", Static).update(Text("No tokenizer open."))
        self.notify_error(error)
