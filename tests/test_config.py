"""Run configs: YAML round trip, `--set` overrides, and errors that name what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.config import ConfigError, RunConfig, check_hf_fields, load_config, save_config


def _config() -> RunConfig:
    raw = {
        "data": {"corpus": "corpora/a.txt", "tokenizer": "tokenizers/bpe", "block_size": 128},
        "model": {"arch": "roberta", "task": "mlm", "hidden_size": 64, "num_attention_heads": 2},
        "train": {"learning_rate": 1e-3, "max_steps": 10},
        "studio": {"name": "demo", "probe_texts": ["La <mask> estas bela."]},
    }
    return RunConfig.from_dict(raw)


def test_yaml_round_trip_is_exact(tmp_path: Path) -> None:
    """Saving then loading gives the same config, and saving again gives the same bytes."""
    config = _config()
    first = tmp_path / "a.yaml"
    save_config(config, first)
    loaded = load_config(first)
    assert loaded == config
    second = tmp_path / "b.yaml"
    save_config(loaded, second)
    assert first.read_bytes() == second.read_bytes()


def test_overrides_are_typed_as_yaml() -> None:
    """`--set` values are YAML: lists, booleans and floats arrive typed."""
    config = _config().with_overrides(
        ["model.axial_pos_shape=[64,64]", "data.packing=false", "train.learning_rate=1e-4", "studio.name=x"]
    )
    assert config.model.fields["axial_pos_shape"] == [64, 64]
    assert config.data.packing is False
    assert config.train["learning_rate"] == 1e-4
    assert config.studio.name == "x"


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("dat.block_size=3", ["unknown section 'dat'", "did you mean 'data'"]),
        ("data.blocksize=3", ["data.blocksize", "did you mean 'block_size'", "valid fields"]),
        ("data.block_size=many", ["data.block_size", "expected an integer", "'many'"]),
        ("studio.nan_policy=ignore", ["studio.nan_policy", "'stop'", "'skip'"]),
        ("model.arch=transformerxl", ["model.arch", "valid choices"]),
        ("block_size=3", ["expected section.field=value"]),
    ],
)
def test_bad_overrides_name_the_field(override: str, words: list[str]) -> None:
    """Every bad `--set` is a ConfigError naming the field and what would be valid."""
    with pytest.raises(ConfigError) as info:
        _config().with_overrides([override])
    text = str(info.value)
    for word in words:
        assert word in text


def test_hf_fields_are_checked_against_the_real_classes() -> None:
    """Unknown model or train fields, and wrong types, are named against the HF classes."""
    with pytest.raises(ConfigError, match="model.hiden_size.*did you mean 'hidden_size'"):
        check_hf_fields(_config().with_overrides(["model.hiden_size=3"]))
    with pytest.raises(ConfigError, match="train.learnin_rate.*TrainingArguments"):
        check_hf_fields(_config().with_overrides(["train.learnin_rate=3"]))
    with pytest.raises(ConfigError, match="train.max_steps: expected an integer"):
        check_hf_fields(_config().with_overrides(["train.max_steps=lots"]))
    with pytest.raises(ConfigError, match="model.hidden_size: expected an integer"):
        check_hf_fields(_config().with_overrides(["model.hidden_size=[1]"]))
    check_hf_fields(_config())  # the valid one passes


def test_report_to_names_unknown_and_missing_integrations(monkeypatch: pytest.MonkeyPatch) -> None:
    """`train.report_to` is checked before a run starts: a typo gets the close match, a tracker that is
    not installed says how to install it (the Trainer would fail only inside the worker)."""
    with pytest.raises(ConfigError, match="no integration named 'tensorbord'.*did you mean 'tensorboard'"):
        check_hf_fields(_config().with_overrides(["train.report_to=tensorbord"]))
    check_hf_fields(_config().with_overrides(["train.report_to=[tensorboard]"]))  # installed with [test]
    check_hf_fields(_config().with_overrides(["train.report_to=none"]))
    import transformers.integrations

    monkeypatch.setattr(transformers.integrations, "get_available_reporting_integrations", lambda: [])
    with pytest.raises(ConfigError, match="train.report_to: wandb is not installed") as info:
        check_hf_fields(_config().with_overrides(["train.report_to=wandb"]))
    assert "pip install wandb" in info.value.hint and "report_to=none" in info.value.hint


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    """A file that is not YAML: the error gives file, line and column."""
    path = tmp_path / "bad.yaml"
    path.write_text("data:\n  corpus: [unclosed\nmodel: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+:\d+: not valid YAML"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "expected a mapping"),
        ("data: 3\n", "section 'data' must be a mapping"),
        ("training: {}\n", "unknown section 'training'"),
    ],
)
def test_wrong_shape_is_explained(tmp_path: Path, text: str, expected: str) -> None:
    """YAML of the wrong shape says what was expected."""
    path = tmp_path / "shape.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_missing_config_file(tmp_path: Path) -> None:
    """A missing file says so and how to make one."""
    with pytest.raises(ConfigError, match="no such config file") as info:
        load_config(tmp_path / "nope.yaml")
    assert "studio config init" in (info.value.hint or "")
