"""The Studio callback in a long run: events.jsonl records every log; the Trainer keeps few."""

from __future__ import annotations

from pathlib import Path

from transformers import TrainerControl, TrainerState, TrainingArguments

from studio.train import runs
from studio.train.callback import LOG_HISTORY_KEEP, StudioCallback
from studio.train.events import EventLog, Step
from studio.train.worker import LiveChannel, Reporter, StopFlag


def test_a_long_run_keeps_the_trainers_log_history_bounded(tmp_path: Path) -> None:
    """The Trainer copies its whole log history into every checkpoint's trainer_state.json; with
    Studio it keeps the recent logs only, so memory and checkpoints stay flat, and nothing is lost:
    every step is in events.jsonl."""
    steps = 5 * LOG_HISTORY_KEEP
    reporter = Reporter(tmp_path, LiveChannel(None), is_main=True)
    reporter.begin("test")
    callback = StudioCallback(reporter, tmp_path, StopFlag(), 128.0)
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"), use_cpu=True, report_to="none", logging_steps=1
    )
    state, control = TrainerState(max_steps=steps), TrainerControl()
    callback.on_train_begin(args, state, control)
    for step in range(1, steps + 1):
        state.global_step = step
        logs = {"loss": 2.0 + 1.0 / step, "grad_norm": 0.5, "learning_rate": 1e-4, "epoch": step / steps}
        state.log_history.append({**logs, "step": step})  # as Trainer.log does, before on_log
        callback.on_log(args, state, control, logs=logs)
    reporter.close()

    kept = [entry["step"] for entry in state.log_history]
    assert LOG_HISTORY_KEEP <= len(kept) <= 2 * LOG_HISTORY_KEEP
    assert kept == list(range(steps - len(kept) + 1, steps + 1))  # the most recent, in order
    state.save_to_json(str(tmp_path / "trainer_state.json"))
    assert (tmp_path / "trainer_state.json").stat().st_size < 500_000
    recorded = [e.step for e in EventLog(tmp_path / runs.EVENTS_FILE).replay() if isinstance(e, Step)]
    assert recorded == list(range(1, steps + 1))
