"""The fast path learns what the standard path learns: 300 steps of `tiny-cpu`, same seed and data.

Trains the `tiny-cpu` preset twice through the stock HF `Trainer` on the same packed blocks of the
demo corpus, with the same seed: once with Studio's fast path (masking on the device, the MLM head
at the masked positions only) and once with the standard path (`DataCollatorForLanguageModeling`
masking on the CPU, the full head). Prints both final training losses (the mean of the last 50
steps) and their relative gap; exits 1 when the gap is over 2 %.

    .venv/bin/python benchmarks/convergence.py [--steps 300] [--lines 20000] [--threads 1]

The test suite runs a shorter version of this (tests/train/test_engine.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def train(mode: str, corpus: Path, tokenizer_dir: Path, steps: int, work: Path) -> dict[str, float]:
    import transformers

    from studio.model.build import config_from_preset
    from studio.train.data import prepare_datasets
    from studio.train.engine import build_collator, build_model, training_args_defaults

    config = config_from_preset("tiny-cpu", str(corpus), str(tokenizer_dir))
    config.studio.mode = mode  # type: ignore[assignment]
    config.train.update({"max_steps": steps, "logging_steps": 10, "save_strategy": "no"})
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir))
    data = prepare_datasets(config, tokenizer, cache_dir=work / "cache", packing=True)
    model = build_model(config, tokenizer)
    args = transformers.TrainingArguments(
        output_dir=str(work / mode), **training_args_defaults(config, "cpu")
    )
    trainer = transformers.Trainer(
        model=model,
        args=args,
        train_dataset=data.train,
        eval_dataset=data.eval,
        data_collator=build_collator(config, tokenizer),
    )
    trainer.remove_callback(transformers.PrinterCallback)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    final = sum(losses[-5:]) / len(losses[-5:])
    return {"final_loss": final, "eval_loss": trainer.evaluate()["eval_loss"], "seconds": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lines", type=int, default=20_000, help="demo corpus lines")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from studio.corpus.demo import write_demo_corpus
    from studio.train.bench import train_bytelevel_tokenizer

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="studio-convergence-") as tmp:
        work = Path(tmp)
        corpus = write_demo_corpus(work / "demo.txt", n_lines=args.lines)
        train_bytelevel_tokenizer(corpus, work / "tokenizer", vocab_size=args.vocab_size)
        fast = train("fast", corpus, work / "tokenizer", args.steps, work)
        standard = train("recipe", corpus, work / "tokenizer", args.steps, work)
    gap = abs(fast["final_loss"] - standard["final_loss"]) / standard["final_loss"]
    print(
        json.dumps({"steps": args.steps, "fast": fast, "standard": standard, "relative_gap": round(gap, 4)})
    )
    print(
        f"{args.steps} steps of tiny-cpu: fast {fast['final_loss']:.4f} ({fast['seconds']:.0f} s), "
        f"standard {standard['final_loss']:.4f} ({standard['seconds']:.0f} s): gap {100 * gap:.2f} % "
        f"({'OK' if gap <= 0.02 else 'OVER 2 %'}); eval {fast['eval_loss']:.4f} vs {standard['eval_loss']:.4f}"
    )
    return 0 if gap <= 0.02 else 1


if __name__ == "__main__":
    sys.exit(main())
