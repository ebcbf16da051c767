"""RunHistory: bounded, downsampled, NaN-honest, and the same whether replayed or applied live."""

from __future__ import annotations

import itertools
import math

from studio.train.events import (
    Checkpoint,
    Eval,
    EventLog,
    EventWriter,
    Finished,
    Log,
    RunStarted,
    State,
    Step,
    System,
)
from studio.train.history import DownsampledSeries, RunHistory


def write_events(path, steps: int, nan_at: int | None = None, resume_at: int | None = None) -> None:
    """A synthetic events.jsonl: steps with system samples, evals, checkpoints, an optional resume."""
    with EventWriter(path) as writer:
        writer.write(RunStarted(run_id="r", total_steps=steps))
        writer.write(State(state="running"))
        for step in range(1, steps + 1):
            loss = float("nan") if step == nan_at else 10.0 / step
            writer.write(
                Step(
                    step=step,
                    loss=loss,
                    learning_rate=1e-3 * (1 - step / steps),
                    grad_norm=1.0,
                    tokens=step * 256,
                    tokens_per_s=1000.0,
                )
            )
            if step % 7 == 0:
                writer.write(System(cpu_percent=50.0, rss_bytes=step))
            if step % 50 == 0:
                writer.write(Eval(step=step, eval_loss=10.0 / step))
                writer.write(Checkpoint(step=step, path=f"checkpoints/checkpoint-{step}"))
                writer.write(Log(message=f"saved {step}"))
            if resume_at is not None and step == resume_at + 30:
                writer.write(
                    RunStarted(
                        run_id="r", total_steps=steps, resumed_from=f"checkpoints/checkpoint-{resume_at}"
                    )
                )
                resume_at = None
        writer.write(Finished(state="completed", step=steps))


def test_series_stays_bounded_and_evenly_spaced():
    """However many points arrive, a series holds at most `capacity`, evenly spaced, newest exact."""
    series = DownsampledSeries(("loss",), capacity=64)
    for step in range(1, 100_001):
        series.add(step, {"loss": float(step)})
    assert len(series) <= 64
    xs = [x for x, _ in series.points("loss")]
    gaps = {b - a for a, b in itertools.pairwise(xs[:-1])}
    assert len(gaps) == 1  # even spacing
    assert xs[-1] == 100_000


def test_replay_matches_live_apply(tmp_path):
    """Replaying a file gives the same latest figures, evals and checkpoints as applying it live."""
    path = tmp_path / "events.jsonl"
    write_events(path, 400)
    live = RunHistory(capacity=64)
    live.apply_all(EventLog(path).replay())
    replayed = RunHistory.from_file(path, capacity=64)
    for history in (live, replayed):
        assert history.step == 400 and history.state == "completed"
        assert len(history.points("loss")) <= 66
        assert history.points("loss")[-1] == (400, 10.0 / 400)
        assert [x for x, _ in history.points("eval_loss")] == list(range(50, 401, 50))
        assert [c.step for c in history.checkpoints] == list(range(50, 401, 50))
        assert history.system[-1].rss_bytes == 399
        assert history.logs[-1].message == "saved 400"


def test_nan_is_never_sampled_away(tmp_path):
    """A NaN loss survives downsampling, both live and replayed."""
    path = tmp_path / "events.jsonl"
    write_events(path, 3000, nan_at=1234)
    for history in (RunHistory.from_file(path, capacity=32), RunHistory(capacity=32)):
        if not history.events:
            history.apply_all(EventLog(path).replay())
        assert list(history.non_finite) == [(1234, history.non_finite[0][1])]
        assert math.isnan(history.non_finite[0][1])
        assert any(x == 1234 and math.isnan(y) for x, y in history.points("loss"))


def test_resume_replaces_the_steps_after_the_checkpoint(tmp_path):
    """After a resume from checkpoint-100, the old steps 101.. are dropped: the curve joins once."""
    path = tmp_path / "events.jsonl"
    write_events(path, 200, resume_at=100)
    for history in (RunHistory.from_file(path), RunHistory()):
        if not history.events:
            history.apply_all(EventLog(path).replay())
        xs = [x for x, _ in history.points("loss")]
        assert xs == sorted(xs) and len(xs) == len(set(xs))


def test_replay_offset_continues_with_event_log(tmp_path):
    """The offset replay returns lets an EventLog follow only what is appended afterwards."""
    path = tmp_path / "events.jsonl"
    write_events(path, 20)
    history = RunHistory()
    offset = history.replay(path)
    with EventWriter(path) as writer:
        writer.write(Log(message="after"))
    assert [e.message for e in EventLog(path, offset=offset).read_new()] == ["after"]


def test_eta_from_recent_pace():
    """The ETA comes from the recent steps' pace."""
    history = RunHistory()
    history.apply(RunStarted(total_steps=100))
    history.apply(Step(step=10, time=1000.0))
    history.apply(Step(step=20, time=1010.0))
    assert history.eta_s() == 80.0
