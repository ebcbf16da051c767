"""The training subprocess: `python -m studio.tokenizer.worker OPTIONS_JSON OUT_DIR`.

The Rust and C++ trainers cannot be interrupted from a thread and write progress bars straight
to file descriptors 1 and 2, so training runs here, in a child process. Its first act is to move
fds 1 and 2 onto a log file: whatever native code prints lands in `train.log`, never on the
parent's terminal. Events for the parent go, one JSON object per line, to a duplicate of the
original stdout: `{"event": "phase", ...}`, `{"event": "done", ...}`, `{"event": "error", ...}`.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from studio import __version__
from studio.errors import StudioError
from studio.tokenizer.options import SENTENCEPIECE_KINDS, TOKENIZER_CLASS, TrainOptions

LOG_NAME = "train.log"
RECORD_NAME = "studio_tokenizer.json"
SPM_MODEL_NAME = "tokenizer.model"


class EventChannel:
    """JSON lines to the parent over the original stdout."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def send(self, event: str, **fields: Any) -> None:
        self.stream.write(json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n")
        self.stream.flush()

    def phase(self, name: str, done: float = 0, total: float | None = None, note: str = "") -> None:
        self.send("phase", phase=name, done=done, total=total, note=note)


def _capture_native_output(log_path: Path) -> EventChannel:
    """Keep a private copy of stdout for events, then point fds 1 and 2 at the log file."""
    events = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    return EventChannel(events)


def plain_text_files(corpus: str) -> list[str] | None:
    """The files of a plain-text corpus (read directly, fastest), or None when `datasets` must parse it."""
    from studio.corpus.formats import describe_corpus

    info = describe_corpus(corpus)
    if not info.is_plain:
        return None
    return [str(f.path) for f in info.files]


def iter_corpus_lines(options: TrainOptions, batch: int = 1000) -> Iterator[list[str]]:
    """Batches of lines (or records) of any supported corpus, at most `sample_lines` in all."""
    limit = options.sample_lines
    files = plain_text_files(options.corpus)
    produced = 0
    if files is not None:
        chunk: list[str] = []
        for name in files:
            with open(name, encoding="utf-8", errors="replace", newline=None) as handle:
                for line in handle:
                    chunk.append(line.rstrip("\n"))
                    produced += 1
                    if len(chunk) >= batch or (limit and produced >= limit):
                        yield chunk
                        chunk = []
                    if limit and produced >= limit:
                        return
        if chunk:
            yield chunk
        return
    from studio.corpus.formats import load_text_dataset

    dataset = load_text_dataset(options.corpus, options.text_column)
    total = len(dataset) if not limit else min(limit, len(dataset))
    for start in range(0, total, batch):
        yield dataset[start : min(total, start + batch)]["text"]


# --- the tokenizers library (bytelevel-bpe, wordpiece, unigram) -------------------------------------


def build_hf_tokenizer(options: TrainOptions) -> tuple[Any, Any]:
    """An untrained `tokenizers.Tokenizer` with its pipeline, and the trainer for the kind."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    specials = list(options.specials().order)
    unk = options.specials().roles.get("unk_token")
    limit: dict[str, Any] = {"limit_alphabet": options.limit_alphabet} if options.limit_alphabet else {}
    trainer: Any
    steps: list[Any] = []
    if options.normalization in ("nfkc", "nmt_nfkc") and options.kind != "bytelevel-bpe":
        steps.append(normalizers.NFKC())
    if options.lowercase:
        steps.append(normalizers.Lowercase())
    if options.kind == "bytelevel-bpe":
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=options.vocab_size,
            min_frequency=options.min_frequency,
            special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
            **limit,
        )
    elif options.kind == "wordpiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token=unk or "[UNK]"))
        if options.normalization != "none":
            steps.insert(0, normalizers.BertNormalizer(lowercase=False, strip_accents=False, clean_text=True))
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(
            vocab_size=options.vocab_size,
            min_frequency=options.min_frequency,
            special_tokens=specials,
            show_progress=False,
            **limit,
        )
    else:  # unigram
        tokenizer = Tokenizer(models.Unigram())
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(
            vocab_size=options.vocab_size,
            special_tokens=specials,
            unk_token=unk,
            show_progress=False,
            max_piece_length=16,
            **({"initial_alphabet": []} if not limit else {}),
        )
    if steps:
        tokenizer.normalizer = normalizers.Sequence(steps)
    return tokenizer, trainer


def train_hf(options: TrainOptions, events: EventChannel) -> Any:
    """Train a `tokenizers` kind; plain text files are handed to the Rust reader directly."""
    tokenizer, trainer = build_hf_tokenizer(options)
    files = plain_text_files(options.corpus)
    events.phase("training", note=f"{options.kind}, vocab {options.vocab_size}")
    if files is not None and not options.sample_lines:
        tokenizer.train(files, trainer=trainer)
    else:
        tokenizer.train_from_iterator(
            (line for chunk in iter_corpus_lines(options) for line in chunk), trainer=trainer
        )
    return tokenizer


# --- sentencepiece ----------------------------------------------------------------------------------


def train_sentencepiece(options: TrainOptions, out_dir: Path, events: EventChannel) -> Any:
    """Train with the sentencepiece library, keep its `.model`, and return the `tokenizers` twin."""
    import sentencepiece as spm

    from studio.tokenizer.spm import load_spm_as_tokenizer

    specials = options.specials()
    order = list(specials.order)
    roles = specials.roles
    ids: dict[str, int] = {"unk_id": -1, "bos_id": -1, "eos_id": -1, "pad_id": -1}
    role_of = {"unk_token": "unk_id", "bos_token": "bos_id", "eos_token": "eos_id", "pad_token": "pad_id"}
    ids["unk_id"] = order.index(roles["unk_token"]) if "unk_token" in roles else 0
    for role, id_name in role_of.items():
        if role in roles and id_name != "unk_id":
            ids[id_name] = order.index(roles[role])
    named = {roles[role] for role in role_of if role in roles}
    if "unk_token" not in roles:  # sentencepiece needs an unknown piece
        order.insert(0, "<unk>")
        ids = {k: (v + 1 if v >= 0 else v) for k, v in ids.items()}
        ids["unk_id"] = 0
    user_defined = [tok for tok in order if tok not in named and tok != "<unk>"]
    pieces = {
        "unk_piece": order[ids["unk_id"]],
        **({"bos_piece": order[ids["bos_id"]]} if ids["bos_id"] >= 0 else {}),
        **({"eos_piece": order[ids["eos_id"]]} if ids["eos_id"] >= 0 else {}),
        **({"pad_piece": order[ids["pad_id"]]} if ids["pad_id"] >= 0 else {}),
    }
    kwargs: dict[str, Any] = {
        "model_prefix": str(out_dir / "spm"),
        "model_type": "unigram" if options.kind == "sentencepiece-unigram" else "bpe",
        "vocab_size": options.vocab_size,
        "character_coverage": options.character_coverage,
        "byte_fallback": options.byte_fallback,
        "normalization_rule_name": options.normalization
        + ("_cf" if options.lowercase and options.normalization in ("nmt_nfkc", "nfkc") else ""),
        "max_sentence_length": options.max_sentence_length,
        "num_threads": options.threads or os.cpu_count() or 1,
        "user_defined_symbols": user_defined,
        "hard_vocab_limit": False,  # a small corpus gives a smaller vocabulary rather than an error
        **ids,
        **pieces,
    }
    if options.sample_lines:
        kwargs["input_sentence_size"] = options.sample_lines
        kwargs["shuffle_input_sentence"] = True
    files = plain_text_files(options.corpus)
    events.phase("training", note=f"{options.kind}, vocab {options.vocab_size}")
    try:
        if files is not None:
            spm.SentencePieceTrainer.train(input=files, **kwargs)
        else:
            spm.SentencePieceTrainer.train(
                sentence_iterator=(line for chunk in iter_corpus_lines(options) for line in chunk), **kwargs
            )
    except RuntimeError as exc:
        found = re.search(r"smaller than required_chars\. (\d+) vs (\d+)", str(exc))
        if found:
            raise _below_corpus_minimum(options, int(found.group(2))) from None
        raise
    model_path = out_dir / SPM_MODEL_NAME
    (out_dir / "spm.model").replace(model_path)
    (out_dir / "spm.vocab").unlink(missing_ok=True)
    return load_spm_as_tokenizer(model_path)


# --- saving -----------------------------------------------------------------------------------------


def add_post_processor(tokenizer: Any, options: TrainOptions) -> None:
    """Wrap single sequences and pairs in the target model's specials (`<s> … </s>`, `[CLS] … [SEP]`)."""
    from tokenizers import processors

    template = options.specials().template
    if not template:
        return
    before, after = template
    present = [t for t in (before, after) if t]
    ids = {t: tokenizer.token_to_id(t) for t in present}
    if any(i is None for i in ids.values()):
        return
    if options.kind == "bytelevel-bpe" and options.resolved_target() == "roberta":
        tokenizer.post_processor = processors.RobertaProcessing(
            (after, ids[after]), (before, ids[before]), trim_offsets=True, add_prefix_space=False
        )
        return
    single = " ".join(p for p in (before, "$A", after) if p)
    pair = " ".join(p for p in (before, "$A", after, "$B:1", after and f"{after}:1") if p)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=list(ids.items())
    )


def save_tokenizer(tokenizer: Any, options: TrainOptions, out_dir: Path, seconds: float) -> dict[str, Any]:
    """Write tokenizer.json, the transformers config files and Studio's record of the training."""
    add_post_processor(tokenizer, options)
    tokenizer.save(str(out_dir / "tokenizer.json"))
    specials = options.specials()
    roles = {role: tok for role, tok in specials.roles.items() if tokenizer.token_to_id(tok) is not None}
    extra = [t for t in specials.order if t not in roles.values()]
    target = options.resolved_target()
    tokenizer_class = "PreTrainedTokenizerFast"
    if options.kind == "sentencepiece-bpe":
        # transformers 5's Llama and Reformer tokenizer classes are BPE over SentencePiece pieces
        tokenizer_class = TOKENIZER_CLASS.get(target, tokenizer_class)
    config: dict[str, Any] = {
        "tokenizer_class": tokenizer_class,
        "model_max_length": options.model_max_length,
        "clean_up_tokenization_spaces": False,
        **roles,
        **({"additional_special_tokens": extra} if extra else {}),
    }
    if options.kind in SENTENCEPIECE_KINDS:
        config.update({"add_bos_token": target == "llama", "add_eos_token": False, "legacy": True})
    _write_json(out_dir / "tokenizer_config.json", config)
    _write_json(
        out_dir / "special_tokens_map.json",
        {**roles, **({"additional_special_tokens": extra} if extra else {})},
    )
    record = {
        "studio_version": __version__,
        "kind": options.kind,
        "target": target,
        "corpus": str(Path(options.corpus).resolve()),
        "options": options.to_dict(),
        "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
        "special_tokens": list(specials.order),
        "train_seconds": round(seconds, 3),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": sorted([*(p.name for p in out_dir.iterdir() if p.name != "options.json"), RECORD_NAME]),
    }
    _write_json(out_dir / RECORD_NAME, record)
    return record


def _below_corpus_minimum(options: TrainOptions, minimum: int) -> StudioError:
    specials = len(options.specials().order)
    return StudioError(
        f"vocab size {options.vocab_size} is below the minimum for this corpus ({minimum}: "
        f"its alphabet plus {specials} special tokens)",
        f"use --vocab-size {minimum} or more"
        + (
            ", or lower --character-coverage"
            if options.kind in SENTENCEPIECE_KINDS
            else ", or set --limit-alphabet"
        ),
    )


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def run(options: TrainOptions, out_dir: Path, events: EventChannel) -> dict[str, Any]:
    """Train and save into `out_dir` (the parent's temporary directory)."""
    started = time.perf_counter()
    events.phase("reading corpus", note=options.corpus)
    if options.threads:
        os.environ["RAYON_NUM_THREADS"] = str(options.threads)
    if options.kind in SENTENCEPIECE_KINDS:
        tokenizer = train_sentencepiece(options, out_dir, events)
    else:
        tokenizer = train_hf(options, events)
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    if size > options.vocab_size:  # the corpus alphabet plus the specials did not fit
        raise _below_corpus_minimum(options, size)
    events.phase("saving")
    return save_tokenizer(tokenizer, options, out_dir, time.perf_counter() - started)


def main(argv: list[str]) -> int:
    options_path, out_dir = Path(argv[0]), Path(argv[1])
    events = _capture_native_output(out_dir / LOG_NAME)
    try:
        options = TrainOptions.from_dict(json.loads(options_path.read_text(encoding="utf-8")))
        record = run(options, out_dir, events)
    except StudioError as exc:
        events.send("error", message=exc.message, hint=exc.hint)
        return 2
    except BaseException as exc:  # HF's Unigram trainer panics with a BaseException (TRAPS.md)
        traceback.print_exc()
        events.send(
            "error",
            message=f"the trainer failed: {exc.__class__.__name__}: {exc}".strip(),
            hint=f"see {LOG_NAME} for details",
            crashed=True,
        )
        return 1
    events.send("done", record=record)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
