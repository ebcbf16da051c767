"""Estimates of a model's cost: exact parameters, FLOPs per token, memory, data and time.

Parameters are counted on a model built on the `meta` device (no memory, exact: tied weights
once). FLOPs per token are 6 per matrix-multiplied parameter (forward 2, backward 4) plus
attention, 6 × layers × context × attention width (Kaplan et al. 2020). Memory adds fp32 weights,
gradients and AdamW's two moments to activations at this batch size and precision (Korthikanti et
al. 2022, an upper bound: fused attention keeps less). Corpus tokens come from tokenizing a sample
spread through the corpus and scaling by its size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studio.config import RunConfig
from studio.progress import CancelFlag, ProgressCallback, ProgressUpdate, no_progress

CHINCHILLA_TOKENS_PER_PARAM = 20
ADAMW_STATES = 2  # first and second moments, fp32
SAMPLE_BYTES = 1 << 20  # corpus bytes tokenized to estimate its token count
_TEXT_SUFFIXES = (".txt", ".text", ".md", "")


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes of training memory by kind, per device."""

    weights: int
    gradients: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations


@dataclass(frozen=True)
class Estimate:
    """Every figure the Model screen and `studio model check` show."""

    params: int
    matmul_params: int
    flops_per_token: int
    memory: MemoryEstimate
    tokens_per_step: int
    planned_steps: int | None
    planned_tokens: int | None
    corpus_tokens: int | None = None
    tokens_per_second: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def chinchilla_tokens(self) -> int:
        """Compute-optimal training tokens for this size: 20 per parameter."""
        return CHINCHILLA_TOKENS_PER_PARAM * self.params

    @property
    def training_flops(self) -> int | None:
        return self.flops_per_token * self.planned_tokens if self.planned_tokens else None

    @property
    def epochs(self) -> float | None:
        """How many times the planned tokens go through the corpus."""
        if self.planned_tokens and self.corpus_tokens:
            return self.planned_tokens / self.corpus_tokens
        return None

    def seconds_to_train(self, tokens: int | None = None) -> float | None:
        """Time to train `tokens` (default: the planned tokens) at the measured throughput."""
        tokens = tokens or self.planned_tokens
        if not tokens or not self.tokens_per_second:
            return None
        return tokens / self.tokens_per_second

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "matmul_params": self.matmul_params,
            "flops_per_token": self.flops_per_token,
            "memory": {**asdict(self.memory), "total": self.memory.total},
            "memory_bytes": self.memory.total,
            "tokens_per_step": self.tokens_per_step,
            "planned_steps": self.planned_steps,
            "planned_tokens": self.planned_tokens,
            "training_flops": self.training_flops,
            "corpus_tokens": self.corpus_tokens,
            "chinchilla_tokens": self.chinchilla_tokens,
            "epochs": self.epochs,
            "tokens_per_second": self.tokens_per_second,
            "seconds_to_train": self.seconds_to_train(),
            "notes": list(self.notes),
        }


def count_parameters(config: RunConfig) -> tuple[int, int, Any]:
    """(all parameters, parameters used in matrix products, the HF config), built on `meta`."""
    from studio.model.build import build_model

    model = build_model(config, device="meta")
    total = sum(p.numel() for p in model.parameters())
    input_embeddings = model.get_input_embeddings()
    lookups = sum(p.numel() for name, p in model.named_parameters() if _is_lookup(name))
    matmul = total - lookups
    output = model.get_output_embeddings()
    if output is not None and input_embeddings is not None and output.weight is input_embeddings.weight:
        matmul += output.weight.numel()  # a tied head is counted once but multiplies every token
    return total, matmul, model.config


def _is_lookup(name: str) -> bool:
    """Embedding tables are indexed, not multiplied; their norms are neither."""
    lowered = name.lower()
    if "norm" in lowered:
        return False
    return (
        "embeddings" in lowered
        or lowered.startswith(("wte.", "wpe."))
        or ".wte." in lowered
        or ".wpe." in lowered
    )


def _attention_context(hf_config: Any, block: int) -> int:
    """Keys each query sees: the block, or Reformer's chunks around it."""
    if getattr(hf_config, "model_type", "") != "reformer":
        return block
    contexts = []
    for kind in hf_config.attn_layers:
        chunk = getattr(hf_config, f"{kind}_attn_chunk_length")
        around = (
            1
            + getattr(hf_config, f"{kind}_num_chunks_before")
            + getattr(hf_config, f"{kind}_num_chunks_after")
        )
        hashes = hf_config.num_hashes if kind == "lsh" else 1
        contexts.append(min(block, chunk * around) * hashes)
    return round(sum(contexts) / max(1, len(contexts)))


def estimate(
    config: RunConfig, corpus_tokens: int | None = None, tokens_per_second: float | None = None
) -> Estimate:
    """The estimates for a valid config (imports torch and transformers)."""
    total, matmul, hf_config = count_parameters(config)
    block = config.data.block_size
    layers = int(getattr(hf_config, "num_hidden_layers", 0) or len(getattr(hf_config, "attn_layers", ())))
    hidden = int(hf_config.hidden_size)
    heads = int(hf_config.num_attention_heads)
    head_dim = int(
        getattr(hf_config, "attention_head_size", 0) or getattr(hf_config, "head_dim", 0) or hidden // heads
    )
    context = _attention_context(hf_config, block)
    flops = 6 * matmul + 6 * layers * context * heads * head_dim
    train = config.train
    batch = int(train.get("per_device_train_batch_size", 8))
    accumulation = int(train.get("gradient_accumulation_steps", 1))
    tokens_per_step = batch * accumulation * block
    steps = train.get("max_steps", -1)
    planned_steps: int | None = steps if isinstance(steps, int) and steps > 0 else None
    notes: list[str] = []
    if planned_steps is None and corpus_tokens:
        epochs = float(train.get("num_train_epochs", 3.0))
        planned_steps = max(1, math.ceil(epochs * corpus_tokens / tokens_per_step))
        notes.append(f"steps from {epochs:g} epochs over the corpus")
    memory = memory_estimate(config, hf_config, total, layers, hidden, heads, context)
    return Estimate(
        params=total,
        matmul_params=matmul,
        flops_per_token=flops,
        memory=memory,
        tokens_per_step=tokens_per_step,
        planned_steps=planned_steps,
        planned_tokens=planned_steps * tokens_per_step if planned_steps else None,
        corpus_tokens=corpus_tokens,
        tokens_per_second=tokens_per_second,
        notes=notes,
    )


def memory_estimate(
    config: RunConfig, hf_config: Any, params: int, layers: int, hidden: int, heads: int, context: int
) -> MemoryEstimate:
    """Weights, gradients and AdamW moments in fp32 (mixed precision keeps fp32 masters), and
    activations for one micro-batch at this precision."""
    train = config.train
    half = bool(train.get("bf16") or train.get("fp16"))
    act_bytes = 2 if half else 4
    batch = int(train.get("per_device_train_batch_size", 8))
    block = config.data.block_size
    tokens = batch * block
    if train.get("gradient_checkpointing"):  # only each layer's input is kept, plus one layer rebuilt
        per_layer = hidden * act_bytes
        activations = tokens * (layers * per_layer + (17 * hidden + 2.5 * heads * context) * act_bytes)
    else:  # Korthikanti et al.: 34·s·b·h + 5·a·s²·b bytes per layer in 16-bit
        activations = layers * tokens * (17 * hidden + 2.5 * heads * context) * act_bytes
    vocab = int(getattr(hf_config, "vocab_size", 0))
    activations += tokens * vocab * 4 * 2  # fp32 logits and their gradient
    return MemoryEstimate(
        weights=params * 4,
        gradients=params * 4,
        optimizer=params * 4 * ADAMW_STATES,
        activations=int(activations),
    )


# --- tokens in the corpus ---------------------------------------------------------------------------


def corpus_files(corpus: str | Path) -> list[Path]:
    """The plain-text files of a corpus (a file, or a folder of them)."""
    path = Path(corpus)
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in _TEXT_SUFFIXES and not p.name.startswith(".")
        )
    return []


def count_corpus_tokens(
    corpus: str | Path,
    tokenizer_dir: str | Path,
    sample_bytes: int = SAMPLE_BYTES,
    progress: ProgressCallback = no_progress,
    cancel: CancelFlag | None = None,
) -> int | None:
    """Tokens in the corpus under this tokenizer, from a sample spread through it (None: not plain text)."""
    files = [f for f in corpus_files(corpus) if f.suffix.lower() in _TEXT_SUFFIXES]
    if not files:
        return None
    encode = _encoder(tokenizer_dir)
    total_bytes = sum(f.stat().st_size for f in files)
    if total_bytes == 0:
        return 0
    sampled_bytes = sampled_tokens = 0
    per_file = max(4096, sample_bytes // len(files))
    for index, file in enumerate(files):
        if cancel:
            cancel.check()
        text = _sample(file, per_file)
        sampled_bytes += len(text.encode("utf-8"))
        sampled_tokens += sum(len(ids) for ids in encode(text.splitlines()))
        progress(ProgressUpdate("counting tokens", index + 1, len(files)))
        if sampled_bytes >= sample_bytes:
            break
    if sampled_bytes == 0:
        return 0
    return round(sampled_tokens * total_bytes / sampled_bytes)


def _sample(file: Path, budget: int, pieces: int = 16) -> str:
    """Whole lines from `pieces` places spread through the file, about `budget` bytes in all."""
    size = file.stat().st_size
    with file.open("rb") as handle:
        if size <= budget:
            return handle.read().decode("utf-8", errors="replace")
        chunks = []
        step, piece = size // pieces, budget // pieces
        for i in range(pieces):
            handle.seek(i * step)
            raw = handle.read(piece)
            if i:  # drop the partial first line
                raw = raw.partition(b"\n")[2]
            chunks.append(raw.rpartition(b"\n")[0])
        return b"\n".join(chunks).decode("utf-8", errors="replace")


def _encoder(tokenizer_dir: str | Path) -> Any:
    path = Path(tokenizer_dir)
    json_file = path / "tokenizer.json" if path.is_dir() else path
    if json_file.suffix == ".json" and json_file.is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(json_file))
        return lambda lines: [e.ids for e in tokenizer.encode_batch(lines, add_special_tokens=False)]
    import sentencepiece as spm

    model = next(iter(sorted((path if path.is_dir() else path.parent).glob("*.model"))))
    processor = spm.SentencePieceProcessor(model_file=str(model))
    return lambda lines: processor.encode(lines)


# --- readable figures ----------------------------------------------------------------------------


def human_count(n: float | None) -> str:
    """83504416 -> '83.5M'."""
    if n is None:
        return "–"
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.3g}" if isinstance(n, float) else str(n)


def human_bytes(n: float | None) -> str:
    """1536 -> '1.5 KiB'."""
    if n is None:
        return "–"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_seconds(seconds: float | None) -> str:
    """3725 -> '1h 2m'."""
    if seconds is None:
        return "–"
    seconds = round(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
