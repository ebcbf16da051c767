"""The learning-rate schedule the run will use, drawn from the scheduler itself.

`transformers.get_scheduler` is called with the configured type, warmup and steps on a
one-parameter optimizer; the curve is read off the scheduler's own lambda at sampled steps (or
by stepping it, for schedulers that are not a `LambdaLR`), so the preview cannot drift from the run.
"""

from __future__ import annotations

import math
from typing import Any

from studio.errors import StudioError

DEFAULT_POINTS = 120


def warmup_steps_for(train: dict[str, Any], total_steps: int) -> int:
    """`warmup_steps` as TrainingArguments reads it: below 1 it is a fraction of the steps."""
    warmup = train.get("warmup_steps", 0) or 0
    if isinstance(warmup, float) and 0 < warmup < 1:
        return math.ceil(warmup * total_steps)
    return int(warmup)


def lr_schedule(
    train: dict[str, Any], total_steps: int | None = None, points: int = DEFAULT_POINTS
) -> list[tuple[int, float]]:
    """(step, learning rate) pairs across the run, from the scheduler the Trainer will build."""
    import torch
    import transformers

    steps = total_steps or train.get("max_steps", -1)
    if not isinstance(steps, int) or steps <= 0:
        raise StudioError("the schedule needs a number of steps", "set train.max_steps (or count the corpus)")
    base_lr = float(train.get("learning_rate", 5e-5))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    kwargs = dict(train.get("lr_scheduler_kwargs") or {})
    try:
        scheduler = transformers.get_scheduler(
            train.get("lr_scheduler_type", "linear"),
            optimizer,
            num_warmup_steps=warmup_steps_for(train, steps),
            num_training_steps=steps,
            scheduler_specific_kwargs=kwargs,
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise StudioError(f"train.lr_scheduler_type: cannot build the scheduler ({exc})") from None
    samples = (
        sorted({round(i * steps / (points - 1)) for i in range(points)})
        if steps >= points
        else list(range(steps + 1))
    )
    lambdas = getattr(scheduler, "lr_lambdas", None)
    if lambdas:
        return [(step, base_lr * float(lambdas[0](step))) for step in samples]
    curve, wanted = [], set(samples)
    for step in range(steps + 1):  # not a LambdaLR: step it (bounded by steps)
        if step in wanted:
            curve.append((step, float(optimizer.param_groups[0]["lr"])))
        optimizer.step()
        scheduler.step()
    return curve
