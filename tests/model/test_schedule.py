"""The schedule preview is the scheduler the run will use."""

from __future__ import annotations

import pytest
import torch
import transformers

from studio.errors import StudioError
from studio.model.schedule import lr_schedule, warmup_steps_for


@pytest.mark.parametrize("kind", ["linear", "cosine", "constant_with_warmup", "polynomial", "inverse_sqrt"])
def test_preview_matches_stepping_the_real_scheduler(kind: str) -> None:
    """Each previewed point equals the rate that stepping transformers' own scheduler gives."""
    train = {"learning_rate": 1e-3, "max_steps": 200, "warmup_steps": 0.1, "lr_scheduler_type": kind}
    preview = dict(lr_schedule(train, points=50))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    scheduler = transformers.get_scheduler(kind, optimizer, num_warmup_steps=20, num_training_steps=200)
    for step in range(201):
        if step in preview:
            assert preview[step] == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-9, abs=1e-12)
        optimizer.step()
        scheduler.step()


def test_warmup_fraction_and_count() -> None:
    """warmup_steps below 1 is a fraction of the steps (transformers 5); 1 and above is a count."""
    assert warmup_steps_for({"warmup_steps": 0.05}, 1000) == 50
    assert warmup_steps_for({"warmup_steps": 30}, 1000) == 30
    curve = dict(lr_schedule({"learning_rate": 1.0, "max_steps": 100, "warmup_steps": 0.1}, points=101))
    assert curve[10] == pytest.approx(1.0) and curve[5] == pytest.approx(0.5) and curve[100] == 0


def test_no_steps_is_a_clear_error() -> None:
    """Without max_steps (and no corpus count) the preview says what to set."""
    with pytest.raises(StudioError, match="steps"):
        lr_schedule({"max_steps": -1})
