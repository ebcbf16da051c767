"""Tokenizer benchmarks: training overhead, figures on 100 MB, the inspector on a 250k vocabulary.

1. Byte-level BPE (vocab 52,000, min frequency 2, RoBERTa specials) on a 60 MB demo corpus:
   `studio tokenizer train` as a whole process vs a bare `tokenizers` script with the same
   pipeline and options, also as a whole process (goal: Studio within 1.15x).
2. `studio tokenizer inspect --corpus` on a 100 MB corpus, every line, as a whole process
   (goal: under 30 s; median of --figures-runs runs).
3. A 250,000-token byte-level vocabulary: load + readable forms, filter as you type (goal: each
   keystroke under 50 ms), sorts; and `studio vocab` first frame in tmux (goal: under 1 s).

    python benchmarks/tokenizer.py [--workdir DIR] [--runs 2] [--train-mb 60] [--figures-mb 100]
        [--figures-runs 3] [--skip-training] [--skip-inspector] [--studio COMMAND]

Only the figures, three times, on the tokenizer trained by an earlier run in the same work dir:

    python benchmarks/tokenizer.py --workdir /tmp/tokbench --skip-training --skip-inspector

The figures of a SentencePiece kind instead (trained on the corpus' first 10 MB when the work dir
has none yet; `--figures-file tokenizer.model` reads its .model rather than its tokenizer.json):

    python benchmarks/tokenizer.py --workdir /tmp/tokbench --skip-training --skip-inspector \\
        --figures-kind sentencepiece-unigram
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from startup import seconds_to_frame  # benchmarks/ is this script's folder, first on sys.path

PYTHON = sys.executable
STUDIO = str(Path(sys.executable).parent / "studio")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "true"}

BARE_SCRIPT = textwrap.dedent(
    """
    import sys
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    corpus, out = sys.argv[1], sys.argv[2]
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=52000, min_frequency=2, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train([corpus], trainer=trainer)
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tokenizer.save(out + "/tokenizer.json")
    """
)


def write_corpus(path: Path, megabytes: int) -> Path:
    """The demo generator's text, `megabytes` of it (new seeds once a pass runs out)."""
    from studio.corpus.demo import iter_demo_lines

    if path.exists() and path.stat().st_size >= megabytes << 20:
        return path
    target = megabytes << 20
    written = 0
    seed = 1
    with open(path, "w", encoding="utf-8") as out:
        while written < target:
            batch = "\n".join(iter_demo_lines(50_000, seed=seed)) + "\n"
            out.write(batch)
            written += len(batch.encode("utf-8"))
            seed += 1
    return path


def head(path: Path, dest: Path, megabytes: int) -> Path:
    """The first `megabytes` of a text file, cut at a line break."""
    with open(path, "rb") as src:
        data = src.read(megabytes << 20)
    dest.write_bytes(data[: data.rfind(b"\n") + 1])
    return dest


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=ENV)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def bench_training(corpus: Path, workdir: Path, runs: int) -> tuple[list[float], list[float]]:
    bare_script = workdir / "bare_bpe.py"
    bare_script.write_text(BARE_SCRIPT)
    bare, studio = [], []
    for run in range(runs):  # alternate, so a noisy neighbour hurts both alike
        out = workdir / f"bare-{run}"
        out.mkdir(exist_ok=True)
        bare.append(timed([PYTHON, str(bare_script), str(corpus), str(out)])[0])
        studio.append(
            timed(
                [
                    STUDIO,
                    "tokenizer",
                    "train",
                    "--corpus",
                    str(corpus),
                    "--kind",
                    "bytelevel-bpe",
                    "--vocab-size",
                    "52000",
                    "--min-frequency",
                    "2",
                    "--out",
                    str(workdir / "studio-bpe"),
                    "--force",
                    "--json",
                ]
            )[0]
        )
        print(f"  run {run + 1}: bare {bare[-1]:.2f}s, studio {studio[-1]:.2f}s", flush=True)
    return bare, studio


def make_big_vocab(path: Path, size: int = 250_000) -> Path:
    """A byte-level BPE tokenizer.json with `size` tokens (random words; merges are not needed to inspect)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    from studio.tokenizer.vocab import byte_decoder

    rng = random.Random(0)
    to_char = {byte: char for char, byte in byte_decoder().items()}
    vocab = {char: i for i, char in enumerate(byte_decoder())}
    letters = "abcdefghijklmnopqrstuvwxyzĉĝĥĵŝŭ"
    while len(vocab) < size:
        word = (" " if rng.random() < 0.6 else "") + "".join(
            rng.choice(letters) for _ in range(rng.randint(2, 12))
        )
        vocab.setdefault("".join(to_char[b] for b in word.encode("utf-8")), len(vocab))
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path / "tokenizer.json"))
    return path


def bench_inspector(folder: Path) -> list[tuple[str, float, str]]:
    from studio.tokenizer.vocab import open_vocabulary

    rows = []
    start = time.perf_counter()
    vocab = open_vocabulary(folder)
    rows.append(("open 250k vocab (load + readable)", time.perf_counter() - start, "background"))
    keystrokes = []
    for query in ("a", "ab", "abc", "abcd", " ab", "ĉ", "zz"):
        start = time.perf_counter()
        vocab.filter(query)
        keystrokes.append(time.perf_counter() - start)
    rows.append(("filter keystroke, median of 7", statistics.median(keystrokes), "< 0.050 s"))
    rows.append(('filter keystroke, worst ("a")', max(keystrokes), "< 0.050 s"))
    start = time.perf_counter()
    vocab.sort(list(range(len(vocab))), "length", descending=True)
    rows.append(("sort 250k by length", time.perf_counter() - start, ""))
    return rows


def bench_figures(studio: str, tokenizer: Path, corpus: Path, runs: int) -> tuple[str, float, str]:
    """`studio tokenizer inspect` on every line of `corpus`, as a whole process: the median of `runs`."""
    seconds = []
    for run in range(runs):
        took, out = timed(
            [
                *studio.split(),
                "tokenizer",
                "inspect",
                str(tokenizer),
                "--corpus",
                str(corpus),
                "--lines",
                "0",
                "--json",
            ]
        )
        seconds.append(took)
        print(f"  figures run {run + 1}: {took:.2f}s (load average {os.getloadavg()[0]:.2f})", flush=True)
    figures = json.loads(out)
    names = ("fertility", "bytes_per_token", "chars_per_token", "unk_rate", "vocab_used", "split3_share")
    print("figures: " + ", ".join(f"{k}={figures[k]}" for k in ("tokens", "words", *names)))
    size = corpus.stat().st_size / 2**20
    return (
        f"figures on {size:.0f} MB ({figures['lines']:,} lines), median",
        statistics.median(seconds),
        "< 30 s",
    )


def train_sentencepiece(kind: str, corpus: Path, workdir: Path) -> Path:
    """A SentencePiece tokenizer of `kind` (vocab 32,000) on the first 10 MB of `corpus`, once per work dir."""
    out = workdir / f"studio-{kind}"
    if not out.exists():
        small = head(corpus, workdir / "demo-10mb.txt", 10)
        print(f"training {kind} on {small.stat().st_size / 2**20:.0f} MB", flush=True)
        command = [STUDIO, "tokenizer", "train", "--corpus", str(small), "--kind", kind]
        timed([*command, "--vocab-size", "32000", "--out", str(out), "--json"])
    return out


def print_rows(rows: list[tuple[str, float, str]]) -> None:
    print(f"\n{'what':<52}{'seconds':>10}  goal")
    for name, seconds, goal in rows:
        print(f"{name:<52}{seconds:>10.3f}  {goal}")


def first_frame(folder: Path, workspace: Path) -> float | None:
    """Seconds until `studio vocab` shows the Tokenizer screen in tmux; None without tmux."""
    if not shutil.which("tmux"):
        return None
    return seconds_to_frame(f"{STUDIO} vocab {folder} -w {workspace}", "Studio · Tokenizer")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", default=None, help="keep corpora and outputs here (default: a temp dir)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--train-mb", type=int, default=60)
    parser.add_argument("--figures-mb", type=int, default=100)
    parser.add_argument("--figures-runs", type=int, default=3)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-inspector", action="store_true", help="stop after the figures")
    parser.add_argument(
        "--figures-kind",
        default="bytelevel-bpe",
        choices=["bytelevel-bpe", "sentencepiece-unigram", "sentencepiece-bpe"],
        help="whose figures to time (bytelevel-bpe: the tokenizer trained above)",
    )
    parser.add_argument("--figures-file", default="", help="a file in the tokenizer's folder to read it from")
    parser.add_argument(
        "--studio", default=STUDIO, help="the studio command whose figures to time (another checkout's, say)"
    )
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="studio-tokenizer-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"work dir {workdir}; {os.cpu_count()} cores", flush=True)
    big = write_corpus(workdir / f"demo-{args.figures_mb}mb.txt", args.figures_mb)
    train_corpus = head(big, workdir / f"demo-{args.train_mb}mb.txt", args.train_mb)
    rows: list[tuple[str, float, str]] = []
    if not args.skip_training:
        print(f"training byte-level BPE on {train_corpus.stat().st_size / 2**20:.0f} MB", flush=True)
        bare, studio = bench_training(train_corpus, workdir, args.runs)
        ratio = min(studio) / min(bare)
        rows += [
            ("bare tokenizers script (best)", min(bare), ""),
            ("studio tokenizer train (best)", min(studio), f"ratio {ratio:.3f} (goal <= 1.15)"),
        ]
    tokenizer = workdir / "studio-bpe"
    if args.figures_kind != "bytelevel-bpe":
        tokenizer = train_sentencepiece(args.figures_kind, big, workdir)
    if tokenizer.exists():
        rows.append(bench_figures(args.studio, tokenizer / args.figures_file, big, args.figures_runs))
    else:
        print(f"no tokenizer in {tokenizer}: run once without --skip-training to measure the figures")
    if not args.skip_inspector:
        vocab_dir = make_big_vocab(workdir / "vocab-250k")
        rows += bench_inspector(vocab_dir)
        from studio.workspace import open_workspace

        open_workspace(workdir / "workspace")  # created beforehand: the demo corpus is not what is timed
        first_frame(vocab_dir, workdir / "workspace")  # warm the page cache, as a second launch would be
        frame = first_frame(vocab_dir, workdir / "workspace")
        if frame is not None:
            rows.append(("studio vocab first frame (250k)", frame, "< 1 s"))
    print_rows(rows)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
