"""The app in hostile terminal conditions: tiny sizes, no colours, a dumb terminal, a hang-up."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest
from tmux_driver import STUDIO, TmuxSession


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    from studio.workspace import open_workspace

    return open_workspace(tmp_path / "workspace").root


def _start(workspace: Path, width: int = 120, height: int = 40, **env: str) -> TmuxSession:
    return TmuxSession([STUDIO, str(workspace)], width, height, env={"TERM": "xterm-256color", **env})


def test_resize_to_40x12_and_back(workspace: Path) -> None:
    """Shrinking the terminal to 40x12 and back leaves a working app that still answers keys."""
    tmux = _start(workspace)
    try:
        tmux.wait_for("Studio · Corpus", timeout=60)
        tmux.resize(40, 12)
        time.sleep(0.5)
        tmux.send("3")
        tmux.resize(120, 40)
        tmux.wait_for("Studio · Model")
        tmux.send("q")
        tmux.wait_exit()
    finally:
        tmux.kill()


@pytest.mark.parametrize("env", [{"TERM": "dumb"}, {"NO_COLOR": "1"}, {"TERM": "linux"}])
def test_plain_terminals(workspace: Path, env: dict[str, str]) -> None:
    """TERM=dumb, NO_COLOR and a 16-colour console still show the screens and quit cleanly."""
    tmux = _start(workspace, 80, 24, **env)
    try:
        tmux.wait_for("Studio · Corpus", timeout=60)
        tmux.send("5")
        tmux.wait_for("Studio · Runs")
        tmux.send("q")
        tmux.wait_exit()
    finally:
        tmux.kill()


def test_hangup_ends_the_app(workspace: Path) -> None:
    """Killing the terminal (SIGHUP, as a dropped SSH connection does) ends the app: no orphan left."""
    tmux = _start(workspace)
    tmux.wait_for("Studio · Corpus", timeout=60)
    pids = _studio_pids(str(workspace))
    assert pids
    tmux.kill()
    _gone, alive = psutil.wait_procs([psutil.Process(pid) for pid in pids], timeout=15)
    assert alive == []


def test_nothing_listens_on_a_port(workspace: Path) -> None:
    """The app opens no listening socket (no server, no debug port)."""
    tmux = _start(workspace)
    try:
        tmux.wait_for("Studio · Corpus", timeout=60)
        pids = _studio_pids(str(workspace))
        assert pids, "the studio process was not found"
        for pid in pids:
            proc = psutil.Process(pid)
            listening = [c for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
            assert listening == []
        tmux.send("q")
        tmux.wait_exit()
    finally:
        tmux.kill()


def _studio_pids(workspace: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if any(part.endswith("/studio") for part in cmd[:2]) and workspace in cmd:
            found.append(proc.info["pid"])
    return found
