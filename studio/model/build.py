"""From a preset, a corpus and a tokenizer to a run config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.config import DEFAULT_TRAIN, DataConfig, ModelConfig, RunConfig, StudioConfig
from studio.errors import StudioError
from studio.model.presets import get_preset


def tokenizer_vocab_size(tokenizer_dir: str | Path) -> int:
    """The vocabulary size of a saved tokenizer directory, read without loading transformers."""
    from tokenizers import Tokenizer

    path = Path(tokenizer_dir)
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.exists():
        raise StudioError(f"{tokenizer_dir}: not a tokenizer directory (no tokenizer.json)",
                          "train one with `studio tokenizer train` or give its directory")
    try:
        return Tokenizer.from_file(str(file)).get_vocab_size(with_added_tokens=True)
    except Exception as exc:  # tokenizers raises plain Exceptions for bad files
        raise StudioError(f"{file}: not a valid tokenizer file ({exc})") from None


def config_from_preset(preset_name: str, corpus: str, tokenizer: str, task: str | None = None,
                       name: str | None = None) -> RunConfig:
    preset = get_preset(preset_name)
    task = task or preset.tasks[0]
    if task not in preset.tasks:
        raise StudioError(f"preset {preset_name} does not support task {task!r}",
                          f"it supports: {', '.join(preset.tasks)}")
    model_fields = {**preset.model, "vocab_size": tokenizer_vocab_size(tokenizer)}
    data = DataConfig(corpus=str(corpus), tokenizer=str(tokenizer), **preset.data)
    return RunConfig(
        data=data,
        model=ModelConfig(arch=preset.arch, task=task, fields=model_fields),
        train={**DEFAULT_TRAIN, **preset.train},
        studio=StudioConfig(name=name or preset_name),
    )


def build_hf_config(config: RunConfig) -> Any:
    """The transformers config object for this run config (imports transformers).

    Task-dependent fields the user must not have to know about are set here: `is_decoder` for
    causal Reformer, and the tokenizer-independent defaults of each architecture.
    """
    from studio.model.registry import get_arch

    arch = get_arch(config.model.arch)
    fields = dict(config.model.fields)
    if config.model.arch == "reformer":
        fields.setdefault("is_decoder", config.model.task == "clm")
    return arch.load_config_class()(**fields)


def auto_model_class(task: str) -> Any:
    """`AutoModelForMaskedLM` for mlm, `AutoModelForCausalLM` for clm."""
    import transformers

    return transformers.AutoModelForMaskedLM if task == "mlm" else transformers.AutoModelForCausalLM
