"""Typed run configs: YAML load and save, `--set section.field=value` overrides, clear errors.

A run config has four sections, named as Hugging Face names things:

- `data`: where the text and the tokenizer are, and how blocks are cut (ours, typed here);
- `model`: `arch` and `task`, then any field of that architecture's HF config class;
- `train`: any field of `transformers.TrainingArguments`;
- `studio`: what is Studio's alone (probes, NaN policy, the training path).

`data` and `studio` are checked here against their dataclasses. `model` and `train` are checked
against the real HF classes by `check_hf_fields`, which imports transformers and is therefore
kept out of the cheap `load_config` path (the TUI loads configs on its main thread).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml

from studio.errors import StudioError

SECTIONS = ("data", "model", "train", "studio")
ARCHS = ("roberta", "bert", "gpt2", "llama", "reformer")
TASKS = ("mlm", "clm")


class _Loader(yaml.SafeLoader):
    """YAML 1.1 as PyYAML reads it, except that `1e-4` is a float (as in YAML 1.2 and HF configs)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str) -> Any:
    """Parse YAML with Studio's loader (safe, and `1e-4` is a number)."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects


class ConfigError(StudioError):
    """A config that cannot be used: names the file, line or field, and what was expected."""


@dataclass
class DataConfig:
    """Where the text and tokenizer come from, and how the text becomes training blocks."""

    corpus: str = ""
    tokenizer: str = ""
    block_size: int = 512
    packing: bool = True
    validation_split: float = 0.01
    text_column: str = "text"
    max_lines: int | None = None
    num_proc: int | None = None


@dataclass
class ModelConfig:
    """An architecture, a task, and fields of that architecture's HF config, by their HF names."""

    arch: str = "roberta"
    task: str = "mlm"
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"arch": self.arch, "task": self.task, **self.fields}


@dataclass
class StudioConfig:
    """Settings that belong to Studio rather than to transformers."""

    name: str = "run"
    mode: Literal["fast", "recipe"] = "fast"
    probe_every: int = 200
    probe_texts: list[str] = field(default_factory=list)
    nan_policy: Literal["stop", "skip"] = "stop"
    monitor_interval: float = 1.0
    on_finish: str | None = None


DEFAULT_TRAIN: dict[str, Any] = {
    "learning_rate": 5.0e-4,
    "per_device_train_batch_size": 64,
    "max_steps": 10000,
    "warmup_steps": 0.05,
    "lr_scheduler_type": "linear",
    "weight_decay": 0.01,
    "logging_steps": 10,
    "save_steps": 1000,
    "save_total_limit": 3,
    "seed": 42,
}


@dataclass
class RunConfig:
    """The whole run config, as written to `runs/<id>/config.yaml`."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_TRAIN))
    studio: StudioConfig = field(default_factory=StudioConfig)

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": dataclasses.asdict(self.data),
            "model": self.model.to_dict(),
            "train": dict(self.train),
            "studio": dataclasses.asdict(self.studio),
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    @classmethod
    def from_dict(cls, raw: Any, source: str = "config") -> RunConfig:
        """Build a config from parsed YAML, naming the first thing of the wrong shape."""
        if not isinstance(raw, Mapping):
            raise ConfigError(
                f"{source}: expected a mapping with sections {', '.join(SECTIONS)}, found {_kind(raw)}",
                "a run config looks like `data: {...}`, `model: {...}`, `train: {...}`, `studio: {...}`",
            )
        for key in raw:
            if key not in SECTIONS:
                raise ConfigError(
                    f"{source}: unknown section {key!r}",
                    f"valid sections: {', '.join(SECTIONS)}{_did_you_mean(str(key), SECTIONS)}",
                )
        sections = {name: raw.get(name) or {} for name in SECTIONS}
        for name, value in sections.items():
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: section {name!r} must be a mapping, found {_kind(value)}")
        model_raw = dict(sections["model"])
        arch = model_raw.pop("arch", "roberta")
        task = model_raw.pop("task", "mlm")
        _check_choice(source, "model.arch", arch, ARCHS)
        _check_choice(source, "model.task", task, TASKS)
        return cls(
            data=_build_dataclass(DataConfig, sections["data"], "data", source),
            model=ModelConfig(arch=arch, task=task, fields=model_raw),
            train={**DEFAULT_TRAIN, **sections["train"]},
            studio=_build_dataclass(StudioConfig, sections["studio"], "studio", source),
        )

    def with_overrides(self, overrides: Iterable[str], source: str = "--set") -> RunConfig:
        """Apply `section.field=value` strings, values typed as YAML (`[64,64]`, `true`, `1e-4`).

        An empty or null value for a model or train field (`model.hiden_size=`) removes that field,
        so the default applies (HF configs take no nulls for their sizes); this is how a fix
        removes a misspelt field.
        """
        raw = self.to_dict()
        for item in overrides:
            section, key, value = parse_override(item)
            if section in ("model", "train") and value is None and key not in ("arch", "task"):
                raw[section].pop(key, None)
            else:
                raw[section][key] = value
        return RunConfig.from_dict(raw, source=source)


def parse_override(item: str) -> tuple[str, str, Any]:
    """Split `section.field=value` and type the value as YAML would."""
    target, sep, text = item.partition("=")
    section, dot, key = target.strip().partition(".")
    if not sep or not dot or not key:
        raise ConfigError(
            f"--set {item!r}: expected section.field=value",
            "for example --set train.learning_rate=1e-4 or --set model.axial_pos_shape=[64,64]",
        )
    if section not in SECTIONS:
        raise ConfigError(
            f"--set {item!r}: unknown section {section!r}",
            f"valid sections: {', '.join(SECTIONS)}{_did_you_mean(section, SECTIONS)}",
        )
    try:
        value = parse_yaml(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {item!r}: the value is not valid YAML ({exc.__class__.__name__})") from None
    return section, key, value


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> RunConfig:
    """Read a run config file; YAML errors name the file and line, shape errors the field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file", "create one with `studio config init`") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text; a run config is a YAML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        raw = parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(
            f"{where}: not valid YAML: {exc.problem}",
            "a run config is a YAML mapping of the sections data, model, train and studio",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    config = RunConfig.from_dict(raw, source=str(path))
    return config.with_overrides(overrides, source=str(path)) if overrides else config


def save_config(config: RunConfig, path: str | Path) -> None:
    """Write the config atomically, so a crash never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(config.to_yaml(), encoding="utf-8")
    tmp.replace(path)


def check_hf_fields(config: RunConfig) -> None:
    """Check `model` and `train` fields against the real HF classes (imports transformers)."""
    from studio.model.registry import hf_config_fields  # heavy: transformers

    known = hf_config_fields(config.model.arch)
    for key, value in config.model.fields.items():
        if key not in known:
            raise ConfigError(
                f"model.{key}: {config.model.arch} has no such field{_did_you_mean(key, list(known))}",
                f"fields of the {config.model.arch} config include: {_some(known)}",
            )
        _check_hf_value(f"model.{key}", value, known[key])
    train_fields = training_argument_types()
    for key, value in config.train.items():
        if key not in train_fields:
            raise ConfigError(
                f"train.{key}: transformers.TrainingArguments has no such field"
                f"{_did_you_mean(key, list(train_fields))}",
                f"TrainingArguments fields include: {_some(train_fields)}",
            )
        _check_value(f"train.{key}", value, train_fields[key])
    _check_report_to(config.train.get("report_to"))


def _check_report_to(value: Any) -> None:
    """Each `train.report_to` integration must be one transformers knows and one that is installed:
    otherwise the Trainer fails only once the run has started."""
    names = [value] if isinstance(value, str) else list(value or [])
    names = [name for name in names if name not in ("none", "all")]
    if not names:
        return
    from transformers.integrations import get_available_reporting_integrations
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

    available = set(get_available_reporting_integrations())
    for name in names:
        if name not in INTEGRATION_TO_CALLBACK:
            raise ConfigError(
                f"train.report_to: no integration named {name!r}{_did_you_mean(name, list(INTEGRATION_TO_CALLBACK))}",
                f"integrations: {', '.join(sorted(INTEGRATION_TO_CALLBACK))} (or none)",
            )
        if name not in available:
            raise ConfigError(
                f"train.report_to: {name} is not installed",
                f"install it (`pip install {name.replace('_', '-')}`) or set train.report_to=none; Studio's own events "
                "are always written",
            )


def training_argument_types() -> dict[str, Any]:
    """Every `TrainingArguments` field with its resolved type annotation."""
    import transformers

    hints = typing.get_type_hints(transformers.TrainingArguments)
    return {
        f.name: hints.get(f.name, Any) for f in dataclasses.fields(transformers.TrainingArguments) if f.init
    }


# --- shape checking -------------------------------------------------------------------------------


def _build_dataclass(cls: type, raw: Mapping[str, Any], section: str, source: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key, value in raw.items():
        if key not in hints:
            raise ConfigError(
                f"{source}: {section}.{key} is not a field of the {section} section"
                f"{_did_you_mean(str(key), names)}",
                f"valid fields: {', '.join(names)}",
            )
        _check_value(f"{section}.{key}", value, hints[key], source)
    values = dict(raw)
    for key, hint in hints.items():  # floats written as ints (`validation_split: 0`) stay floats
        if hint is float and isinstance(values.get(key), int) and not isinstance(values.get(key), bool):
            values[key] = float(values[key])
    return cls(**values)


def _check_value(name: str, value: Any, hint: Any, source: str = "") -> None:
    if _matches(value, hint):
        return
    where = f"{source}: " if source else ""
    raise ConfigError(f"{where}{name}: expected {_describe(hint)}, found {_kind(value)} {value!r}")


def _check_hf_value(name: str, value: Any, default: Any) -> None:
    """HF config classes are untyped; the default's type is the contract when there is one."""
    if default is None or value is None:
        return
    expected: Any = float if isinstance(default, float) else type(default)
    if isinstance(default, list | tuple):
        expected = list
    if not _matches(value, expected):
        raise ConfigError(f"{name}: expected {_describe(expected)}, found {_kind(value)} {value!r}")


def _matches(value: Any, hint: Any) -> bool:
    if hint is Any or hint is object:
        return True
    origin = get_origin(hint)
    if origin is Literal:
        return value in get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in get_args(hint))
    if hint is type(None):
        return value is None
    if origin in (list, tuple):
        args = get_args(hint)
        return isinstance(value, list | tuple) and (not args or all(_matches(v, args[0]) for v in value))
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        if issubclass(hint, str) and hint is not str:  # str-valued enums (schedulers, strategies)
            return isinstance(value, str) and value in {m.value for m in hint}  # type: ignore[attr-defined]
        return isinstance(value, hint)
    return True


def _describe(hint: Any) -> str:
    origin = get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(hint))
    if hint is type(None):
        return "null"
    if origin in (list, tuple) or hint is list:
        return "a list"
    if isinstance(hint, type) and issubclass(hint, str) and hint is not str:
        return "one of " + ", ".join(repr(m.value) for m in hint)  # type: ignore[attr-defined]
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )


def _kind(value: Any) -> str:
    return {
        type(None): "null",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _check_choice(source: str, name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(
            f"{source}: {name}: unknown value {value!r}{_did_you_mean(str(value), choices)}",
            f"valid choices: {', '.join(choices)}",
        )


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _some(names: Iterable[str], limit: int = 12) -> str:
    names = sorted(names)
    more = f", … ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
