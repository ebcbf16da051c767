"""The workspace and the corpus under faults: a read-only workspace, a corpus that changes under Studio."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_helpers import assert_clean_error, studio
from tmux_driver import STUDIO, TmuxSession

from studio.workspace import open_workspace


@pytest.fixture
def read_only_workspace(tmp_path: Path, corpus_file: Path) -> Iterator[Path]:
    """A complete workspace (with a corpus) that can no longer be written: a tmpfs remounted read-only
    for root (who may write anywhere), a tree of 0555 folders otherwise."""
    root = tmp_path / "ro-ws"
    if os.geteuid() == 0:
        root.mkdir()
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(root)], capture_output=True
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    workspace = open_workspace(root, demo=False)
    (workspace.corpora / "mine.txt").write_bytes(corpus_file.read_bytes())
    try:
        if os.geteuid() == 0:
            subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True, capture_output=True)
        else:
            for folder in (root, *(p for p in root.rglob("*") if p.is_dir())):
                folder.chmod(0o555)
        yield root
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", "-l", str(root)], check=False, capture_output=True)
        else:
            for folder in (root, *(p for p in root.rglob("*") if p.is_dir())):
                folder.chmod(0o755)


def init_config(corpus: Path, tokenizer: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """`studio config init` of a tiny-cpu run config."""
    return studio(
        "config",
        "init",
        "--preset",
        "tiny-cpu",
        "--corpus",
        str(corpus),
        "--tokenizer",
        str(tokenizer),
        "--out",
        str(out),
    )


def test_read_only_workspace_is_refused_clearly(
    read_only_workspace: Path, corpus_file: Path, bpe_tokenizer: Path, tmp_path: Path
) -> None:
    """Training, listing runs and opening the app on a read-only workspace: one clear line each, exit 2."""
    config = tmp_path / "run.yaml"
    made = init_config(corpus_file, bpe_tokenizer, config)
    assert made.returncode == 0, made.stderr
    assert_clean_error(studio("train", str(config), "-w", str(read_only_workspace)), "not writable")
    assert_clean_error(studio("runs", "-w", str(read_only_workspace)), "not writable")
    assert_clean_error(studio(str(read_only_workspace)), "not writable")


def test_read_only_output_folders_are_refused(
    read_only_workspace: Path, corpus_file: Path, bpe_tokenizer: Path
) -> None:
    """A tokenizer or a config written into a read-only folder: a clear error, nothing half-written."""
    out = read_only_workspace / "tokenizers" / "bpe"
    result = studio(
        "tokenizer", "train", "--corpus", str(corpus_file), "--vocab-size", "300", "--out", str(out)
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("studio: error:") and str(out) in result.stderr, result.stderr
    assert not out.exists()
    config = read_only_workspace / "run.yaml"
    result = init_config(corpus_file, bpe_tokenizer, config)
    assert_clean_error(result, "cannot be written")


def test_read_only_corpus_can_still_be_read(read_only_workspace: Path) -> None:
    """Reading needs no write access: statistics of a corpus on a read-only disk work (no cache is forced)."""
    corpus = read_only_workspace / "corpora" / "mine.txt"
    result = studio("corpus", "stats", str(corpus), "--json")
    assert result.returncode == 0, result.stderr
    assert '"lines": 1500' in result.stdout


def test_corpus_changed_after_preparation_is_prepared_again(
    corpus_file: Path, bpe_tokenizer: Path, tiny_config, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The tokenized-data cache never serves a corpus that changed since (size and mtime are in the key)."""
    from transformers import AutoTokenizer

    from studio.train.data import prepare_datasets

    corpus = tmp_path / "changing.txt"
    corpus.write_bytes(corpus_file.read_bytes())
    config = tiny_config(f"data.corpus={corpus}", "data.validation_split=0")
    tokenizer = AutoTokenizer.from_pretrained(bpe_tokenizer)
    cache = tmp_path / "cache"
    first = prepare_datasets(config, tokenizer, cache_dir=cache)
    assert not first.from_cache
    assert prepare_datasets(config, tokenizer, cache_dir=cache).from_cache
    with corpus.open("a", encoding="utf-8") as handle:  # the corpus grows (a download still running)
        handle.write(corpus_file.read_text(encoding="utf-8"))
    grown = prepare_datasets(config, tokenizer, cache_dir=cache)
    assert not grown.from_cache and grown.train_tokens > first.train_tokens
    corpus.write_text("kvin ses\n" * 400, encoding="utf-8")  # rewritten in place
    rewritten = prepare_datasets(config, tokenizer, cache_dir=cache)
    assert not rewritten.from_cache and rewritten.train_tokens < first.train_tokens


def test_corpus_that_grows_while_viewed_offers_a_reload(tmp_path: Path) -> None:
    """In a real terminal: a corpus appended to while it is open is noticed, and R shows the new lines."""
    corpus = tmp_path / "growing.txt"
    corpus.write_text("la unua linio\nla dua linio\n", encoding="utf-8")
    tmux = TmuxSession([STUDIO, "corpus", "view", str(corpus), "-w", str(tmp_path / "ws")], 120, 40)
    try:
        tmux.wait_for(lambda s: "Studio · Corpus" in s and "la dua linio" in s, timeout=60)
        with corpus.open("a", encoding="utf-8") as handle:
            handle.write("la tria linio aldonita\n")
        tmux.wait_for("R to reload", timeout=30)
        tmux.send("R")
        tmux.wait_for("la tria linio aldonita", timeout=30)
        with contextlib.suppress(OSError):  # truncated while open: noticed again, never a crash
            corpus.write_text("nur unu\n", encoding="utf-8")
        tmux.wait_for("R to reload", timeout=30)
        tmux.send("R")
        tmux.wait_for(lambda s: "nur unu" in s and "la tria linio" not in s, timeout=30)
        tmux.send("q")
        tmux.wait_exit()
    finally:
        tmux.kill()


def test_commands_that_follow_runs_never_create_a_workspace(tmp_path: Path) -> None:
    """`runs`, `attach`, `stop` and `resume` from a folder with no workspace: one line saying so,
    exit 2, and no empty workspace left behind (a typo in the folder is not a new workspace)."""
    here = tmp_path / "elsewhere"
    here.mkdir()
    for command in (("runs",), ("attach", "some-run"), ("stop", "some-run"), ("resume", "some-run")):
        assert_clean_error(studio(*command, cwd=here), "no workspace at workspace", "-w")
    assert list(here.iterdir()) == []


def test_attach_to_an_unknown_run_fails_before_the_app_opens(tmp_path: Path) -> None:
    """An unknown run is a one-line error on the command line, not an app that waits for nothing."""
    workspace = open_workspace(tmp_path / "ws", demo=False)
    assert_clean_error(studio("attach", "nosuchrun", "-w", str(workspace.root), timeout=60), "nosuchrun")


def test_a_quick_look_leaves_nothing_in_the_current_folder(tmp_path: Path, corpus_file: Path) -> None:
    """`studio corpus view FILE` from a folder with no workspace opens on the user's own workspace
    (under XDG_DATA_HOME, with no demo corpus), not on a new ./workspace."""
    here, data_home = tmp_path / "here", tmp_path / "data"
    here.mkdir()
    tmux = TmuxSession(
        [STUDIO, "corpus", "view", str(corpus_file)], 120, 40, env={"XDG_DATA_HOME": str(data_home)}, cwd=here
    )
    try:
        # The header names it; a path too long for the line keeps its end.
        tmux.wait_for(lambda s: "Studio · Corpus" in s and "data/studio/workspace" in s, timeout=60)
        tmux.send("q")
        tmux.wait_exit()
    finally:
        tmux.kill()
    assert list(here.iterdir()) == []
    user_workspace = data_home / "studio" / "workspace"
    assert (user_workspace / "runs").is_dir() and list((user_workspace / "corpora").iterdir()) == []
