"""Training each kind in a child process, the saved directory, and bad input."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from studio.errors import Cancelled, StudioError
from studio.progress import CancelFlag, ProgressUpdate
from studio.tokenizer.options import KINDS, TrainOptions, minimum_vocab_size
from studio.tokenizer.train import check_corpus, check_sentencepiece_memory, train_tokenizer


@pytest.mark.parametrize("kind", KINDS)
def test_autotokenizer_loads_each_kind(trained: dict[str, Path], kind: str) -> None:
    """Each trained directory loads with AutoTokenizer alone, with its specials and model_max_length."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(trained[kind]))
    assert tokenizer.model_max_length == 512
    assert tokenizer.unk_token is not None and tokenizer.pad_token is not None
    assert tokenizer.mask_token is not None  # every default target can train a masked LM
    ids = tokenizer("La hundo manĝas panon.")["input_ids"]
    assert tokenizer.unk_token_id not in ids
    record = json.loads((trained[kind] / "studio_tokenizer.json").read_text())
    assert record["kind"] == kind and record["options"]["vocab_size"] == 600
    assert record["studio_version"] and record["trained_at"] and record["corpus"].endswith("demo.txt")


def test_bytelevel_round_trip_every_line(trained: dict[str, Path], demo_lines: list[str]) -> None:
    """Byte-level BPE decodes every corpus line back to exactly the same text."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(trained["bytelevel-bpe"]))
    lines = [*demo_lines, "tabs\tand  spaces ", "emoji 🤗 and ĉ ŝ ŭ", "\x1b[31mescape"]
    encoded = tokenizer(lines, add_special_tokens=False)["input_ids"]
    assert [tokenizer.decode(ids) for ids in encoded] == lines
    assert tokenizer("x")["input_ids"][0] == tokenizer.convert_tokens_to_ids("<s>")


@pytest.mark.parametrize("kind", ["sentencepiece-unigram", "sentencepiece-bpe"])
def test_sentencepiece_kinds_match_the_model(
    trained: dict[str, Path], kind: str, demo_lines: list[str]
) -> None:
    """SentencePiece kinds keep their .model and transformers encodes exactly as sentencepiece does."""
    import sentencepiece as spm
    from transformers import AutoTokenizer

    model = trained[kind] / "tokenizer.model"
    assert model.is_file()
    processor = spm.SentencePieceProcessor(model_file=str(model))
    tokenizer = AutoTokenizer.from_pretrained(str(trained[kind]))
    sample = demo_lines[:400]
    assert tokenizer(sample, add_special_tokens=False)["input_ids"] == processor.encode(sample)
    if kind == "sentencepiece-bpe":
        assert type(tokenizer).__name__ == "ReformerTokenizer"


def test_llama_target_loads_as_llama_tokenizer(tmp_path: Path, corpus_file: Path) -> None:
    """sentencepiece-bpe for a Llama-style model loads as LlamaTokenizer and adds <s>."""
    from transformers import AutoTokenizer

    options = TrainOptions(corpus=str(corpus_file), kind="sentencepiece-bpe", vocab_size=400, target="llama")
    out = train_tokenizer(options, tmp_path / "llama").out_dir
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    assert type(tokenizer).__name__ == "LlamaTokenizer"
    assert tokenizer("La hundo.")["input_ids"][0] == tokenizer.bos_token_id == 1


def test_phases_are_reported_and_native_output_is_captured(
    tmp_path: Path, corpus_file: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Progress reports the phases; nothing from the trainer reaches stdout/stderr; train.log keeps it."""
    updates: list[ProgressUpdate] = []
    options = TrainOptions(corpus=str(corpus_file), kind="sentencepiece-bpe", vocab_size=400)
    result = train_tokenizer(options, tmp_path / "spm", progress=updates.append)
    phases = list(dict.fromkeys(u.phase for u in updates))
    assert phases[0] == "checking corpus" and "training" in phases and phases[-1] == "done"
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert "trainer_interface" in (result.out_dir / "train.log").read_text()


def test_cancel_kills_the_child_and_leaves_nothing(tmp_path: Path, corpus_file: Path) -> None:
    """Cancelling during training raises Cancelled at once and leaves no output or temp dir."""
    cancel = CancelFlag()
    options = TrainOptions(corpus=str(corpus_file), kind="unigram", vocab_size=600)

    def cancel_when_training(update: ProgressUpdate) -> None:
        if update.phase in ("reading corpus", "training"):
            cancel.set()

    started = time.perf_counter()
    with pytest.raises(Cancelled):
        train_tokenizer(options, tmp_path / "out", progress=cancel_when_training, cancel=cancel)
    assert time.perf_counter() - started < 30
    assert list(tmp_path.iterdir()) == []


def test_cancel_from_another_thread(tmp_path: Path, corpus_file: Path) -> None:
    """A cancel set by another thread (the TUI) stops the training."""
    cancel = CancelFlag()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(Cancelled):
        train_tokenizer(
            TrainOptions(corpus=str(corpus_file), kind="unigram", vocab_size=600),
            tmp_path / "out",
            cancel=cancel,
        )
    assert list(tmp_path.iterdir()) == []


def test_vocab_below_minimum_names_the_minimum(corpus_file: Path, tmp_path: Path) -> None:
    """A vocab size below alphabet + specials is refused, naming the minimum."""
    options = TrainOptions(corpus=str(corpus_file), kind="bytelevel-bpe", vocab_size=100)
    minimum = minimum_vocab_size(options)
    with pytest.raises(StudioError, match=f"minimum.*{minimum}"):
        train_tokenizer(options, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "blank"),
        (bytes(range(256)) * 50, "binary"),
        (b"word " * (1 << 20), "giant line"),
    ],
    ids=["empty", "blank-lines", "binary", "giant-line"],
)
def test_bad_corpus_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    """Empty, blank, binary and one-giant-line corpora get a clear error before any process starts."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(content)
    with pytest.raises(StudioError, match=message):
        check_corpus(corpus)


def test_missing_corpus(tmp_path: Path) -> None:
    """A missing corpus is named in the error."""
    with pytest.raises(StudioError, match="no such file"):
        train_tokenizer(TrainOptions(corpus=str(tmp_path / "nope.txt"), vocab_size=500), tmp_path / "out")


def test_existing_out_dir_needs_force(trained: dict[str, Path], corpus_file: Path, tmp_path: Path) -> None:
    """An existing output is refused without force and replaced with it."""
    out = tmp_path / "tok"
    out.mkdir()
    (out / "old.txt").write_text("old")
    options = TrainOptions(corpus=str(corpus_file), kind="wordpiece", vocab_size=500)
    with pytest.raises(StudioError, match="already exists"):
        train_tokenizer(options, out)
    train_tokenizer(options, out, force=True)
    assert (out / "tokenizer.json").is_file() and not (out / "old.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["tok"]


def test_out_dir_under_a_file(tmp_path: Path, corpus_file: Path) -> None:
    """An output whose parent is a file is refused up front."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StudioError, match="cannot be written"):
        train_tokenizer(TrainOptions(corpus=str(corpus_file), vocab_size=500), blocker / "out")


def test_unwritable_out_dir(read_only_dir: Path, corpus_file: Path) -> None:
    """An output under a read-only folder (a read-only tmpfs when run as root) is refused up front."""
    with pytest.raises(StudioError, match="cannot be written"):
        train_tokenizer(TrainOptions(corpus=str(corpus_file), vocab_size=500), read_only_dir / "out")
    assert list(read_only_dir.iterdir()) == []


def test_sentencepiece_memory_estimate_offers_sampling(corpus_file: Path) -> None:
    """When SentencePiece would not fit in RAM the error suggests a --sample size; a sample fits."""
    check = check_corpus(corpus_file)
    options = TrainOptions(corpus=str(corpus_file), kind="sentencepiece-unigram", vocab_size=500)
    with pytest.raises(StudioError, match="--sample") as caught:
        check_sentencepiece_memory(options, check, available=check.bytes)
    assert "GB of RAM" in caught.value.message
    options.sample_lines = 1000
    check_sentencepiece_memory(options, check, available=check.bytes * 8)


def test_jsonl_corpus_goes_through_datasets(tmp_path: Path, demo_lines: list[str]) -> None:
    """A .jsonl corpus (text column) trains through the corpus loader."""
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"text": line}) for line in demo_lines[:800]) + "\n")
    options = TrainOptions(corpus=str(corpus), kind="wordpiece", vocab_size=400, sample_lines=500)
    out = train_tokenizer(options, tmp_path / "out").out_dir
    assert (out / "tokenizer.json").is_file()


@pytest.mark.parametrize("kind", ["wordpiece", "sentencepiece-bpe"])
def test_vocab_below_the_corpus_alphabet(corpus_file: Path, tmp_path: Path, kind: str) -> None:
    """A vocab smaller than the corpus alphabet plus specials is refused with the corpus's minimum."""
    options = TrainOptions(corpus=str(corpus_file), kind=kind, vocab_size=40)
    with pytest.raises(StudioError, match=r"below the minimum for this corpus \(\d+") as caught:
        train_tokenizer(options, tmp_path / "out")
    assert "--vocab-size" in (caught.value.hint or "")
    assert list(tmp_path.iterdir()) == []
