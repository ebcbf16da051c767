"""Model presets: a starting point per size, edited in the Model screen or with `--set`.

A preset gives the model fields (HF names), and the data/train fields that go with that size.
The vocabulary size always comes from the tokenizer, never from the preset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studio.errors import StudioError


@dataclass(frozen=True)
class Preset:
    name: str
    arch: str
    tasks: tuple[str, ...]
    description: str
    model: dict[str, Any]
    train: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "tiny-cpu", "roberta", ("mlm",),
            "a 2-layer RoBERTa that trains a few hundred steps in a minute or two on 2 CPU cores",
            model={"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
                   "intermediate_size": 512, "max_position_embeddings": 130, "type_vocab_size": 1},
            train={"per_device_train_batch_size": 16, "max_steps": 300, "learning_rate": 1.0e-3,
                   "logging_steps": 10, "save_steps": 100},
            data={"block_size": 128},
        ),
    )
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise StudioError(f"unknown preset {name!r}", f"choose one of: {', '.join(PRESETS)}") from None
