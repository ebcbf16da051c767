"""The registry, presets, tokenizer reading and the config round trip the model layer relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.config import RunConfig, load_config, save_config
from studio.errors import StudioError
from studio.model.build import build_hf_config, config_from_preset, tokenizer_vocab_size
from studio.model.presets import PRESETS, get_preset
from studio.model.registry import ARCHES, field_help, get_arch, hf_config_fields
from studio.model.tokenizer_info import load_tokenizer_info


def test_every_architecture_declares_what_it_needs() -> None:
    """Each arch has a loadable HF config class, tasks, tokenizer kinds, special-token needs and form fields."""
    assert set(ARCHES) == {"roberta", "bert", "gpt2", "llama", "reformer"}
    for arch in ARCHES.values():
        fields = hf_config_fields(arch.name)
        assert arch.tasks and arch.tokenizer_kinds
        assert set(arch.special_tokens) == set(arch.tasks)
        assert set(arch.form_fields) <= set(fields), arch.name
        assert field_help(arch.name)[arch.dims.hidden]
    assert get_arch("reformer").tasks == ("mlm", "clm")
    with pytest.raises(StudioError, match="unknown architecture"):
        get_arch("transformerxl")


def test_every_preset_names_a_known_arch_and_fields() -> None:
    """Presets only use their architecture's fields and tasks."""
    assert {"esperberto-84m", "tiny-cpu", "small", "base", "gpt2-tiny", "reformer-tiny"} <= set(PRESETS)
    for preset in PRESETS.values():
        arch = get_arch(preset.arch)
        assert set(preset.tasks) <= set(arch.tasks)
        assert set(preset.model) <= set(hf_config_fields(preset.arch)), preset.name
    with pytest.raises(StudioError, match="choose one of"):
        get_preset("huge")


def test_tokenizer_kinds_and_specials_are_read(
    bpe_tokenizer: Path, wordpiece_tokenizer: Path, sentencepiece_tokenizer: Path, no_mask_tokenizer: Path
) -> None:
    """Kind, vocabulary and special ids come from each tokenizer format without transformers."""
    bpe = load_tokenizer_info(bpe_tokenizer)
    assert (bpe.kind, bpe.vocab_size, bpe.special_ids["mask_token"], bpe.special_ids["pad_token"]) == (
        "bytelevel-bpe",
        600,
        4,
        1,
    )
    assert load_tokenizer_info(wordpiece_tokenizer).kind == "wordpiece"
    assert load_tokenizer_info(wordpiece_tokenizer).special_tokens["mask_token"] == "[MASK]"
    spm = load_tokenizer_info(sentencepiece_tokenizer)
    assert spm.kind == "sentencepiece-unigram" and spm.vocab_size == 500
    assert spm.special_ids["pad_token"] == 0 and spm.special_ids["eos_token"] == 3 and spm.has("mask_token")
    nomask = load_tokenizer_info(no_mask_tokenizer)
    assert not nomask.has("mask_token") and nomask.special_tokens["eos_token"] == "<|endoftext|>"
    assert tokenizer_vocab_size(bpe_tokenizer) == 600


def test_preset_config_round_trips_exactly(bpe_tokenizer: Path, corpus_file: Path, tmp_path: Path) -> None:
    """A preset config saved and loaded is the same config, byte for byte on a second save."""
    config = config_from_preset("reformer-tiny", str(corpus_file), str(bpe_tokenizer), task="clm")
    save_config(config, tmp_path / "a.yaml")
    loaded = load_config(tmp_path / "a.yaml")
    assert loaded == config
    save_config(loaded, tmp_path / "b.yaml")
    assert (tmp_path / "a.yaml").read_text() == (tmp_path / "b.yaml").read_text()


def test_empty_set_value_removes_a_model_field(bpe_tokenizer: Path, corpus_file: Path) -> None:
    """`--set model.x=` drops the field (the default applies): how a fix removes a misspelt name."""
    config = config_from_preset("tiny-cpu", str(corpus_file), str(bpe_tokenizer))
    config = config.with_overrides(["model.hiden_size=64"]).with_overrides(["model.hiden_size="])
    assert "hiden_size" not in config.model.fields
    assert config.with_overrides(["model.hidden_size="]).model.fields.get("hidden_size") is None


def test_build_hf_config_sets_the_task_fields() -> None:
    """A causal Reformer is a decoder with no chunks after, without the user saying so."""
    config = RunConfig.from_dict({"model": {"arch": "reformer", "task": "clm"}})
    hf = build_hf_config(config)
    assert hf.is_decoder is True and hf.lsh_num_chunks_after == 0 and hf.local_num_chunks_after == 0
    assert (
        build_hf_config(RunConfig.from_dict({"model": {"arch": "reformer", "task": "mlm"}})).is_decoder
        is False
    )
