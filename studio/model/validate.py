"""Validation with fixes: every rule names its field, says why, and offers a `--set` assignment.

`validate(config, tokenizer)` runs the shared rules (field names and types against the real HF
config class, ranges, heads and hidden size, positions and block, vocabulary and special tokens)
and then the architecture's own (`studio.model.archs.<arch>.ARCH.rules`). `check(config)` also
reads the tokenizer named by the config, so a missing or wrong tokenizer is one more problem.
Nothing here raises for a user's mistake: a bad config is a list of problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from studio.config import ARCHS, TASKS, ConfigError, RunConfig, _check_hf_value, _check_value, _did_you_mean
from studio.errors import StudioError
from studio.model.archs.base import Arch, RuleContext, as_int, nearest_divisor
from studio.model.problems import Problem, assignment, fixes_of
from studio.model.registry import get_arch, hf_config_fields
from studio.model.tokenizer_info import TokenizerInfo, load_tokenizer_info

# Sizes that must be positive integers, and counts that may be zero but not negative.
POSITIVE_INTS = frozenset(
    {
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "max_position_embeddings",
        "type_vocab_size",
        "n_embd",
        "n_layer",
        "n_head",
        "n_positions",
        "n_inner",
        "num_key_value_heads",
        "head_dim",
        "attention_head_size",
        "feed_forward_size",
        "num_hashes",
        "lsh_attn_chunk_length",
        "local_attn_chunk_length",
    }
)
NON_NEGATIVE_INTS = frozenset(
    {
        "lsh_num_chunks_before",
        "lsh_num_chunks_after",
        "local_num_chunks_before",
        "local_num_chunks_after",
        "chunk_size_feed_forward",
        "chunk_size_lm_head",
        "pad_token_id",
        "bos_token_id",
        "eos_token_id",
    }
)
POSITIVE_FLOATS = frozenset({"layer_norm_eps", "layer_norm_epsilon", "rms_norm_eps", "initializer_range"})
TOKEN_ID_FIELDS = {"pad_token": "pad_token_id", "bos_token": "bos_token_id", "eos_token": "eos_token_id"}
# Studio sets these itself from the tokenizer and the run; a user value is not needed.
_INTERNAL_FIELDS = frozenset({"transformers_version", "_name_or_path", "model_type", "architectures"})


def is_probability(name: str) -> bool:
    """Dropout rates and the like: fields that must lie in [0, 1)."""
    return "dropout" in name or name.endswith("_pdrop")


# --- entry points --------------------------------------------------------------------------------


def check(config: RunConfig, tokenizer_candidates: Sequence[str | Path] = ()) -> list[Problem]:
    """Every problem of a config, reading the tokenizer it names (imports transformers)."""
    tokenizer, problems = check_tokenizer(config, tokenizer_candidates)
    return problems + validate(config, tokenizer)


def check_tokenizer(
    config: RunConfig, candidates: Sequence[str | Path] = ()
) -> tuple[TokenizerInfo | None, list[Problem]]:
    """Read `data.tokenizer`; a missing or unreadable one is a problem whose fix names a usable one."""
    path = config.data.tokenizer
    try:
        if not path:
            raise StudioError("no tokenizer is set")
        return load_tokenizer_info(path), []
    except StudioError as exc:
        arch = get_arch(config.model.arch) if config.model.arch in ARCHS else None
        usable = _first_usable_tokenizer(candidates, arch, exclude=path)
        message = f"{exc.message}; the model needs its tokenizer for the vocabulary and special tokens"
        return None, [
            Problem("data.tokenizer", message, assignment("data.tokenizer", usable) if usable else None)
        ]


def validate(config: RunConfig, tokenizer: TokenizerInfo | None) -> list[Problem]:
    """Every problem of the config against this tokenizer (None: skip the tokenizer's rules)."""
    if config.model.arch not in ARCHS:
        return [_unknown_choice("model.arch", config.model.arch, ARCHS, "roberta")]
    arch = get_arch(config.model.arch)
    problems = list(_task_problems(config, arch))
    if problems:  # the rest depends on a task the architecture has
        return problems
    fields, problems = effective_fields(config)
    ctx = RuleContext(config, fields, tokenizer)
    for rule in (*SHARED_RULES, *arch.rules):
        problems.extend(rule(ctx))
    problems.extend(_train_problems(config))
    problems.extend(_data_problems(config))
    return _unique(problems)


def apply_fixes(config: RunConfig, fixes: Iterable[str]) -> RunConfig:
    """The config with these `--set`-style fixes applied."""
    return config.with_overrides(list(fixes), source="fix")


def fix_all(
    config: RunConfig, tokenizer: TokenizerInfo | None, rounds: int = 6
) -> tuple[RunConfig, list[Problem]]:
    """Apply every offered fix until none is left (one fix can uncover another); returns what remains."""
    problems = validate(config, tokenizer)
    for _ in range(rounds):
        fixes = fixes_of(problems)
        if not fixes:
            break
        config = apply_fixes(config, fixes)
        problems = validate(config, tokenizer)
    return config, problems


def effective_fields(config: RunConfig) -> tuple[dict[str, Any], list[Problem]]:
    """The model's fields as the HF config will hold them, and the problems of the user's own fields.

    A field that is unknown, of the wrong type or out of range is reported and left at its
    default, so the other rules still see a config that can be reasoned about.
    """
    arch = get_arch(config.model.arch)
    defaults = hf_config_fields(arch.name)
    problems: list[Problem] = []
    valid: dict[str, Any] = {}
    for key, value in config.model.fields.items():
        problem = _field_problem(arch, key, value, defaults)
        if problem:
            problems.append(problem)
        else:
            valid[key] = value
    merged = {**arch.task_fields.get(config.model.task, {}), **valid}
    try:  # the class derives fields (Llama's head_dim, Reformer's layer count) from the others
        effective = dict(arch.load_config_class()(**merged).to_dict())
    except Exception:  # an inconsistent combination: the rules below will name it
        effective = {**defaults, **merged}
    return effective, problems


# --- the user's own fields: known, typed, in range ---------------------------------------------


def _field_problem(arch: Arch, key: str, value: Any, defaults: Mapping[str, Any]) -> Problem | None:
    name = f"model.{key}"
    if key not in defaults or key in _INTERNAL_FIELDS:
        return Problem(
            name,
            f"{arch.name} has no field {key!r}{_did_you_mean(key, list(defaults))}; "
            "fields are the HF config class's own names",
            assignment(name, None),
        )
    default = defaults[key]
    try:
        _check_hf_value(name, value, default)
    except ConfigError as exc:
        return Problem(
            name, exc.message, assignment(name, default) if default is not None else assignment(name, None)
        )
    return _range_problem(name, key, value, default)


def _range_problem(name: str, key: str, value: Any, default: Any) -> Problem | None:
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None:
        return None
    if is_probability(key) and not 0 <= number < 1:
        fixed = default if isinstance(default, int | float) and 0 <= default < 1 else 0.1
        return Problem(
            name,
            f"{key} is a probability: it must be at least 0 and below 1, found {value}",
            assignment(name, fixed),
        )
    if key in POSITIVE_INTS and number <= 0:
        fixed = -number if number < 0 else default
        return Problem(name, f"{key} must be a positive whole number, found {value}", assignment(name, fixed))
    if key in NON_NEGATIVE_INTS and number < 0:
        return Problem(
            name, f"{key} cannot be negative, found {value}", assignment(name, default if default else 0)
        )
    if key in POSITIVE_FLOATS and number <= 0:
        return Problem(name, f"{key} must be above 0, found {value}", assignment(name, default))
    return None


def _task_problems(config: RunConfig, arch: Arch) -> Iterator[Problem]:
    task = config.model.task
    if task not in TASKS:
        yield _unknown_choice("model.task", task, TASKS, arch.tasks[0])
    elif task not in arch.tasks:
        yield Problem(
            "model.task",
            f"{arch.name} does not do {task} (it does {', '.join(arch.tasks)})",
            assignment("model.task", arch.tasks[0]),
        )


def _unknown_choice(field: str, value: Any, choices: Sequence[str], default: str) -> Problem:
    suggestion = _did_you_mean(str(value), choices)
    fixed = suggestion.split("'")[1] if suggestion else default
    return Problem(
        field, f"unknown value {value!r}{suggestion}; valid: {', '.join(choices)}", assignment(field, fixed)
    )


# --- rules every architecture shares -------------------------------------------------------------


def heads_divide_hidden(ctx: RuleContext) -> Iterator[Problem]:
    """Each head gets hidden_size / heads dimensions, so the division must be exact."""
    dims = get_arch(ctx.config.model.arch).dims
    if not dims.heads_divide_hidden or "head_dim" in ctx.config.model.fields:
        return
    hidden, heads = as_int(ctx.fields.get(dims.hidden)), as_int(ctx.fields.get(dims.heads))
    if hidden and heads and hidden > 0 and heads > 0 and hidden % heads:
        yield Problem(
            f"model.{dims.heads}",
            f"{dims.hidden} ({hidden}) is not divisible by {dims.heads} ({heads}): each head needs a whole "
            "share of the hidden size",
            assignment(f"model.{dims.heads}", nearest_divisor(hidden, heads)),
        )


def positions_cover_block(ctx: RuleContext) -> Iterator[Problem]:
    """The position table must hold the block plus what the architecture adds (RoBERTa: pad + 1)."""
    arch = get_arch(ctx.config.model.arch)
    if not arch.dims.positions or ctx.block_size <= 0:
        return
    positions = as_int(ctx.fields.get(arch.dims.positions))
    offset = arch.position_offset(ctx.fields)
    needed = ctx.block_size + offset
    if positions is not None and positions < needed:
        extra = f" + {offset} (positions start after the padding id)" if offset else ""
        yield Problem(
            f"model.{arch.dims.positions}",
            f"{arch.dims.positions} ({positions}) does not cover the block: {ctx.block_size}{extra} = {needed} "
            "positions are used",
            assignment(f"model.{arch.dims.positions}", needed),
        )


def vocab_matches_tokenizer(ctx: RuleContext) -> Iterator[Problem]:
    """The embedding table must have exactly one row per tokenizer id."""
    if ctx.tokenizer is None:
        return
    vocab = as_int(ctx.fields.get("vocab_size"))
    if vocab != ctx.tokenizer.vocab_size:
        yield Problem(
            "model.vocab_size",
            f"vocab_size ({vocab}) differs from the tokenizer's {ctx.tokenizer.vocab_size} tokens: "
            + (
                "ids past the table crash training"
                if (vocab or 0) < ctx.tokenizer.vocab_size
                else "the extra rows are never trained"
            ),
            assignment("model.vocab_size", ctx.tokenizer.vocab_size),
        )


def special_tokens_exist(ctx: RuleContext) -> Iterator[Problem]:
    """The task's special tokens (mask for MLM, end-of-text for CLM, ...) must be in the tokenizer."""
    if ctx.tokenizer is None:
        return
    arch = get_arch(ctx.config.model.arch)
    missing = [role for role in arch.special_tokens.get(ctx.task, ()) if not ctx.tokenizer.has(role)]
    if missing:
        names = ", ".join(r.removesuffix("_token") for r in missing)
        yield Problem(
            "data.tokenizer",
            f"the tokenizer has no {names} token, which {arch.name} {ctx.task} needs; "
            "retrain it with those special tokens (the Tokenizer screen adds them by default)",
        )


def token_ids_match_tokenizer(ctx: RuleContext) -> Iterator[Problem]:
    """The model's pad/bos/eos ids must be the tokenizer's, or padding and generation use wrong rows."""
    if ctx.tokenizer is None:
        return
    for role, field_name in TOKEN_ID_FIELDS.items():
        if field_name not in ctx.fields or not ctx.tokenizer.has(role):
            continue
        wanted = ctx.tokenizer.special_ids[role]
        value = ctx.fields.get(field_name)
        if value != wanted and (value is not None or role == "pad_token"):
            token = ctx.tokenizer.special_tokens[role]
            yield Problem(
                f"model.{field_name}",
                f"{field_name} is {value!r} but the tokenizer's {token} is id {wanted}",
                assignment(f"model.{field_name}", wanted),
            )


def encoder_is_not_decoder(ctx: RuleContext) -> Iterator[Problem]:
    """A masked LM reads both directions: an encoder set as a decoder would mask the future."""
    arch = get_arch(ctx.config.model.arch)
    if (
        ctx.task == "mlm"
        and "is_decoder" not in arch.task_fields.get("mlm", {})
        and ctx.fields.get("is_decoder")
    ):
        yield Problem(
            "model.is_decoder",
            "a masked LM must not be a decoder (is_decoder: false)",
            assignment("model.is_decoder", False),
        )


def tokenizer_kind_fits(ctx: RuleContext) -> Iterator[Problem]:
    """Some architectures expect a tokenizer kind (Reformer: SentencePiece)."""
    arch = get_arch(ctx.config.model.arch)
    if ctx.tokenizer and ctx.tokenizer.kind != "unknown" and ctx.tokenizer.kind not in arch.tokenizer_kinds:
        yield Problem(
            "data.tokenizer",
            f"{arch.name} expects a {' or '.join(arch.tokenizer_kinds)} tokenizer, "
            f"this one is {ctx.tokenizer.kind}; train one of those kinds",
        )


SHARED_RULES = (
    heads_divide_hidden,
    positions_cover_block,
    vocab_matches_tokenizer,
    special_tokens_exist,
    token_ids_match_tokenizer,
    encoder_is_not_decoder,
    tokenizer_kind_fits,
)


# --- data and train sections ---------------------------------------------------------------------


def _data_problems(config: RunConfig) -> Iterator[Problem]:
    if config.data.block_size <= 0:
        yield Problem(
            "data.block_size",
            f"block_size must be positive, found {config.data.block_size}",
            assignment("data.block_size", 512),
        )
    if not 0 <= config.data.validation_split < 1:
        yield Problem(
            "data.validation_split",
            "validation_split is a fraction: at least 0 and below 1",
            assignment("data.validation_split", 0.01),
        )
    corpus = config.data.corpus
    if not corpus or not Path(corpus).exists():
        yield Problem("data.corpus", f"corpus {corpus!r} does not exist; pick a file or folder of text")


def _train_problems(config: RunConfig) -> Iterator[Problem]:
    from studio.config import training_argument_types  # heavy: transformers

    known = training_argument_types()
    train = config.train
    for key, value in train.items():
        name = f"train.{key}"
        if key not in known:
            yield Problem(
                name,
                f"TrainingArguments has no field {key!r}{_did_you_mean(key, list(known))}",
                assignment(name, None),
            )
            continue
        try:
            _check_value(name, value, known[key])
        except ConfigError as exc:
            yield Problem(name, exc.message)
    positive = {"learning_rate": 5e-4, "per_device_train_batch_size": 8, "gradient_accumulation_steps": 1}
    for key, fixed in positive.items():
        value = train.get(key, 1)
        if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
            yield Problem(
                f"train.{key}", f"{key} must be above 0, found {value}", assignment(f"train.{key}", fixed)
            )
    steps, epochs = train.get("max_steps", -1), train.get("num_train_epochs", 3.0)
    if isinstance(steps, int) and steps <= 0 and isinstance(epochs, int | float) and epochs <= 0:
        yield Problem(
            "train.max_steps",
            "neither max_steps nor num_train_epochs is above 0: nothing would train",
            assignment("train.max_steps", 1000),
        )
    warmup = train.get("warmup_steps", 0)
    if isinstance(warmup, int | float) and not isinstance(warmup, bool):
        if warmup < 0:
            yield Problem(
                "train.warmup_steps",
                f"warmup_steps cannot be negative, found {warmup}",
                assignment("train.warmup_steps", 0),
            )
        elif isinstance(steps, int) and steps > 0 and warmup >= 1 and warmup >= steps:
            yield Problem(
                "train.warmup_steps",
                f"warmup_steps ({warmup}) is not below max_steps ({steps}): the rate would never decay",
                assignment("train.warmup_steps", 0.05),
            )
    if train.get("bf16") and train.get("fp16"):
        yield Problem(
            "train.fp16", "bf16 and fp16 are both on; pick one precision", assignment("train.fp16", False)
        )


def _first_usable_tokenizer(candidates: Sequence[str | Path], arch: Arch | None, exclude: str) -> str | None:
    for candidate in candidates:
        if str(candidate) == exclude:
            continue
        try:
            info = load_tokenizer_info(candidate)
        except StudioError:
            continue
        if arch is None or info.kind in arch.tokenizer_kinds or info.kind == "unknown":
            return str(candidate)
    return None


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.field, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def params_estimate_is_meaningful(problems: Sequence[Problem]) -> bool:
    """Sizes can be estimated unless a size field itself is wrong."""
    return not any(
        p.field.startswith("model.") and p.field.split(".", 1)[1] in POSITIVE_INTS for p in problems
    )


__all__ = ["Problem", "apply_fixes", "check", "check_tokenizer", "effective_fields", "fix_all", "validate"]
