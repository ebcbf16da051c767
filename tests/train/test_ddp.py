"""`--nproc 2` through torchrun on CPU (gloo): rank 0 reports, a failing rank fails the run."""

from __future__ import annotations

import os

import pytest

from studio.train import launcher, runs
from studio.train.events import EventLog, Finished, RunStarted, Step
from studio.workspace import open_workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory, tiny_config):
    """A good two-process run and one whose rank 1 fails, started together."""
    workspace = open_workspace(tmp_path_factory.mktemp("ddp") / "ws", demo=False)
    handles = {}
    for name, fault in (("good", ""), ("rank1", "fail_rank:1")):
        os.environ["STUDIO_FAULT"] = fault
        try:
            config = tiny_config(
                "train.max_steps=4",
                "train.save_steps=2",
                "train.eval_steps=2",
                "studio.probe_every=0",
                f"studio.name={name}",
            )
            handles[name] = launcher.start_run(config, workspace, nproc=2, live=True, check=False)
        finally:
            del os.environ["STUDIO_FAULT"]
    return {
        name: (h, h.wait(timeout=300), EventLog(h.path / runs.EVENTS_FILE).replay())
        for name, h in handles.items()
    }


def test_two_processes_train_together(ddp_runs):
    """Both ranks train; rank 0 alone writes the events, counting both ranks' tokens; final/ is saved."""
    handle, info, events = ddp_runs["good"]
    assert handle.queue is None  # followed through the file
    assert info.state == "completed", (info.reason, (info.path / runs.LOG_FILE).read_text()[-3000:])
    assert info.nproc == 2
    started = [e for e in events if isinstance(e, RunStarted)]
    assert len(started) == 1 and started[0].world_size == 2
    steps = [e for e in events if isinstance(e, Step)]
    assert [s.step for s in steps] == [1, 2, 3, 4]
    assert steps[0].tokens == 2 * 4 * 64  # two ranks, batch 4, blocks of 64
    assert (info.path / runs.FINAL_DIR / "config.json").is_file()
    assert [e.state for e in events if isinstance(e, Finished)] == ["completed"]


def test_a_failing_rank_fails_the_run_with_its_error(ddp_runs):
    """When rank 1 raises, the run is failed with rank 1's own error, not a peer's lost connection."""
    _, info, events = ddp_runs["rank1"]
    assert info.state == "failed"
    assert info.reason.startswith("rank 1:") and "injected failure on rank 1" in info.reason, info.reason
    finished = [e for e in events if isinstance(e, Finished)]
    assert len(finished) == 1 and "injected failure" in finished[0].traceback_tail
