"""Training data: corpus -> tokenized `datasets` -> packed blocks (or lines), cached by fingerprint.

Two shapes of data, as `run_mlm.py` knows them:

- **packed** (the default): every document is tokenized with its special tokens, the documents are
  concatenated and cut into blocks of exactly `block_size` tokens (`group_texts`). No padding, so
  every token the model sees is a real one, and the collator only has to stack ids.
- **line by line** (`data.packing: false`, and always in the blog's `recipe` mode): one example per
  non-empty line, truncated to `block_size`; the collator pads each batch to its longest line.

Tokenization is a batched `datasets.map` over all cores. The prepared splits are saved under
`cache_dir/tokenized/<fingerprint>/`, where the fingerprint covers the corpus files (path, size,
modification time), the tokenizer (its full JSON), and every setting that changes the result, so
a second run on the same inputs starts training at once.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.config import RunConfig
from studio.errors import StudioError
from studio.progress import CancelFlag, ProgressCallback, ProgressUpdate, no_progress

if TYPE_CHECKING:
    import datasets

# Bumped whenever the way blocks are made changes, so old caches are not reused by mistake.
DATA_FORMAT_VERSION = 1
# Lines per `map` batch: large enough that the block remainder dropped per batch is negligible.
MAP_BATCH_LINES = 2000
# Below this many lines, starting worker processes costs more than it saves.
LINES_PER_PROCESS = 20_000


@dataclass
class PreparedData:
    """The training (and optional evaluation) split, ready for the `Trainer`.

    `train_tokens` counts the real (non-padding) tokens of the training split.
    """

    train: datasets.Dataset
    eval: datasets.Dataset | None
    block_size: int
    packed: bool
    train_tokens: int
    eval_tokens: int = 0
    cache_path: Path | None = None
    from_cache: bool = False


def uses_packing(config: RunConfig) -> bool:
    """Packed blocks unless the user turned packing off or asked for the blog's recipe."""
    return bool(config.data.packing) and config.studio.mode != "recipe"


def prepare_datasets(
    config: RunConfig,
    tokenizer: Any,
    cache_dir: str | Path | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelFlag | None = None,
    packing: bool | None = None,
) -> PreparedData:
    """Load, split, tokenize and pack the corpus of `config` for training with `tokenizer`.

    `packing` overrides what the config implies (tests use it to compare paths on equal data).
    Raises `StudioError` when the corpus cannot be read or holds less than one block of text.
    """
    packed = uses_packing(config) if packing is None else packing
    block_size = int(config.data.block_size)
    if block_size < 2:
        raise StudioError(f"data.block_size is {block_size}", "use a block size of at least 2 (512 is usual)")
    if not config.data.corpus:
        raise StudioError(
            "data.corpus is not set", "give the corpus path in the config or with --set data.corpus=PATH"
        )
    cache_root = Path(cache_dir) if cache_dir is not None else None
    key = _fingerprint(config, tokenizer, packed)
    saved = cache_root / "tokenized" / key if cache_root is not None else None
    if saved is not None and (saved / "meta.json").exists():
        loaded = _load_prepared(saved)
        if loaded is not None:
            progress(ProgressUpdate("data", 1, 1, "tokenized corpus loaded from cache"))
            return loaded

    import datasets

    datasets.disable_progress_bars()  # they would write over the TUI and clutter the worker log
    progress(ProgressUpdate("data", 0, None, f"reading {config.data.corpus}"))
    raw = _load_corpus(config, cache_root)
    _check(cancel)
    if config.data.max_lines is not None:
        raw = raw.select(range(min(len(raw), int(config.data.max_lines))))
    train_raw, eval_raw = _split(raw, config)
    _check(cancel)

    num_proc = _num_proc(config, len(raw))
    splits = {"train": train_raw} if eval_raw is None else {"train": train_raw, "eval": eval_raw}
    tokenized: dict[str, datasets.Dataset] = {}
    for index, (name, split) in enumerate(splits.items()):
        progress(
            ProgressUpdate(
                "data", index, len(splits), f"tokenizing {name} ({len(split):,} lines, {num_proc} proc)"
            )
        )
        tokenized[name] = _tokenize(split, tokenizer, block_size, packed, num_proc)
        _check(cancel)

    train = tokenized["train"]
    if len(train) == 0:
        raise StudioError(
            f"{config.data.corpus}: the corpus is smaller than one block of {block_size} tokens",
            "use more text, or a smaller data.block_size (e.g. --set data.block_size=128)",
        )
    evaluation = tokenized.get("eval")
    if evaluation is not None and len(evaluation) == 0:
        progress(ProgressUpdate("data", 1, 1, "validation split is smaller than one block: no evaluation"))
        evaluation = None
    prepared = PreparedData(
        train=train,
        eval=evaluation,
        block_size=block_size,
        packed=packed,
        train_tokens=_count_tokens(train, block_size, packed),
        eval_tokens=_count_tokens(evaluation, block_size, packed) if evaluation is not None else 0,
        cache_path=saved,
    )
    if saved is not None:
        progress(ProgressUpdate("data", len(splits), len(splits), "saving the tokenized corpus to the cache"))
        _save_prepared(prepared, saved)
    progress(
        ProgressUpdate("data", 1, 1, f"{prepared.train_tokens:,} training tokens in {len(train):,} examples")
    )
    return prepared


# --- loading and splitting ---------------------------------------------------------------------


def _load_corpus(config: RunConfig, cache_root: Path | None) -> datasets.Dataset:
    from studio.corpus.formats import load_text_dataset

    cache = cache_root / "datasets" if cache_root is not None else None
    return load_text_dataset(config.data.corpus, config.data.text_column, cache_dir=cache)


def _split(raw: datasets.Dataset, config: RunConfig) -> tuple[datasets.Dataset, datasets.Dataset | None]:
    """A seeded random validation split of `validation_split` of the lines (at least one line)."""
    share = float(config.data.validation_split or 0.0)
    if share <= 0 or len(raw) < 2:
        return raw, None
    if share >= 1:
        raise StudioError(
            f"data.validation_split is {share}", "give a fraction below 1, e.g. 0.01 (or 0 for no evaluation)"
        )
    n_eval = max(1, round(len(raw) * share))
    parts = raw.train_test_split(test_size=n_eval, shuffle=True, seed=int(config.train.get("seed", 42)))
    return parts["train"], parts["test"]


def _num_proc(config: RunConfig, n_lines: int) -> int:
    """`data.num_proc`, else all cores for a large corpus and one process for a small one."""
    if config.data.num_proc is not None:
        return max(1, int(config.data.num_proc))
    return max(1, min(os.cpu_count() or 1, n_lines // LINES_PER_PROCESS))


# --- tokenization ------------------------------------------------------------------------------


class _Tokenize:
    """The batched `map` function: a picklable object, so `num_proc` workers can run it."""

    def __init__(self, tokenizer: Any, block_size: int, packed: bool) -> None:
        self.tokenizer = tokenizer
        self.block_size = block_size
        self.packed = packed
        # Decoder tokenizers (GPT-2) add no specials: separate documents with the end-of-text id.
        probe = tokenizer("a", add_special_tokens=True)["input_ids"]
        eos = getattr(tokenizer, "eos_token_id", None)
        self.separator = [eos] if eos is not None and (not probe or probe[-1] != eos) else []

    def __call__(self, batch: dict[str, list[str]]) -> dict[str, list[list[int]]]:
        lines = [line for line in batch["text"] if line and not line.isspace()]
        if not lines:
            return {"input_ids": []}
        if not self.packed:
            encoded = self.tokenizer(
                lines, add_special_tokens=True, truncation=True, max_length=self.block_size, verbose=False
            )
            return {"input_ids": encoded["input_ids"]}
        encoded = self.tokenizer(lines, add_special_tokens=True, verbose=False)["input_ids"]
        stream: list[int] = []
        for ids in encoded:
            stream.extend(ids)
            stream.extend(self.separator)
        # group_texts: cut into whole blocks; the remainder of the batch is dropped.
        usable = len(stream) // self.block_size * self.block_size
        return {"input_ids": [stream[i : i + self.block_size] for i in range(0, usable, self.block_size)]}


def _tokenize(
    split: datasets.Dataset, tokenizer: Any, block_size: int, packed: bool, num_proc: int
) -> datasets.Dataset:
    import datasets

    id_type = "int32" if len(tokenizer) < 2**31 else "int64"
    features = datasets.Features({"input_ids": datasets.Sequence(datasets.Value(id_type))})
    if num_proc > 1:
        # Children inherit a tokenizer whose Rust thread pool may already be running: disable it
        # there (each child is one core) rather than let tokenizers warn about the fork.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return split.map(
        _Tokenize(tokenizer, block_size, packed),
        batched=True,
        batch_size=MAP_BATCH_LINES,
        remove_columns=split.column_names,
        features=features,
        num_proc=num_proc if num_proc > 1 else None,
        desc="tokenizing",
        keep_in_memory=False,
    )


def _count_tokens(dataset: datasets.Dataset, block_size: int, packed: bool) -> int:
    if packed:
        return len(dataset) * block_size
    import pyarrow.compute as pc

    lengths = dataset.data.column("input_ids").combine_chunks().value_lengths()
    return int(pc.sum(lengths).as_py() or 0)


# --- cache -------------------------------------------------------------------------------------


def _fingerprint(config: RunConfig, tokenizer: Any, packed: bool) -> str:
    """A hash of everything the prepared data depends on."""
    digest = hashlib.sha256()
    payload = {
        "version": DATA_FORMAT_VERSION,
        "corpus": _corpus_signature(config.data.corpus),
        "column": config.data.text_column,
        "block_size": int(config.data.block_size),
        "packed": packed,
        "validation_split": float(config.data.validation_split or 0.0),
        "max_lines": config.data.max_lines,
        "seed": int(config.train.get("seed", 42)),
        "tokenizer": _tokenizer_signature(tokenizer),
    }
    digest.update(json.dumps(payload, sort_keys=True).encode())
    return digest.hexdigest()[:20]


def _corpus_signature(corpus: str) -> list[tuple[str, int, int]]:
    root = Path(corpus)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    signature = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue  # a missing corpus is reported by the loader, with a better message
        signature.append((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
    return signature


def _tokenizer_signature(tokenizer: Any) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        state = json.loads(backend.to_str())
        # Truncation and padding are per-call settings that each tokenizer call changes.
        state.pop("truncation", None)
        state.pop("padding", None)
        text = json.dumps(state, sort_keys=True)
    else:
        text = repr(sorted(tokenizer.get_vocab().items()))
    specials = getattr(tokenizer, "all_special_ids", [])
    return hashlib.sha256((text + repr(specials)).encode()).hexdigest()


def _save_prepared(prepared: PreparedData, path: Path) -> None:
    """Save both splits, then `meta.json` last: its presence marks a complete cache entry.

    Runs started together on the same data each prepare it and race to save it: the first entry
    in place wins, and the others keep their own copy in memory (the entries are identical). A
    complete entry is never removed: another run may be reading it."""
    import shutil

    if (path / "meta.json").exists():
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    prepared.train.save_to_disk(str(tmp / "train"))
    if prepared.eval is not None:
        prepared.eval.save_to_disk(str(tmp / "eval"))
    meta = {
        "block_size": prepared.block_size,
        "packed": prepared.packed,
        "train_tokens": prepared.train_tokens,
        "eval_tokens": prepared.eval_tokens,
        "has_eval": prepared.eval is not None,
    }
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    if not (path / "meta.json").exists():
        shutil.rmtree(path, ignore_errors=True)  # an incomplete entry (never renamed into place)
    try:
        tmp.replace(path)
    except OSError:
        if not (path / "meta.json").exists():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # another run's entry won the race, or ours is in place


def _load_prepared(path: Path) -> PreparedData | None:
    """The cached splits, or None when the entry is unreadable (it is then rebuilt)."""
    import datasets

    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        train = datasets.load_from_disk(str(path / "train"))
        evaluation = datasets.load_from_disk(str(path / "eval")) if meta["has_eval"] else None
    except (OSError, ValueError, KeyError):
        return None
    return PreparedData(
        train=train,
        eval=evaluation,
        block_size=int(meta["block_size"]),
        packed=bool(meta["packed"]),
        train_tokens=int(meta["train_tokens"]),
        eval_tokens=int(meta["eval_tokens"]),
        cache_path=path,
        from_cache=True,
    )


def _check(cancel: CancelFlag | None) -> None:
    if cancel is not None:
        cancel.check()
