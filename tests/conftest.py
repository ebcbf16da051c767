"""Suite-wide settings: offline, quiet, deterministic."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def _mounted_tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.decode().strip()}): needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], contextlib.AbstractContextManager[Path]]]:
    """A real, tiny filesystem (tmpfs of the given size, e.g. "256k") to fill up on purpose."""
    stack = contextlib.ExitStack()

    def make(size: str) -> contextlib.AbstractContextManager[Path]:
        return _mounted_tmpfs(tmp_path / f"disk-{size}", f"size={size}")

    with stack:
        yield make


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody can write to: a read-only tmpfs for root, a 0555 folder otherwise."""
    if os.geteuid() == 0:
        with _mounted_tmpfs(tmp_path / "ro", "ro,size=64k") as where:
            yield where
    else:
        where = tmp_path / "ro"
        where.mkdir()
        where.chmod(0o555)
        yield where
        where.chmod(0o755)


def _screen_text(app) -> str:  # type: ignore[no-untyped-def]
    """The characters on the app's current screen, row by row, as a person would read them."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


@pytest.fixture
def screen_text() -> Callable[..., str]:
    """`screen_text(app)` returns what the screen shows, for Pilot tests that read the screen."""
    return _screen_text


def build_roberta_tokenizer(out: Path, n_lines: int = 3000, vocab_size: int = 1000) -> Path:
    """A real byte-level BPE with RoBERTa's specials and post-processor, saved as a
    `RobertaTokenizerFast` directory: the tokenizer most tests that train a model need."""
    import itertools

    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing
    from transformers import RobertaTokenizerFast

    from studio.corpus.demo import iter_demo_lines

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        itertools.islice(iter_demo_lines(), n_lines),
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    bpe._tokenizer.post_processor = RobertaProcessing(
        ("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>"))
    )
    RobertaTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    ).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def make_roberta_tokenizer() -> Callable[..., Path]:
    """`make_roberta_tokenizer(out, n_lines=..., vocab_size=...)`, for tests that need their own size."""
    return build_roberta_tokenizer


@pytest.fixture(scope="session")
def roberta_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One shared tiny byte-level BPE (vocab 1000, RoBERTa specials) for the whole session."""
    return build_roberta_tokenizer(tmp_path_factory.mktemp("roberta-tokenizer") / "bpe")
