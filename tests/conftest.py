"""Suite-wide settings: offline, quiet, deterministic."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def _mounted_tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.decode().strip()}): needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], contextlib.AbstractContextManager[Path]]]:
    """A real, tiny filesystem (tmpfs of the given size, e.g. "256k") to fill up on purpose."""
    stack = contextlib.ExitStack()

    def make(size: str) -> contextlib.AbstractContextManager[Path]:
        return _mounted_tmpfs(tmp_path / f"disk-{size}", f"size={size}")

    with stack:
        yield make


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody can write to: a read-only tmpfs for root, a 0555 folder otherwise."""
    if os.geteuid() == 0:
        with _mounted_tmpfs(tmp_path / "ro", "ro,size=64k") as where:
            yield where
    else:
        where = tmp_path / "ro"
        where.mkdir()
        where.chmod(0o555)
        yield where
        where.chmod(0o755)


def _screen_text(app) -> str:  # type: ignore[no-untyped-def]
    """The characters on the app's current screen, row by row, as a person would read them."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


@pytest.fixture
def screen_text() -> Callable[..., str]:
    """`screen_text(app)` returns what the screen shows, for Pilot tests that read the screen."""
    return _screen_text
