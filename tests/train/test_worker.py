"""The worker end to end: a tiny real run completes with events, checkpoints, final model and card."""

from __future__ import annotations

from studio.train import launcher, runs
from studio.train.events import EventLog


def test_tiny_run_completes(workspace, tiny_config):
    """A 6-step run completes: events, checkpoints, final/ with model, tokenizer and model card."""
    handle = launcher.start_run(tiny_config(), workspace, live=True)
    events = []
    for batch in launcher.follow_events(handle):
        events.extend(batch)
    info = handle.wait(timeout=60)
    assert info.state == "completed", (info.reason, (handle.path / "worker.log").read_text()[-3000:])
    types = {e.TYPE for e in events}
    assert {"run_started", "step", "eval", "checkpoint", "finished", "system", "probe"} <= types, types
    replay = EventLog(handle.path / runs.EVENTS_FILE).replay()
    assert [e.TYPE for e in replay if e.TYPE == "step"] == [e.TYPE for e in events if e.TYPE == "step"]
