"""Working over SSH: every screen and action without a mouse, on a slow link, with animations off."""

from __future__ import annotations

from pathlib import Path

from tmux_driver import STUDIO, TmuxSession


def test_slow_link_keyboard_only_tour(tmp_path: Path) -> None:
    """TEXTUAL_FPS=4 and --no-animations at 80x24: keys and the command palette reach every screen, then quit."""
    tmux = TmuxSession(
        [STUDIO, str(tmp_path / "ws"), "--no-animations"],
        80,
        24,
        env={"TEXTUAL_FPS": "4", "TERM": "xterm-256color"},
    )
    try:
        tmux.wait_for("Studio · Corpus", timeout=60)
        for key, title in (("2", "Tokenizer"), ("3", "Model"), ("4", "Train"), ("5", "Runs")):
            tmux.send(key)
            tmux.wait_for(f"Studio · {title}", timeout=30)
        tmux.send("C-p")  # the command palette, typed to, run with Enter
        tmux.wait_for(lambda s: "Search for commands" in s or "Go to" in s, timeout=30)
        tmux.send("-l", "Go to Corpus")
        tmux.wait_for("Go to Corpus", timeout=30)
        tmux.send("Enter")
        tmux.wait_for(lambda s: "Studio · Corpus" in s and "Search for commands" not in s, timeout=30)
        tmux.send("?")
        tmux.wait_for("Quit Studio", timeout=30)
        tmux.send("Escape")
        tmux.wait_for(lambda s: "Quit Studio" not in s, timeout=30)
        tmux.send("q")
        tmux.wait_exit()
    finally:
        tmux.kill()


def test_no_animations_turns_them_off(tmp_path: Path) -> None:
    """`--no-animations` reaches the app as animation_level "none" (nothing slides over a slow link)."""
    from studio.tui.app import StudioApp
    from studio.workspace import open_workspace

    workspace = open_workspace(tmp_path / "ws", demo=False)
    assert StudioApp(workspace, animations=False).animation_level == "none"
    assert StudioApp(workspace).animation_level != "none"
