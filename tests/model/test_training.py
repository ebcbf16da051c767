"""Every architecture and task: a tiny model from its config trains, saves, reloads, and (if causal) never
looks ahead."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from studio.config import RunConfig
from studio.model.build import auto_model_class, build_model, config_from_preset
from studio.model.estimate import _encoder
from studio.model.tokenizer_info import TokenizerInfo, load_tokenizer_info
from studio.model.validate import fix_all

BLOCK = 64
BATCH = 2
STEPS = 3

CASES = [  # (preset, task, tokenizer fixture)
    ("tiny-cpu", "mlm", "bpe_tokenizer"),
    ("bert-tiny", "mlm", "wordpiece_tokenizer"),
    ("gpt2-tiny", "clm", "bpe_tokenizer"),
    ("llama-tiny", "clm", "bpe_tokenizer"),
    ("reformer-tiny", "mlm", "sentencepiece_tokenizer"),
    ("reformer-tiny", "clm", "sentencepiece_tokenizer"),
]


def _tiny_config(
    request: pytest.FixtureRequest, preset: str, task: str, tokenizer: str
) -> tuple[RunConfig, TokenizerInfo]:
    """The preset at a 64-token block, made valid by its own fixes (Reformer's axial shape follows)."""
    directory = request.getfixturevalue(tokenizer)
    config = config_from_preset(
        preset, str(request.getfixturevalue("corpus_file")), str(directory), task=task
    )
    info = load_tokenizer_info(directory)
    config, remaining = fix_all(
        config.with_overrides(
            [f"data.block_size={BLOCK}", "model.hash_seed=0"]
            if preset.startswith("reformer")
            else [f"data.block_size={BLOCK}"]
        ),
        info,
    )
    assert remaining == []
    return config, info


def _batches(config: RunConfig, info: TokenizerInfo) -> list[torch.Tensor]:
    lines = Path(config.data.corpus).read_text(encoding="utf-8").splitlines()[:400]
    ids = [i for row in _encoder(config.data.tokenizer)(lines) for i in row]
    blocks = torch.tensor(ids[: STEPS * BATCH * BLOCK]).view(STEPS, BATCH, BLOCK)
    return list(blocks)


def _mlm_labels(
    ids: torch.Tensor, mask_id: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    chosen = torch.rand(ids.shape, generator=generator) < 0.15
    chosen[:, 0] = True  # at least one masked token per row
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    return torch.where(chosen, torch.full_like(ids, mask_id), ids), labels


@pytest.mark.slow
@pytest.mark.parametrize(("preset", "task", "tokenizer"), CASES, ids=[f"{p}-{t}" for p, t, _ in CASES])
def test_tiny_model_trains_saves_and_reloads(
    request: pytest.FixtureRequest, tmp_path: Path, preset: str, task: str, tokenizer: str
) -> None:
    """Three optimizer steps on real tokens give finite losses; the saved dir loads with AutoModelFor…."""
    torch.manual_seed(0)
    config, info = _tiny_config(request, preset, task, tokenizer)
    model = build_model(config)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for ids in _batches(config, info):
        if task == "mlm":
            inputs, labels = _mlm_labels(ids, info.special_ids["mask_token"], generator)
        else:
            inputs, labels = ids, ids
        loss = model(input_ids=inputs, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert len(losses) == STEPS and all(math.isfinite(x) for x in losses), losses
    model.save_pretrained(tmp_path / "model")
    loaded = auto_model_class(task).from_pretrained(tmp_path / "model")
    assert type(loaded) is type(model)
    original = dict(model.named_parameters())
    for name, parameter in loaded.named_parameters():
        assert torch.equal(parameter, original[name]), name


def _first_change(model: torch.nn.Module, vocab: int, positions: list[int]) -> list[float]:
    """For each t: the largest change of the logits at 0..t when every token after t is replaced."""
    model.eval()
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(5, vocab, (1, BLOCK), generator=generator)
    changes = []
    with torch.no_grad():
        base = model(input_ids=ids).logits
        for t in positions:
            altered = ids.clone()
            altered[0, t + 1 :] = torch.randint(5, vocab, (BLOCK - t - 1,), generator=generator)
            logits = model(input_ids=altered).logits
            changes.append((logits[0, : t + 1] - base[0, : t + 1]).abs().max().item())
    return changes


@pytest.mark.slow
@pytest.mark.parametrize(
    ("preset", "task", "tokenizer"),
    [c for c in CASES if c[1] == "clm"],
    ids=[c[0] for c in CASES if c[1] == "clm"],
)
def test_causal_models_do_not_see_the_future(
    request: pytest.FixtureRequest, preset: str, task: str, tokenizer: str
) -> None:
    """Changing tokens after position t leaves the logits at 0..t unchanged (Reformer included)."""
    torch.manual_seed(0)
    config, info = _tiny_config(request, preset, task, tokenizer)
    changes = _first_change(build_model(config), info.vocab_size, [0, 5, 31, 32, 40, BLOCK - 2])
    assert max(changes) < 1e-4, changes


def test_leakage_check_catches_a_bidirectional_model(request: pytest.FixtureRequest) -> None:
    """The leakage check is not vacuous: a masked LM (which reads ahead) fails it."""
    torch.manual_seed(0)
    config, info = _tiny_config(request, "tiny-cpu", "mlm", "bpe_tokenizer")
    assert max(_first_change(build_model(config), info.vocab_size, [5, 31])) > 1e-3
