"""`studio config init`: write a run config from a preset, a corpus and a tokenizer."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.errors import StudioError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("config", help="create run configs")
    sub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    init = sub.add_parser("init", help="write a run config from a preset")
    init.add_argument(
        "--preset",
        required=True,
        help="model preset: esperberto-84m, tiny-cpu, small, base, bert-tiny, gpt2-tiny, llama-tiny, reformer-tiny",
    )
    init.add_argument("--corpus", required=True, help="corpus file or folder")
    init.add_argument("--tokenizer", required=True, help="tokenizer directory")
    init.add_argument("--task", choices=("mlm", "clm"), default=None, help="masked or causal LM")
    init.add_argument("--name", default=None, help="run name (default: the preset's name)")
    init.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    init.add_argument("--out", required=True, help="where to write the YAML")
    init.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    init.set_defaults(func=run_init)


def run_init(args: argparse.Namespace) -> int:
    from studio.config import save_config
    from studio.model.build import config_from_preset

    out = Path(args.out)
    if out.exists() and not args.force:
        raise StudioError(f"{out}: already exists", "pass --force to overwrite it")
    config = config_from_preset(
        args.preset, corpus=args.corpus, tokenizer=args.tokenizer, task=args.task, name=args.name
    )
    if args.overrides:
        config = config.with_overrides(args.overrides)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_config(config, out)
    except OSError as exc:
        raise StudioError(f"{out}: cannot be written ({exc.strerror})") from None
    print(f"wrote {out}")
    from studio.model.validate import check

    problems = check(config)
    for problem in problems:  # written anyway: the user may fix it by hand or with --fix
        fix = f" (fix: --set {problem.fix})" if problem.fix else ""
        print(f"problem: {problem.field}: {problem.message}{fix}")
    if any(problem.fix for problem in problems):
        print(f"run `studio model check {out} --fix` to apply the fixes")
    return 0
