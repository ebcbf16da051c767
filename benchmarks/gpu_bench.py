"""Full-size GPU throughput: the blog's recipe, HF Trainer best practice, Studio's default, a plain
loop ceiling, and RoBERTa (SDPA) against Reformer at 4,096 tokens. Run through `benchmarks/gpu.sh`.

Every contender trains the blog's 84M RoBERTa (6 layers, hidden 768, 12 heads, vocab 52,000 as in
its `RobertaConfig`, with a byte-level BPE trained here on the demo corpus) for a fixed number of steps after a warm-up, and
reports real (non-padding) tokens/s and peak GPU memory:

  recipe       line by line, block 128, batch 64, fp32, CPU masking, full head (the blog)
  hf-packed    HF Trainer, packed 512 blocks, bf16, TF32, fused AdamW, CPU masking, full head
  studio       Studio's default (`studio.mode: fast`): packed 512, masking on the GPU, sparse head,
               bf16, TF32, fused AdamW, SDPA, loader workers: the largest batch that fits
  plain-loop   the ceiling: a hand-written loop over the same fast model, batches already on the GPU
  long-*       4,096-token blocks: RoBERTa (fast path, SDPA) and Reformer (local + LSH attention)

The data is tokenized here with the fast tokenizer and numpy (no `datasets` needed): the
benchmark measures training steps, and the GPU machine may lack `datasets`.
`--smoke` runs everything with tiny sizes on any device (CPU included) to check the script.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.config import DataConfig, ModelConfig, RunConfig, StudioConfig
from studio.model.presets import PRESETS
from studio.train.bench import (
    Measurement,
    device_name,
    measure_plain_loop,
    measure_trainer,
    train_bytelevel_tokenizer,
)

FULL = {
    "corpus_lines": 120_000,
    "vocab_size": 52_000,
    "model": dict(PRESETS["esperberto-84m"].model),  # the blog's RoBERTa, as users get it
    "block": 512,
    "recipe_block": 128,
    "recipe_batch": 64,
    "hf_batch": 64,
    "studio_batches": tuple(int(b) for b in os.environ.get("STUDIO_GPU_BATCHES", "256,128,64").split(",")),
    "long_block": 4096,
    "long_batch": 8,
    "axial_shape": [64, 64],
    "axial_dims": [256, 512],
    "chunk": 64,
    "warmup": 8,
    "steps": 30,
    "rounds": 2,
    "long_warmup": 4,
    "long_steps": 12,
}
SMOKE = {
    "corpus_lines": 3000,
    "vocab_size": 2000,
    "model": {
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 128,
        "max_position_embeddings": 66,
        "type_vocab_size": 1,
    },
    "block": 64,
    "recipe_block": 32,
    "recipe_batch": 8,
    "hf_batch": 8,
    "studio_batches": (16, 8),
    "long_block": 256,
    "long_batch": 2,
    "axial_shape": [16, 16],
    "axial_dims": [16, 48],
    "chunk": 32,
    "warmup": 1,
    "steps": 3,
    "rounds": 2,
    "long_warmup": 1,
    "long_steps": 2,
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- data ------------------------------------------------------------------------------------------


def tokenize_lines(tokenizer: Any, lines: list[str]) -> list[list[int]]:
    encoded: list[list[int]] = []
    for start in range(0, len(lines), 10_000):
        encoded.extend(
            tokenizer(lines[start : start + 10_000], add_special_tokens=True, verbose=False)["input_ids"]
        )
    return encoded


def packed_blocks(encoded: list[list[int]], block: int) -> Any:
    import numpy as np

    stream = np.fromiter((i for ids in encoded for i in ids), dtype=np.int64)
    usable = len(stream) // block * block
    return stream[:usable].reshape(-1, block)


class Rows:
    """A list of `{"input_ids": ...}` rows: what the Trainer's loader indexes."""

    def __init__(self, rows: Any) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {"input_ids": self.rows[index]}


# --- configs and models ----------------------------------------------------------------------------


def run_config(
    sizes: dict[str, Any],
    tokenizer_dir: Path,
    mode: str,
    block: int,
    batch: int,
    arch: str = "roberta",
    model: dict[str, Any] | None = None,
) -> RunConfig:
    return RunConfig(
        data=DataConfig(corpus="", tokenizer=str(tokenizer_dir), block_size=block, packing=mode == "fast"),
        model=ModelConfig(arch=arch, task="mlm", fields=model or dict(sizes["model"])),
        train={
            "per_device_train_batch_size": batch,
            "learning_rate": 5e-4,
            "seed": 42,
            "logging_steps": 50,
            "warmup_steps": 0,
            "weight_decay": 0.01,
        },
        studio=StudioConfig(mode=mode),  # type: ignore[arg-type]
    )


def model_vocab(sizes: dict[str, Any], tokenizer: Any) -> int:
    """The blog's `RobertaConfig(vocab_size=52_000)` whatever the tokenizer fills (never fewer rows
    than it has): the embedding and the full head keep the 84M model's shape on any corpus."""
    return max(len(tokenizer), int(sizes["vocab_size"]))


def with_vocab(sizes: dict[str, Any], tokenizer: Any, **changes: Any) -> dict[str, Any]:
    return {**sizes["model"], "vocab_size": model_vocab(sizes, tokenizer), **changes}


def free(device: str) -> None:
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


def is_oom(exc: BaseException) -> bool:
    return "out of memory" in str(exc).lower()


def gpu_batches(blocks: Any, batch: int, device: str, extra: dict[str, Any]) -> Any:
    """Endless batches of random rows, already on the device (the ceiling's input pipeline)."""
    import torch

    data = torch.as_tensor(blocks, dtype=torch.long, device=device)
    generator = torch.Generator(device="cpu").manual_seed(0)
    while True:
        rows = torch.randint(0, data.shape[0], (batch,), generator=generator).to(device)
        yield {"input_ids": data.index_select(0, rows), **extra}


# --- the benchmark ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        default=bool(os.environ.get("STUDIO_GPU_SMOKE")),
        help="tiny sizes, any device: checks the script (env STUDIO_GPU_SMOKE=1)",
    )
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated subset: recipe,hf-packed,studio,plain-loop,long (and studio-compile, opt-in)",
    )
    parser.add_argument(
        "--work", default=None, help="folder for the corpus and tokenizer (default: a temp dir)"
    )
    parser.add_argument(
        "--corpus",
        default=None,
        help="a plain-text corpus (one document per line) instead of the generated demo corpus, "
        "e.g. a real Esperanto dump, whose short lines make the recipe's batches mostly padding",
    )
    args = parser.parse_args()

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    sizes = SMOKE if args.smoke else FULL
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    started = time.perf_counter()
    work = Path(args.work or tempfile.mkdtemp(prefix="studio-gpu-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "device": device,
        "device_name": device_name(device),
        "smoke": args.smoke,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "contenders": {},
        "errors": {},
    }

    from studio.corpus.demo import write_demo_corpus

    t0 = time.perf_counter()
    if args.corpus:
        corpus = Path(args.corpus)
        log(f"corpus {corpus.name}: {corpus.stat().st_size / 1e6:.1f} MB")
    else:
        corpus = write_demo_corpus(work / "demo.txt", n_lines=sizes["corpus_lines"])
        log(
            f"demo corpus: {sizes['corpus_lines']:,} lines, {corpus.stat().st_size / 1e6:.1f} MB "
            f"({time.perf_counter() - t0:.1f} s)"
        )
    results["corpus"] = corpus.name
    t0 = time.perf_counter()
    tokenizer_dir = work / "tokenizer"
    tokenizer = train_bytelevel_tokenizer(corpus, tokenizer_dir, vocab_size=sizes["vocab_size"])
    results["tokenizer"] = {
        "vocab_size": len(tokenizer),
        "asked": sizes["vocab_size"],
        "model_rows": model_vocab(sizes, tokenizer),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    log(
        f"byte-level BPE: vocab {len(tokenizer):,}, model vocabulary {model_vocab(sizes, tokenizer):,} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    t0 = time.perf_counter()
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    encoded = tokenize_lines(tokenizer, lines)
    blocks = packed_blocks(encoded, sizes["block"])
    line_rows = [ids[: sizes["recipe_block"]] for ids in encoded]
    log(
        f"tokenized: {sum(map(len, encoded)):,} tokens, {len(blocks):,} blocks of {sizes['block']} "
        f"({time.perf_counter() - t0:.1f} s)"
    )

    from studio.train.engine import build_collator, build_model

    def record(measured: Measurement, **notes: Any) -> None:
        entry = results["contenders"].setdefault(
            measured.name, {"tokens": 0, "seconds": 0.0, "peak_memory_bytes": 0}
        )
        entry["tokens"] += measured.tokens
        entry["seconds"] += measured.seconds
        entry["peak_memory_bytes"] = max(entry["peak_memory_bytes"], measured.peak_memory_bytes or 0)
        entry["tokens_per_s"] = round(entry["tokens"] / entry["seconds"], 1) if entry["seconds"] else 0.0
        entry.update(notes)
        save(results)  # a run cut short by a time limit keeps what it measured
        log(
            f"{measured.name}: {measured.tokens_per_s:,.0f} real tokens/s, "
            f"peak {(measured.peak_memory_bytes or 0) / 2**30:.2f} GiB"
        )

    def attempt(name: str, action: Any) -> None:
        if only and name.split("#")[0] not in only:
            return
        try:
            action()
        except Exception as exc:  # one contender failing must not lose the others' figures
            results["errors"][name] = f"{exc.__class__.__name__}: {str(exc)[:300]}"
            log(f"{name} FAILED: {results['errors'][name]}")
            traceback.print_exc(file=sys.stderr)
        finally:
            free(device)

    # The three Trainer contenders alternate, round by round, on persistent models.
    recipe_config = run_config(
        sizes,
        tokenizer_dir,
        "recipe",
        sizes["recipe_block"],
        sizes["recipe_batch"],
        model=with_vocab(sizes, tokenizer),
    )
    hf_config = run_config(
        sizes, tokenizer_dir, "recipe", sizes["block"], sizes["hf_batch"], model=with_vocab(sizes, tokenizer)
    )
    hf_args = {
        "bf16": device == "cuda",
        "tf32": device == "cuda",
        "optim": "adamw_torch_fused",
        "dataloader_num_workers": 2 if device == "cuda" else 0,
        "dataloader_persistent_workers": device == "cuda",
    }
    models: dict[str, Any] = {}
    studio_batch = {"value": sizes["studio_batches"][0]}

    def note_size(model: Any) -> None:
        results.setdefault("parameters", sum(p.numel() for p in model.parameters()))

    def recipe_phase() -> None:
        model = models.setdefault("recipe", build_model(recipe_config, tokenizer))
        note_size(model)
        record(
            measure_trainer(
                "recipe",
                model,
                recipe_config,
                Rows(line_rows),
                build_collator(recipe_config, tokenizer),
                device,
                sizes["steps"],
                sizes["warmup"],
                work / "out",
            ),
            block=sizes["recipe_block"],
            batch=sizes["recipe_batch"],
            packed=False,
            precision="fp32",
        )

    def hf_phase() -> None:
        model = models.setdefault("hf-packed", build_model(hf_config, tokenizer))
        record(
            measure_trainer(
                "hf-packed",
                model,
                hf_config,
                Rows(blocks),
                build_collator(hf_config, tokenizer),
                device,
                sizes["steps"],
                sizes["warmup"],
                work / "out",
                packed_tokens_per_step=sizes["hf_batch"] * sizes["block"],
                extra_args=hf_args,
            ),
            block=sizes["block"],
            batch=sizes["hf_batch"],
            packed=True,
            precision="bf16" if device == "cuda" else "fp32",
        )

    def fast_phase(name: str, extra_args: dict[str, Any] | None = None) -> None:
        """Studio's default path (or a variant of it) at the largest batch that fits."""
        warmup = sizes["warmup"]
        if extra_args and extra_args.get("torch_compile"):
            warmup = max(4, 2 * warmup)  # the first steps compile, and the next ones may recompile
        while True:
            batch = studio_batch["value"]
            config = run_config(
                sizes, tokenizer_dir, "fast", sizes["block"], batch, model=with_vocab(sizes, tokenizer)
            )
            try:
                model = models.setdefault(name, build_model(config, tokenizer))
                note_size(model)
                record(
                    measure_trainer(
                        name,
                        model,
                        config,
                        Rows(blocks),
                        build_collator(config, tokenizer),
                        device,
                        sizes["steps"],
                        warmup,
                        work / "out",
                        packed_tokens_per_step=batch * sizes["block"],
                        extra_args=extra_args,
                    ),
                    block=sizes["block"],
                    batch=batch,
                    packed=True,
                    precision="bf16" if device == "cuda" else "fp32",
                )
                return
            except torch.OutOfMemoryError:
                smaller = [b for b in sizes["studio_batches"] if b < batch]
                if not smaller:
                    raise
                log(f"{name}: batch {batch} does not fit, trying {smaller[0]}")
                studio_batch["value"] = smaller[0]
                models.pop(name, None)
                free(device)

    # torch.compile is measured, not assumed: opt in with --only studio-compile or STUDIO_GPU_COMPILE=1.
    with_compile = "studio-compile" in only or bool(os.environ.get("STUDIO_GPU_COMPILE"))

    for round_index in range(sizes["rounds"]):
        log(f"round {round_index + 1} of {sizes['rounds']}")
        attempt("recipe", recipe_phase)
        attempt("hf-packed", hf_phase)
        attempt("studio", lambda: fast_phase("studio"))
        if with_compile:
            attempt("studio-compile", lambda: fast_phase("studio-compile", {"torch_compile": True}))
    for name in ("recipe", "hf-packed", "studio-compile"):
        models.pop(name, None)
    free(device)

    def plain_phase() -> None:
        batch = studio_batch["value"]
        config = run_config(
            sizes, tokenizer_dir, "fast", sizes["block"], batch, model=with_vocab(sizes, tokenizer)
        )
        model = models.pop("studio", None) or build_model(config, tokenizer)
        model.to(device)
        record(
            measure_plain_loop(
                "plain-loop",
                model,
                gpu_batches(blocks, batch, device, {"mask_on_device": True}),
                device,
                sizes["steps"],
                sizes["warmup"],
                batch * sizes["block"],
            ),
            block=sizes["block"],
            batch=batch,
            packed=True,
            precision="bf16" if device == "cuda" else "fp32",
        )
        del model

    attempt("plain-loop", plain_phase)
    models.clear()
    free(device)

    # 4,096 tokens: RoBERTa's fast path with SDPA against Reformer's LSH and local attention.
    long_block, long_batch = sizes["long_block"], sizes["long_batch"]
    long_blocks = packed_blocks(encoded, long_block)
    if len(long_blocks) == 0:
        long_blocks = blocks.reshape(-1)[: long_block * 4].reshape(-1, long_block)

    def record_long(name: str, model: Any, batches: Any, attention: str) -> None:
        """Time one 4,096-token contender in the plain loop and record it."""
        steps = measure_plain_loop(
            name, model, batches, device, sizes["long_steps"], sizes["long_warmup"], long_batch * long_block
        )
        record(steps, block=long_block, batch=long_batch, packed=True, attention=attention)

    def long_roberta() -> None:
        fields = with_vocab(sizes, tokenizer, max_position_embeddings=long_block + 2)
        config = run_config(sizes, tokenizer_dir, "fast", long_block, long_batch, model=fields)
        model = build_model(config, tokenizer).to(device)
        batches = gpu_batches(long_blocks, long_batch, device, {"mask_on_device": True})
        record_long("long-roberta-sdpa", model, batches, "sdpa, sparse head")
        del model

    def long_reformer() -> None:
        from studio.train.engine import mask_on_device

        hidden = sizes["model"]["hidden_size"]
        heads = sizes["model"]["num_attention_heads"]
        fields = {
            "vocab_size": model_vocab(sizes, tokenizer),
            "hidden_size": hidden,
            "num_attention_heads": heads,
            "attention_head_size": hidden // heads,
            "feed_forward_size": sizes["model"]["intermediate_size"],
            "attn_layers": ["local", "lsh"] * (sizes["model"]["num_hidden_layers"] // 2),
            "axial_pos_shape": sizes["axial_shape"],
            "axial_pos_embds_dim": sizes["axial_dims"],
            "max_position_embeddings": long_block,
            "local_attn_chunk_length": sizes["chunk"],
            "lsh_attn_chunk_length": sizes["chunk"],
            "num_buckets": max(2, 2 * long_block // sizes["chunk"] // 2),
            "is_decoder": False,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        }
        config = run_config(
            sizes, tokenizer_dir, "fast", long_block, long_batch, arch="reformer", model=fields
        )
        model = build_model(config, tokenizer).to(device)
        special = torch.zeros(len(tokenizer), dtype=torch.bool, device=device)
        special[tokenizer.all_special_ids] = True

        def masked_batches() -> Any:
            for batch in gpu_batches(long_blocks, long_batch, device, {}):
                corrupted, labels, _ = mask_on_device(
                    batch["input_ids"], special, tokenizer.mask_token_id, len(tokenizer)
                )
                yield {"input_ids": corrupted, "labels": labels}

        record_long("long-reformer", model, masked_batches(), "local + LSH, full head")
        del model

    attempt("long#roberta", long_roberta)
    attempt("long#reformer", long_reformer)

    results["seconds"] = round(time.perf_counter() - started, 1)
    print_table(results)
    save(results)
    print(json.dumps(results))
    return 0 if not results["errors"] else 1


def save(results: dict[str, Any]) -> None:
    """Write the results so far to $OUT/gpu.json (when OUT is set)."""
    out = os.environ.get("OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "gpu.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


def print_table(results: dict[str, Any]) -> None:
    contenders = results["contenders"]
    recipe = contenders.get("recipe", {}).get("tokens_per_s") or 0.0
    ceiling = contenders.get("plain-loop", {}).get("tokens_per_s") or 0.0
    print(
        f"\n{results['device_name']}  (torch {results['torch']}, transformers {results['transformers']}; "
        f"{results.get('parameters', 0) / 1e6:.1f}M parameters, "
        f"model vocabulary {results['tokenizer']['model_rows']:,}, tokenizer {results['tokenizer']['vocab_size']:,}"
        f"{'; SMOKE sizes' if results['smoke'] else ''})"
    )
    header = f"{'contender':20} {'block':>6} {'batch':>6} {'real tokens/s':>14} {'x recipe':>9} {'% ceiling':>10} {'peak GiB':>9}"
    print(header)
    print("-" * len(header))
    for name, entry in contenders.items():
        rate = entry.get("tokens_per_s", 0.0)
        vs_recipe = f"{rate / recipe:.1f}" if recipe else "-"
        vs_ceiling = f"{100 * rate / ceiling:.0f} %" if ceiling and not name.startswith("long") else "-"
        print(
            f"{name:20} {entry.get('block', ''):>6} {entry.get('batch', ''):>6} {rate:>14,.0f} {vs_recipe:>9} "
            f"{vs_ceiling:>10} {entry['peak_memory_bytes'] / 2**30:>9.2f}"
        )
    for name, error in results["errors"].items():
        print(f"{name}: FAILED {error}")
    print(f"total {results['seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
