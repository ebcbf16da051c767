"""What the Model screen shows after each edit, computed off the UI thread in one call.

`draft_config` starts a config from a preset even when the tokenizer is missing (the form must
open on an empty workspace); `live_check` validates, estimates and draws the schedule; and
`command_line` writes the equivalent `studio config init ... --set ...` for the current form.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.config import DEFAULT_TRAIN, DataConfig, ModelConfig, RunConfig, StudioConfig
from studio.errors import StudioError
from studio.model.problems import Problem, assignment


@dataclass(frozen=True)
class LiveReport:
    """Problems, estimates (None while the sizes are invalid) and the learning-rate curve."""

    problems: list[Problem]
    estimates: dict[str, Any] | None = None
    schedule: list[tuple[int, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FieldInfo:
    """An architecture's form: each field's HF default and help text."""

    arch: str
    defaults: dict[str, Any]
    help: dict[str, str]


def field_info(arch: str) -> FieldInfo:
    """Defaults and help texts of an architecture's fields (imports transformers)."""
    from studio.model.registry import field_help, hf_config_fields

    return FieldInfo(arch, dict(hf_config_fields(arch)), dict(field_help(arch)))


def draft_config(
    preset_name: str, corpus: str, tokenizer: str, task: str | None = None, name: str | None = None
) -> RunConfig:
    """`config_from_preset`, but a missing or unreadable tokenizer leaves the vocabulary to fix later."""
    from studio.model.build import config_from_preset
    from studio.model.presets import get_preset
    from studio.model.registry import get_arch

    try:
        return config_from_preset(preset_name, corpus, tokenizer, task=task, name=name)
    except StudioError:
        preset = get_preset(preset_name)
        task = task if task in preset.tasks else preset.tasks[0]
        fields = {**get_arch(preset.arch).task_fields.get(task, {}), **preset.model}
        return RunConfig(
            data=DataConfig(corpus=corpus, tokenizer=tokenizer, **preset.data),
            model=ModelConfig(arch=preset.arch, task=task, fields=fields),
            train={**DEFAULT_TRAIN, **preset.train},
            studio=StudioConfig(name=name or preset_name),
        )


@functools.lru_cache(maxsize=16)
def _corpus_tokens(corpus: str, tokenizer: str, stamp: tuple[float, float]) -> int | None:
    from studio.model.estimate import count_corpus_tokens

    return count_corpus_tokens(corpus, tokenizer)


def corpus_tokens(corpus: str, tokenizer: str) -> int | None:
    """Tokens in the corpus under the tokenizer, cached until either changes on disk."""
    try:
        stamp = (Path(corpus).stat().st_mtime, Path(tokenizer).stat().st_mtime)
        return _corpus_tokens(corpus, tokenizer, stamp)
    except (OSError, StudioError, StopIteration):
        return None


def live_check(
    config: RunConfig, tokenizer_candidates: Sequence[str | Path] = (), tokens_per_second: float | None = None
) -> LiveReport:
    """Everything the form shows for this config: problems, estimates and the schedule."""
    from studio.model.estimate import estimate
    from studio.model.schedule import lr_schedule
    from studio.model.validate import check

    problems = check(config, tokenizer_candidates)
    notes: list[str] = []
    estimates = None
    tokens = None
    if not any(p.field.startswith("model") for p in problems):
        if not any(p.field in ("data.corpus", "data.tokenizer") for p in problems):
            tokens = corpus_tokens(config.data.corpus, config.data.tokenizer)
        try:
            estimates = estimate(config, tokens, tokens_per_second).to_dict()
        except Exception as exc:  # a combination the rules did not foresee: say so, keep the form alive
            notes.append(f"cannot build this model: {str(exc).splitlines()[0][:160]}")
    schedule: list[tuple[int, float]] = []
    if not any(p.field.startswith("train.") for p in problems):
        steps = (estimates or {}).get("planned_steps")
        try:
            schedule = lr_schedule(config.train, steps)
        except StudioError as exc:
            notes.append(exc.message)
    return LiveReport(problems, estimates, schedule, notes)


def command_line(config: RunConfig, preset_name: str, out: str) -> str:
    """The `studio config init` command that writes this config, and the `studio train` that runs it."""
    from studio.model.build import config_from_preset

    try:
        base = config_from_preset(
            preset_name,
            config.data.corpus,
            config.data.tokenizer,
            task=config.model.task,
            name=config.studio.name,
        ).to_dict()
    except StudioError:
        base = draft_config(
            preset_name, config.data.corpus, config.data.tokenizer, config.model.task, config.studio.name
        ).to_dict()
    current = config.to_dict()
    sets = []
    for section in ("data", "model", "train", "studio"):
        for key, value in current[section].items():
            if section == "data" and key in ("corpus", "tokenizer"):
                continue
            if key not in base[section] or base[section][key] != value:
                sets.append(assignment(f"{section}.{key}", value))
        for key in base[section]:
            if key not in current[section] and section in ("model", "train"):
                sets.append(assignment(f"{section}.{key}", None))
    words = [
        "studio",
        "config",
        "init",
        "--preset",
        preset_name,
        "--task",
        config.model.task,
        "--corpus",
        config.data.corpus or "CORPUS",
        "--tokenizer",
        config.data.tokenizer or "TOKENIZER",
    ]
    for item in sets:
        words += ["--set", item]
    words += ["--out", out]
    return shlex.join(words) + " && " + shlex.join(["studio", "train", out])
