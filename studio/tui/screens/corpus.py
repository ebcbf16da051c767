"""The Corpus screen: pick a corpus, scroll it, jump to a line, search it, sample it, measure it.

All file work runs in thread workers (one named group per kind of work, each with a cancel flag)
that report back only through the typed messages below; progress is throttled in the worker so
the UI receives at most ~10 updates a second. The core functions are the same ones the
`studio corpus` commands use (`studio.corpus.document`, `.stats`, `.search`). Those modules
import numpy only; `datasets` is imported inside the worker when a record format is opened.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.widgets import ContentSwitcher, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from studio.errors import Cancelled, StudioError
from studio.progress import CancelFlag, ProgressUpdate
from studio.text import visible
from studio.tui.screens.base import StudioScreen
from studio.tui.widgets.corpus.stats_panel import StatsPanel
from studio.tui.widgets.corpus.viewer import CorpusViewer

if TYPE_CHECKING:
    from studio.corpus.document import CorpusDocument
    from studio.corpus.search import SearchHit
    from studio.corpus.stats import CorpusStats

SAMPLE_LINES = 100
MAX_HITS = 10_000
PROGRESS_INTERVAL = 0.1
CHANGE_CHECK_SECONDS = 2.0
INPUT_PROMPTS = {
    "goto": "Go to line number (Enter to jump, Esc to cancel)",
    "search": "Search (Enter to search, Esc to cancel)",
    "open": "Open a corpus: any path to a file or folder (Enter to open)",
    "column": "Text column of this record file (Enter to reopen)",
}


class Throttle:
    """Calls `send` at most once per interval, except for the first `eager` calls (the start and
    the first indexed chunk, so the first page is drawn at once) and a `final` one."""

    def __init__(
        self, send: Callable[[Any], object], interval: float = PROGRESS_INTERVAL, eager: int = 2
    ) -> None:
        self.send = send
        self.interval = interval
        self.eager = eager
        self._last = 0.0

    def __call__(self, item: Any, final: bool = False) -> None:
        now = time.monotonic()
        if final or self.eager > 0 or now - self._last >= self.interval:
            self.eager -= 1
            self._last = now
            self.send(item)


# -- messages from the workers ----------------------------------------------------------------


class CorpusMessage(Message):
    """Base of the screen's worker messages; `generation` drops those of a replaced corpus."""

    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation


class DocumentOpened(CorpusMessage):
    def __init__(self, generation: int, document: CorpusDocument) -> None:
        super().__init__(generation)
        self.document = document


class WorkProgress(CorpusMessage):
    """Progress of one kind of work ("open", "index", "stats", "search", "sample")."""

    def __init__(self, generation: int, kind: str, update: ProgressUpdate) -> None:
        super().__init__(generation)
        self.kind = kind
        self.update = update

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WorkProgress) and message.kind == self.kind


class WorkDone(CorpusMessage):
    def __init__(self, generation: int, kind: str, result: Any = None, cancelled: bool = False) -> None:
        super().__init__(generation)
        self.kind = kind
        self.result = result
        self.cancelled = cancelled


class WorkFailed(CorpusMessage):
    def __init__(self, generation: int, kind: str, error: StudioError) -> None:
        super().__init__(generation)
        self.kind = kind
        self.error = error


class SearchHits(CorpusMessage):
    def __init__(self, generation: int, hits: list[SearchHit]) -> None:
        super().__init__(generation)
        self.hits = hits


@dataclass
class SampleLine:
    line: int  # 0-based, across the corpus
    text: Text


class CorpusScreen(StudioScreen):
    MODE = "corpus"
    TITLE = "Corpus"
    HELP = (
        "Browse the text you will train on: any .txt, .gz, .jsonl, .csv, .parquet, folder or saved dataset; "
        "scroll files of any size, jump to a line, search, draw a random sample, and measure it. "
        "Non-plain formats are converted once to a cached text file; big files are indexed in the background."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "o", "open", "Open", id="corpus.open", tooltip="Pick a corpus from the workspace or type a path"
        ),
        Binding("g", "goto", "Go to", id="corpus.goto", tooltip="Jump to a line number"),
        Binding(
            "slash",
            "search",
            "Search",
            key_display="/",
            id="corpus.search",
            tooltip="Search the corpus (literal or regex)",
        ),
        Binding("n", "next_hit", "Next", id="corpus.next_hit", tooltip="Jump to the next search hit"),
        Binding(
            "N",
            "previous_hit",
            "Prev",
            show=False,
            id="corpus.previous_hit",
            tooltip="Jump to the previous search hit",
        ),
        Binding(
            "x",
            "toggle_regex",
            "Regex",
            show=False,
            id="corpus.toggle_regex",
            tooltip="Search with a regular expression (on/off)",
        ),
        Binding(
            "i",
            "toggle_case",
            "Case",
            show=False,
            id="corpus.toggle_case",
            tooltip="Case-sensitive search (on/off)",
        ),
        Binding("s", "stats", "Stats", id="corpus.stats", tooltip="Compute and show the statistics"),
        Binding("r", "sample", "Sample", id="corpus.sample", tooltip="Show randomly drawn lines"),
        Binding("w", "toggle_wrap", "Wrap", show=False, id="corpus.wrap", tooltip="Wrap long lines (on/off)"),
        Binding(
            "l",
            "toggle_numbers",
            "Numbers",
            show=False,
            id="corpus.numbers",
            tooltip="Show line numbers (on/off)",
        ),
        Binding(
            "p", "toggle_panel", "Panel", show=False, id="corpus.panel", tooltip="Show or hide the side panel"
        ),
        Binding(
            "c",
            "column",
            "Column",
            show=False,
            id="corpus.column",
            tooltip="Choose the text column of a .jsonl/.csv/.parquet file",
        ),
        Binding("R", "reload", "Reload", show=False, id="corpus.reload", tooltip="Reload the file from disk"),
        Binding(
            "escape",
            "cancel",
            "Cancel",
            show=False,
            id="corpus.cancel",
            tooltip="Cancel the running work or close the input",
        ),
    ]

    DEFAULT_CSS = """
    CorpusScreen #corpus-main { height: 1fr; }
    CorpusScreen #corpus-side { width: 38%; min-width: 28; max-width: 56; border-left: solid $primary; }
    CorpusScreen #corpus-side.-hidden { display: none; }
    CorpusScreen #corpus-side-title { height: 1; background: $boost; padding: 0 1; text-style: bold; }
    CorpusScreen #corpus-switcher { height: 1fr; }
    CorpusScreen #corpus-switcher > OptionList { height: 1fr; border: none; }
    CorpusScreen #corpus-input { display: none; }
    CorpusScreen #corpus-input.-active { display: block; }
    CorpusScreen #corpus-status { height: 1; background: $boost; padding: 0 1; }
    CorpusScreen #corpus-notice { height: auto; max-height: 3; padding: 0 1; display: none; }
    CorpusScreen #corpus-notice.-shown { display: block; }
    CorpusScreen #corpus-notice.-error { background: $error 30%; }
    CorpusScreen #corpus-notice.-warning { background: $warning 25%; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.document: CorpusDocument | None = None
        self.generation = 0
        self.input_mode = ""
        self.regex = False
        self.case_sensitive = False
        self.last_query = ""
        self.hits: list[SearchHit] = []
        self.hit_cursor = -1
        self.samples: list[SampleLine] = []
        self.stats: CorpusStats | None = None
        self.progress_text: dict[str, str] = {}
        self.corpus_files: list[Path] = []
        self.column = "text"
        self.current_path = ""
        self._cancel_flags: dict[str, CancelFlag] = {}
        self._change_reported = False

    # -- layout -----------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        yield Static(id="corpus-notice")
        with Horizontal(id="corpus-main"):
            yield CorpusViewer(id="corpus-viewer")
            with Vertical(id="corpus-side"):
                yield Static(Text("Files"), id="corpus-side-title")
                with ContentSwitcher(initial="corpus-files", id="corpus-switcher"):
                    yield OptionList(id="corpus-files")
                    yield StatsPanel(id="corpus-stats")
                    yield OptionList(id="corpus-hits")
                    yield OptionList(id="corpus-sample")
        yield Input(id="corpus-input")
        yield Static(id="corpus-status")

    @property
    def viewer(self) -> CorpusViewer:
        return self.query_one(CorpusViewer)

    def on_mount(self) -> None:
        self.refresh_file_list()
        self.set_interval(CHANGE_CHECK_SECONDS, self.check_changed)
        start = self.studio.start_args_for(self.MODE).get("start_path")
        if start:
            self.open_corpus(str(start))
        elif self.corpus_files:
            demo = self.studio.workspace.demo_corpus
            self.open_corpus(str(demo if demo in self.corpus_files else self.corpus_files[0]))
        else:
            self.show_notice("The workspace has no corpora yet: press o and type a path.", "warning")
        self.viewer.focus()
        self.update_status()

    def show_side(self, pane: str, title: str) -> None:
        self.query_one("#corpus-side").remove_class("-hidden")
        self.query_one("#corpus-switcher", ContentSwitcher).current = pane
        self.query_one("#corpus-side-title", Static).update(Text(title))

    def say(self, message: str, *, title: str = "Corpus", severity: SeverityLevel = "information") -> None:
        """A toast; never markup, since messages quote paths, queries and corpus text."""
        self.notify(message, title=title, severity=severity, markup=False)

    def show_notice(self, message: str, severity: str = "") -> None:
        notice = self.query_one("#corpus-notice", Static)
        notice.update(Text(message))
        notice.set_class(bool(message), "-shown")
        notice.set_class(severity == "error", "-error")
        notice.set_class(severity == "warning", "-warning")

    def update_status(self) -> None:
        parts: list[str] = []
        document = self.document
        if document is not None:
            parts.append(f"{document.path.name} · {document.info.format_name}")
            rows = document.row_count
            if rows:
                number, line = document.locate(min(self.viewer.top_row, rows - 1))
                if line is not None:
                    parts.append(
                        f"line {document.global_line(number, line) + 1:,} of {document.line_count:,}"
                        + ("" if document.indexed else "+")
                    )
                if document.multi_file:
                    parts.append(document.segments[number].label)
            elif document.indexed:
                parts.append("empty")
        flags = ("regex" if self.regex else "literal") + (", case" if self.case_sensitive else "")
        parts.append(f"search: {flags}")
        parts.extend(self.progress_text.values())
        self.query_one("#corpus-status", Static).update(Text("  ·  ".join(parts)))

    def refresh_file_list(self) -> None:
        corpora = self.studio.workspace.corpora
        try:
            entries = sorted(p for p in corpora.iterdir() if not p.name.startswith("."))
        except OSError:
            entries = []
        self.corpus_files = entries
        options = [Option(Text(p.name + ("/" if p.is_dir() else ""))) for p in entries]
        file_list = self.query_one("#corpus-files", OptionList)
        file_list.clear_options()
        file_list.add_options(
            options or [Option(Text("(no corpora: press o and type a path)"), disabled=True)]
        )

    # -- opening ----------------------------------------------------------------------------

    def open_corpus(self, path: str, column: str | None = None) -> None:
        """Open a corpus (cancelling all work on the previous one)."""
        for flag in self._cancel_flags.values():
            flag.set()
        self._cancel_flags.clear()
        # Not closed here: a cancelled worker may still be reading it; its readers close when freed.
        self.document = None
        self.generation += 1
        self.current_path = path
        self.column = column or "text"
        self.hits, self.hit_cursor, self.samples, self.stats = [], -1, [], None
        self.progress_text.clear()
        self._change_reported = False
        self.viewer.set_pattern(None)
        self.viewer.set_document(None)
        self.query_one("#corpus-hits", OptionList).clear_options()
        self.query_one("#corpus-sample", OptionList).clear_options()
        self.query_one(StatsPanel).show_message("Press s to compute the statistics.")
        self.show_notice("")
        self.progress_text["open"] = f"opening {Path(path).name}"
        self.update_status()
        self._open_worker(path, self.column, self.generation, self._new_flag("open"))

    def _new_flag(self, kind: str) -> CancelFlag:
        old = self._cancel_flags.get(kind)
        if old is not None:
            old.set()
        flag = self._cancel_flags[kind] = CancelFlag()
        return flag

    @work(thread=True, exclusive=True, exit_on_error=False, group="corpus-open", description="open corpus")
    def _open_worker(self, path: str, column: str, generation: int, cancel: CancelFlag) -> None:
        from studio.corpus.document import CorpusDocument

        post = Throttle(lambda update: self.post_message(WorkProgress(generation, "open", update)))
        try:
            document = CorpusDocument(path, column, self.studio.workspace.cache)
            document.prepare(post, cancel)
            self.post_message(DocumentOpened(generation, document))
            document.build_indexes(post, cancel)
            self.post_message(WorkDone(generation, "open", document))
        except Cancelled:
            self.post_message(WorkDone(generation, "open", cancelled=True))
        except StudioError as error:
            self.post_message(WorkFailed(generation, "open", error))
        except OSError as error:
            self.post_message(
                WorkFailed(generation, "open", StudioError(f"{path}: {error.strerror or error}"))
            )

    def _current(self, message: CorpusMessage) -> bool:
        return message.generation == self.generation

    @on(DocumentOpened)
    def _document_opened(self, message: DocumentOpened) -> None:
        if not self._current(message):
            message.document.close()
            return
        document = self.document = message.document
        self.viewer.set_document(document)
        notices = []
        if document.info.total_bytes == 0 and document.info.kind != "saved-dataset":
            notices.append("This corpus is empty: there is nothing to show or train on.")
        if any(segment.looks_binary() for segment in document.segments[:8]):
            notices.append("This looks like a binary file (it holds NUL bytes): shown safely, NUL as ␀.")
        if notices:
            self.show_notice(" ".join(notices), "warning")
        self.update_status()

    @on(WorkProgress)
    def _work_progress(self, message: WorkProgress) -> None:
        if not self._current(message):
            return
        update = message.update
        share = f" {update.fraction:.0%}" if update.fraction is not None else ""
        label = {"open": update.phase}.get(message.kind, message.kind)
        self.progress_text[message.kind] = f"{label}{share} {update.note}".strip()
        if message.kind == "open" and self.document is not None:
            self.viewer.update_size()
        elif message.kind == "stats" and self.stats is None:
            self.query_one(StatsPanel).show_message(f"Computing statistics{share}… (Esc cancels)")
        self.update_status()

    @on(WorkDone)
    def _work_done(self, message: WorkDone) -> None:
        if not self._current(message):
            return
        self.progress_text.pop(message.kind, None)
        if message.kind == "open" and self.document is not None:
            self.viewer.update_size()
        elif message.kind == "stats":
            panel = self.query_one(StatsPanel)
            if message.cancelled:
                panel.show_message("Statistics cancelled. Press s to compute them again.")
            else:
                self.stats = message.result
                panel.show_stats(message.result)
        elif message.kind == "search":
            if message.cancelled:
                self.say(f"Search cancelled after {len(self.hits):,} hits.")
            elif not self.hits:
                self.say(f"No match for {visible(self.last_query)!r}.", severity="warning")
            elif len(self.hits) >= MAX_HITS:
                self.say(f"Stopped at {MAX_HITS:,} hits.")
            self._set_side_title_for_hits(done=True)
        elif message.kind == "sample" and not message.cancelled:
            self._show_sample(message.result)
        self.update_status()

    @on(WorkFailed)
    def _work_failed(self, message: WorkFailed) -> None:
        if not self._current(message):
            return
        self.progress_text.pop(message.kind, None)
        error = message.error
        text = error.message + (f" ({error.hint})" if error.hint else "")
        self.show_notice(text, "error")
        self.say(error.message, title="Corpus", severity="error")
        if message.kind == "stats":
            self.query_one(StatsPanel).show_message(text)
        if message.kind == "column" or "no column" in error.message:
            self.ask("column")
        self.update_status()

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """Anything a worker did not turn into a message is a bug: say so instead of crashing."""
        if event.state == WorkerState.ERROR and (event.worker.group or "").startswith("corpus-"):
            error = event.worker.error
            self.show_notice(
                f"Internal error in {event.worker.description}: {type(error).__name__}: {error}", "error"
            )
            self.say(f"{type(error).__name__}: {error}", title="Corpus: internal error", severity="error")

    def check_changed(self) -> None:
        """Offer a reload when the open file grew, shrank or was rewritten."""
        document = self.document
        if document is None or not document.indexed or self._change_reported:
            return
        if document.changed():
            self._change_reported = True
            self.show_notice("The file changed on disk since it was opened. Press R to reload it.", "warning")
            self.say("The file changed on disk: press R to reload.", title="Corpus", severity="warning")

    # -- input bar --------------------------------------------------------------------------

    def ask(self, mode: str, value: str = "") -> None:
        self.input_mode = mode
        field = self.query_one("#corpus-input", Input)
        field.placeholder = INPUT_PROMPTS[mode]
        field.value = value
        field.add_class("-active")
        field.focus()

    def close_input(self) -> None:
        field = self.query_one("#corpus-input", Input)
        field.remove_class("-active")
        self.input_mode = ""
        self.viewer.focus()

    @on(Input.Submitted, "#corpus-input")
    def _input_submitted(self, event: Input.Submitted) -> None:
        mode, value = self.input_mode, event.value.strip()
        self.close_input()
        if not value:
            return
        if mode == "goto":
            self.goto_line(value)
        elif mode == "search":
            self.start_search(value)
        elif mode == "open":
            self.open_corpus(str(Path(value).expanduser()))
        elif mode == "column" and self.current_path:
            self.open_corpus(self.current_path, value)

    def goto_line(self, value: str) -> None:
        document = self.document
        try:
            number = int(value.replace(",", "").replace("_", ""))
        except ValueError:
            self.say(f"{value!r} is not a line number.", severity="error")
            return
        if document is None:
            self.say("Open a corpus first (press o).", severity="error")
            return
        total = document.line_count
        if not 1 <= number <= max(total, 1) or total == 0:
            more = "" if document.indexed else " so far (still indexing)"
            self.say(
                f"Line {number:,} is out of range: the corpus has {total:,} lines{more}.", severity="error"
            )
            return
        self.viewer.goto_row(document.row_of_global_line(number - 1))

    # -- search -----------------------------------------------------------------------------

    def start_search(self, query: str) -> None:
        from studio.corpus.search import compile_query

        if self.document is None:
            self.say("Open a corpus first (press o).", severity="error")
            return
        try:
            pattern = compile_query(query, self.regex, self.case_sensitive)
        except StudioError as error:
            self.say(error.message, severity="error")
            return
        self.last_query = query
        self.hits, self.hit_cursor = [], -1
        self.query_one("#corpus-hits", OptionList).clear_options()
        self.viewer.set_pattern(pattern)
        self._set_side_title_for_hits()
        self.show_side("corpus-hits", f"Search: {visible(query)}")
        self._search_worker(
            self.document, query, self.regex, self.case_sensitive, self.generation, self._new_flag("search")
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="corpus-search", description="search")
    def _search_worker(
        self,
        document: CorpusDocument,
        query: str,
        regex: bool,
        case: bool,
        generation: int,
        cancel: CancelFlag,
    ) -> None:
        from studio.corpus.search import search_corpus

        pending: list[SearchHit] = []

        def flush(_: object = None) -> None:
            if pending:
                self.post_message(SearchHits(generation, pending.copy()))
                pending.clear()

        send = Throttle(flush)

        def on_hits(batch: list[SearchHit]) -> None:
            pending.extend(batch)
            send(None)

        progress = Throttle(lambda update: self.post_message(WorkProgress(generation, "search", update)))
        try:
            search_corpus(document, query, regex, case, on_hits, progress, cancel, max_hits=MAX_HITS)
            flush()
            self.post_message(WorkDone(generation, "search"))
        except Cancelled:
            flush()
            self.post_message(WorkDone(generation, "search", cancelled=True))
        except StudioError as error:
            self.post_message(WorkFailed(generation, "search", error))

    @on(SearchHits)
    def _search_hits(self, message: SearchHits) -> None:
        if not self._current(message) or self.document is None:
            return
        first_batch = not self.hits
        self.hits.extend(message.hits)
        document = self.document
        options = []
        for hit in message.hits:
            line = document.global_line(hit.segment, hit.line) + 1
            label = Text(no_wrap=True, overflow="ellipsis")
            label.append(f"{line:,}: ", "bold")
            label.append(visible(hit.snippet))
            options.append(Option(label))
        self.query_one("#corpus-hits", OptionList).add_options(options)
        self._set_side_title_for_hits()
        if first_batch:
            self.jump_to_hit(0)

    def _set_side_title_for_hits(self, done: bool = False) -> None:
        more = "" if done else "…"
        self.query_one("#corpus-side-title", Static).update(
            Text(f"{len(self.hits):,} hits{more}: {visible(self.last_query)}")
        )

    def jump_to_hit(self, index: int) -> None:
        if not self.hits or self.document is None:
            return
        self.hit_cursor = index % len(self.hits)
        hit = self.hits[self.hit_cursor]
        self.viewer.goto_row(self.document.row_of(hit.segment, hit.line))
        hits_list = self.query_one("#corpus-hits", OptionList)
        hits_list.highlighted = self.hit_cursor

    @on(OptionList.OptionSelected, "#corpus-hits")
    def _hit_selected(self, event: OptionList.OptionSelected) -> None:
        self.jump_to_hit(event.option_index)
        self.viewer.focus()

    # -- statistics and sample ---------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="corpus-stats", description="statistics")
    def _stats_worker(self, document: CorpusDocument, generation: int, cancel: CancelFlag) -> None:
        from studio.corpus.stats import compute_stats

        progress = Throttle(lambda update: self.post_message(WorkProgress(generation, "stats", update)))
        try:
            stats = compute_stats(document, progress, cancel)
            self.post_message(WorkDone(generation, "stats", stats))
        except Cancelled:
            self.post_message(WorkDone(generation, "stats", cancelled=True))
        except StudioError as error:
            self.post_message(WorkFailed(generation, "stats", error))

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="corpus-sample", description="random sample"
    )
    def _sample_worker(self, document: CorpusDocument, generation: int, seed: int) -> None:
        from studio.tui.widgets.corpus.viewer import display_text

        total = document.line_count
        numbers = sorted(random.Random(seed).sample(range(total), min(SAMPLE_LINES, total)))
        lines = []
        for number in numbers:
            rows = document.read_rows(document.row_of_global_line(number), 1)
            if rows and rows[0].raw is not None:
                lines.append(SampleLine(number, display_text(rows[0].raw.data[:400])))
        self.post_message(WorkDone(generation, "sample", lines))

    def _show_sample(self, lines: list[SampleLine]) -> None:
        self.samples = lines
        options = []
        for sample in lines:
            label = Text(no_wrap=True, overflow="ellipsis")
            label.append(f"{sample.line + 1:,}: ", "bold")
            label.append_text(sample.text)
            options.append(Option(label))
        sample_list = self.query_one("#corpus-sample", OptionList)
        sample_list.clear_options()
        sample_list.add_options(options)
        more = "" if self.document is None or self.document.indexed else " (of the lines indexed so far)"
        self.show_side("corpus-sample", f"{len(lines)} random lines{more}")

    @on(OptionList.OptionSelected, "#corpus-sample")
    def _sample_selected(self, event: OptionList.OptionSelected) -> None:
        if self.document is not None and event.option_index < len(self.samples):
            self.viewer.goto_row(self.document.row_of_global_line(self.samples[event.option_index].line))
            self.viewer.focus()

    @on(OptionList.OptionSelected, "#corpus-files")
    def _file_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self.corpus_files):
            self.open_corpus(str(self.corpus_files[event.option_index]))
            self.viewer.focus()

    @on(CorpusViewer.Moved)
    def _viewer_moved(self, _: CorpusViewer.Moved) -> None:
        self.update_status()

    # -- actions ----------------------------------------------------------------------------

    def action_open(self) -> None:
        self.refresh_file_list()
        if self.current_path and Path(self.current_path) in self.corpus_files:
            self.query_one("#corpus-files", OptionList).highlighted = self.corpus_files.index(
                Path(self.current_path)
            )
        self.show_side("corpus-files", "Files in corpora/ (Enter opens)")
        self.ask("open", str(self.document.path) if self.document is not None else "")

    def action_goto(self) -> None:
        self.ask("goto")

    def action_search(self) -> None:
        self.ask("search", self.last_query)

    def action_next_hit(self) -> None:
        if self.hits:
            self.jump_to_hit(self.hit_cursor + 1)
        else:
            self.say("No search hits: press / to search.")

    def action_previous_hit(self) -> None:
        if self.hits:
            self.jump_to_hit(self.hit_cursor - 1)

    def action_toggle_regex(self) -> None:
        self.regex = not self.regex
        self.say("Search: regular expression" if self.regex else "Search: literal text")
        self.update_status()

    def action_toggle_case(self) -> None:
        self.case_sensitive = not self.case_sensitive
        self.say("Search: case-sensitive" if self.case_sensitive else "Search: ignoring case")
        self.update_status()

    def action_stats(self) -> None:
        self.show_side("corpus-stats", "Statistics")
        if self.document is None:
            self.query_one(StatsPanel).show_message("Open a corpus first (press o).")
            return
        if self.stats is not None:
            self.query_one(StatsPanel).show_stats(self.stats)
            return
        if "stats" not in self.progress_text:
            self.query_one(StatsPanel).show_message("Computing statistics… (Esc cancels)")
            self.progress_text["stats"] = "stats"
            self._stats_worker(self.document, self.generation, self._new_flag("stats"))

    def action_sample(self) -> None:
        if self.document is None or self.document.line_count == 0:
            self.say("Nothing to sample yet.", severity="warning")
            return
        self._sample_worker(self.document, self.generation, random.randrange(1 << 30))

    def action_toggle_wrap(self) -> None:
        self.viewer.wrap = not self.viewer.wrap

    def action_toggle_numbers(self) -> None:
        self.viewer.show_line_numbers = not self.viewer.show_line_numbers

    def action_toggle_panel(self) -> None:
        self.query_one("#corpus-side").toggle_class("-hidden")

    def action_column(self) -> None:
        self.ask("column", self.column)

    def action_reload(self) -> None:
        if self.current_path:
            self.open_corpus(self.current_path, self.column)

    def action_cancel(self) -> None:
        if self.input_mode:
            self.close_input()
            return
        running = [kind for kind in ("search", "stats", "open") if kind in self.progress_text]
        for kind in running:
            flag = self._cancel_flags.get(kind)
            if flag is not None:
                flag.set()
        if running:
            self.say(f"Cancelling {', '.join(running)}.")
