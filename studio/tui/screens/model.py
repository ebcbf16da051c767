"""The Model screen: architecture, task and preset, the HF fields, problems with fixes, estimates,
the learning-rate schedule, the equivalent command line; save as a run config or start training.

Every edit updates the config at once and starts a check in a thread worker (validation imports
transformers, estimates build the model on the `meta` device); results come back as messages, and
a result older than the latest edit is dropped.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Label, Select, Static
from textual.worker import Worker, WorkerState

from studio.config import ConfigError, RunConfig, parse_override, save_config
from studio.errors import StudioError
from studio.model.presets import PRESETS, presets_for
from studio.model.problems import Problem, assignment
from studio.model.registry import ARCHES, get_arch
from studio.progress import CancelFlag
from studio.tui.screens.base import StudioScreen
from studio.tui.widgets.model import (
    EstimatesView,
    FieldEdited,
    FieldRow,
    FixRequested,
    ProblemList,
    SchedulePlot,
)

DEFAULT_PRESET = "tiny-cpu"
CHECK_DELAY_S = 0.15  # typing settles before a check starts; a newer edit supersedes it

# The training fields that matter most, with a line of help each (TrainingArguments' own names).
TRAIN_FIELDS: dict[str, str] = {
    "data.block_size": "Tokens per training sequence (the context length).",
    "data.packing": "Concatenate lines and cut into full blocks (no padding) instead of one line per sequence.",
    "train.per_device_train_batch_size": "Sequences per step on each device.",
    "train.gradient_accumulation_steps": "Steps whose gradients add up before one optimizer update.",
    "train.learning_rate": "Peak learning rate of AdamW.",
    "train.lr_scheduler_type": "Schedule: linear, cosine, constant, constant_with_warmup, polynomial, ...",
    "train.warmup_steps": "Warmup steps; a number below 1 is a fraction of all steps.",
    "train.max_steps": "Optimizer steps to train (-1: use num_train_epochs).",
    "train.num_train_epochs": "Passes over the corpus when max_steps is -1.",
    "train.bf16": "Train in bfloat16 mixed precision (GPUs from Ampere on).",
    "train.weight_decay": "AdamW weight decay.",
    "train.logging_steps": "Steps between loss reports on the Train screen.",
    "train.save_steps": "Steps between checkpoints.",
    "studio.probe_every": "Steps between live probes (fill-mask or a short generation).",
}


FIELD_HELP_IDLE = "Field help appears here."
# The choices above the fields, with their line of help (shown when one has the focus).
CHOICE_HELP: dict[str, str] = {
    "arch": "Model family; changing it starts again from its first preset.",
    "task": "mlm: masked LM (fill-mask), clm: causal LM (generation).",
    "preset": "Starting values for every field below; the edits you make come after.",
    "tokenizer": "A tokenizer of this workspace; its vocabulary size and special ids fill the model fields.",
    "corpus": "The text to train on, from the workspace's corpora/.",
}


class ConfigDrafted(Message):
    """A new starting config (from a preset, or with a new tokenizer's vocabulary)."""

    def __init__(self, config: RunConfig, preset: str) -> None:
        super().__init__()
        self.config = config
        self.preset = preset


class FieldInfoLoaded(Message):
    """An architecture's field defaults and help, which need transformers (seconds on a first visit)."""

    def __init__(self, info: Any) -> None:
        super().__init__()
        self.info = info


class ModelChecked(Message):
    """The result of checking the config of edit number `seq`."""

    def __init__(self, seq: int, report: Any, command: str) -> None:
        super().__init__()
        self.seq = seq
        self.report = report
        self.command = command


class MeasureFinished(Message):
    """Two real steps ran (result) or could not (error)."""

    def __init__(self, result: dict[str, Any] | None, error: str | None = None) -> None:
        super().__init__()
        self.result = result
        self.error = error


def _path_options(paths: list[str]) -> list[tuple[str, str]]:
    """Select options showing each path's last part; a placeholder when there are none."""
    return [(Path(p).name, p) for p in paths] or [("(none)", "")]


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "run"


class ModelScreen(StudioScreen):
    MODE = "model"
    TITLE = "Model"
    HELP = (
        "Configure a transformer: architecture, task and preset, then edit its Hugging Face config fields "
        "and the key training fields. Every edit is validated (problems name the field and offer a fix: "
        "ctrl+f, or f / Enter in the list) and re-estimated (parameters, FLOPs per token, memory, tokens, "
        "time). ctrl+s saves the run config under configs/, ctrl+t saves and starts training, ctrl+b "
        "measures two real steps. Field help is shown below the form."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+f",
            "fix",
            "Fix",
            id="model.fix",
            tooltip="Apply the fix of the highlighted (or first) problem",
        ),
        Binding(
            "ctrl+s", "save", "Save", id="model.save", tooltip="Save the run config as configs/NAME.yaml"
        ),
        Binding(
            "ctrl+t", "train", "Train", id="model.train", tooltip="Save the config and start a training run"
        ),
        Binding(
            "ctrl+b",
            "measure",
            "Measure",
            id="model.measure",
            tooltip="Run two real training steps in a subprocess: peak memory and step time",
        ),
    ]
    DEFAULT_CSS = """
    ModelScreen #model-body { height: 1fr; }
    ModelScreen #model-form { width: 1fr; min-width: 36; }
    ModelScreen #model-side { width: 1fr; }
    ModelScreen .choice { height: 1; margin: 0 0 0 1; }
    ModelScreen .choice > Label { width: 11; color: $text-muted; }
    ModelScreen .choice > Select { width: 1fr; }
    ModelScreen .section { margin: 1 0 0 0; text-style: bold; color: $accent; height: 1; }
    ModelScreen #field-help { height: 3; border-top: solid $primary; color: $text-muted; padding: 0 1; }
    ModelScreen #command { height: auto; border: round $primary; padding: 0 1; }
    ModelScreen #arch-fields, ModelScreen #train-fields { height: auto; }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config: RunConfig | None = None
        self.preset = DEFAULT_PRESET
        self.field_info: Any = None
        self._rows_arch = ""  # the architecture whose field rows are on screen
        self.seq = 0
        self.report: Any = None
        self._shown_seq = -1  # the edit number whose check is on screen
        self.measured: dict[str, Any] | None = None
        self._measure_cancel: CancelFlag | None = None

    # --- layout ------------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        preset = PRESETS[DEFAULT_PRESET]
        with Horizontal(id="model-body"):
            with Vertical(id="model-form-column"):
                with VerticalScroll(id="model-form"):
                    yield self._choice(
                        "arch", [(f"{a.name}: {a.description}", a.name) for a in ARCHES.values()], preset.arch
                    )
                    yield self._choice(
                        "task", [("mlm: masked LM", "mlm"), ("clm: causal LM", "clm")], preset.tasks[0]
                    )
                    yield self._choice(
                        "preset", [(p.name, p.name) for p in presets_for(preset.arch)], preset.name
                    )
                    tokenizers = self._workspace_tokenizers()
                    yield self._choice(
                        "tokenizer", _path_options(tokenizers), tokenizers[0] if tokenizers else ""
                    )
                    corpora = self._workspace_corpora()
                    yield self._choice("corpus", _path_options(corpora), corpora[0] if corpora else "")
                    yield FieldRow(
                        "studio.name", DEFAULT_PRESET, help_text="Run name; saved as configs/NAME.yaml."
                    )
                    yield Static("Model: HF config fields", classes="section")
                    yield Vertical(id="arch-fields")
                    yield Static("Training", classes="section")
                    with Vertical(id="train-fields"):
                        for name, help_text in TRAIN_FIELDS.items():
                            yield FieldRow(name, None, help_text=help_text)
                yield Static(Text(FIELD_HELP_IDLE), id="field-help")
            with VerticalScroll(id="model-side"):
                yield ProblemList(id="problems")
                yield EstimatesView(id="estimates")
                yield SchedulePlot(id="schedule")
                yield Static(Text(""), id="command")

    def _choice(self, name: str, options: list[tuple[str, str]], value: str) -> Horizontal:
        select: Select[str] = Select(
            options, value=value, allow_blank=False, compact=True, id=f"choose-{name}"
        )
        return Horizontal(Label(name), select, classes="choice")

    def _workspace_tokenizers(self) -> list[str]:
        root = self.studio.workspace.tokenizers
        found = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        return [str(p) for p in found]

    def _workspace_corpora(self) -> list[str]:
        root = self.studio.workspace.corpora
        found = sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []
        return [str(p) for p in found]

    def on_screen_resume(self) -> None:
        """Tokenizers and corpora made on other screens appear in the choices."""
        super().on_screen_resume()
        for name, found in (
            ("tokenizer", self._workspace_tokenizers()),
            ("corpus", self._workspace_corpora()),
        ):
            select = self.query_one(f"#choose-{name}", Select)
            current = select.value
            options = _path_options(found)
            if [v for _, v in options] == [v for _, v in select._options]:
                continue
            with select.prevent(Select.Changed):
                select.set_options(options)
                if current in found:
                    select.value = current

    def on_mount(self) -> None:
        self.query_one("#command", Static).border_title = "Command line"
        self._draft(self.preset, task=None)

    # --- drafting a config (preset, tokenizer) -------------------------------------------------------

    def _select_value(self, name: str) -> str:
        value = self.query_one(f"#choose-{name}", Select).value
        return value if isinstance(value, str) else ""

    def _draft(self, preset: str, task: str | None, keep: RunConfig | None = None) -> None:
        """Start a config from a preset (or, with `keep`, re-read the tokenizer into it) off the UI thread."""
        corpus, tokenizer = self._select_value("corpus"), self._select_value("tokenizer")
        self._draft_worker(preset, task, corpus, tokenizer, keep)

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="model-draft", description="build the config"
    )
    def _draft_worker(
        self, preset: str, task: str | None, corpus: str, tokenizer: str, keep: RunConfig | None
    ) -> None:
        from studio.model.build import tokenizer_fields
        from studio.model.live import draft_config, field_info

        if keep is None:
            config = draft_config(preset, corpus, tokenizer, task=task)
        else:
            config = keep.with_overrides([f"data.tokenizer={tokenizer}"])
            try:
                fields = tokenizer_fields(config.model.arch, tokenizer)
                config = config.with_overrides([f"model.{k}={v}" for k, v in fields.items()])
            except StudioError:
                pass  # the check names the tokenizer's problem
        # The values first: the field help needs transformers, whose first import takes seconds.
        self.post_message(ConfigDrafted(config, preset))
        self.post_message(FieldInfoLoaded(field_info(config.model.arch)))

    @on(ConfigDrafted)
    async def _drafted(self, message: ConfigDrafted) -> None:
        self.config, self.preset = message.config, message.preset
        if self._rows_arch != self.config.model.arch:
            await self._build_arch_fields()
        self._show_config()
        self._check()

    @on(FieldInfoLoaded)
    def _field_info_loaded(self, message: FieldInfoLoaded) -> None:
        self.field_info = message.info
        if self._rows_arch == message.info.arch:
            self._show_config()
            if self.focused is not None:
                self._show_help(self.focused)

    def _arch_info(self) -> Any:
        """The field info of the architecture on screen, or None while it loads."""
        info = self.field_info
        return info if info is not None and info.arch == self._rows_arch else None

    async def _build_arch_fields(self) -> None:
        assert self.config is not None
        container = self.query_one("#arch-fields", Vertical)
        await container.remove_children()
        self._rows_arch = self.config.model.arch
        arch = get_arch(self._rows_arch)
        names = list(dict.fromkeys([*arch.form_fields, *self.config.model.fields]))
        info = self._arch_info()
        await container.mount_all(
            FieldRow(
                f"model.{name}",
                self.config.model.fields.get(name),
                info.defaults.get(name) if info else None,
                info.help.get(name, "") if info else "",
            )
            for name in names
        )

    def _show_config(self) -> None:
        """Make every widget show the config (without reporting those updates as edits)."""
        config = self.config
        assert config is not None
        values = config.to_dict()
        info = self._arch_info()
        for row in self.query(FieldRow):
            section, key = row.field.split(".", 1)
            row.show(values[section].get(key))
            if section == "model" and info:
                row.set_help(info.defaults.get(key), info.help.get(key, ""))
        arch_select = self.query_one("#choose-arch", Select)
        preset_select = self.query_one("#choose-preset", Select)
        with arch_select.prevent(Select.Changed), preset_select.prevent(Select.Changed):
            arch_select.value = config.model.arch
            preset_select.set_options([(p.name, p.name) for p in presets_for(config.model.arch)])
            if self.preset in PRESETS and PRESETS[self.preset].arch == config.model.arch:
                preset_select.value = self.preset
        for name, value in (
            ("task", config.model.task),
            ("tokenizer", config.data.tokenizer),
            ("corpus", config.data.corpus),
        ):
            select = self.query_one(f"#choose-{name}", Select)
            options = {v for _, v in select._options}  # Select has no public accessor
            if value in options and select.value != value:
                with select.prevent(Select.Changed):
                    select.value = value

    # --- edits -----------------------------------------------------------------------------------------

    @on(Select.Changed)
    def _choice_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = event.value if isinstance(event.value, str) else ""
        name = (event.select.id or "").removeprefix("choose-")
        if self.config is None:
            return
        if name == "arch" and value != self.config.model.arch:
            first = presets_for(value)[0]
            self._draft(first.name, task=None)
        elif name == "preset" and value in PRESETS:
            self._draft(value, task=self.config.model.task)
        elif name == "task" and value != self.config.model.task:
            arch = get_arch(self.config.model.arch)
            forced = [assignment(f"model.{k}", v) for k, v in arch.task_fields.get(value, {}).items()]
            self._apply([f"model.task={value}", *forced])
        elif name == "tokenizer" and value != self.config.data.tokenizer:
            self._draft(self.preset, task=self.config.model.task, keep=self.config)
        elif name == "corpus" and value != self.config.data.corpus:
            self._apply([f"data.corpus={value}"])

    @on(FieldEdited)
    def _field_edited(self, message: FieldEdited) -> None:
        message.stop()
        self._apply([f"{message.field}={message.text}"], from_form=True)

    def _apply(self, assignments: list[str], from_form: bool = False) -> None:
        """Apply `section.field=value` assignments; a value the section cannot hold is shown as a problem."""
        if self.config is None:
            return
        try:
            for item in assignments:
                parse_override(item)
            self.config = self.config.with_overrides(assignments, source="form")
        except ConfigError as exc:
            self._show_local_problem(assignments[0].partition("=")[0], exc.message)
            return
        if not from_form:
            self._show_config()
        self._check()

    def _show_local_problem(self, field: str, message: str) -> None:
        self.seq += 1  # any check in flight is now stale
        self._shown_seq = self.seq
        self.query_one(ProblemList).set_problems([Problem(field, message)])
        self._mark_fields({field})

    def on_descendant_focus(self, event: Any) -> None:
        self._show_help(event.widget)

    def _show_help(self, focused: Widget) -> None:
        """The help line names what has the focus: a field (with its help) or one of the choices."""
        widget: Widget | None = focused
        while widget is not None and not isinstance(widget, FieldRow | Select):
            widget = widget.parent if isinstance(widget.parent, Widget) else None
        if isinstance(widget, FieldRow):
            name, help_text = widget.field, widget.help_text
        elif isinstance(widget, Select) and (widget.id or "").startswith("choose-"):
            name = (widget.id or "").removeprefix("choose-")
            help_text = CHOICE_HELP.get(name, "")
        else:  # the side panels: the line says so rather than keep naming a field
            self.query_one("#field-help", Static).update(Text(FIELD_HELP_IDLE))
            return
        text = Text(name, style="bold")
        text.append(f"  {help_text}" if help_text else "")
        self.query_one("#field-help", Static).update(text)

    # --- checking --------------------------------------------------------------------------------------

    def _check(self) -> None:
        if self.config is None:
            return
        self.seq += 1
        tokens_per_second = self.measured["tokens_per_second"] if self.measured else None
        self._check_worker(
            self.seq,
            self.config,
            self.preset,
            self._workspace_tokenizers(),
            tokens_per_second,
            self._save_path(self.config),
        )

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="model-check", description="check the model"
    )
    def _check_worker(
        self,
        seq: int,
        config: RunConfig,
        preset: str,
        candidates: list[str],
        tokens_per_second: float | None,
        out: str,
    ) -> None:
        from textual.worker import get_current_worker

        time.sleep(CHECK_DELAY_S)  # let typing settle: a newer edit cancels this one
        if get_current_worker().is_cancelled:
            return
        from studio.model.live import command_line, live_check

        report = live_check(config, candidates, tokens_per_second)
        if get_current_worker().is_cancelled:
            return
        self.post_message(ModelChecked(seq, report, command_line(config, preset, out)))

    @on(ModelChecked)
    def _checked(self, message: ModelChecked) -> None:
        if message.seq != self.seq:
            return  # an edit came after this check
        self.report = message.report
        self._shown_seq = message.seq
        problems = message.report.problems
        self.query_one(ProblemList).set_problems(problems)
        self._mark_fields({p.field for p in problems})
        self.query_one(EstimatesView).show(message.report.estimates, self.measured, message.report.notes)
        self.query_one(SchedulePlot).show(message.report.schedule)
        self.query_one("#command", Static).update(Text(message.command))

    def _mark_fields(self, fields: set[str]) -> None:
        for row in self.query(FieldRow):
            row.set_class(row.field in fields, "-problem")

    # --- actions ---------------------------------------------------------------------------------------

    def action_fix(self) -> None:
        fix = self.query_one(ProblemList).current_fix()
        if fix is None:
            self.notify("No fix to apply." if self.report and self.report.problems else "Nothing to fix.")
            return
        self._apply_fix(fix)

    @on(FixRequested)
    def _fix_requested(self, message: FixRequested) -> None:
        message.stop()
        self._apply_fix(message.fix)

    def _apply_fix(self, fix: str) -> None:
        field, _, value = fix.partition("=")
        if field == "data.tokenizer" and self.config is not None:
            select = self.query_one("#choose-tokenizer", Select)
            select.value = value  # re-reads the tokenizer's vocabulary through Select.Changed
            return
        if field in ("model.arch",):
            self._draft(presets_for(value)[0].name, task=None)
            return
        self._apply([fix])

    def _save_path(self, config: RunConfig) -> str:
        return str(self.studio.workspace.configs / f"{_safe_name(config.studio.name)}.yaml")

    def action_save(self) -> Path | None:
        if self.config is None:
            return None
        path = Path(self._save_path(self.config))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_config(self.config, path)
        except OSError as exc:
            self.notify(f"{path}: cannot be written ({exc.strerror})", severity="error")
            return None
        self.notify(Text(f"Saved {path}").plain)
        return path

    def action_train(self) -> None:
        if self.config is None:
            return
        problems = self.report.problems if self.report else []
        if problems:
            self.notify(
                f"Fix the {len(problems)} problem(s) first (ctrl+f applies a fix).", severity="warning"
            )
            return
        if self.action_save() is not None:
            self.studio.launch_run(self.config)

    def action_measure(self) -> None:
        if self._measure_cancel is not None:
            self._measure_cancel.set()
            self.notify("Measuring cancelled.")
            return
        if self.config is None or (self.report and self.report.problems):
            self.notify("Fix the problems before measuring.", severity="warning")
            return
        self._measure_cancel = CancelFlag()
        self.notify("Measuring two real steps… (ctrl+b again cancels)")
        self._measure_worker(self.config, self._measure_cancel)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="model-measure",
        description="measure two steps",
    )
    def _measure_worker(self, config: RunConfig, cancel: CancelFlag) -> None:
        from studio.errors import Cancelled
        from studio.model.measure import measure_steps

        try:
            self.post_message(MeasureFinished(measure_steps(config, cancel=cancel).to_dict()))
        except Cancelled:
            self.post_message(MeasureFinished(None))
        except StudioError as exc:
            self.post_message(MeasureFinished(None, exc.message))

    @on(MeasureFinished)
    def _measured(self, message: MeasureFinished) -> None:
        self._measure_cancel = None
        if message.error:
            self.notify(message.error, severity="error")
        if message.result:
            self.measured = message.result
            self._check()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            if event.worker.group == "model-measure":
                self._measure_cancel = None
            self.notify_error(error, title=event.worker.description or "model")
