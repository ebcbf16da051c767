"""`studio bench`: the blog's recipe against Studio's default, same model, corpus and device.

Both contenders train the same model shape from the same initial weights on the same corpus and
device, inside the stock HF `Trainer`, alternating in one process (recipe, Studio, recipe,
Studio, ...) so that a machine that speeds up or slows down during the run affects both alike.
Each phase runs a few warm-up steps, then a timed window; the figure is real (non-padding) tokens
per second summed over the timed windows of all rounds.

- the **recipe** is the blog's: line by line, truncated to 128 tokens, batch 64, dynamic
  padding, `DataCollatorForLanguageModeling` masking on the CPU, the full MLM head, fp32;
- **Studio** is `studio.mode: fast` with the preset's block size and batch.

The measuring pieces (`measure_trainer`, `measure_plain_loop`) are also what `benchmarks/`
uses for the full-size GPU comparison.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studio.config import RunConfig
from studio.errors import Cancelled, StudioError
from studio.progress import CancelFlag, ProgressCallback, ProgressUpdate, no_progress

ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
# The blog's recipe: line by line, truncated to 128 tokens, batch 64, fp32, CPU masking.
RECIPE_BLOCK_SIZE = 128
RECIPE_BATCH_SIZE = 64
BLOG_VOCAB_SIZE = 52_000
DEMO_BENCH_LINES = 20_000


def train_bytelevel_tokenizer(
    corpus: str | Path, out_dir: str | Path, vocab_size: int = BLOG_VOCAB_SIZE
) -> Any:
    """Train the blog's byte-level BPE (RoBERTa specials, min frequency 2), save it, load it.

    The saved directory loads with `AutoTokenizer`. Used by the bench and its tests, where a
    tokenizer is needed in seconds and without the tokenizer layer's subprocess.
    """
    import transformers
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trainer = ByteLevelBPETokenizer()
    trainer.train(
        [str(corpus)],
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(ROBERTA_SPECIALS),
        show_progress=False,
    )
    backend = trainer._tokenizer
    backend.post_processor = RobertaProcessing(
        ("</s>", backend.token_to_id("</s>")), ("<s>", backend.token_to_id("<s>"))
    )
    backend.save(str(out / "tokenizer.json"))
    tokenizer = transformers.RobertaTokenizerFast(
        tokenizer_file=str(out / "tokenizer.json"), model_max_length=512
    )
    tokenizer.save_pretrained(str(out))
    return tokenizer


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class Measurement:
    """Real tokens and seconds of the timed windows of one contender, and its peak memory."""

    name: str
    tokens: int = 0
    seconds: float = 0.0
    steps: int = 0
    peak_memory_bytes: int | None = None
    batch_size: int = 0
    block_size: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def add(self, other: Measurement) -> None:
        self.tokens += other.tokens
        self.seconds += other.seconds
        self.steps += other.steps
        if other.peak_memory_bytes is not None:
            self.peak_memory_bytes = max(self.peak_memory_bytes or 0, other.peak_memory_bytes)


class TokenCounter:
    """Wraps a collator and records each batch's real (non-padding) token count, in order."""

    def __init__(
        self, collator: Callable[[Sequence[Mapping[str, Any]]], dict[str, Any]], pad_token_id: int | None
    ):
        self.collator = collator
        self.pad_token_id = pad_token_id
        self.counts: list[int] = []

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        self.counts.append(sum(len(f["input_ids"]) for f in features))  # before padding: all real
        return self.collator(features)


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


class _PeakMemory:
    """Peak memory of one phase: the CUDA allocator's peak, or on CPU the process's resident
    memory above its level at the start, sampled every 20 ms by a thread (activations come and
    go within a step, and large CPU tensors are returned to the system when freed)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._base = 0
        self._top = 0

    def __enter__(self) -> _PeakMemory:
        if self.device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
            return self
        import psutil

        process = psutil.Process()
        self._base = self._top = process.memory_info().rss

        def sample() -> None:
            while not self._stop.wait(0.02):
                self._top = max(self._top, process.memory_info().rss)

        self._thread = threading.Thread(target=sample, name="bench-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def peak_bytes(self) -> int:
        if self.device == "cuda":
            import torch

            return int(torch.cuda.max_memory_allocated())
        return self._top - self._base


def measure_trainer(
    name: str,
    model: Any,
    config: RunConfig,
    train_dataset: Any,
    collator: Callable[..., dict[str, Any]],
    device: str,
    steps: int,
    warmup: int,
    output_dir: str | Path,
    packed_tokens_per_step: int | None = None,
    cancel: CancelFlag | None = None,
    extra_args: Mapping[str, Any] | None = None,
) -> Measurement:
    """Train `model` with the stock `Trainer` for `warmup + steps` steps, timing the last `steps`.

    Real tokens come from `packed_tokens_per_step` (packed blocks are all real) or, for padded
    batches, from the counts the collator recorded (loader workers are turned off for those).
    """
    import transformers

    from studio.train.engine import training_args_defaults

    counter = None
    if packed_tokens_per_step is None:
        counter = TokenCounter(collator, getattr(model.config, "pad_token_id", None))
        collator = counter
    args = {
        **training_args_defaults(config, device),
        "max_steps": warmup + steps,
        "save_strategy": "no",
        "eval_strategy": "no",
        "logging_steps": max(10, int(config.train.get("logging_steps", 10))),
        **(extra_args or {}),
    }
    if counter is not None:
        args["dataloader_num_workers"] = 0
        args.pop("dataloader_persistent_workers", None)
        args.pop("dataloader_prefetch_factor", None)
    watch = _make_stopwatch_class()(device, warmup, steps, cancel)
    trainer = transformers.Trainer(
        model=model,
        args=transformers.TrainingArguments(output_dir=str(output_dir), **args),
        train_dataset=train_dataset,
        data_collator=collator,
        callbacks=[watch],
    )
    trainer.remove_callback(transformers.PrinterCallback)  # stdout belongs to the caller (--json)
    with _PeakMemory(device) as memory:
        trainer.train()
    if watch.cancelled:
        raise Cancelled()
    if watch.seconds is None:
        raise StudioError(f"{name}: training stopped before the timed window ended", "use fewer --steps")
    if counter is not None:
        tokens = sum(counter.counts[warmup : warmup + steps])
    else:
        tokens = steps * int(packed_tokens_per_step or 0)
    batch = int(args.get("per_device_train_batch_size", 8))
    return Measurement(
        name=name,
        tokens=tokens,
        seconds=watch.seconds,
        steps=steps,
        peak_memory_bytes=memory.peak_bytes,
        batch_size=batch,
        block_size=int(config.data.block_size),
    )


def _make_stopwatch_class() -> type:
    import transformers

    class Stopwatch(transformers.TrainerCallback):
        """Times the steps after the warm-up (with a device sync at both ends) and checks cancel."""

        def __init__(self, device: str, warmup: int, steps: int, cancel: CancelFlag | None) -> None:
            self.device, self.warmup, self.steps, self.cancel = device, warmup, steps, cancel
            self.started: float | None = None
            self.seconds: float | None = None
            self.cancelled = False

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if state.global_step == self.warmup and self.started is None:
                _sync(self.device)
                self.started = time.perf_counter()
            return control

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if self.cancel is not None and self.cancel.is_set():
                self.cancelled = True
                control.should_training_stop = True
            if state.global_step == self.warmup + self.steps and self.started is not None:
                _sync(self.device)
                self.seconds = time.perf_counter() - self.started
            return control

    return Stopwatch


def measure_plain_loop(
    name: str,
    model: Any,
    batches: Iterator[dict[str, Any]],
    device: str,
    steps: int,
    warmup: int,
    tokens_per_step: int,
    learning_rate: float = 5e-4,
    bf16: bool = True,
) -> Measurement:
    """The ceiling: a hand-written loop (bf16 autocast, fused AdamW, no Trainer) on the same model.

    `batches` yields model inputs already on the device (e.g. `{"input_ids": ..., "mask_on_device": True}`).
    """
    import torch

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, fused=device == "cuda")
    use_bf16 = bf16 and device == "cuda"
    started = 0.0
    with _PeakMemory(device) as memory:
        for step in range(warmup + steps):
            if step == warmup:
                _sync(device)
                started = time.perf_counter()
            batch = next(batches)
            with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_bf16):
                loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        _sync(device)
        seconds = time.perf_counter() - started
    return Measurement(
        name=name,
        tokens=steps * tokens_per_step,
        seconds=seconds,
        steps=steps,
        peak_memory_bytes=memory.peak_bytes,
    )


# --- the bench --------------------------------------------------------------------------------


@dataclass
class BenchResult:
    """What `studio bench` reports; `seed` is the blog's recipe (the seed of the comparison)."""

    device: str
    device_name: str
    seed_tokens_per_s: float
    studio_tokens_per_s: float
    ratio: float
    seed_peak_memory_bytes: int | None
    studio_peak_memory_bytes: int | None
    model: dict[str, Any]
    params: int
    vocab_size: int
    corpus: str
    seed_setup: dict[str, Any]
    studio_setup: dict[str, Any]
    rounds: int
    steps: int
    warmup: int
    seconds: float
    threads: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_device(device: str) -> str:
    """`auto` is CUDA when available, else CPU; asking for CUDA without it is a user error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise StudioError("--device cuda: no CUDA device is available here", "use --device cpu")
    if device not in ("cpu", "cuda"):
        raise StudioError(f"--device {device}: unknown device", "use cpu, cuda or auto")
    return device


def device_name(device: str) -> str:
    import platform

    if device == "cuda":
        import torch

        return str(torch.cuda.get_device_name(0))
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def run_bench(
    corpus: str | Path | None = None,
    device: str = "auto",
    preset: str = "tiny-cpu",
    tokenizer_dir: str | Path | None = None,
    vocab_size: int = BLOG_VOCAB_SIZE,
    steps: int | None = None,
    warmup: int | None = None,
    rounds: int = 2,
    recipe_batch: int | None = None,
    studio_batch: int | None = None,
    overrides: Sequence[str] = (),
    work_dir: str | Path | None = None,
    threads: int | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelFlag | None = None,
) -> BenchResult:
    """Train the blog's recipe and Studio's default alternately and compare real tokens/s.

    Without `corpus`, the demo corpus is generated into a temporary folder; without
    `tokenizer_dir`, the blog's byte-level BPE is trained on the corpus. `overrides` are
    `--set` strings applied to both contenders (e.g. `model.num_hidden_layers=4`). `threads`
    sets torch's CPU threads; by default torch's choice, or 1 on a CPU that is already busy
    (threads that spin-wait for cores other processes hold can make every step 10x slower).
    """
    device = resolve_device(device)
    on_gpu = device == "cuda"
    steps = steps if steps is not None else (30 if on_gpu else 8)
    warmup = warmup if warmup is not None else (5 if on_gpu else 2)
    if steps < 1 or warmup < 0 or rounds < 1:
        raise StudioError("--steps and --rounds must be at least 1, --warmup at least 0")
    threads = _choose_threads(device, threads)
    started = time.perf_counter()
    with _work_folder(work_dir) as work:
        progress(ProgressUpdate("bench", 0, None, "preparing the corpus and tokenizer"))
        corpus_path = Path(corpus) if corpus is not None else _demo_corpus(work)
        if not corpus_path.exists():
            raise StudioError(f"--corpus {corpus_path}: no such file or folder")
        tokenizer_path = Path(tokenizer_dir) if tokenizer_dir is not None else work / "tokenizer"
        tokenizer = _bench_tokenizer(corpus_path, tokenizer_dir, tokenizer_path, vocab_size)
        _check(cancel)
        configs = _contender_configs(
            preset, corpus_path, tokenizer_path, overrides, recipe_batch, studio_batch, device
        )
        contenders = _prepare_contenders(configs, tokenizer, work, progress, cancel)
        totals = {name: Measurement(name) for name in contenders}
        total_phases = rounds * len(contenders)
        for round_index in range(rounds):
            for position, (name, parts) in enumerate(contenders.items()):
                done = round_index * len(contenders) + position
                progress(ProgressUpdate("bench", done, total_phases, f"round {round_index + 1}: {name}"))
                measured = measure_trainer(
                    name,
                    parts["model"],
                    parts["config"],
                    parts["data"].train,
                    parts["collator"],
                    device,
                    steps,
                    warmup,
                    work / f"out-{name}",
                    packed_tokens_per_step=parts["packed_tokens_per_step"],
                    cancel=cancel,
                )
                totals[name].add(measured)
                totals[name].batch_size, totals[name].block_size = measured.batch_size, measured.block_size
        progress(ProgressUpdate("bench", total_phases, total_phases, "done"))
        seed, studio = totals["recipe"], totals["studio"]
        model = contenders["studio"]["model"]
        return BenchResult(
            device=device,
            device_name=device_name(device),
            seed_tokens_per_s=round(seed.tokens_per_s, 1),
            studio_tokens_per_s=round(studio.tokens_per_s, 1),
            ratio=round(studio.tokens_per_s / seed.tokens_per_s, 3) if seed.tokens_per_s else 0.0,
            seed_peak_memory_bytes=seed.peak_memory_bytes,
            studio_peak_memory_bytes=studio.peak_memory_bytes,
            model=configs["studio"].model.to_dict(),
            params=int(sum(p.numel() for p in model.parameters())),
            vocab_size=len(tokenizer),
            corpus=str(corpus_path) if corpus is not None else "demo corpus (generated)",
            seed_setup=_setup(configs["recipe"], seed, packed=False),
            studio_setup=_setup(configs["studio"], studio, packed=True),
            rounds=rounds,
            steps=steps,
            warmup=warmup,
            seconds=round(time.perf_counter() - started, 1),
            threads=threads,
        )


def _choose_threads(device: str, threads: int | None) -> int:
    import torch

    if threads is None and device == "cpu":
        cores = os.cpu_count() or 1
        if hasattr(os, "getloadavg") and os.getloadavg()[0] >= cores:
            threads = 1
    if threads is not None:
        torch.set_num_threads(max(1, threads))
    return int(torch.get_num_threads())


def _setup(config: RunConfig, measured: Measurement, packed: bool) -> dict[str, Any]:
    return {
        "mode": config.studio.mode,
        "packed": packed,
        "block_size": measured.block_size,
        "batch_size": measured.batch_size,
        "tokens": measured.tokens,
        "seconds": round(measured.seconds, 3),
    }


def _contender_configs(
    preset: str,
    corpus: Path,
    tokenizer_dir: Path,
    overrides: Sequence[str],
    recipe_batch: int | None,
    studio_batch: int | None,
    device: str,
) -> dict[str, RunConfig]:
    from studio.config import check_hf_fields
    from studio.model.build import config_from_preset

    base = config_from_preset(preset, str(corpus), str(tokenizer_dir))
    if overrides:
        base = base.with_overrides(overrides)
    check_hf_fields(base)
    base.data.validation_split = 0.0
    if recipe_batch is None:
        # The blog's 64 on a GPU; on a CPU tokens/s hardly depend on the batch, and the recipe's
        # full head makes each of its steps slow, so it takes the preset's batch there.
        recipe_batch = (
            RECIPE_BATCH_SIZE if device == "cuda" else int(base.train["per_device_train_batch_size"])
        )
    recipe = base.with_overrides(
        [
            "studio.mode=recipe",
            f"data.block_size={RECIPE_BLOCK_SIZE}",
            "data.packing=false",
            f"train.per_device_train_batch_size={recipe_batch}",
        ]
    )
    studio = base.with_overrides(["studio.mode=fast"])
    if studio_batch is not None:
        studio.train["per_device_train_batch_size"] = int(studio_batch)
    positions = int(base.model.fields.get("max_position_embeddings", 0) or 0)
    needed = max(recipe.data.block_size, studio.data.block_size) + 2
    if base.model.arch == "roberta" and positions and positions < needed:
        raise StudioError(
            f"model.max_position_embeddings is {positions}, the blocks need {needed}",
            f"--set model.max_position_embeddings={needed}",
        )
    return {"recipe": recipe, "studio": studio}


def _prepare_contenders(
    configs: dict[str, RunConfig],
    tokenizer: Any,
    work: Path,
    progress: ProgressCallback,
    cancel: CancelFlag | None,
) -> dict[str, dict[str, Any]]:
    from studio.train.data import prepare_datasets
    from studio.train.engine import build_collator, build_model

    contenders: dict[str, dict[str, Any]] = {}
    for name, config in configs.items():
        progress(ProgressUpdate("bench", 0, None, f"tokenizing the corpus for the {name}"))
        data = prepare_datasets(config, tokenizer, cache_dir=work / "cache", cancel=cancel)
        batch = int(config.train["per_device_train_batch_size"])
        contenders[name] = {
            "config": config,
            "data": data,
            "model": build_model(config, tokenizer),  # the same seed: the same initial weights
            "collator": build_collator(config, tokenizer),
            "packed_tokens_per_step": batch * data.block_size if data.packed else None,
        }
    return contenders


def _bench_tokenizer(corpus: Path, tokenizer_dir: str | Path | None, out: Path, vocab_size: int) -> Any:
    import transformers

    if tokenizer_dir is None:
        return train_bytelevel_tokenizer(corpus, out, vocab_size=vocab_size)
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir))
    except (OSError, ValueError) as exc:
        raise StudioError(f"--tokenizer {tokenizer_dir}: cannot be loaded ({exc})") from None
    if tokenizer.mask_token_id is None:
        raise StudioError(
            f"--tokenizer {tokenizer_dir}: has no mask token", "masked LM needs one (e.g. <mask>)"
        )
    return tokenizer


def _demo_corpus(work: Path) -> Path:
    from studio.corpus.demo import write_demo_corpus

    folder = work / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    return write_demo_corpus(folder / "demo-esperanto.txt", n_lines=DEMO_BENCH_LINES)


@contextlib.contextmanager
def _work_folder(work_dir: str | Path | None) -> Iterator[Path]:
    if work_dir is not None:
        path = Path(work_dir)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as tmp:
        yield Path(tmp)


def _check(cancel: CancelFlag | None) -> None:
    if cancel is not None:
        cancel.check()
