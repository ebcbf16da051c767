"""Corpus formats: detect what a path holds and load its text through `datasets`.

A corpus is any of: plain text (`.txt`, one document per line, LF or CRLF), gzip-compressed text
(`.txt.gz`, `.gz`), JSON lines (`.jsonl`, `.json`, `.ndjson`), `.csv`/`.tsv`, `.parquet` (each with
a text column, `text` by default), a folder of such files read as one corpus, or a `datasets`
dataset saved with `save_to_disk`.

`describe_corpus` is cheap (it only looks at names and sizes) and tells the viewer what it is
dealing with; `load_text_dataset` is what the tokenizer trainer and the training data pipeline
call: it always returns a `datasets.Dataset` with exactly one string column, `text`. Everything
non-plain is parsed by `datasets`/`pyarrow`, never by hand. `datasets` is imported inside the
functions that need it so that importing this module stays cheap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from studio.errors import StudioError

if TYPE_CHECKING:
    import datasets

# File suffix (after stripping a trailing `.gz`) -> the `datasets` packaged builder that reads it.
_BUILDER_BY_SUFFIX = {
    ".txt": "text",
    ".text": "text",
    ".jsonl": "json",
    ".json": "json",
    ".ndjson": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
}
SUPPORTED_SUFFIXES = (*_BUILDER_BY_SUFFIX, ".gz")
SUPPORTED_HINT = "use .txt, .txt.gz, .jsonl, .csv, .parquet, a folder of them, or a save_to_disk dataset"
# Files `save_to_disk` writes next to its arrow shards; their presence marks a saved dataset.
_SAVED_DATASET_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")


@dataclass(frozen=True)
class CorpusFile:
    """One file of a corpus: where it is, which `datasets` builder reads it, and its size."""

    path: Path
    builder: str  # "text", "json", "csv" or "parquet"
    size: int
    compressed: bool = False

    @property
    def is_plain(self) -> bool:
        """True for uncompressed text, which the viewer and statistics read straight from disk."""
        return self.builder == "text" and not self.compressed


@dataclass(frozen=True)
class CorpusInfo:
    """What a corpus path holds, found from names and sizes only (nothing is parsed)."""

    path: Path
    kind: str  # "file", "folder" or "saved-dataset"
    files: tuple[CorpusFile, ...] = field(default_factory=tuple)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def is_plain(self) -> bool:
        """True when every file is uncompressed text: no conversion is needed to view it."""
        return self.kind != "saved-dataset" and all(f.is_plain for f in self.files)

    @property
    def format_name(self) -> str:
        """A short human label: `text`, `jsonl`, `parquet`, `folder (3 files)`, ..."""
        if self.kind == "saved-dataset":
            return "datasets save_to_disk"
        if self.kind == "folder":
            return f"folder ({len(self.files)} files)"
        only = self.files[0]
        label = {"json": "jsonl"}.get(only.builder, only.builder)
        return f"{label}.gz" if only.compressed else label


def detect_builder(path: Path) -> tuple[str, bool] | None:
    """Return (`datasets` builder name, compressed?) for a file name, or None if unsupported."""
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes = suffixes[:-1]
        if not suffixes or suffixes[-1] not in _BUILDER_BY_SUFFIX:
            return "text", True  # a bare `.gz` is compressed plain text
    if not suffixes:
        return None
    builder = _BUILDER_BY_SUFFIX.get(suffixes[-1])
    return (builder, compressed) if builder else None


def is_saved_dataset(path: Path) -> bool:
    """True for a folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    return path.is_dir() and any((path / marker).is_file() for marker in _SAVED_DATASET_MARKERS)


def describe_corpus(path: str | Path) -> CorpusInfo:
    """Find what a corpus path holds without parsing it; a `StudioError` says what is wrong."""
    path = Path(path).expanduser()
    _check_readable(path)
    if is_saved_dataset(path):
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return CorpusInfo(path, "saved-dataset", (CorpusFile(path, "arrow", size),))
    if path.is_dir():
        files = tuple(_folder_files(path))
        if not files:
            raise StudioError(f"{path}: the folder holds no readable corpus files", SUPPORTED_HINT)
        return CorpusInfo(path, "folder", files)
    detected = detect_builder(path)
    if detected is None:
        raise StudioError(
            f"{path}: unknown corpus format {''.join(path.suffixes) or '(no suffix)'!r}", SUPPORTED_HINT
        )
    builder, compressed = detected
    return CorpusInfo(path, "file", (CorpusFile(path, builder, path.stat().st_size, compressed),))


def _check_readable(path: Path) -> None:
    denied = StudioError(
        f"{path}: permission denied", "make it readable (chmod +r) or copy it somewhere you can read"
    )
    try:
        path.stat()
    except FileNotFoundError:
        raise StudioError(
            f"{path}: no such file or folder", "check the path, or pick a file under corpora/"
        ) from None
    except PermissionError:
        raise denied from None  # a folder on the way is not searchable
    except OSError as exc:
        raise StudioError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not os.access(path, os.R_OK) or (path.is_dir() and not os.access(path, os.X_OK)):
        raise denied
    if not path.is_dir() and not path.is_file():
        raise StudioError(f"{path}: is not a regular file or folder", "give a file or a folder of files")


def _folder_files(folder: Path) -> list[CorpusFile]:
    """Supported, readable files under a folder (recursively, hidden ones skipped), sorted by path."""
    found: list[CorpusFile] = []
    for candidate in sorted(folder.rglob("*")):
        relative = candidate.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not candidate.is_file():
            continue
        detected = detect_builder(candidate)
        if detected is None or not os.access(candidate, os.R_OK):
            continue
        found.append(CorpusFile(candidate, detected[0], candidate.stat().st_size, detected[1]))
    return found


def load_text_dataset(
    path: str | Path, column: str = "text", cache_dir: str | Path | None = None
) -> datasets.Dataset:
    """Load any supported corpus as a `datasets.Dataset` with one string column, `text`.

    Plain text gives one row per line (empty lines kept, invalid UTF-8 replaced by U+FFFD);
    `.jsonl`/`.csv`/`.parquet` and saved datasets give one row per record, taken from `column`
    (missing values become empty strings). A folder is read as one corpus, its files in path order.
    `cache_dir` is where `datasets` keeps its Arrow cache (its default cache when None).
    Raises `StudioError` for a missing or unreadable path, an unknown format, a missing or
    non-text column (listing the columns present), a corrupt file and an empty corpus.
    """
    info = describe_corpus(path)
    cache = str(cache_dir) if cache_dir is not None else None
    if info.kind == "saved-dataset":
        parts = [_load_saved(info.path)]
    else:
        parts = [_load_files(builder, files, cache) for builder, files in _group_by_builder(info.files)]
    import datasets

    texts = [_text_column(part, column, info.path) for part in parts]
    dataset = texts[0] if len(texts) == 1 else datasets.concatenate_datasets(texts)
    if len(dataset) == 0:
        raise StudioError(
            f"{info.path}: the corpus is empty (no lines or records)",
            "point at a corpus with some text in it",
        )
    return dataset


def _group_by_builder(files: tuple[CorpusFile, ...]) -> list[tuple[str, list[CorpusFile]]]:
    """Runs of consecutive files read by the same builder, keeping the folder's path order."""
    groups: list[tuple[str, list[CorpusFile]]] = []
    for file in files:
        key = file.builder + (":tsv" if file.path.name.lower().removesuffix(".gz").endswith(".tsv") else "")
        if groups and groups[-1][0] == key:
            groups[-1][1].append(file)
        else:
            groups.append((key, [file]))
    return groups


def _load_files(builder_key: str, files: list[CorpusFile], cache_dir: str | None) -> datasets.Dataset:
    import datasets

    builder, _, variant = builder_key.partition(":")
    options: dict[str, object] = {}
    if builder == "text":
        options["encoding_errors"] = "replace"
    if variant == "tsv":
        options["delimiter"] = "\t"
    names = [str(f.path) for f in files]
    if builder == "text" and all(f.size == 0 for f in files):
        # the text builder refuses a set of only empty files; an empty corpus is reported by the caller
        return datasets.Dataset.from_dict(
            {"text": []}, features=datasets.Features({"text": datasets.Value("string")})
        )
    datasets.disable_progress_bars()  # they would write over the TUI and clutter CLI output
    try:
        return datasets.load_dataset(builder, data_files=names, split="train", cache_dir=cache_dir, **options)
    except StudioError:
        raise
    except Exception as exc:  # datasets wraps parser errors in several types; name the file and cause
        raise StudioError(
            f"{_which(files)}: could not be read as {builder}: {_root_cause(exc)}",
            "check that the file is complete and in the format its name says",
        ) from None


def _load_saved(path: Path) -> datasets.Dataset:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise StudioError(f"{path}: could not be read as a saved dataset: {_root_cause(exc)}") from None
    if isinstance(loaded, datasets.DatasetDict):
        if "train" in loaded:
            return loaded["train"]
        if not loaded:
            raise StudioError(f"{path}: the saved dataset has no splits")
        return datasets.concatenate_datasets([loaded[name] for name in sorted(loaded)])
    return loaded


def _text_column(dataset: datasets.Dataset, column: str, where: Path) -> datasets.Dataset:
    """Keep only `column`, renamed to `text`; refuse non-text columns; nulls become ''."""
    import datasets

    if column not in dataset.column_names:
        raise StudioError(
            f"{where}: no column {column!r}; the columns are {', '.join(dataset.column_names) or '(none)'}",
            "choose the text column with --column NAME (or in the Corpus screen)",
        )
    dataset = dataset.select_columns([column])
    if column != "text":
        dataset = dataset.rename_column(column, "text")
    feature = dataset.features["text"]
    if not (isinstance(feature, datasets.Value) and feature.dtype in ("string", "large_string")):
        raise StudioError(
            f"{where}: column {column!r} holds {feature}, not text",
            "choose a column of strings with --column NAME",
        )
    if dataset.data.column("text").null_count:
        dataset = dataset.map(lambda batch: {"text": [t or "" for t in batch["text"]]}, batched=True)
    return dataset


def _which(files: list[CorpusFile]) -> str:
    return str(files[0].path) if len(files) == 1 else f"{files[0].path.parent} ({len(files)} files)"


def _root_cause(exc: BaseException) -> str:
    """The innermost cause of a (wrapped) library exception, as one short line."""
    while exc.__cause__ is not None or (exc.__context__ is not None and not exc.__suppress_context__):
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
