"""The workspace: one folder holding a user's corpora, tokenizers, runs and caches.

```
<workspace>/
  corpora/      text to train on (a new workspace gets the generated demo corpus)
  tokenizers/   trained tokenizers, one directory each
  configs/      run configs saved from the Model screen
  runs/         training runs, one directory each (see studio.train.runs)
  .cache/       line indexes, tokenized datasets, statistics; safe to delete
```
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from studio.errors import StudioError

SUBDIRS = ("corpora", "tokenizers", "configs", "runs", ".cache")
DEFAULT_WORKSPACE = "workspace"


@dataclass(frozen=True)
class Workspace:
    """A workspace folder; `open_workspace` makes sure it exists and is usable."""

    root: Path

    @property
    def corpora(self) -> Path:
        return self.root / "corpora"

    @property
    def tokenizers(self) -> Path:
        return self.root / "tokenizers"

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def cache(self) -> Path:
        return self.root / ".cache"

    @property
    def demo_corpus(self) -> Path:
        from studio.corpus.demo import DEMO_FILE_NAME

        return self.corpora / DEMO_FILE_NAME

    def inside(self, relative: str | Path) -> Path:
        """Resolve a user-given name under the workspace, refusing anything that escapes it."""
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise StudioError(f"{relative}: is outside the workspace {self.root}", "use a plain name")
        return target


def default_workspace_path() -> Path:
    return Path(os.environ.get("STUDIO_WORKSPACE", DEFAULT_WORKSPACE))


def user_workspace_path() -> Path:
    """The user's own workspace, for a quick look from a folder that has none."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "studio" / DEFAULT_WORKSPACE


def existing_workspace(path: str | Path | None = None) -> Workspace:
    """A workspace that must already exist, to list, follow, stop or resume its runs: a command
    run from the wrong folder says so instead of creating an empty workspace there."""
    root = Path(path) if path is not None else default_workspace_path()
    if not (root / "runs").is_dir():
        raise StudioError(
            f"no workspace at {root}",
            "run it from the folder that holds the workspace, or name it with -w (or STUDIO_WORKSPACE)",
        )
    return open_workspace(root, demo=False)


def inspection_workspace(path: str | Path | None = None) -> Workspace:
    """The workspace of a quick look at a file (`studio vocab`, `studio corpus view`): the one
    named, else ./workspace if it exists, else the user's own (created without the demo corpus),
    so that a quick look never leaves a new folder in the current directory."""
    if path is not None or "STUDIO_WORKSPACE" in os.environ or default_workspace_path().is_dir():
        return open_workspace(path)
    return open_workspace(user_workspace_path(), demo=False)


def open_workspace(path: str | Path | None = None, demo: bool = True) -> Workspace:
    """Create the workspace layout if needed (and the demo corpus in a new one) and return it.

    Every failure is a `StudioError` with one clear line; nothing is left half-written (the demo
    corpus is written to a temporary file and renamed into place).
    """
    root = Path(path) if path is not None else default_workspace_path()
    if root.exists() and not root.is_dir():
        raise StudioError(f"workspace {root}: is a file, not a folder", "give a folder path, or a new name")
    is_new = not (root / "corpora").is_dir()
    try:
        for sub in SUBDIRS:
            (root / sub).mkdir(parents=True, exist_ok=True)
        probe = root / ".cache" / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise _explain(root, exc) from None
    workspace = Workspace(root)
    if demo and is_new and not any(workspace.corpora.iterdir()):
        from studio.corpus.demo import write_demo_corpus

        try:
            write_demo_corpus(workspace.demo_corpus)
        except OSError as exc:
            raise _explain(root, exc) from None
    return workspace


def _explain(root: Path, exc: OSError) -> StudioError:
    if exc.errno == errno.ENOSPC:
        return StudioError(f"workspace {root}: the disk is full", "free some space or choose another folder")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StudioError(
            f"workspace {root}: not writable ({exc.strerror})", "choose a folder you can write to"
        )
    return StudioError(f"workspace {root}: cannot be used ({exc.strerror or exc})")
