"""Model presets: a starting point per size, edited in the Model screen or with `--set`.

A preset gives the model fields (HF names), and the data/train fields that go with that size.
The vocabulary size and the special-token ids always come from the tokenizer, never from the preset.
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
    # Model fields that differ by task (applied over `model`), e.g. Reformer's attention for causal LM.
    task_model: dict[str, dict[str, Any]] = field(default_factory=dict)


# Small models train on CPU: short blocks, a higher rate, checkpoints often enough to see them.
_TINY_TRAIN = {
    "per_device_train_batch_size": 16,
    "max_steps": 300,
    "learning_rate": 1.0e-3,
    "logging_steps": 10,
    "save_steps": 100,
}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "esperberto-84m",
            "roberta",
            ("mlm",),
            "the blog's RoBERTa: 6 layers, 12 heads, hidden 768, 514 positions (84M with a 52k vocabulary)",
            model={
                "hidden_size": 768,
                "num_hidden_layers": 6,
                "num_attention_heads": 12,
                "intermediate_size": 3072,
                "max_position_embeddings": 514,
                "type_vocab_size": 1,
            },
            train={
                # 128 x 512 tokens: 16 GiB peak on the fast path, 0.82M tokens/s on an H200 (RESULTS.md)
                "per_device_train_batch_size": 128,
                "max_steps": 10000,
                "learning_rate": 5.0e-4,
                "save_steps": 1000,
                "save_total_limit": 2,
            },
            data={"block_size": 512},
        ),
        Preset(
            "tiny-cpu",
            "roberta",
            ("mlm",),
            "a 2-layer RoBERTa that trains a few hundred steps in a minute or two on 2 CPU cores",
            model={
                "hidden_size": 128,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "intermediate_size": 512,
                "max_position_embeddings": 130,
                "type_vocab_size": 1,
            },
            train=dict(_TINY_TRAIN),
            data={"block_size": 128},
        ),
        Preset(
            "small",
            "roberta",
            ("mlm",),
            "a 4-layer RoBERTa (hidden 512) for a single small GPU or a patient CPU",
            model={
                "hidden_size": 512,
                "num_hidden_layers": 4,
                "num_attention_heads": 8,
                "intermediate_size": 2048,
                "max_position_embeddings": 258,
                "type_vocab_size": 1,
            },
            train={"per_device_train_batch_size": 32, "max_steps": 5000, "learning_rate": 6.0e-4},
            data={"block_size": 256},
        ),
        Preset(
            "base",
            "roberta",
            ("mlm",),
            "RoBERTa-base sizes: 12 layers, 12 heads, hidden 768, blocks of 512",
            model={
                "hidden_size": 768,
                "num_hidden_layers": 12,
                "num_attention_heads": 12,
                "intermediate_size": 3072,
                "max_position_embeddings": 514,
                "type_vocab_size": 1,
            },
            train={"per_device_train_batch_size": 32, "max_steps": 100000, "learning_rate": 3.0e-4},
            data={"block_size": 512},
        ),
        Preset(
            "bert-tiny",
            "bert",
            ("mlm",),
            "a 2-layer BERT for CPU experiments",
            model={
                "hidden_size": 128,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "intermediate_size": 512,
                "max_position_embeddings": 128,
                "type_vocab_size": 1,
            },
            train=dict(_TINY_TRAIN),
            data={"block_size": 128},
        ),
        Preset(
            "gpt2-tiny",
            "gpt2",
            ("clm",),
            "a 2-layer GPT-2 that trains on CPU in minutes",
            model={"n_embd": 128, "n_layer": 2, "n_head": 2, "n_inner": 512, "n_positions": 128},
            train=dict(_TINY_TRAIN),
            data={"block_size": 128},
        ),
        Preset(
            "llama-tiny",
            "llama",
            ("clm",),
            "a 2-layer Llama-style decoder (grouped-query attention) that trains on CPU",
            model={
                "hidden_size": 128,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "num_key_value_heads": 2,
                "intermediate_size": 344,
                "max_position_embeddings": 128,
                "tie_word_embeddings": True,
            },
            train=dict(_TINY_TRAIN),
            data={"block_size": 128},
        ),
        Preset(
            "reformer-tiny",
            "reformer",
            ("mlm", "clm"),
            "a 2-layer Reformer: local + LSH attention for masked LM, local attention for causal LM",
            model={
                "hidden_size": 128,
                "attn_layers": ["local", "lsh"],
                "num_attention_heads": 2,
                "attention_head_size": 64,
                "feed_forward_size": 256,
                "axial_pos_shape": [8, 16],
                "axial_pos_embds_dim": [32, 96],
                "local_attn_chunk_length": 32,
                "lsh_attn_chunk_length": 32,
                "num_hashes": 1,
                "num_buckets": 8,
                "max_position_embeddings": 128,
            },
            train=dict(_TINY_TRAIN),
            data={"block_size": 128},
            # LSH attention is not causal (see archs/reformer.py): causal LM uses local attention only.
            task_model={"clm": {"attn_layers": ["local", "local"]}},
        ),
    )
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise StudioError(f"unknown preset {name!r}", f"choose one of: {', '.join(PRESETS)}") from None


def presets_for(arch: str, task: str | None = None) -> list[Preset]:
    """The presets of one architecture (and task), in the order listed."""
    return [p for p in PRESETS.values() if p.arch == arch and (task is None or task in p.tasks)]
