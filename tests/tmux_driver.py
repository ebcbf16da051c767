"""A small driver for the real `studio` binary inside tmux: send keys, read the screen, wait."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

STUDIO = str(Path(sys.executable).parent / "studio")


class TmuxSession:
    """One detached tmux session running a command at a fixed size."""

    def __init__(
        self,
        command: list[str],
        width: int = 120,
        height: int = 40,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed: `make test` installs it (apt-get install tmux)")
        self.name = f"studio-test-{uuid.uuid4().hex[:8]}"
        self.socket = f"studio-test-{os.getpid()}"
        env_args = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
        self._tmux(
            "new-session",
            "-d",
            "-s",
            self.name,
            "-x",
            str(width),
            "-y",
            str(height),
            *env_args,
            *(["-c", str(cwd)] if cwd else []),
            " ".join(_quote(c) for c in command),
        )

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30, env=_TMUX_ENV
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.name, *keys)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def alive(self) -> bool:
        return (
            subprocess.run(
                ["tmux", "-L", self.socket, "has-session", "-t", self.name], capture_output=True
            ).returncode
            == 0
        )

    def resize(self, width: int, height: int) -> None:
        self._tmux("resize-window", "-t", self.name, "-x", str(width), "-y", str(height))

    def wait_for(self, predicate: Callable[[str], bool] | str, timeout: float = 30.0) -> str:
        """Poll the screen until `predicate` holds (or the text appears); fail with the last screen."""
        check = (lambda s: predicate in s) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen() if self.alive() else text
            if check(text):
                return text
            time.sleep(0.1)
        pytest.fail(f"timed out after {timeout}s waiting for {predicate!r}; the screen was:\n{text}")

    def wait_exit(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not self.alive(), f"the program did not exit; the screen was:\n{self.screen()}"

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-session", "-t", self.name], capture_output=True)


# An explicit environment, without COLUMNS/LINES: with env=None a child inherits the C-level environment,
# where GNU readline (imported under pytest) has set COLUMNS=80 LINES=24, and a tmux server started with
# them makes every app in it believe the terminal is 80x24 whatever the window size.
_TMUX_ENV = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
