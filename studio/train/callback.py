"""The Studio `TrainerCallback`: the Trainer's progress as events, and the worker's controls.

It reads values only where the Trainer already has them on the host (the `logs` of a logging
step), so it adds no device sync per step. At logging steps it also checks the loss for NaN/Inf
(the Trainer's own filter is off, so a NaN is never averaged away) and applies `nan_policy`.

Controls (stop, save now, evaluate now) arrive as a signal flag or as request files. With one
process they are polled a few times a second; with several (torchrun), at logging steps, where
every rank takes the same decision from an all-reduce of the flags (ranks must agree on when to
evaluate or save, or their collectives would not match).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from studio.train import runs
from studio.train.events import Checkpoint, Eval, Log, Step

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from studio.train.worker import Reporter, StopFlag

CONTROL_POLL_S = 0.25
# The Trainer keeps every log in `state.log_history` and writes all of it into each checkpoint's
# trainer_state.json: a week of logging grows the worker by ~250 MB and each save by a 135 MB JSON
# that takes seconds to write. events.jsonl is the record, so the Trainer keeps only the recent logs.
LOG_HISTORY_KEEP = 1000


class StudioCallback(TrainerCallback):
    """Emits step/eval/checkpoint/state events and turns stop/save/evaluate requests into
    `TrainerControl` decisions. One instance per rank; only the main rank reports."""

    def __init__(
        self,
        reporter: Reporter,
        run_dir: Path,
        stop: StopFlag,
        tokens_per_example: float,
        nan_policy: str = "stop",
        world_size: int = 1,
        probe: Callable[[Any, int], None] | None = None,
        probe_every: int = 0,
    ) -> None:
        self.reporter = reporter
        self.run_dir = run_dir
        self.stop = stop
        self.tokens_per_example = tokens_per_example
        self.nan_policy = nan_policy
        self.world_size = world_size
        self.probe = probe
        self.probe_every = probe_every
        self.nan_stopped_at: int | None = None
        self.skipped_steps = 0  # set by the trainer under nan_policy=skip
        self.non_finite_loss: float | None = None  # likewise: the loss of a skipped step
        self.last_loss: float | None = None
        self.last_eval_loss: float | None = None
        self.last_eval_step: int | None = None
        self.last_tokens_per_s: float | None = None
        self.stopped_by_request = False
        self._pending: set[str] = set()
        self._last_poll = 0.0
        self._mark: tuple[float, int] | None = None  # (time, step) of the last logging step
        self._train_started = 0.0
        self._first_step = 0
        self.window_speeds: deque[float] = deque(maxlen=1000)  # tokens/s of recent logging windows

    # --- lifecycle ------------------------------------------------------------------------------

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self._train_started = time.monotonic()
        self._first_step = state.global_step
        self._mark = (self._train_started, state.global_step)
        self.reporter.set_phase("running", total_steps=state.max_steps, step=state.global_step)

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        step = state.global_step
        self._collect_requests(args, state)
        if self._pending:
            self._act(control)
        if (
            self.probe is not None
            and self.probe_every
            and step % self.probe_every == 0
            and self.reporter.is_main
        ):
            self.probe(kwargs.get("model"), step)
        if control.should_evaluate:
            self.reporter.set_phase("evaluating", step=step)
        elif control.should_save:
            self.reporter.set_phase("saving", step=step)
        return control

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> TrainerControl:
        _trim_log_history(state)
        if not logs or "loss" not in logs:
            return control
        step = state.global_step
        loss = float(logs["loss"])
        if self.non_finite_loss is not None:  # a skipped step in this window (nan_policy=skip)
            loss, self.non_finite_loss = self.non_finite_loss, None
        now = time.monotonic()
        tokens = int(
            state.global_step
            * args.train_batch_size
            * args.gradient_accumulation_steps
            * self.world_size
            * self.tokens_per_example
        )
        tokens_per_s = None
        if self._mark is not None and step > self._mark[1] and now > self._mark[0]:
            done = (step - self._mark[1]) * args.train_batch_size * args.gradient_accumulation_steps
            tokens_per_s = done * self.world_size * self.tokens_per_example / (now - self._mark[0])
        self._mark = (now, step)
        self.last_loss = loss
        self.last_tokens_per_s = tokens_per_s
        if tokens_per_s is not None:
            self.window_speeds.append(tokens_per_s)
        self.reporter.emit(
            Step(
                step=step,
                epoch=float(state.epoch or 0.0),
                loss=loss,
                learning_rate=_float(logs.get("learning_rate")),
                grad_norm=_float(logs.get("grad_norm")),
                tokens=tokens,
                tokens_per_s=tokens_per_s,
                skipped_steps=self.skipped_steps,
            )
        )
        self.reporter.update(step=step, last_loss=loss, tokens_per_s=tokens_per_s, tokens=tokens)
        if not math.isfinite(loss):
            if self.nan_policy == "stop":
                self.nan_stopped_at = step
                self.reporter.emit(
                    Log(
                        level="error",
                        message=f"step {step}: the loss is {loss}; stopping (studio.nan_policy=stop)",
                    )
                )
                control.should_training_stop = True
            else:
                self.reporter.emit(
                    Log(
                        level="warning",
                        message=f"step {step}: the loss is {loss}; "
                        f"non-finite steps are skipped ({self.skipped_steps} so far)",
                    )
                )
        return control

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> TrainerControl:
        metrics = metrics or {}
        eval_loss = _float(metrics.get("eval_loss"))
        perplexity = None
        if eval_loss is not None and math.isfinite(eval_loss):
            perplexity = math.exp(min(eval_loss, 700.0))
        others = {
            k: float(v)
            for k, v in metrics.items()
            if k != "eval_loss" and isinstance(v, int | float) and not isinstance(v, bool)
        }
        self.last_eval_loss = eval_loss
        self.last_eval_step = state.global_step
        self.reporter.emit(
            Eval(step=state.global_step, eval_loss=eval_loss, perplexity=perplexity, metrics=others)
        )
        self.reporter.update(last_eval_loss=eval_loss)
        if self.stop.is_set():  # a stop that arrived during evaluation: checkpoint now, then stop
            control.should_save = True
            control.should_training_stop = True
            self.stopped_by_request = True
        self.reporter.set_phase("saving" if control.should_save else "running", step=state.global_step)
        self._restart_window(state)
        return control

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        path = Path(str(args.output_dir)) / f"checkpoint-{state.global_step}"
        self.reporter.emit(Checkpoint(step=state.global_step, path=str(path)))
        if self.stop.is_set():  # a stop that arrived while saving: the checkpoint is done, stop
            control.should_training_stop = True
            self.stopped_by_request = True
        self.reporter.set_phase("stopping" if self.stop.is_set() else "running", step=state.global_step)
        self._restart_window(state)
        return control

    def _restart_window(self, state: TrainerState) -> None:
        """tokens/s measures training: the time spent evaluating or saving is left out."""
        if self._mark is not None and self._mark[1] == state.global_step:
            self._mark = (time.monotonic(), state.global_step)

    def steady_tokens_per_s(self) -> float | None:
        """The median tokens/s of the recent logging windows (start-up and pauses do not weigh)."""
        speeds = sorted(self.window_speeds)
        return speeds[len(speeds) // 2] if speeds else None

    # --- controls -------------------------------------------------------------------------------

    def _collect_requests(self, args: TrainingArguments, state: TrainerState) -> None:
        if self.world_size == 1:
            if self.stop.is_set():
                self._pending.add("stop")
            now = time.monotonic()
            if now - self._last_poll >= CONTROL_POLL_S:
                self._last_poll = now
                self._pending |= runs.take_control_requests(self.run_dir)
            return
        # Several ranks: decide together, at logging steps only (deterministic on every rank).
        logging_steps = max(1, int(args.logging_steps or 1))
        if state.global_step % logging_steps:
            return
        local = set(runs.take_control_requests(self.run_dir)) if self.reporter.is_main else set()
        if self.stop.is_set():
            local.add("stop")
        self._pending |= _agree(local, args)

    def _act(self, control: TrainerControl) -> None:
        if "stop" in self._pending:
            self.stop.set(self.stop.reason or "stop requested")
            control.should_save = True
            control.should_training_stop = True
            self.stopped_by_request = True
        if "save" in self._pending:
            control.should_save = True
        if "evaluate" in self._pending:
            control.should_evaluate = True
        self._pending.clear()


def _trim_log_history(state: TrainerState) -> None:
    """Keep the last `LOG_HISTORY_KEEP` logs, trimming in batches (amortised O(1) per log)."""
    history = state.log_history
    if len(history) > 2 * LOG_HISTORY_KEEP:
        del history[: len(history) - LOG_HISTORY_KEEP]


def _agree(local: set[str], args: TrainingArguments) -> set[str]:
    """The union of every rank's requests, through one small all-reduce."""
    import torch
    import torch.distributed as dist

    names = runs.REQUESTS
    flags = torch.tensor([1 if name in local else 0 for name in names], dtype=torch.int32, device=args.device)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    values = flags.tolist()
    return {name for name, value in zip(names, values, strict=True) if value}


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
