"""Validation with fixes: every rule names its field, and its fix makes the problem go away."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.config import ModelConfig, RunConfig
from studio.model.build import config_from_preset
from studio.model.problems import Problem
from studio.model.tokenizer_info import load_tokenizer_info
from studio.model.validate import apply_fixes, check, check_tokenizer, fix_all, validate

# (preset, task, tokenizer fixture, overrides, the field named, the fix offered)
RULES = [
    (
        "tiny-cpu",
        "mlm",
        "bpe_tokenizer",
        ["model.num_attention_heads=3"],
        "model.num_attention_heads",
        "model.num_attention_heads=2",
    ),
    ("gpt2-tiny", "clm", "bpe_tokenizer", ["model.n_head=5"], "model.n_head", "model.n_head=4"),
    (
        "llama-tiny",
        "clm",
        "bpe_tokenizer",
        ["model.num_attention_heads=6", "model.num_key_value_heads=2"],
        "model.num_attention_heads",
        "model.num_attention_heads=4",
    ),
    (
        "llama-tiny",
        "clm",
        "bpe_tokenizer",
        ["model.num_key_value_heads=3"],
        "model.num_key_value_heads",
        "model.num_key_value_heads=2",
    ),
    (
        "tiny-cpu",
        "mlm",
        "bpe_tokenizer",
        ["model.max_position_embeddings=129"],
        "model.max_position_embeddings",
        "model.max_position_embeddings=130",
    ),
    (
        "tiny-cpu",
        "mlm",
        "bpe_tokenizer",
        ["data.block_size=256"],
        "model.max_position_embeddings",
        "model.max_position_embeddings=258",
    ),
    (
        "bert-tiny",
        "mlm",
        "wordpiece_tokenizer",
        ["model.max_position_embeddings=100"],
        "model.max_position_embeddings",
        "model.max_position_embeddings=128",
    ),
    (
        "gpt2-tiny",
        "clm",
        "bpe_tokenizer",
        ["model.n_positions=64"],
        "model.n_positions",
        "model.n_positions=128",
    ),
    (
        "tiny-cpu",
        "mlm",
        "bpe_tokenizer",
        ["model.vocab_size=52000"],
        "model.vocab_size",
        "model.vocab_size=600",
    ),
    (
        "tiny-cpu",
        "mlm",
        "bpe_tokenizer",
        ["model.pad_token_id=5"],
        "model.pad_token_id",
        "model.pad_token_id=1",
    ),
    (
        "gpt2-tiny",
        "clm",
        "bpe_tokenizer",
        ["model.eos_token_id=50256"],
        "model.eos_token_id",
        "model.eos_token_id=2",
    ),
    (
        "tiny-cpu",
        "mlm",
        "bpe_tokenizer",
        ["model.is_decoder=true"],
        "model.is_decoder",
        "model.is_decoder=false",
    ),
    (
        "reformer-tiny",
        "clm",
        "sentencepiece_tokenizer",
        ["model.axial_pos_shape=[8, 8]"],
        "model.axial_pos_shape",
        "model.axial_pos_shape=[8, 16]",
    ),
    (
        "reformer-tiny",
        "mlm",
        "sentencepiece_tokenizer",
        ["data.block_size=256"],
        "model.axial_pos_shape",
        "model.axial_pos_shape=[16, 16]",
    ),
    (
        "reformer-tiny",
        "mlm",
        "sentencepiece_tokenizer",
        ["model.axial_pos_embds_dim=[64, 192]"],
        "model.axial_pos_embds_dim",
        "model.axial_pos_embds_dim=[64, 64]",
    ),
    (
        "reformer-tiny",
        "mlm",
        "sentencepiece_tokenizer",
        ["model.lsh_attn_chunk_length=48"],
        "model.lsh_attn_chunk_length",
        "model.lsh_attn_chunk_length=32",
    ),
    (
        "reformer-tiny",
        "clm",
        "sentencepiece_tokenizer",
        ["model.local_attn_chunk_length=100"],
        "model.local_attn_chunk_length",
        "model.local_attn_chunk_length=64",
    ),
    (
        "reformer-tiny",
        "clm",
        "sentencepiece_tokenizer",
        ["model.is_decoder=false"],
        "model.is_decoder",
        "model.is_decoder=true",
    ),
    (
        "reformer-tiny",
        "clm",
        "sentencepiece_tokenizer",
        ["model.lsh_num_chunks_after=1"],
        "model.lsh_num_chunks_after",
        "model.lsh_num_chunks_after=0",
    ),
    (
        "reformer-tiny",
        "clm",
        "sentencepiece_tokenizer",
        ["model.local_num_chunks_after=1"],
        "model.local_num_chunks_after",
        "model.local_num_chunks_after=0",
    ),
    (
        "reformer-tiny",
        "mlm",
        "sentencepiece_tokenizer",
        ["model.is_decoder=true"],
        "model.is_decoder",
        "model.is_decoder=false",
    ),
    (
        "reformer-tiny",
        "clm",
        "sentencepiece_tokenizer",
        ["model.attn_layers=[local, lsh]"],
        "model.attn_layers",
        "model.attn_layers=[local, local]",
    ),
    (
        "reformer-tiny",
        "mlm",
        "sentencepiece_tokenizer",
        ["model.attn_layers=[local, global]"],
        "model.attn_layers",
        "model.attn_layers=[local, lsh]",
    ),
    # bad input: unknown field, wrong type, out of range, unknown task for the architecture
    ("tiny-cpu", "mlm", "bpe_tokenizer", ["model.hiden_size=64"], "model.hiden_size", "model.hiden_size="),
    (
        "tiny-cpu",
        "mlm",
        "bpe_tokenizer",
        ["model.num_hidden_layers=six"],
        "model.num_hidden_layers",
        "model.num_hidden_layers=12",
    ),
    (
        "tiny-cpu",
        "mlm",
        "bpe_tokenizer",
        ["model.num_hidden_layers=-2"],
        "model.num_hidden_layers",
        "model.num_hidden_layers=2",
    ),
    (
        "tiny-cpu",
        "mlm",
        "bpe_tokenizer",
        ["model.hidden_dropout_prob=2"],
        "model.hidden_dropout_prob",
        "model.hidden_dropout_prob=0.1",
    ),
    ("tiny-cpu", "mlm", "bpe_tokenizer", ["model.task=clm"], "model.task", "model.task=mlm"),
    ("tiny-cpu", "mlm", "bpe_tokenizer", ["data.block_size=0"], "data.block_size", "data.block_size=512"),
    ("tiny-cpu", "mlm", "bpe_tokenizer", ["train.warmup_step=10"], "train.warmup_step", "train.warmup_step="),
    (
        "tiny-cpu",
        "mlm",
        "bpe_tokenizer",
        ["train.warmup_steps=500"],
        "train.warmup_steps",
        "train.warmup_steps=0.05",
    ),
    (
        "tiny-cpu",
        "mlm",
        "bpe_tokenizer",
        ["train.learning_rate=-0.1"],
        "train.learning_rate",
        "train.learning_rate=0.0005",
    ),
    (
        "tiny-cpu",
        "mlm",
        "bpe_tokenizer",
        ["train.bf16=true", "train.fp16=true"],
        "train.fp16",
        "train.fp16=false",
    ),
]


def _config(request: pytest.FixtureRequest, preset: str, task: str, tokenizer: str) -> RunConfig:
    corpus = request.getfixturevalue("corpus_file")
    return config_from_preset(preset, str(corpus), str(request.getfixturevalue(tokenizer)), task=task)


@pytest.mark.parametrize(
    "preset", ["esperberto-84m", "tiny-cpu", "small", "base", "bert-tiny", "gpt2-tiny", "llama-tiny"]
)
def test_presets_are_valid_first_time(request: pytest.FixtureRequest, preset: str) -> None:
    """Every preset, initialised from a fitting tokenizer, has no problem at all."""
    tokenizer = "wordpiece_tokenizer" if preset.startswith("bert") else "bpe_tokenizer"
    config = _config(request, preset, "", tokenizer)
    assert check(config) == []


@pytest.mark.parametrize("task", ["mlm", "clm"])
def test_reformer_preset_is_valid_for_both_tasks(request: pytest.FixtureRequest, task: str) -> None:
    """reformer-tiny is valid for masked and causal LM with a SentencePiece tokenizer."""
    assert check(_config(request, "reformer-tiny", task, "sentencepiece_tokenizer")) == []


@pytest.mark.parametrize(
    ("preset", "task", "tokenizer", "overrides", "field", "fix"),
    RULES,
    ids=[f"{r[4]}:{'|'.join(r[3])}" for r in RULES],
)
def test_rule_names_field_and_its_fix_clears_it(
    request: pytest.FixtureRequest,
    preset: str,
    task: str,
    tokenizer: str,
    overrides: list[str],
    field: str,
    fix: str,
) -> None:
    """The broken field is named with a reason and a fix; applying the fix removes that problem."""
    config = _config(request, preset, task, tokenizer).with_overrides(overrides)
    info = load_tokenizer_info(request.getfixturevalue(tokenizer))
    problems = [p for p in validate(config, info) if p.field == field]
    assert problems, validate(config, info)
    assert problems[0].fix == fix
    assert len(problems[0].message) > 20
    fixed = apply_fixes(config, [fix])
    assert not [p for p in validate(fixed, info) if p.field == field]


def test_fix_all_repairs_a_badly_broken_reformer(request: pytest.FixtureRequest) -> None:
    """Several Reformer mistakes at once are all repaired by applying the offered fixes."""
    config = _config(request, "reformer-tiny", "clm", "sentencepiece_tokenizer").with_overrides(
        [
            "data.block_size=64",
            "model.is_decoder=false",
            "model.lsh_num_chunks_after=2",
            "model.axial_pos_embds_dim=[32, 32]",
            "model.lsh_attn_chunk_length=48",
        ]
    )
    info = load_tokenizer_info(request.getfixturevalue("sentencepiece_tokenizer"))
    assert len(validate(config, info)) >= 4
    fixed, remaining = fix_all(config, info)
    assert remaining == []
    assert fixed.model.fields["axial_pos_shape"] == [8, 8]


def test_missing_special_tokens_name_the_tokenizer(request: pytest.FixtureRequest) -> None:
    """A masked LM on a tokenizer with no mask token is a data.tokenizer problem saying which token."""
    config = _config(request, "tiny-cpu", "mlm", "no_mask_tokenizer")
    problems = [p for p in check(config) if p.field == "data.tokenizer"]
    assert problems and "mask" in problems[0].message and "pad" in problems[0].message


def test_causal_lm_needs_only_an_end_token(request: pytest.FixtureRequest) -> None:
    """A causal GPT-2 accepts a tokenizer with only <|endoftext|>."""
    assert check(_config(request, "gpt2-tiny", "clm", "no_mask_tokenizer")) == []


def test_reformer_rejects_a_byte_level_tokenizer(request: pytest.FixtureRequest) -> None:
    """The wrong tokenizer kind for the architecture is a problem on data.tokenizer."""
    problems = check(_config(request, "reformer-tiny", "mlm", "bpe_tokenizer"))
    assert [p.field for p in problems] == ["data.tokenizer"]
    assert "sentencepiece" in problems[0].message and "bytelevel-bpe" in problems[0].message


def test_missing_tokenizer_dir_is_a_problem_with_a_usable_fix(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A tokenizer directory that is gone is named, and the fix offers one that exists."""
    good = request.getfixturevalue("bpe_tokenizer")
    config = _config(request, "tiny-cpu", "mlm", "bpe_tokenizer").with_overrides(
        [f"data.tokenizer={tmp_path / 'gone'}"]
    )
    info, problems = check_tokenizer(config, [tmp_path / "gone", good])
    assert info is None
    assert problems == [Problem("data.tokenizer", problems[0].message, f"data.tokenizer={good}")]
    assert "no such tokenizer" in problems[0].message


def test_wrong_kind_of_directory_is_a_problem(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """A folder without tokenizer files, or a broken tokenizer.json, is a problem, not a traceback."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "tokenizer.json").write_text("{not json")
    for name in ("empty", "broken"):
        config = _config(request, "tiny-cpu", "mlm", "bpe_tokenizer").with_overrides(
            [f"data.tokenizer={tmp_path / name}"]
        )
        problems = check(config)
        assert problems[0].field == "data.tokenizer"
        assert "tokenizer" in problems[0].message


def test_unknown_architecture_is_a_problem() -> None:
    """An architecture outside the registry is a model.arch problem with the closest name as fix."""
    config = RunConfig(model=ModelConfig(arch="robeta", task="mlm"))
    assert validate(config, None) == [
        Problem("model.arch", validate(config, None)[0].message, "model.arch=roberta")
    ]


def test_missing_corpus_is_named(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """A corpus that does not exist is a data.corpus problem."""
    config = _config(request, "tiny-cpu", "mlm", "bpe_tokenizer").with_overrides(
        [f"data.corpus={tmp_path / 'nothing.txt'}"]
    )
    assert [p.field for p in check(config)] == ["data.corpus"]


def test_esperberto_is_the_blogs_config(request: pytest.FixtureRequest) -> None:
    """The esperberto-84m preset is exactly the blog's RobertaConfig, vocabulary from the tokenizer."""
    config = _config(request, "esperberto-84m", "mlm", "bpe_tokenizer")
    fields = config.model.fields
    assert (
        fields["max_position_embeddings"],
        fields["num_attention_heads"],
        fields["num_hidden_layers"],
        fields["type_vocab_size"],
        fields["hidden_size"],
    ) == (514, 12, 6, 1, 768)
    assert fields["vocab_size"] == 600 and config.data.block_size == 512
