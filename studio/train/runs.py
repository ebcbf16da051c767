"""Run directories: creating them, their `status.json`, and what state each run is really in.

```
runs/<yyyymmdd-hhmmss>-<name>/
  config.yaml   command.txt   events.jsonl   worker.log   status.json
  checkpoints/  final/        control/ (requests to a live worker)   ranks/ (per-rank errors)
```

`status.json` is written by the worker (a heartbeat every ~2 s) and by its supervisor (the process
that waits on the worker and records how it ended). A reader never trusts a "running" status on
its own: the run is running only if its process is alive on this machine (same boot, same pid
start time) or, for another host, its heartbeat is fresh. Otherwise it is `lost` (or `failed`,
with the exit signal, when the supervisor saw it die). This module imports no heavy libraries.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.config import ConfigError, RunConfig, load_config, save_config
from studio.errors import StudioError
from studio.workspace import Workspace

STATUS_VERSION = 1
HEARTBEAT_S = 2.0
# A run on another host whose heartbeat is older than this is lost (within 10 s, as promised).
STALE_AFTER_S = 8.0

CONFIG_FILE = "config.yaml"
COMMAND_FILE = "command.txt"
EVENTS_FILE = "events.jsonl"
LOG_FILE = "worker.log"
STATUS_FILE = "status.json"
LOCK_FILE = "run.lock"
CHECKPOINTS_DIR = "checkpoints"
FINAL_DIR = "final"
TENSORBOARD_DIR = "tensorboard"  # with `train.report_to: tensorboard`
CONTROL_DIR = "control"
RANKS_DIR = "ranks"

TERMINAL_STATES = frozenset({"completed", "stopped", "failed"})
# Worker phases that all count as a live run; `RunInfo.phase` keeps the detail.
ACTIVE_PHASES = frozenset({"preparing", "running", "evaluating", "saving", "stopping"})
REQUESTS = ("save", "evaluate", "stop")


@dataclass
class RunInfo:
    """One run as a list or a screen shows it; `state` is derived, never taken on trust."""

    id: str
    path: Path
    name: str
    state: str  # preparing | running | completed | stopped | failed | lost
    step: int
    total_steps: int | None
    last_loss: float | None
    tokens_per_s: float | None
    started: float | None
    duration_s: float | None
    pid: int | None
    host: str
    exit_signal: int | None
    reason: str
    # additions beyond the first published fields (defaults keep old callers working)
    phase: str = ""  # the worker's own phase while live: preparing, running, evaluating, saving, stopping
    last_eval_loss: float | None = None
    nproc: int = 1
    has_checkpoint: bool = False
    final_dir: Path | None = None

    @property
    def is_live(self) -> bool:
        return self.state in ("preparing", "running")

    @property
    def can_resume(self) -> bool:
        return self.state in ("stopped", "failed", "lost") and self.has_checkpoint

    def to_json(self) -> dict[str, Any]:
        """A plain dict for `studio runs --json`."""
        return {
            "id": self.id,
            "path": str(self.path),
            "name": self.name,
            "state": self.state,
            "phase": self.phase,
            "step": self.step,
            "total_steps": self.total_steps,
            "last_loss": _finite_or_text(self.last_loss),
            "last_eval_loss": _finite_or_text(self.last_eval_loss),
            "tokens_per_s": self.tokens_per_s,
            "started": self.started,
            "duration_s": self.duration_s,
            "pid": self.pid,
            "host": self.host,
            "nproc": self.nproc,
            "exit_signal": self.exit_signal,
            "reason": self.reason,
            "has_checkpoint": self.has_checkpoint,
            "final_dir": str(self.final_dir) if self.final_dir else None,
        }


# --- run directories --------------------------------------------------------------------------------


def runs_root(workspace: Workspace | str | Path) -> Path:
    """The `runs/` folder of a workspace (a `Workspace` or its root path)."""
    if isinstance(workspace, Workspace):
        return workspace.runs
    return Path(workspace) / "runs"


def slugify(name: str) -> str:
    """A run name made safe for a directory name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return slug[:60] or "run"


def create_run_dir(
    workspace: Workspace | str | Path, config: RunConfig, command: str, now: float | None = None
) -> Path:
    """Make `runs/<yyyymmdd-hhmmss>-<name>/` with config.yaml, command.txt and a first status."""
    root = runs_root(workspace)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    base = f"{stamp}-{slugify(config.studio.name)}"
    for attempt in range(1, 1000):
        run_dir = root / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            run_dir.mkdir()
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - a thousand runs in one second
        raise StudioError(f"cannot create a run directory under {root}")
    save_config(config, run_dir / CONFIG_FILE)
    (run_dir / COMMAND_FILE).write_text(command.rstrip("\n") + "\n", encoding="utf-8")
    write_status(
        run_dir,
        {
            "run_id": run_dir.name,
            "state": "preparing",
            "phase": "preparing",
            "host": socket.gethostname(),
            "created": time.time(),
            "step": 0,
        },
    )
    return run_dir


def load_run_config(run_dir: Path) -> RunConfig:
    """The run's resolved config; a hand-edited, broken file is a clear error naming the run."""
    path = run_dir / CONFIG_FILE
    if not path.exists():
        raise StudioError(
            f"run {run_dir.name}: {CONFIG_FILE} is missing",
            "the run directory was edited by hand; restore config.yaml or start a new run",
        )
    try:
        return load_config(path)
    except ConfigError as exc:
        raise StudioError(
            f"run {run_dir.name}: {exc.message}",
            "config.yaml of a run was edited by hand; fix it or start a new run",
        ) from None


def last_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint (trainer_state.json is written last), or None."""
    best: tuple[int, Path] | None = None
    folder = run_dir / CHECKPOINTS_DIR
    if not folder.is_dir():
        return None
    for child in folder.iterdir():
        match = re.fullmatch(r"checkpoint-(\d+)", child.name)
        if match and (child / "trainer_state.json").is_file():
            step = int(match.group(1))
            if best is None or step > best[0]:
                best = (step, child)
    return best[1] if best else None


def checkpoint_damage(checkpoint: Path) -> str | None:
    """What is wrong with a checkpoint's weights (a safetensors file cut short or unreadable), or None.

    Reads only each file's header and size, so it is cheap and imports nothing heavy.
    """
    for path in sorted(checkpoint.glob("*.safetensors")):
        try:
            with path.open("rb") as handle:
                header_size = int.from_bytes(handle.read(8), "little")
                header = json.loads(handle.read(header_size))
            end = max(
                (int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0
            )
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return f"{path.name} cannot be read"
        if path.stat().st_size < 8 + header_size + end:
            return f"{path.name} is cut short"
    return None


# --- status.json ------------------------------------------------------------------------------------


def read_status(run_dir: Path) -> dict[str, Any]:
    """The parsed status.json; a missing file is `{}`; a broken one is a StudioError."""
    path = run_dir / STATUS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StudioError(f"run {run_dir.name}: {STATUS_FILE} cannot be read ({exc.strerror})") from None
    try:
        status = json.loads(text)
    except ValueError:
        raise StudioError(
            f"run {run_dir.name}: {STATUS_FILE} is not valid JSON",
            "the run directory was edited by hand; delete status.json to mark the run lost",
        ) from None
    if not isinstance(status, dict):
        raise StudioError(
            f"run {run_dir.name}: {STATUS_FILE} is not a JSON object",
            "the run directory was edited by hand; delete status.json to mark the run lost",
        )
    return status


def write_status(run_dir: Path, status: dict[str, Any]) -> None:
    """Replace status.json atomically (write a temporary file, then rename it into place)."""
    status = {"version": STATUS_VERSION, **status}
    tmp = run_dir / f".{STATUS_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        tmp.write_text(json.dumps(status, default=str, allow_nan=True), encoding="utf-8")
        tmp.replace(run_dir / STATUS_FILE)
    finally:
        tmp.unlink(missing_ok=True)


def update_status(run_dir: Path, **changes: Any) -> dict[str, Any]:
    """Read, change and write status.json (for one-off updates outside the worker's heartbeat)."""
    try:
        status = read_status(run_dir)
    except StudioError:
        status = {}
    status.update(changes)
    write_status(run_dir, status)
    return status


def process_identity(pid: int) -> dict[str, Any]:
    """What status.json records about a process so a reused pid is never mistaken for it."""
    import psutil

    try:
        created = psutil.Process(pid).create_time()
    except psutil.Error:
        created = None
    return {"pid": pid, "pid_created": created, "host": socket.gethostname(), "boot_time": psutil.boot_time()}


def process_alive(pid: int | None, created: float | None = None) -> bool:
    """True if `pid` runs on this machine (not a zombie) and, if known, started at `created`."""
    if not pid:
        return False
    import psutil

    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return created is None or abs(proc.create_time() - float(created)) < 1.0
    except (psutil.Error, ValueError, TypeError):
        return False


def derive_state(status: dict[str, Any], now: float | None = None) -> tuple[str, str]:
    """The state a run is really in, and why, from its status and what this machine can see."""
    import psutil

    state = str(status.get("state") or "")
    reason = str(status.get("reason") or "")
    if state in TERMINAL_STATES:
        return state, reason
    if not status:
        return "lost", "status.json is missing"
    if state not in ACTIVE_PHASES:
        return "lost", f"status.json has an unknown state {state!r} (edited by hand?)"
    now = time.time() if now is None else now
    heartbeat = _as_float(status.get("heartbeat")) or _as_float(status.get("created")) or 0.0
    age = max(0.0, now - heartbeat)
    host = str(status.get("host") or "")
    if host and host != socket.gethostname():
        if age > STALE_AFTER_S:
            return "lost", f"no heartbeat from {host} for {_age(age)}"
        return _live(state), ""
    boot = _as_float(status.get("boot_time"))
    if boot is not None and abs(boot - psutil.boot_time()) > 2.0:
        return "lost", "the machine restarted since the run was last seen"
    pid = status.get("supervisor_pid") or status.get("pid")
    if pid is None:
        # Between `create_run_dir` and the supervisor's first write: give a launch a moment.
        return (_live(state), "") if age <= STALE_AFTER_S else ("lost", "the worker never started")
    worker_alive = process_alive(status.get("pid"), status.get("pid_created")) if status.get("pid") else False
    supervisor_alive = process_alive(status.get("supervisor_pid"), status.get("supervisor_created"))
    if worker_alive or supervisor_alive:
        return _live(state), ""
    return "lost", f"the worker (pid {status.get('pid') or pid}) is gone without finishing"


def _live(phase: str) -> str:
    return "preparing" if phase == "preparing" else "running"


# --- listing and finding ----------------------------------------------------------------------------


def run_info(run_dir: Path, now: float | None = None) -> RunInfo:
    """Everything a list shows about one run, reading only status.json and config.yaml."""
    reason_prefix = ""
    try:
        status = read_status(run_dir)
    except StudioError as exc:
        status, reason_prefix = {}, exc.message
    state, reason = derive_state(status, now)
    if reason_prefix:
        state, reason = "lost", reason_prefix
    name = str(status.get("name") or "")
    if not name:
        name = _name_from_config(run_dir) or run_dir.name
    now = time.time() if now is None else now
    started = _as_float(status.get("started"))
    session = _as_float(status.get("session_started"))
    before = _as_float(status.get("elapsed_before")) or 0.0
    duration: float | None = None
    if session is not None:
        end = _as_float(status.get("ended")) or (
            now if state in ("running", "preparing") else _as_float(status.get("heartbeat")) or session
        )
        duration = before + max(0.0, end - session)
    final_dir = run_dir / FINAL_DIR
    return RunInfo(
        id=run_dir.name,
        path=run_dir,
        name=name,
        state=state,
        step=int(status.get("step") or 0),
        total_steps=_as_int(status.get("total_steps")),
        last_loss=_as_float(status.get("last_loss")),
        tokens_per_s=_as_float(status.get("tokens_per_s")),
        started=started,
        duration_s=duration,
        pid=_as_int(status.get("pid")),
        host=str(status.get("host") or ""),
        exit_signal=_as_int(status.get("exit_signal")),
        reason=reason,
        phase=str(status.get("phase") or status.get("state") or "")
        if state in ("running", "preparing")
        else "",
        last_eval_loss=_as_float(status.get("last_eval_loss")),
        nproc=_as_int(status.get("nproc")) or 1,
        has_checkpoint=last_checkpoint(run_dir) is not None,
        final_dir=final_dir if (final_dir / "config.json").is_file() else None,
    )


def iter_run_dirs(workspace: Workspace | str | Path) -> Iterator[Path]:
    """Run directories of a workspace (those with a config.yaml or status.json), newest first."""
    root = runs_root(workspace)
    if not root.is_dir():
        return
    dirs = [
        p
        for p in root.iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and ((p / CONFIG_FILE).exists() or (p / STATUS_FILE).exists())
    ]
    yield from sorted(dirs, key=lambda p: p.name, reverse=True)


def list_runs(workspace: Workspace | str | Path) -> list[RunInfo]:
    """Every run of the workspace, newest first, each with its derived state."""
    now = time.time()
    return [run_info(run_dir, now) for run_dir in iter_run_dirs(workspace)]


def resolve_run_dir(workspace: Workspace | str | Path, ref: str | Path) -> Path:
    """A run's directory from its id, a unique id prefix, or its path (which must be in the workspace)."""
    root = runs_root(workspace)
    text = str(ref).strip()
    if not text:
        raise StudioError("no run given", "name a run by its id (see `studio runs`)")
    as_path = Path(text)
    looks_like_path = os.sep in text or text in (".", "..") or as_path.is_absolute()
    if looks_like_path:
        resolved = as_path.resolve()
        if not resolved.is_relative_to(root.resolve()):
            raise StudioError(
                f"{text}: is not a run of the workspace {root.parent}",
                f"runs live in {root}; name a run by its id (see `studio runs`)",
            )
        if resolved.parent != root.resolve() or not resolved.is_dir():
            raise StudioError(f"{text}: not a run directory", "name a run by its id (see `studio runs`)")
        return root / resolved.name
    ids = [p.name for p in iter_run_dirs(workspace)]
    if text in ids:
        return root / text
    matches = [i for i in ids if i.startswith(text)]
    if len(matches) == 1:
        return root / matches[0]
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
        raise StudioError(f"run {text!r} is ambiguous: it matches {shown}", "give more of the run id")
    raise StudioError(f"no run {text!r} in {root}", "see `studio runs` for the runs of this workspace")


def find_run(workspace: Workspace | str | Path, ref: str | Path) -> RunInfo:
    """The run named by `ref` (id, unique prefix or run directory); StudioError otherwise."""
    return run_info(resolve_run_dir(workspace, ref))


def delete_run(workspace: Workspace | str | Path, ref: str | Path) -> None:
    """Delete a run's directory; a live run is refused (stop it first)."""
    info = find_run(workspace, ref)
    if info.is_live:
        raise StudioError(f"run {info.id} is {info.state}", f"stop it first: studio stop {info.id}")
    shutil.rmtree(info.path)


def lock_is_held(run_dir: Path) -> bool:
    """True while some process (a run's supervisor) holds run.lock; an flock dies with its holder."""
    import fcntl

    path = run_dir / LOCK_FILE
    if not path.exists():
        return False
    try:
        with open(path, "a") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False
    except OSError:
        return False


# --- control requests to a live worker --------------------------------------------------------------


def control_request_path(run_dir: Path, action: str) -> Path:
    return run_dir / CONTROL_DIR / action


def write_control_request(run_dir: Path, action: str) -> None:
    """Drop a request file that the worker's callback picks up at its next poll."""
    if action not in REQUESTS:
        raise StudioError(f"unknown request {action!r}", f"choose one of: {', '.join(REQUESTS)}")
    folder = run_dir / CONTROL_DIR
    folder.mkdir(exist_ok=True)
    control_request_path(run_dir, action).write_text(str(time.time()), encoding="utf-8")


def take_control_requests(run_dir: Path) -> set[str]:
    """The pending requests, removed as they are taken (the worker's side)."""
    folder = run_dir / CONTROL_DIR
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return set()
    taken = set()
    for name in names:
        if name in REQUESTS:
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
                taken.add(name)
    return taken


# --- helpers ----------------------------------------------------------------------------------------


def _name_from_config(run_dir: Path) -> str | None:
    try:
        import yaml

        raw = yaml.safe_load((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        name = raw.get("studio", {}).get("name") if isinstance(raw, dict) else None
        return str(name) if name else None
    except Exception:  # a broken config is reported when the run is used, not when it is listed
        return None


def _as_float(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def _as_int(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _finite_or_text(value: float | None) -> float | str | None:
    if value is None or (value == value and value not in (float("inf"), float("-inf"))):
        return value
    return str(value)  # "nan", "inf": JSON has no literal for them


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = [
    "RunInfo",
    "create_run_dir",
    "delete_run",
    "derive_state",
    "find_run",
    "last_checkpoint",
    "list_runs",
    "load_run_config",
    "read_status",
    "resolve_run_dir",
    "run_info",
    "save_config",
    "update_status",
    "write_status",
]
