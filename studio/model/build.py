"""From a preset, a corpus and a tokenizer to a run config; from a run config to HF objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.config import DEFAULT_TRAIN, DataConfig, ModelConfig, RunConfig, StudioConfig
from studio.errors import StudioError
from studio.model.presets import get_preset


def tokenizer_vocab_size(tokenizer_dir: str | Path) -> int:
    """The vocabulary size of a saved tokenizer directory, read without loading transformers."""
    from studio.model.tokenizer_info import load_tokenizer_info

    return load_tokenizer_info(tokenizer_dir).vocab_size


def tokenizer_fields(arch_name: str, tokenizer_dir: str | Path) -> dict[str, Any]:
    """The model fields a tokenizer decides: vocab_size and the pad/bos/eos ids it has."""
    from studio.model.registry import hf_config_fields
    from studio.model.tokenizer_info import load_tokenizer_info
    from studio.model.validate import TOKEN_ID_FIELDS

    info = load_tokenizer_info(tokenizer_dir)
    known = hf_config_fields(arch_name)
    fields: dict[str, Any] = {"vocab_size": info.vocab_size}
    for role, name in TOKEN_ID_FIELDS.items():
        if name in known and info.has(role):
            fields[name] = info.special_ids[role]
    return fields


def config_from_preset(
    preset_name: str, corpus: str, tokenizer: str, task: str | None = None, name: str | None = None
) -> RunConfig:
    """A run config from a preset, with the vocabulary and special ids taken from the tokenizer."""
    from studio.model.registry import get_arch

    preset = get_preset(preset_name)
    task = task or preset.tasks[0]
    if task not in preset.tasks:
        raise StudioError(
            f"preset {preset_name} does not support task {task!r}", f"it supports: {', '.join(preset.tasks)}"
        )
    arch = get_arch(preset.arch)
    model_fields = {
        **arch.task_fields.get(task, {}),
        **preset.model,
        **preset.task_model.get(task, {}),
        **tokenizer_fields(preset.arch, tokenizer),
    }
    data = DataConfig(corpus=str(corpus), tokenizer=str(tokenizer), **preset.data)
    return RunConfig(
        data=data,
        model=ModelConfig(arch=preset.arch, task=task, fields=model_fields),
        train={**DEFAULT_TRAIN, **preset.train},
        studio=StudioConfig(name=name or preset_name),
    )


def build_hf_config(config: RunConfig) -> Any:
    """The transformers config object for this run config (imports transformers).

    Task-dependent fields the user must not have to know about are set here (Reformer's
    `is_decoder` and chunks-after for causal LM) unless the config sets them itself.
    """
    from studio.model.registry import get_arch

    arch = get_arch(config.model.arch)
    fields = {**arch.task_fields.get(config.model.task, {}), **config.model.fields}
    return arch.load_config_class()(**fields)


def auto_model_class(task: str) -> Any:
    """`AutoModelForMaskedLM` for mlm, `AutoModelForCausalLM` for clm."""
    import transformers

    return transformers.AutoModelForMaskedLM if task == "mlm" else transformers.AutoModelForCausalLM


def build_model(config: RunConfig, device: str = "cpu") -> Any:
    """The untrained model for this config (`device="meta"` allocates nothing: for counting)."""
    import torch

    hf_config = build_hf_config(config)
    with torch.device(device):
        return auto_model_class(config.model.task).from_config(hf_config)
