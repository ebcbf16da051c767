"""The fast engine: on-device masking, the sparse MLM head, standard checkpoints, Trainer defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _engine_fixtures import make_config, make_corpus, make_tokenizer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from studio.train.data import prepare_datasets  # noqa: E402
from studio.train.engine import (  # noqa: E402
    IGNORE_INDEX,
    MASK_ON_DEVICE,
    StackIds,
    build_collator,
    build_model,
    fast_mlm_class,
    save_standard,
    training_args_defaults,
)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Any:
    """One intra-op thread: on a shared 2-core machine, two spinning threads can be 10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A demo corpus, a 1,000-token byte-level BPE, and the tokenizer loaded."""
    root = tmp_path_factory.mktemp("engine")
    corpus = make_corpus(root / "corpus", lines=2000)
    tokenizer = make_tokenizer(corpus, root / "tokenizer")
    return {"root": root, "corpus": corpus, "tokenizer_dir": root / "tokenizer", "tokenizer": tokenizer}


def _batch(assets: dict[str, Any], rows: int = 8, length: int = 64) -> Any:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, len(assets["tokenizer"]), (rows, length), generator=generator)
    ids[:, 0] = assets["tokenizer"].bos_token_id
    ids[:, -1] = assets["tokenizer"].eos_token_id
    return ids


@pytest.mark.parametrize("arch", ["roberta", "bert"])
def test_sparse_head_loss_equals_full_head_loss(assets: dict[str, Any], arch: str) -> None:
    """The loss from the head at masked positions only equals the stock full-head loss."""
    config = make_config(assets["corpus"], assets["tokenizer_dir"], arch=arch)
    model = build_model(config, assets["tokenizer"]).eval()
    torch.manual_seed(1)
    corrupted, labels, positions = model.mask_tokens(_batch(assets))
    assert positions.numel() == int((labels != IGNORE_INDEX).sum())
    with torch.no_grad():
        sparse = model(input_ids=corrupted, labels=labels)
        full = model.parent_class.forward(model, input_ids=corrupted, labels=labels)
    assert full.logits.shape[:2] == corrupted.shape
    assert sparse.logits.shape == (positions.numel(), full.logits.shape[-1])
    torch.testing.assert_close(sparse.loss, full.loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(sparse.logits, full.logits.reshape(-1, full.logits.shape[-1])[positions])


def test_device_masking_follows_the_80_10_10_rule(assets: dict[str, Any]) -> None:
    """15 % of non-special tokens are chosen: 80 % become <mask>, 10 % random, 10 % unchanged."""
    tokenizer = assets["tokenizer"]
    model = build_model(make_config(assets["corpus"], assets["tokenizer_dir"]), tokenizer).train()
    ids = _batch(assets, rows=64, length=256)
    ids[:, 100:110] = tokenizer.pad_token_id  # specials are never chosen
    torch.manual_seed(2)
    corrupted, labels, _ = model.mask_tokens(ids)
    chosen = labels != IGNORE_INDEX
    special = torch.isin(ids, torch.tensor(tokenizer.all_special_ids))
    assert not (chosen & special).any()
    assert torch.equal(corrupted[~chosen], ids[~chosen])
    assert torch.equal(labels[chosen], ids[chosen])
    share = chosen.sum() / (~special).sum()
    assert 0.14 < share < 0.16
    masked = (corrupted == tokenizer.mask_token_id) & chosen
    kept = (corrupted == ids) & chosen
    assert 0.77 < masked.sum() / chosen.sum() < 0.83
    assert 0.07 < kept.sum() / chosen.sum() < 0.13


def test_eval_masks_repeat_and_training_masks_do_not(assets: dict[str, Any]) -> None:
    """Each evaluation draws the same masks (comparable eval losses); training steps differ."""
    model = build_model(make_config(assets["corpus"], assets["tokenizer_dir"]), assets["tokenizer"])
    ids = _batch(assets)
    model.eval()
    first = model.mask_tokens(ids)[1]
    model.train()
    second_train = model.mask_tokens(ids)[1]
    model.eval()
    again = model.mask_tokens(ids)[1]
    assert torch.equal(first, again)
    assert not torch.equal(first, second_train)


def test_fixed_capacity_positions_cover_every_chosen_token() -> None:
    """The no-sync index used on CUDA has a fixed length and contains every chosen position."""
    cls = fast_mlm_class("roberta")
    chosen = torch.rand(16, 128) < 0.15
    positions = cls._fixed_capacity_positions(chosen)
    assert positions.numel() >= int(chosen.sum())
    assert set(chosen.reshape(-1).nonzero().squeeze(1).tolist()) <= set(positions.tolist())
    assert positions.numel() == cls._fixed_capacity_positions(torch.rand(16, 128) < 0.15).numel()


def test_inference_calls_are_the_parent_forward(assets: dict[str, Any]) -> None:
    """Without labels or the masking flag the model returns full logits, like the stock class."""
    model = build_model(make_config(assets["corpus"], assets["tokenizer_dir"]), assets["tokenizer"]).eval()
    ids = _batch(assets, rows=2, length=16)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids))
    assert out.logits.shape == (2, 16, len(assets["tokenizer"]))


def test_saved_checkpoint_is_standard_and_gives_the_same_logits(
    assets: dict[str, Any], tmp_path: Path
) -> None:
    """The fast model saves as RobertaForMaskedLM; AutoModelForMaskedLM reloads the same logits."""
    model = build_model(make_config(assets["corpus"], assets["tokenizer_dir"]), assets["tokenizer"]).eval()
    save_standard(model, tmp_path / "final")
    config_json = (tmp_path / "final" / "config.json").read_text()
    assert '"RobertaForMaskedLM"' in config_json and "Fast" not in config_json
    loaded = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "final").eval()
    assert type(loaded) is transformers.RobertaForMaskedLM
    ids = _batch(assets, rows=2, length=32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=ids).logits, model(input_ids=ids).logits)


def test_collators_per_mode(assets: dict[str, Any]) -> None:
    """Fast MLM stacks ids and flags device masking; recipe pads and masks on the CPU."""
    tokenizer = assets["tokenizer"]
    fast = build_collator(make_config(assets["corpus"], assets["tokenizer_dir"]), tokenizer)
    assert isinstance(fast, StackIds)
    batch = fast([{"input_ids": [0, 7, 8, 2]}, {"input_ids": [0, 9, 10, 2]}])
    assert set(batch) == {"input_ids", MASK_ON_DEVICE} and batch["input_ids"].dtype == torch.long
    ragged = fast([{"input_ids": [0, 7, 2]}, {"input_ids": [0, 9, 10, 11, 2]}])
    assert ragged["input_ids"].shape == (2, 8)
    assert ragged["attention_mask"].sum().item() == 8
    assert ragged["input_ids"][0, 3].item() == tokenizer.pad_token_id
    recipe = build_collator(make_config(assets["corpus"], assets["tokenizer_dir"], mode="recipe"), tokenizer)
    assert isinstance(recipe, transformers.DataCollatorForLanguageModeling)
    assert "labels" in recipe([{"input_ids": [0, 7, 2]}, {"input_ids": [0, 9, 10, 11, 2]}])
    clm = StackIds("clm", tokenizer.pad_token_id)(
        [{"input_ids": [0, 7, 2]}, {"input_ids": [0, 9, 10, 11, 2]}]
    )
    assert (clm["labels"][0, 3:] == IGNORE_INDEX).all()


def test_training_args_defaults_per_device_and_mode(assets: dict[str, Any], tmp_path: Path) -> None:
    """Defaults build real TrainingArguments, the user's train section wins, CPU stays fp32."""
    config = make_config(assets["corpus"], assets["tokenizer_dir"], optim="adamw_torch", logging_steps=7)
    cpu = training_args_defaults(config, "cpu")
    assert cpu["optim"] == "adamw_torch" and cpu["logging_steps"] == 7  # the user's values
    assert not cpu.get("bf16") and cpu["use_cpu"] and cpu["logging_nan_inf_filter"] is False
    assert cpu["label_names"] == ["input_ids"]
    transformers.TrainingArguments(output_dir=str(tmp_path), **cpu)
    fast = training_args_defaults(make_config(assets["corpus"], assets["tokenizer_dir"]), "cpu")
    assert fast["optim"] == "adamw_torch_fused"
    recipe = training_args_defaults(
        make_config(assets["corpus"], assets["tokenizer_dir"], mode="recipe"), "cpu"
    )
    assert recipe["optim"] == "adamw_torch" and "label_names" not in recipe
    cuda = training_args_defaults(make_config(assets["corpus"], assets["tokenizer_dir"]), "cuda")
    assert cuda["dataloader_pin_memory"] is True and cuda["optim"] == "adamw_torch_fused"


def _train(assets: dict[str, Any], mode: str, steps: int, tmp: Path) -> tuple[list[float], dict[str, float]]:
    """Train `steps` steps through the stock Trainer; the logged losses and a final evaluation."""
    config = make_config(
        assets["corpus"],
        assets["tokenizer_dir"],
        mode=mode,
        max_steps=steps,
        logging_steps=10,
        save_steps=10_000,
        learning_rate=2e-3,
    )
    tokenizer = assets["tokenizer"]
    # The same packed data for both: the comparison is of the training step, not of the data.
    data = prepare_datasets(config, tokenizer, cache_dir=assets["root"] / "cache", packing=True)
    model = build_model(config, tokenizer)
    args = transformers.TrainingArguments(output_dir=str(tmp / mode), **training_args_defaults(config, "cpu"))
    trainer = transformers.Trainer(
        model=model,
        args=args,
        train_dataset=data.train,
        eval_dataset=data.eval,
        data_collator=build_collator(config, tokenizer),
    )
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return losses, trainer.evaluate()


@pytest.mark.slow
def test_fast_and_standard_paths_reach_the_same_loss(assets: dict[str, Any], tmp_path: Path) -> None:
    """Same seed and data: the fast path's final loss is within 2 % of the standard path's.

    The suite trains 120 steps of a shrunk `tiny-cpu`; `benchmarks/convergence.py` runs the
    full 300-step `tiny-cpu` comparison.
    """
    fast_losses, fast_eval = _train(assets, "fast", 120, tmp_path)
    standard_losses, standard_eval = _train(assets, "recipe", 120, tmp_path)
    fast_final = sum(fast_losses[-3:]) / 3
    standard_final = sum(standard_losses[-3:]) / 3
    assert fast_losses[-1] < fast_losses[0] - 0.5  # it learns
    assert abs(fast_final - standard_final) / standard_final < 0.02
    assert "eval_loss" in fast_eval  # the Trainer evaluates the fast model without a labels column
    assert abs(fast_eval["eval_loss"] - standard_eval["eval_loss"]) / standard_eval["eval_loss"] < 0.03


def test_causal_lm_fast_path_trains_on_packed_blocks(assets: dict[str, Any]) -> None:
    """Causal LM in fast mode: the stock model with SDPA, ids as labels, a finite loss."""
    config = make_config(assets["corpus"], assets["tokenizer_dir"], arch="gpt2")
    config.model.task = "clm"
    config.model.fields = {"n_embd": 64, "n_layer": 2, "n_head": 2, "n_positions": 64, "vocab_size": 1000}
    model = build_model(config, assets["tokenizer"])
    assert type(model) is transformers.GPT2LMHeadModel and model.config._attn_implementation == "sdpa"
    collator = build_collator(config, assets["tokenizer"])
    batch = collator([{"input_ids": list(range(5, 69))}, {"input_ids": list(range(100, 164))}])
    assert torch.equal(batch["labels"], batch["input_ids"]) and "mask_on_device" not in batch
    assert torch.isfinite(model(**batch).loss)
    assert "label_names" not in training_args_defaults(config, "cpu")
