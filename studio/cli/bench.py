"""`studio bench`: the blog's recipe against Studio's default training path, on this machine."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `studio bench`."""
    parser = subparsers.add_parser(
        "bench",
        help="compare the blog's training recipe with Studio's default (real tokens/s)",
        description="Train the blog's recipe (line by line, block 128, batch 64, fp32, CPU masking, "
        "full MLM head) and Studio's default (packed blocks, masking on the device, sparse head, "
        "bf16 where supported, fused AdamW) on the same model shape, corpus and device, alternating "
        "in one process, and report real (non-padding) tokens per second for each.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument(
        "--corpus", default=None, help="corpus to train on (default: a generated demo corpus)"
    )
    parser.add_argument(
        "--tokenizer", default=None, help="tokenizer directory (default: train the blog's BPE)"
    )
    parser.add_argument(
        "--vocab-size", type=int, default=52_000, help="vocabulary of the trained BPE (52,000)"
    )
    parser.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda"), help="device (default: auto)"
    )
    parser.add_argument("--preset", default="tiny-cpu", help="model preset for both (default: tiny-cpu)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="change the shared config, e.g. --set model.num_hidden_layers=4 (repeatable)",
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="timed steps per phase (default: 8 on CPU, 30 on GPU)"
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed steps first (default: 2 on CPU, 5 on GPU)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="recipe/Studio alternations (default: 2)")
    parser.add_argument(
        "--recipe-batch",
        type=int,
        default=None,
        help="the recipe's batch size (default: the blog's 64 on GPU, the preset's on CPU)",
    )
    parser.add_argument(
        "--studio-batch", type=int, default=None, help="Studio's batch size (default: the preset's)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice; 1 is faster on a busy machine)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from studio.cli.common import print_json
    from studio.progress import ProgressUpdate
    from studio.train.bench import run_bench

    def show(update: ProgressUpdate) -> None:
        if not args.json and update.note:
            print(f"  {update.note}", file=sys.stderr, flush=True)

    result = run_bench(
        corpus=args.corpus,
        device=args.device,
        preset=args.preset,
        tokenizer_dir=args.tokenizer,
        vocab_size=args.vocab_size,
        steps=args.steps,
        warmup=args.warmup,
        rounds=args.rounds,
        recipe_batch=args.recipe_batch,
        studio_batch=args.studio_batch,
        overrides=args.overrides,
        threads=args.threads,
        progress=show,
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    print(format_result(result))
    return 0


def format_result(result: object) -> str:
    """The bench as a small table a person reads in a terminal."""
    from studio.train.bench import BenchResult

    assert isinstance(result, BenchResult)

    def memory(value: int | None) -> str:
        return f"{value / 2**20:,.0f} MiB" if value else "-"

    kind = "peak allocated" if result.device == "cuda" else "peak RSS growth"
    seed, studio = result.seed_setup, result.studio_setup
    rows = [
        ("blog recipe", seed, result.seed_tokens_per_s, result.seed_peak_memory_bytes),
        ("Studio default", studio, result.studio_tokens_per_s, result.studio_peak_memory_bytes),
    ]
    lines = [
        f"device: {result.device_name}"
        + (f", {result.threads} torch threads" if result.device == "cpu" else ""),
        f"model: {result.model.get('arch')} {result.params / 1e6:.1f}M parameters, vocab {result.vocab_size:,}; "
        f"corpus: {result.corpus}",
        f"{result.rounds} rounds x {result.steps} timed steps each (after {result.warmup} warm-up steps)",
        "",
        f"{'':16} {'block':>6} {'batch':>6} {'packed':>7} {'real tokens/s':>14} {'memory (' + kind + ')':>28}",
    ]
    for name, setup, rate, peak in rows:
        lines.append(
            f"{name:16} {setup['block_size']:>6} {setup['batch_size']:>6} {'yes' if setup['packed'] else 'no':>7} "
            f"{rate:>14,.0f} {memory(peak):>28}"
        )
    lines += ["", f"Studio / recipe: {result.ratio:.2f}x  ({result.seconds:.0f} s in all)"]
    return "\n".join(lines)
