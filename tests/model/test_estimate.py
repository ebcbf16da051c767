"""Estimates: exact parameters from a meta-device build, FLOPs, memory, corpus tokens; two measured steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.model.build import config_from_preset
from studio.model.estimate import count_corpus_tokens, estimate, human_bytes, human_count, human_seconds
from studio.model.measure import measure_steps


def test_esperberto_has_the_blogs_83_504_416_parameters(bpe_tokenizer: Path, corpus_file: Path) -> None:
    """With a 52,000-token vocabulary the preset counts exactly as the blog's model."""
    config = config_from_preset("esperberto-84m", str(corpus_file), str(bpe_tokenizer)).with_overrides(
        ["model.vocab_size=52000"]
    )
    result = estimate(config)
    assert result.params == 83_504_416
    assert result.chinchilla_tokens == 20 * 83_504_416


def test_flops_are_six_per_matmul_parameter_plus_attention(bpe_tokenizer: Path, corpus_file: Path) -> None:
    """FLOPs/token = 6 × matmul parameters + 6 × layers × block × width (tied head counted)."""
    config = config_from_preset("tiny-cpu", str(corpus_file), str(bpe_tokenizer))
    result = estimate(config)
    assert result.matmul_params > 0
    assert result.flops_per_token == 6 * result.matmul_params + 6 * 2 * 128 * 128
    longer = estimate(config.with_overrides(["data.block_size=64"]))
    assert longer.flops_per_token < result.flops_per_token


def test_memory_grows_with_batch_and_shrinks_with_bf16(bpe_tokenizer: Path, corpus_file: Path) -> None:
    """Activations scale with the batch; bf16 halves them; weights/grads/AdamW are 4+4+8 bytes a parameter."""
    config = config_from_preset("tiny-cpu", str(corpus_file), str(bpe_tokenizer))
    small = estimate(config.with_overrides(["train.per_device_train_batch_size=8"]))
    large = estimate(config.with_overrides(["train.per_device_train_batch_size=16"]))
    half = estimate(config.with_overrides(["train.per_device_train_batch_size=16", "train.bf16=true"]))
    assert large.memory.activations == 2 * small.memory.activations
    assert half.memory.activations < large.memory.activations
    assert (small.memory.weights, small.memory.gradients, small.memory.optimizer) == (
        4 * small.params,
        4 * small.params,
        8 * small.params,
    )
    assert small.memory.total == sum(
        (small.memory.weights, small.memory.gradients, small.memory.optimizer, small.memory.activations)
    )


def test_corpus_tokens_from_a_sample_are_close(bpe_tokenizer: Path, corpus_file: Path) -> None:
    """The sampled token count is within 5% of tokenizing everything."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(bpe_tokenizer / "tokenizer.json"))
    lines = corpus_file.read_text(encoding="utf-8").splitlines()
    exact = sum(len(e.ids) for e in tokenizer.encode_batch(lines, add_special_tokens=False))
    sampled = count_corpus_tokens(corpus_file, bpe_tokenizer, sample_bytes=20_000)
    assert sampled is not None and abs(sampled - exact) / exact < 0.05


def test_time_to_train_uses_the_measured_throughput(bpe_tokenizer: Path, corpus_file: Path) -> None:
    """With a throughput the planned tokens become seconds; without one there is no guess."""
    config = config_from_preset("tiny-cpu", str(corpus_file), str(bpe_tokenizer))
    assert estimate(config).seconds_to_train() is None
    result = estimate(config, corpus_tokens=1000, tokens_per_second=2048.0)
    assert result.planned_tokens == 300 * 16 * 128
    assert result.seconds_to_train() == pytest.approx(300 * 16 * 128 / 2048)
    assert result.epochs == pytest.approx(300 * 16 * 128 / 1000)


def test_steps_from_epochs_when_max_steps_is_unset(bpe_tokenizer: Path, corpus_file: Path) -> None:
    """max_steps -1 plans num_train_epochs passes over the counted corpus."""
    config = config_from_preset("tiny-cpu", str(corpus_file), str(bpe_tokenizer)).with_overrides(
        ["train.max_steps=-1", "train.num_train_epochs=2"]
    )
    result = estimate(config, corpus_tokens=16 * 128 * 10)
    assert result.planned_steps == 20


def test_readable_figures() -> None:
    """Counts, bytes and durations read as people write them."""
    assert human_count(83_504_416) == "83.5M"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_seconds(3725) == "1h 2m"


@pytest.mark.slow
def test_measure_runs_two_real_steps_in_a_subprocess(bpe_tokenizer: Path, corpus_file: Path) -> None:
    """The measure action reports a real step time, peak memory and throughput from a child process."""
    config = config_from_preset("tiny-cpu", str(corpus_file), str(bpe_tokenizer)).with_overrides(
        ["train.per_device_train_batch_size=2", "data.block_size=32"]
    )
    result = measure_steps(config, device="cpu")
    assert result.device == "cpu"
    assert result.step_seconds > 0 and result.peak_memory_bytes > 10 * 2**20
    assert result.tokens_per_second == pytest.approx(2 * 32 / result.step_seconds)
