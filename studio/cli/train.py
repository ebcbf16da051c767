"""`studio train`, `studio runs`, `studio stop`, `studio resume` (`studio attach` opens the app)."""

from __future__ import annotations

import argparse
import math
import signal
import time
from typing import Any

from studio.cli.common import add_workspace_option, print_json, workspace_of_run


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train a model from a run config (headless)")
    p.add_argument("config", help="run config (YAML), e.g. from `studio config init`")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override a config field, e.g. --set train.max_steps=500 (repeatable)",
    )
    p.add_argument("--nproc", type=int, default=1, help="processes (GPUs) to train on, through torchrun")
    p.add_argument("--detach", action="store_true", help="print the run id and return; the run goes on")
    p.add_argument("--json", action="store_true", help="print one JSON object (the run, or its end)")
    add_workspace_option(p)
    p.set_defaults(func=run_train)

    p = subparsers.add_parser("runs", help="list the runs of a workspace with their state")
    p.add_argument("--json", action="store_true", help="print one JSON object: {runs: [...]}")
    add_workspace_option(p)
    p.set_defaults(func=run_runs)

    p = subparsers.add_parser("stop", help="stop a run (it saves a checkpoint first)")
    p.add_argument("run", help="run id (or a unique prefix) or run directory")
    p.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the run to stop (0: return)")
    p.add_argument("--json", action="store_true")
    add_workspace_option(p)
    p.set_defaults(func=run_stop)

    p = subparsers.add_parser("resume", help="continue a stopped or failed run from its last checkpoint")
    p.add_argument("run", help="run id (or a unique prefix) or run directory")
    p.add_argument("--detach", action="store_true", help="print the run id and return; the run goes on")
    p.add_argument("--json", action="store_true")
    add_workspace_option(p)
    p.set_defaults(func=run_resume)


def _workspace(args: argparse.Namespace) -> Any:
    """The workspace a new run goes in (created if needed)."""
    from studio.workspace import open_workspace

    return open_workspace(args.workspace, demo=False)


def _existing_workspace(args: argparse.Namespace) -> Any:
    """The workspace whose runs are listed, stopped or resumed (never created here)."""
    from studio.workspace import existing_workspace

    return existing_workspace(workspace_of_run(args.workspace, getattr(args, "run", "")))


def run_train(args: argparse.Namespace) -> int:
    from studio.config import load_config
    from studio.train.launcher import start_run

    config = load_config(args.config, args.overrides)
    workspace = _workspace(args)
    handle = start_run(config, workspace, nproc=args.nproc, live=not args.detach)
    return _after_launch(handle, args, workspace)


def run_resume(args: argparse.Namespace) -> int:
    from studio.train.launcher import resume_run

    workspace = _existing_workspace(args)
    handle = resume_run(workspace, args.run, live=not args.detach)
    return _after_launch(handle, args, workspace)


def _after_launch(handle: Any, args: argparse.Namespace, workspace: Any) -> int:
    if args.detach:
        if args.json:
            print_json({"run_id": handle.run_id, "path": str(handle.path), "pid": handle.pid})
        else:
            print(handle.run_id)
        return 0
    info = watch(handle, workspace, quiet=args.json)
    if args.json:
        print_json(info.to_json())
    return 0 if info.state in ("completed", "stopped") else 1


def run_runs(args: argparse.Namespace) -> int:
    from studio.train.runs import list_runs

    runs = list_runs(_existing_workspace(args))
    if args.json:
        print_json({"runs": [r.to_json() for r in runs]})
        return 0
    if not runs:
        print("no runs yet: start one with `studio train CONFIG`")
        return 0
    from rich.console import Console
    from rich.table import Table

    # One space between columns: a run id, its figures and its times fit an 80-column terminal.
    table = Table(box=None, header_style="bold", padding=(0, 1, 0, 0), pad_edge=False)
    for column in ("RUN", "STATE", "STEP", "LOSS", "TOK/S", "STARTED", "DURATION"):
        right = column in ("STEP", "LOSS", "TOK/S")
        table.add_column(column, justify="right" if right else "left", no_wrap=True)
    notes = []
    for r in runs:
        step = f"{r.step:,}" + (f"/{r.total_steps:,}" if r.total_steps else "")
        started = time.strftime("%m-%d %H:%M", time.localtime(r.started)) if r.started else "—"
        table.add_row(
            r.id,
            _state_text(r.state, r.phase),
            step,
            _number(r.last_loss, ".4f"),
            _number(r.tokens_per_s, ",.0f"),
            started,
            _duration(r.duration_s),
        )
        if r.reason:  # why a run stopped, failed or is lost: below the table, where it can wrap
            signal_text = f"signal {r.exit_signal}: " if r.exit_signal else ""
            notes.append(f"{r.id}: {signal_text}{r.reason}")
    console = Console(highlight=False)
    console.print(table)
    for note in notes:
        console.print(_plain(note))
    return 0


def run_stop(args: argparse.Namespace) -> int:
    from studio.train.launcher import stop_run

    info = stop_run(_existing_workspace(args), args.run, wait=max(0.0, args.wait))
    if args.json:
        print_json(info.to_json())
    elif info.is_live:
        print(f"{info.id}: asked to stop; it is still {info.phase or info.state} (see `studio runs`)")
    else:
        print(f"{info.id}: {info.state}" + (f" ({info.reason})" if info.reason else ""))
    return 0


# --- the foreground view ------------------------------------------------------------------------------


def watch(handle: Any, workspace: Any, quiet: bool = False) -> Any:
    """Follow a run's live events with one Rich progress line until it ends; Ctrl-C asks it to stop
    (checkpoint first), a second Ctrl-C leaves it running in the background."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from studio.train.events import Checkpoint, Eval, Finished, Log, RunStarted, Step
    from studio.train.launcher import follow_events, stop_run
    from studio.train.runs import run_info

    console = Console(stderr=quiet, highlight=False)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=24),
        TextColumn("step {task.fields[steps]}"),
        TextColumn("loss {task.fields[loss]}"),
        TextColumn("{task.fields[speed]} tok/s"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=quiet,
    )
    interrupts = {"count": 0}

    def on_interrupt(signum: int, frame: Any) -> None:
        interrupts["count"] += 1
        if interrupts["count"] == 1:
            console.print("[yellow]stopping: saving a checkpoint first (Ctrl-C again to leave it running)")
            try:
                stop_run(workspace, handle.run_id)
            except Exception as exc:  # the run may have ended meanwhile
                console.print(f"[red]could not stop: {exc}")
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    finished: Finished | None = None
    try:
        with progress:
            task = progress.add_task(handle.run_id, total=None, loss="—", speed="—", steps="—")
            total: int | None = None
            for batch in follow_events(handle):
                for event in batch:
                    if isinstance(event, RunStarted):
                        total = event.total_steps
                        progress.update(task, total=total)
                    elif isinstance(event, Step):
                        progress.update(
                            task,
                            completed=event.step,
                            loss=_number(event.loss, ".4f"),
                            speed=_number(event.tokens_per_s, ",.0f"),
                            steps=f"{event.step:,}/{total:,}" if total else f"{event.step:,}",
                        )
                    elif isinstance(event, Eval):
                        progress.console.print(
                            f"step {event.step:,}: eval loss {_number(event.eval_loss, '.4f')}"
                            f" (perplexity {_number(event.perplexity, ',.2f')})"
                        )
                    elif isinstance(event, Checkpoint):
                        progress.console.print(f"step {event.step:,}: checkpoint saved")
                    elif isinstance(event, Log) and event.level in ("warning", "error"):
                        progress.console.print(
                            f"[{'red' if event.level == 'error' else 'yellow'}]"
                            f"{event.level}: [/]{_plain(event.message)}"
                        )
                    elif isinstance(event, Finished):
                        finished = event
    except KeyboardInterrupt:
        console.print(
            f"left running in the background: `studio attach {handle.run_id}` to watch it, "
            f"`studio stop {handle.run_id}` to stop it"
        )
        return run_info(handle.path)
    finally:
        signal.signal(signal.SIGINT, previous)
    info = handle.wait(timeout=30)
    _print_summary(console, info, finished)
    return info


def _print_summary(console: Any, info: Any, finished: Any) -> None:
    from rich.table import Table

    figures = dict(finished.figures) if finished is not None else {}
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    state = info.state + (f": {info.reason}" if info.reason else "")
    table.add_row("run", info.id)
    table.add_row("state", _plain(state))
    table.add_row("steps", f"{info.step:,}" + (f" of {info.total_steps:,}" if info.total_steps else ""))
    table.add_row("final loss", _number(figures.get("final_loss", info.last_loss), ".4f"))
    table.add_row("eval loss", _number(figures.get("final_eval_loss", info.last_eval_loss), ".4f"))
    table.add_row("tokens/s", _number(figures.get("tokens_per_s", info.tokens_per_s), ",.0f"))
    table.add_row("duration", _duration(info.duration_s))
    if info.final_dir:
        table.add_row("model", str(info.final_dir))
    if finished is not None and finished.traceback_tail:
        table.add_row("traceback", _plain(finished.traceback_tail.splitlines()[-1]))
    console.print(table)


def _plain(text: str) -> Any:
    from rich.text import Text

    from studio.text import visible

    return Text(visible(text))


def _state_text(state: str, phase: str) -> Any:
    from rich.text import Text

    style = {
        "running": "green",
        "preparing": "cyan",
        "completed": "bold",
        "stopped": "yellow",
        "failed": "red",
        "lost": "red",
    }.get(state, "")
    label = state if not phase or phase in (state, "running", "preparing") else f"{state} ({phase})"
    return Text(label, style=style)


def _number(value: Any, spec: str) -> str:
    if value is None:
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return str(number)
    return format(number, spec)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
