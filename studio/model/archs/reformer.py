"""Reformer: LSH and local attention in chunks, axial position embeddings; masked or causal LM.

Its rules are the ones that made the blog's author give up on it: the axial shape must multiply
out to the training length, the axial widths must add up to the hidden size, the length must be
a multiple of every chunk length in use, and a causal model must be a decoder that never looks
at the chunks after its own (a masked one must not be a decoder).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from studio.model.archs.base import Arch, Dims, RuleContext, as_int, largest_divisor_at_most, two_factors
from studio.model.problems import Problem, assignment

ATTENTION_KINDS = ("lsh", "local")


def _int_list(value: object) -> list[int] | None:
    if isinstance(value, list | tuple) and value and all(as_int(v) is not None and v > 0 for v in value):
        return [int(v) for v in value]  # type: ignore[call-overload]
    return None


def attention_layers_known(ctx: RuleContext) -> Iterator[Problem]:
    """Every entry of attn_layers is an attention Reformer has."""
    layers = ctx.fields.get("attn_layers")
    if not isinstance(layers, list | tuple) or not layers or any(k not in ATTENTION_KINDS for k in layers):
        yield Problem(
            "model.attn_layers",
            f"attn_layers must be a non-empty list of {' and '.join(ATTENTION_KINDS)}, found {layers!r}",
            assignment("model.attn_layers", ["local", "lsh"]),
        )


def axial_shape_matches_block(ctx: RuleContext) -> Iterator[Problem]:
    """Training needs prod(axial_pos_shape) == the block size."""
    if not ctx.fields.get("axial_pos_embds", True):
        return
    shape = _int_list(ctx.fields.get("axial_pos_shape"))
    block = ctx.block_size
    if shape is None or math.prod(shape) != block:
        product = math.prod(shape) if shape else "nothing"
        yield Problem(
            "model.axial_pos_shape",
            f"axial_pos_shape {ctx.fields.get('axial_pos_shape')!r} multiplies to {product}, but training "
            f"needs exactly the block size {block}",
            assignment("model.axial_pos_shape", two_factors(block)) if block > 0 else None,
        )


def axial_dims_sum_to_hidden(ctx: RuleContext) -> Iterator[Problem]:
    """The axial embeddings are concatenated into the hidden state: their widths must add up to it."""
    if not ctx.fields.get("axial_pos_embds", True):
        return
    hidden = as_int(ctx.fields.get("hidden_size"))
    dims = _int_list(ctx.fields.get("axial_pos_embds_dim"))
    if not hidden or hidden <= 0 or (dims is not None and sum(dims) == hidden):
        return
    first = dims[0] if dims and len(dims) > 1 and dims[0] < hidden else hidden // 4
    yield Problem(
        "model.axial_pos_embds_dim",
        f"axial_pos_embds_dim {ctx.fields.get('axial_pos_embds_dim')!r} must add up to hidden_size {hidden}",
        assignment("model.axial_pos_embds_dim", [first, hidden - first]),
    )


def block_multiple_of_chunks(ctx: RuleContext) -> Iterator[Problem]:
    """Attention runs over fixed chunks: the block must split into whole chunks of each kind in use."""
    block = ctx.block_size
    layers = ctx.fields.get("attn_layers") or ()
    for kind in ATTENTION_KINDS:
        name = f"{kind}_attn_chunk_length"
        chunk = as_int(ctx.fields.get(name))
        if kind not in layers or block <= 0:
            continue
        if not chunk or chunk <= 0 or block % chunk:
            fixed = largest_divisor_at_most(block, chunk if chunk and chunk > 0 else 64)
            yield Problem(
                f"model.{name}",
                f"the block size {block} must be a multiple of {name} ({ctx.fields.get(name)!r})",
                assignment(f"model.{name}", fixed),
            )


def decoder_matches_task(ctx: RuleContext) -> Iterator[Problem]:
    """Causal LM: a decoder seeing no chunk after its own. Masked LM: not a decoder."""
    is_decoder = ctx.fields.get("is_decoder")
    if ctx.task == "clm":
        if is_decoder is not True:
            yield Problem(
                "model.is_decoder",
                "a causal LM must be a decoder (is_decoder: true), or it attends to future tokens",
                assignment("model.is_decoder", True),
            )
        for name in ("lsh_num_chunks_after", "local_num_chunks_after"):
            value = ctx.fields.get(name)
            if value != 0:
                yield Problem(
                    f"model.{name}",
                    f"{name} is {value!r}: a causal LM must not attend to later chunks (future tokens)",
                    assignment(f"model.{name}", 0),
                )
    elif is_decoder is not False:
        yield Problem(
            "model.is_decoder",
            "a masked LM must not be a decoder (is_decoder: false): it reads both directions",
            assignment("model.is_decoder", False),
        )


def causal_attention_is_local(ctx: RuleContext) -> Iterator[Problem]:
    """Causal LM: LSH attention sorts every position (later ones too) into hash buckets before it
    cuts chunks, so the tokens after t decide which earlier tokens t sees. Measured: a trained
    local+LSH causal model's logits at t moved by ~6e-3 when only later tokens changed."""
    layers = ctx.fields.get("attn_layers")
    if ctx.task == "clm" and isinstance(layers, list | tuple) and "lsh" in layers:
        yield Problem(
            "model.attn_layers",
            "LSH attention is not causal: later tokens change the hash buckets, and so which earlier "
            "tokens each position attends to; a causal LM needs local attention only",
            assignment("model.attn_layers", ["local"] * len(layers)),
        )


ARCH = Arch(
    name="reformer",
    config_class="transformers.ReformerConfig",
    tasks=("mlm", "clm"),
    tokenizer_kinds=("sentencepiece-unigram", "sentencepiece-bpe", "unigram"),
    description="Reformer (LSH + local attention, axial positions)",
    special_tokens={"mlm": ("mask_token", "pad_token"), "clm": ("eos_token",)},
    dims=Dims(
        hidden="hidden_size",
        layers="num_hidden_layers",
        heads="num_attention_heads",
        positions="max_position_embeddings",
        heads_divide_hidden=False,
    ),
    rules=(
        attention_layers_known,
        axial_shape_matches_block,
        axial_dims_sum_to_hidden,
        block_multiple_of_chunks,
        decoder_matches_task,
        causal_attention_is_local,
    ),
    form_fields=(
        "vocab_size",
        "hidden_size",
        "attn_layers",
        "num_attention_heads",
        "attention_head_size",
        "feed_forward_size",
        "axial_pos_shape",
        "axial_pos_embds_dim",
        "lsh_attn_chunk_length",
        "local_attn_chunk_length",
        "num_hashes",
        "num_buckets",
        "is_decoder",
        "lsh_num_chunks_after",
        "local_num_chunks_after",
        "max_position_embeddings",
        "hidden_dropout_prob",
    ),
    task_fields={
        "clm": {"is_decoder": True, "lsh_num_chunks_after": 0, "local_num_chunks_after": 0},
        "mlm": {"is_decoder": False},
    },
)
