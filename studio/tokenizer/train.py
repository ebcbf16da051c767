"""Train a tokenizer in a child process: live phases, immediate cancel, nothing half-written.

`train_tokenizer` checks the corpus and the output directory, estimates SentencePiece's memory,
then runs `studio.tokenizer.worker` as a subprocess writing into a temporary directory next to
the output. The child's stdout/stderr never reach the terminal (they go to its `train.log`);
its events come back as JSON lines. Cancel kills the child at once and removes the temporary
directory; success renames it into place.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.errors import Cancelled, StudioError
from studio.progress import CancelFlag, ProgressCallback, ProgressUpdate, no_progress
from studio.tokenizer.options import SENTENCEPIECE_KINDS, TrainOptions
from studio.tokenizer.worker import LOG_NAME

# The head of each corpus file that is checked for binary content and missing line breaks.
_SNIFF_BYTES = 4 << 20
# Bytes of RAM SentencePiece needs per byte of corpus, and per sentence (measured roughly on the
# demo corpus; TRAPS.md reports ~70 GB per 10M sentences for Unigram on long web sentences).
_SPM_BYTES_PER_BYTE = {"sentencepiece-unigram": 10.0, "sentencepiece-bpe": 6.0}
_SPM_BYTES_PER_SENTENCE = 200


@dataclass(frozen=True)
class CorpusCheck:
    """What the pre-flight check learned about a corpus."""

    bytes: int
    lines: int | None  # None when the corpus is not plain text (not counted up front)
    plain: bool


@dataclass(frozen=True)
class TrainResult:
    """A trained tokenizer: where it is and the record written next to it."""

    out_dir: Path
    record: dict[str, Any]
    seconds: float


def check_corpus(corpus: str | Path) -> CorpusCheck:
    """Refuse a missing, empty, binary or one-giant-line corpus with a message that says why."""
    from studio.corpus.formats import describe_corpus

    if not str(corpus).strip():  # Path("") is ".": an empty field must not read the current folder
        raise StudioError("no corpus given", "give a .txt/.jsonl/.csv/.parquet file or a folder of them")
    info = describe_corpus(corpus)
    if info.total_bytes == 0:
        raise StudioError(f"{corpus}: the corpus is empty", "point at a corpus with some text in it")
    if not info.is_plain:
        return CorpusCheck(info.total_bytes, None, False)
    lines = 0
    has_text = False
    for file in info.files:
        with open(file.path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            if b"\x00" in head or _mostly_invalid_utf8(head):
                raise StudioError(
                    f"{file.path}: looks like a binary file, not text",
                    "a corpus is UTF-8 text, one document per line (or .jsonl/.csv/.parquet with a text column)",
                )
            if len(head) == _SNIFF_BYTES and b"\n" not in head:
                raise StudioError(
                    f"{file.path}: the first {_SNIFF_BYTES >> 20} MB hold no line break (one giant line)",
                    "tokenizer trainers read one document per line: split the text into lines first",
                )
            chunk, last = head, b"\n"
            while chunk:
                lines += chunk.count(b"\n")
                has_text = has_text or bool(chunk.strip())
                last = chunk[-1:]
                chunk = handle.read(16 << 20)
            lines += last != b"\n"  # a last line without its line break
    if not has_text:
        raise StudioError(
            f"{corpus}: the corpus holds only blank lines", "point at a corpus with some text in it"
        )
    return CorpusCheck(info.total_bytes, lines, True)


def _mostly_invalid_utf8(data: bytes) -> bool:
    if not data:
        return False
    text = data.decode("utf-8", errors="replace")
    return text.count("\ufffd") > max(8, len(text) // 20)


def estimate_sentencepiece_ram(
    kind: str, corpus_bytes: int, lines: int | None, sample_lines: int | None
) -> int:
    """Bytes of RAM SentencePiece will use to hold (a sample of) the corpus while training."""
    if kind not in SENTENCEPIECE_KINDS:
        return 0
    lines = lines or max(1, corpus_bytes // 100)
    if sample_lines and sample_lines < lines:
        corpus_bytes = corpus_bytes * sample_lines // lines
        lines = sample_lines
    return int(corpus_bytes * _SPM_BYTES_PER_BYTE[kind] + lines * _SPM_BYTES_PER_SENTENCE)


def check_sentencepiece_memory(
    options: TrainOptions, corpus: CorpusCheck, available: int | None = None
) -> None:
    """Say so (and suggest a sample size) when SentencePiece would not fit in the free RAM."""
    if options.kind not in SENTENCEPIECE_KINDS:
        return
    if available is None:
        import psutil

        available = psutil.virtual_memory().available
    budget = int(available * 0.8)
    need = estimate_sentencepiece_ram(options.kind, corpus.bytes, corpus.lines, options.sample_lines)
    if need <= budget:
        return
    lines = corpus.lines or max(1, corpus.bytes // 100)
    per_line = need / lines
    fits = max(1000, int(budget / per_line) // 1000 * 1000)
    raise StudioError(
        f"SentencePiece would need about {need / 2**30:.1f} GB of RAM for this corpus; "
        f"{available / 2**30:.1f} GB are free",
        f"train on a sample: --sample {fits} (lines, drawn at random)",
    )


def check_out_dir(out_dir: Path, force: bool) -> None:
    """Refuse an existing output (unless forced) or a folder that cannot be written."""
    if out_dir.exists() and not force:
        raise StudioError(f"{out_dir}: already exists", "choose another --out, or pass --force to replace it")
    if out_dir.exists() and not out_dir.is_dir():
        raise StudioError(f"{out_dir}: is a file, not a folder", "choose another --out")
    parent = out_dir.parent
    probe = parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise StudioError(
            f"{out_dir}: cannot be written ({probe} is not writable)", "choose a folder you can write to"
        )


def train_tokenizer(
    options: TrainOptions,
    out_dir: str | Path,
    progress: ProgressCallback = no_progress,
    cancel: CancelFlag | None = None,
    force: bool = False,
) -> TrainResult:
    """Train a tokenizer into `out_dir` in a child process; raise `Cancelled` if cancelled.

    Phases reported: checking corpus, reading corpus, training, saving. Everything is written to
    a temporary directory beside `out_dir`, renamed into place only when the child succeeded.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    options.check()
    check_out_dir(out_dir, force)
    progress(ProgressUpdate("checking corpus", 0, None, options.corpus))
    corpus = check_corpus(options.corpus)
    check_sentencepiece_memory(options, corpus)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        options_file = work_dir / "options.json"
        options_file.write_text(json.dumps(options.to_dict()), encoding="utf-8")
        record = _run_worker(options_file, work_dir, progress, cancel)
        options_file.unlink()
        _move_into_place(work_dir, out_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    seconds = time.perf_counter() - started
    progress(ProgressUpdate("done", 1, 1, str(out_dir)))
    return TrainResult(out_dir, record, seconds)


def _run_worker(
    options_file: Path, work_dir: Path, progress: ProgressCallback, cancel: CancelFlag | None
) -> dict[str, Any]:
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "true", "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "studio.tokenizer.worker", str(options_file), str(work_dir)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert child.stdout is not None
        for raw in child.stdout:
            lines.put(raw)
        lines.put(None)

    reader = threading.Thread(target=pump, name="tokenizer-worker-events", daemon=True)
    reader.start()
    outcome: dict[str, Any] | None = None
    stray: list[str] = []
    phase_started = time.perf_counter()
    phase = "starting"
    try:
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            try:
                raw = lines.get(timeout=0.1)
            except queue.Empty:
                progress(ProgressUpdate(phase, time.perf_counter() - phase_started, None, "elapsed"))
                continue
            if raw is None:
                break
            try:
                event = json.loads(raw)
            except json.JSONDecodeError:
                stray.append(raw)  # output printed before fds were redirected
                continue
            if event.get("event") == "phase":
                phase, phase_started = event["phase"], time.perf_counter()
                progress(
                    ProgressUpdate(phase, event.get("done") or 0, event.get("total"), event.get("note", ""))
                )
            else:
                outcome = event
        child.wait()
    except BaseException:
        child.kill()
        child.wait()
        raise
    if outcome is not None and outcome.get("event") == "done":
        return outcome["record"]
    if outcome is not None and outcome.get("event") == "error" and not outcome.get("crashed"):
        raise StudioError(outcome["message"], outcome.get("hint"))
    tail = _log_tail(work_dir / LOG_NAME) or "".join(stray[-5:]).strip()
    message = outcome["message"] if outcome else f"the training process exited with code {child.returncode}"
    raise StudioError(message + (f" — {tail}" if tail else ""), "run again with --debug, or report it")


def _log_tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def _move_into_place(work_dir: Path, out_dir: Path) -> None:
    """Rename the finished directory over `out_dir` (an old one is moved aside, then deleted)."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        out_dir.rename(old)
    try:
        work_dir.rename(out_dir)
    except OSError:
        if old is not None:
            old.rename(out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
