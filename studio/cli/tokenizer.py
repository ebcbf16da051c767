"""`studio tokenizer train` and `studio tokenizer inspect`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from studio.errors import StudioError

# Kept literal so `studio --help` does not import the tokenizer layer.
_KINDS = ("bytelevel-bpe", "wordpiece", "unigram", "sentencepiece-unigram", "sentencepiece-bpe")
_TARGETS = ("roberta", "bert", "gpt2", "llama", "reformer")


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("tokenizer", help="train a tokenizer, or measure one")
    commands = group.add_subparsers(dest="tokenizer_command", metavar="COMMAND", required=True)

    p = commands.add_parser("train", help="train a tokenizer on a corpus (in its own process)")
    p.add_argument(
        "--corpus", required=True, help="a .txt/.jsonl/.csv/.parquet file, a folder, or a saved dataset"
    )
    p.add_argument(
        "--kind", default="bytelevel-bpe", choices=_KINDS, help="tokenizer kind (default: bytelevel-bpe)"
    )
    p.add_argument("--vocab-size", type=int, default=52_000, help="vocabulary size (default: 52000)")
    p.add_argument("--out", required=True, help="output directory (must not exist unless --force)")
    p.add_argument(
        "--min-frequency", type=int, default=2, help="BPE/WordPiece: minimum pair frequency (default: 2)"
    )
    p.add_argument(
        "--target",
        choices=_TARGETS,
        default=None,
        help="model family whose special tokens to use (default: by kind)",
    )
    p.add_argument(
        "--special-tokens",
        nargs="+",
        default=None,
        metavar="TOKEN",
        help="special tokens, in id order (default: the target's)",
    )
    p.add_argument("--limit-alphabet", type=int, default=None, help="HF kinds: at most N initial characters")
    p.add_argument("--character-coverage", type=float, default=0.9995, help="SentencePiece: default 0.9995")
    p.add_argument("--byte-fallback", action="store_true", help="SentencePiece: unknown characters as bytes")
    p.add_argument(
        "--normalization",
        default=None,
        help="SentencePiece rule (nmt_nfkc, nfkc, identity); HF kinds: nfkc or none",
    )
    p.add_argument("--lowercase", action="store_true", help="lowercase the text first")
    p.add_argument(
        "--max-sentence-length", type=int, default=16_384, help="SentencePiece: longest line in bytes"
    )
    p.add_argument("--sample", type=int, default=None, metavar="LINES", help="train on this many lines only")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")
    p.add_argument(
        "--model-max-length", type=int, default=512, help="model_max_length saved for transformers"
    )
    p.add_argument("--column", default="text", help="text column of .jsonl/.csv/.parquet (default: text)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_train)

    p = commands.add_parser("inspect", help="a tokenizer's vocabulary and its figures on held-out text")
    p.add_argument("path", help="a tokenizer directory, a tokenizer.json, or a SentencePiece .model")
    p.add_argument("--text", default=None, help="measure on this text")
    p.add_argument("--corpus", default=None, help="measure on lines of this corpus")
    p.add_argument("--lines", type=int, default=10_000, help="lines sampled from --corpus (0: all)")
    p.add_argument("--column", default="text", help="text column of .jsonl/.csv/.parquet (default: text)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_inspect)


def _stderr_progress(quiet: bool) -> Any:
    """A progress callback printing phases on stderr (a live line on a terminal)."""
    from studio.progress import ProgressUpdate

    interactive = sys.stderr.isatty()
    last = {"phase": ""}

    def report(update: ProgressUpdate) -> None:
        if quiet:
            return
        if update.phase != last["phase"]:
            if interactive and last["phase"]:
                sys.stderr.write("\n")
            last["phase"] = update.phase
            if not interactive:
                sys.stderr.write(
                    f"{update.phase}{': ' + update.note if update.note and update.note != 'elapsed' else ''}\n"
                )
        if interactive:
            tail = f"{update.done:.0f}s" if update.note == "elapsed" else update.note
            sys.stderr.write(f"\r{update.phase}: {tail}\x1b[K")
        sys.stderr.flush()

    return report


def run_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from studio.cli.common import print_json
    from studio.tokenizer.options import SENTENCEPIECE_KINDS, TrainOptions
    from studio.tokenizer.train import train_tokenizer

    options = TrainOptions(
        corpus=args.corpus,
        kind=args.kind,
        vocab_size=args.vocab_size,
        min_frequency=args.min_frequency,
        target=args.target or "",
        special_tokens=args.special_tokens or [],
        limit_alphabet=args.limit_alphabet,
        character_coverage=args.character_coverage,
        byte_fallback=args.byte_fallback,
        normalization=args.normalization or ("nmt_nfkc" if args.kind in SENTENCEPIECE_KINDS else "nfkc"),
        lowercase=args.lowercase,
        max_sentence_length=args.max_sentence_length,
        sample_lines=args.sample,
        threads=args.threads,
        model_max_length=args.model_max_length,
        text_column=args.column,
    )
    result = train_tokenizer(options, Path(args.out), progress=_stderr_progress(args.json), force=args.force)
    if sys.stderr.isatty() and not args.json:
        sys.stderr.write("\n")
    record = result.record
    if args.json:
        print_json({"out": str(result.out_dir), "seconds": round(result.seconds, 3), **record})
    else:
        print(
            f"{record['kind']} tokenizer, {record['vocab_size']} tokens, trained in {result.seconds:.1f}s: {result.out_dir}"
        )
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    import os

    from studio.cli.common import print_json
    from studio.text import from_argv
    from studio.tokenizer.figures import compute_figures, held_out_lines, read_lines
    from studio.tokenizer.vocab import open_vocabulary

    os.environ["TOKENIZERS_PARALLELISM"] = "true"  # batch encoding on all cores (this process never forks)
    if args.lines < 0:
        raise StudioError(f"--lines {args.lines} must be 0 (all) or more")
    vocab = open_vocabulary(args.path)
    if args.text is not None:
        text = from_argv(args.text)
        lines, source = [line for line in text.splitlines() if line.strip()], "--text"
        if not lines:
            raise StudioError("--text is empty", "give some text to measure on")
    elif args.corpus:
        lines, source = read_lines(args.corpus, args.lines or None, args.column), args.corpus
    else:
        lines, source = held_out_lines(vocab), str(vocab.info.record.get("corpus", ""))
    figures = compute_figures(vocab, lines).to_dict() if lines else None
    specials = sorted(vocab.special_ids())
    payload: dict[str, Any] = {
        "path": str(vocab.info.path),
        "model": vocab.info.model_type,
        "kind": vocab.info.record.get("kind"),
        "vocab_size": len(vocab),
        "special_tokens": [vocab.raw[i] for i in specials],
        "text_source": source if lines else None,
        **(
            figures
            or dict.fromkeys(
                ("fertility", "bytes_per_token", "chars_per_token", "unk_rate", "vocab_used", "split3_share")
            )
        ),
    }
    if args.json:
        print_json(payload)
        return 0
    print(
        f"{payload['path']}: {payload['model']} tokenizer, {payload['vocab_size']} tokens"
        f"{', ' + payload['kind'] if payload['kind'] else ''}"
    )
    print(f"special tokens: {' '.join(payload['special_tokens']) or '(none)'}")
    if figures is None:
        print("no text to measure on: give --text or --corpus")
        return 0
    print(
        f"measured on {figures['lines']} lines of {source} ({figures['words']} words, {figures['tokens']} tokens)"
    )
    rows = (
        ("fertility (tokens per word)", f"{figures['fertility']:.3f}"),
        ("bytes per token", f"{figures['bytes_per_token']:.3f}"),
        ("characters per token", f"{figures['chars_per_token']:.3f}"),
        ("unknown rate", f"{figures['unk_rate']:.4%}"),
        ("vocabulary used", f"{figures['vocab_used']:.2%}"),
        ("words split in 3+ pieces", f"{figures['split3_share']:.2%}"),
    )
    for name, value in rows:
        print(f"  {name:<28} {value:>10}")
    return 0
