"""The real `studio` binary in tmux: it opens, switches screens by key, shows help, and quits;
and `make run`, the README's first command, opens it on a demo workspace."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tmux_driver import STUDIO, TmuxSession


@pytest.fixture
def session(tmp_path: Path) -> Iterator[TmuxSession]:
    sessions: list[TmuxSession] = []

    def start(width: int = 120, height: int = 40, term: str = "xterm-256color") -> TmuxSession:
        s = TmuxSession([STUDIO, str(tmp_path / "workspace")], width, height, env={"TERM": term})
        sessions.append(s)
        return s

    yield start  # type: ignore[misc]
    for s in sessions:
        s.kill()


@pytest.mark.parametrize(("size", "term"), [((120, 40), "xterm-256color"), ((80, 24), "linux")])
def test_switch_screens_and_quit(session, size: tuple[int, int], term: str) -> None:  # type: ignore[no-untyped-def]
    """Keys 1-5 show each screen (read back with capture-pane), ? shows help, q quits."""
    tmux = session(*size, term=term)
    tmux.wait_for("Studio · Corpus", timeout=60)
    for key, title in (("2", "Tokenizer"), ("3", "Model"), ("4", "Train"), ("5", "Runs"), ("1", "Corpus")):
        tmux.send(key)
        tmux.wait_for(f"Studio · {title}")
    tmux.send("?")
    tmux.wait_for("Quit Studio")
    tmux.send("Escape")
    tmux.wait_for(lambda s: "Quit Studio" not in s)
    tmux.send("q")
    tmux.wait_exit()


def test_make_run_opens_the_studio_on_a_demo_workspace(tmp_path: Path) -> None:
    """`make run` from the repository opens the app on a new workspace holding the demo corpus.

    The environment is the one running this suite (`make test` just built it), so `-o` keeps make
    from rebuilding it; CI builds it from nothing with `make test` on a fresh clone."""
    if shutil.which("make") is None:
        pytest.fail("make is not installed: the README's two commands need it")
    repo = Path(__file__).resolve().parents[2]
    venv = Path(sys.executable).parent.parent
    workspace = tmp_path / "ws"
    command = ["make", "-s", "-C", str(repo), "-o", f"{venv}/.installed", "run"]
    tmux = TmuxSession([*command, f"VENV={venv}", f"WORKSPACE={workspace}"], 100, 30)
    try:
        tmux.wait_for("Studio · Corpus", timeout=60)
        tmux.wait_for("demo-esperanto.txt")
        tmux.send("q")
        tmux.wait_exit()
    finally:
        tmux.kill()
    assert (workspace / "corpora" / "demo-esperanto.txt").stat().st_size > 0
