"""`studio model check`: validate a run config, offer (and apply) fixes, estimate its cost."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from studio.errors import StudioError

EXIT_INVALID = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("model", help="check and size a model config")
    sub = p.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check",
        help="validate a run config's model; exit 0 when valid, 1 with the problems when not",
        description="Validate the model of a run config against its tokenizer and block size, list each "
        "problem with its fix, and estimate parameters, FLOPs per token and memory.",
    )
    check.add_argument("config", help="run config (YAML)")
    check.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override a field before checking (repeatable)",
    )
    check.add_argument("--fix", action="store_true", help="apply every offered fix and write the config back")
    check.add_argument("--out", default=None, help="with --fix: write the fixed config here instead")
    check.add_argument(
        "--measure", action="store_true", help="also run two real steps to measure memory and time"
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    from studio.config import save_config
    from studio.model.checkup import checkup, load_for_check

    config, early_problems = load_for_check(args.config, args.overrides, fix=args.fix)
    report = checkup(config, early_problems, fix=args.fix, measure=args.measure)
    written = None
    if args.fix and report.config is not None and report.applied:
        written = Path(args.out or args.config)
        try:
            save_config(report.config, written)
        except OSError as exc:
            raise StudioError(f"{written}: cannot be written ({exc.strerror})") from None
    if args.json:
        from studio.cli.common import print_json

        print_json({**report.to_dict(), "written": str(written) if written else None})
    else:
        _print_report(report.to_dict(), written)
    return 0 if report.valid else EXIT_INVALID


def _print_report(data: dict[str, Any], written: Path | None) -> None:
    from studio.model.estimate import human_bytes, human_count, human_seconds

    out = sys.stdout
    for fix in data["applied"]:
        out.write(f"fixed: --set {fix}\n")
    if written:
        out.write(f"wrote {written}\n")
    if data["valid"]:
        out.write("valid\n")
    for problem in data["problems"]:
        out.write(f"problem: {problem['field']}: {problem['message']}\n")
        if problem["fix"]:
            out.write(f"  fix: --set {problem['fix']}\n")
    estimates = data.get("estimates")
    if estimates:
        memory = estimates["memory"]
        out.write(f"parameters: {estimates['params']:,} ({human_count(estimates['params'])})\n")
        out.write(f"FLOPs per token: {human_count(estimates['flops_per_token'])}\n")
        out.write(
            f"memory: {human_bytes(memory['total'])} (weights {human_bytes(memory['weights'])}, "
            f"gradients {human_bytes(memory['gradients'])}, optimizer {human_bytes(memory['optimizer'])}, "
            f"activations {human_bytes(memory['activations'])})\n"
        )
        out.write(
            f"tokens: {human_count(estimates['planned_tokens'])} planned, "
            f"{human_count(estimates['corpus_tokens'])} in the corpus, "
            f"{human_count(estimates['chinchilla_tokens'])} compute-optimal (20 per parameter)\n"
        )
    measured = data.get("measured")
    if measured:
        out.write(
            f"measured on {measured['device']}: {measured['step_seconds']:.3f} s/step, peak "
            f"{human_bytes(measured['peak_memory_bytes'])}, {measured['tokens_per_second']:,.0f} tokens/s, "
            f"planned run {human_seconds(data['estimates'].get('seconds_to_train'))}\n"
        )
