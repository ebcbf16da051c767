"""Security invariants that hold across the code base."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tmux_driver import STUDIO, TmuxSession

import studio

SOURCE = Path(studio.__file__).parent


def _python_files() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def test_trust_remote_code_is_never_passed() -> None:
    """No call in Studio passes trust_remote_code (it would run code from a model directory)."""
    offenders = [
        f"{p}:{i}"
        for p in _python_files()
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"trust_remote_code\s*=\s*True", line)
    ]
    assert offenders == []


def test_torch_load_is_always_weights_only() -> None:
    """Every torch.load in Studio passes weights_only=True (pickles can run code)."""
    offenders = []
    for path in _python_files():
        text = path.read_text()
        for match in re.finditer(r"torch\.load\(", text):
            call = text[match.start() : text.find(")", match.start()) + 200]
            if "weights_only=True" not in call:
                offenders.append(f"{path}:{text[: match.start()].count(chr(10)) + 1}")
    assert offenders == []


def test_no_pickle_of_untrusted_data() -> None:
    """Studio never unpickles files (checkpoints and models are safetensors)."""
    offenders = [str(p) for p in _python_files() if re.search(r"\bpickle\.loads?\(", p.read_text())]
    assert offenders == []


# --- at run time: names, ids, hostile text in a real terminal -------------------------------------------


HOSTILE_NAMES = ["../../evil", "/etc/passwd", "..", "a/../../b", "\x1b]0;PWNED\x07", "[bold]x[/bold]", ""]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_run_names_cannot_escape_the_workspace(tmp_path: Path, name: str) -> None:
    """A run name with `../`, an absolute path or escapes makes a plain directory directly under runs/."""
    from studio.config import RunConfig
    from studio.train.runs import create_run_dir
    from studio.workspace import open_workspace

    workspace = open_workspace(tmp_path / "ws", demo=False)
    config = RunConfig.from_dict({"studio": {"name": name}})
    run_dir = create_run_dir(workspace, config, command="studio train x.yaml")
    assert run_dir.parent == workspace.runs
    assert run_dir.resolve().parent == workspace.runs.resolve()
    assert all(ord(c) >= 32 for c in run_dir.name) and "/" not in run_dir.name
    assert run_dir.name not in (".", "..")


@pytest.mark.parametrize("ref", ["../..", "/etc", "./../x", "runs/../../x"])
def test_run_ids_cannot_escape_the_workspace(tmp_path: Path, ref: str) -> None:
    """`studio stop/resume` and the run lookup refuse an id that climbs out of runs/ (one clear line)."""
    from reliability_helpers import assert_clean_error, studio

    from studio.errors import StudioError
    from studio.train.runs import resolve_run_dir
    from studio.workspace import open_workspace

    workspace = open_workspace(tmp_path / "ws", demo=False)
    with pytest.raises(StudioError):
        resolve_run_dir(workspace, ref)
    for command in ("stop", "resume"):
        assert_clean_error(studio(command, ref, "-w", str(workspace.root), timeout=60))


HOSTILE_LINES = [
    "title \x1b]0;PWNED\x07 set by an escape",
    "screen \x1b[2J\x1b[H cleared by an escape",
    "markup [bold red]NOT BOLD[/bold red] literal",
    "bell \x07 and backspace \x08 and a NUL \x00 inside",
]


def _pane_title(tmux: TmuxSession) -> str:
    return tmux._tmux("display-message", "-p", "-t", tmux.name, "#{pane_title}").strip()


def test_hostile_corpus_text_is_shown_literally(tmp_path: Path) -> None:
    """Escapes in a corpus never reach the terminal (pane title unchanged, nothing cleared) and markup is literal."""
    corpus = tmp_path / "hostile.txt"
    corpus.write_bytes(("\n".join(HOSTILE_LINES) + "\n").encode())
    tmux = TmuxSession([STUDIO, "corpus", "view", str(corpus), "-w", str(tmp_path / "ws")], 120, 40)
    try:
        screen = tmux.wait_for(lambda s: "Studio · Corpus" in s and "NOT BOLD" in s, timeout=60)
        assert "PWNED" not in _pane_title(tmux)
        assert "[bold red]NOT BOLD[/bold red]" in screen
        assert "␛" in screen  # the escape is drawn as a visible mark
        assert "title" in screen and "screen" in screen  # the clear-screen escape cleared nothing
        tmux.send("q")
        tmux.wait_exit()
    finally:
        tmux.kill()


def test_tokens_with_control_characters_are_drawn_visibly(tmp_path: Path) -> None:
    """A vocabulary holding escape sequences and markup shows them as visible marks and literal text."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    vocab = {
        "<unk>": 0,
        "\x1b]0;PWNED\x07": 1,
        "\x1b[2J": 2,
        "[bold]LOUD[/bold]": 3,
        "plain": 4,
        "tab\there": 5,
    }
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = WhitespaceSplit()
    folder = tmp_path / "hostile-tokenizer"
    folder.mkdir()
    tokenizer.save(str(folder / "tokenizer.json"))
    tmux = TmuxSession([STUDIO, "vocab", str(folder), "-w", str(tmp_path / "ws")], 120, 40)
    try:
        screen = tmux.wait_for(lambda s: "Studio · Tokenizer" in s and "tab␉here" in s, timeout=60)
        assert "PWNED" not in _pane_title(tmux)
        assert "[bold]LOUD[/bold]" in screen, (
            screen,
            tmux._tmux("display-message", "-p", "-t", tmux.name, "#{window_width}x#{window_height}"),
        )
        assert "␛" in screen
        tmux.send("q")
        tmux.wait_exit()
    finally:
        tmux.kill()
