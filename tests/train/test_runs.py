"""Run directories and derived states: status.json is never trusted on its own."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from studio.errors import StudioError
from studio.train import runs


def make_run(workspace, run_id: str, **status) -> Path:
    """A run directory with a minimal config.yaml and the given status.json fields."""
    run_dir = workspace.runs / run_id
    run_dir.mkdir(parents=True)
    (run_dir / runs.CONFIG_FILE).write_text("studio: {name: hand}\n", encoding="utf-8")
    if status:
        runs.write_status(run_dir, status)
    return run_dir


def test_create_run_dir_names_and_files(workspace, tiny_config):
    """A new run directory is <yyyymmdd-hhmmss>-<name> with config.yaml, command.txt and a status."""
    config = tiny_config("studio.name=my run/1")
    first = runs.create_run_dir(workspace, config, "studio train x.yaml", now=1_800_000_000)
    second = runs.create_run_dir(workspace, config, "studio train x.yaml", now=1_800_000_000)
    assert first.name.endswith("-my-run-1") and len(first.name.split("-")[0]) == 8
    assert second.name == first.name + "-2"
    assert (first / runs.COMMAND_FILE).read_text() == "studio train x.yaml\n"
    assert runs.load_run_config(first).studio.name == "my run/1"
    assert runs.read_status(first)["state"] == "preparing"


def test_terminal_states_pass_through(workspace):
    """completed, stopped and failed are taken from status.json as they are."""
    for index, state in enumerate(("completed", "stopped", "failed")):
        make_run(workspace, f"20260101-00000{index}-{state}", state=state, reason="why", step=4)
    listed = runs.list_runs(workspace)
    assert [info.state for info in listed] == ["failed", "stopped", "completed"]  # newest first
    assert all(info.reason == "why" and info.step == 4 and not info.is_live for info in listed)


def test_live_process_is_running(workspace):
    """A running status whose process is alive on this host is running."""
    me = runs.process_identity(os.getpid())
    make_run(
        workspace,
        "20260101-000000-live",
        state="running",
        phase="evaluating",
        heartbeat=time.time(),
        supervisor_pid=me["pid"],
        supervisor_created=me["pid_created"],
        **me,
    )
    (info,) = runs.list_runs(workspace)
    assert (info.state, info.phase, info.is_live) == ("running", "evaluating", True)


def test_dead_pid_on_this_host_is_lost_at_once(workspace):
    """A running status whose worker and supervisor are gone is lost, not running forever."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    make_run(
        workspace,
        "20260101-000000-dead",
        state="running",
        heartbeat=time.time(),
        pid=child.pid,
        supervisor_pid=child.pid,
        host=socket.gethostname(),
        boot_time=psutil.boot_time(),
    )
    (info,) = runs.list_runs(workspace)
    assert info.state == "lost"
    assert str(child.pid) in info.reason


def test_reused_pid_is_not_mistaken_for_the_worker(workspace):
    """A pid now used by another process (its start time differs) does not keep a run alive."""
    make_run(
        workspace,
        "20260101-000000-reused",
        state="running",
        heartbeat=time.time(),
        pid=os.getpid(),
        pid_created=1.0,
        supervisor_pid=os.getpid(),
        supervisor_created=1.0,
        host=socket.gethostname(),
    )
    assert runs.list_runs(workspace)[0].state == "lost"


def test_stale_status_from_a_crashed_machine(workspace):
    """A status from another host with an old heartbeat, or from before a reboot, is lost."""
    make_run(
        workspace,
        "20260101-000001-elsewhere",
        state="running",
        heartbeat=time.time() - 3600,
        pid=12345,
        host="crashed-node-7",
    )
    make_run(
        workspace,
        "20260101-000002-rebooted",
        state="running",
        heartbeat=time.time() - 60,
        pid=os.getpid(),
        host=socket.gethostname(),
        boot_time=psutil.boot_time() - 86400,
    )
    make_run(
        workspace,
        "20260101-000003-fresh-elsewhere",
        state="running",
        heartbeat=time.time(),
        pid=12345,
        host="busy-node-2",
    )
    by_id = {info.id: info for info in runs.list_runs(workspace)}
    assert by_id["20260101-000001-elsewhere"].state == "lost"
    assert "crashed-node-7" in by_id["20260101-000001-elsewhere"].reason
    assert by_id["20260101-000002-rebooted"].state == "lost"
    assert "restarted" in by_id["20260101-000002-rebooted"].reason
    assert by_id["20260101-000003-fresh-elsewhere"].state == "running"


def test_hand_edited_status_is_a_clear_lost_run(workspace):
    """A status.json that is not JSON, or names an unknown state, shows as lost with the reason."""
    broken = make_run(workspace, "20260101-000001-broken")
    (broken / runs.STATUS_FILE).write_text("{not json", encoding="utf-8")
    make_run(workspace, "20260101-000002-weird", state="dancing")
    by_id = {info.id: info for info in runs.list_runs(workspace)}
    assert by_id["20260101-000001-broken"].state == "lost"
    assert "not valid JSON" in by_id["20260101-000001-broken"].reason
    assert "dancing" in by_id["20260101-000002-weird"].reason


def test_find_run_by_id_prefix_and_path(workspace):
    """A run is found by its id, a unique prefix, or its directory; anything else is a clear error."""
    make_run(workspace, "20260101-000001-alpha", state="completed")
    make_run(workspace, "20260101-000002-beta", state="completed")
    assert runs.find_run(workspace, "20260101-000001-alpha").name == "hand"
    assert runs.find_run(workspace, "20260101-000002").id == "20260101-000002-beta"
    assert (
        runs.find_run(workspace, str(workspace.runs / "20260101-000001-alpha")).id == "20260101-000001-alpha"
    )
    with pytest.raises(StudioError, match="ambiguous"):
        runs.find_run(workspace, "20260101")
    with pytest.raises(StudioError, match="no run"):
        runs.find_run(workspace, "nope")
    with pytest.raises(StudioError, match="not a run of the workspace"):
        runs.find_run(workspace, str(workspace.root.parent))
    with pytest.raises(StudioError, match="not a run of the workspace"):
        runs.find_run(workspace, "../../etc")


def test_delete_run_refuses_a_live_run(workspace):
    """Deleting a running run is refused; a finished one is removed."""
    me = runs.process_identity(os.getpid())
    make_run(
        workspace,
        "20260101-000001-live",
        state="running",
        heartbeat=time.time(),
        supervisor_pid=me["pid"],
        supervisor_created=me["pid_created"],
        **me,
    )
    done = make_run(workspace, "20260101-000002-done", state="completed")
    with pytest.raises(StudioError, match="stop it first"):
        runs.delete_run(workspace, "20260101-000001")
    runs.delete_run(workspace, "20260101-000002")
    assert not done.exists()


def test_control_requests_are_taken_once(workspace):
    """A request file is picked up once by the worker side; unknown requests are refused."""
    run_dir = make_run(workspace, "20260101-000001-x", state="running")
    runs.write_control_request(run_dir, "save")
    runs.write_control_request(run_dir, "evaluate")
    assert runs.take_control_requests(run_dir) == {"save", "evaluate"}
    assert runs.take_control_requests(run_dir) == set()
    with pytest.raises(StudioError, match="unknown request"):
        runs.write_control_request(run_dir, "dance")


def test_last_checkpoint_skips_incomplete_ones(workspace):
    """Only a checkpoint with trainer_state.json (written last) counts."""
    run_dir = make_run(workspace, "20260101-000001-x", state="stopped")
    for step, complete in ((3, True), (6, True), (9, False)):
        folder = run_dir / runs.CHECKPOINTS_DIR / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        if complete:
            (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    assert runs.last_checkpoint(run_dir).name == "checkpoint-6"
    assert runs.run_info(run_dir).can_resume
