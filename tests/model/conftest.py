"""Fixtures of the model layer: tiny real tokenizers (trained here, with the libraries directly), a corpus."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.corpus.demo import iter_demo_lines

TRAIN_LINES = 3000


def _lines() -> list[str]:
    return list(itertools.islice(iter_demo_lines(), TRAIN_LINES))


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo corpus file (3,000 lines)."""
    path = tmp_path_factory.mktemp("corpus") / "demo.txt"
    path.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def bpe_tokenizer(
    tmp_path_factory: pytest.TempPathFactory, make_roberta_tokenizer: Callable[..., Path]
) -> Path:
    """A byte-level BPE (vocab 600) with RoBERTa's specials, saved as a `RobertaTokenizerFast` directory."""
    return make_roberta_tokenizer(tmp_path_factory.mktemp("tok") / "bpe", n_lines=TRAIN_LINES, vocab_size=600)


@pytest.fixture(scope="session")
def wordpiece_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A WordPiece with BERT's specials, saved as a `PreTrainedTokenizerFast` directory."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import PreTrainedTokenizerFast

    trainer = BertWordPieceTokenizer()
    trainer.train_from_iterator(_lines(), vocab_size=600, show_progress=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=trainer._tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    out = tmp_path_factory.mktemp("tok") / "wordpiece"
    fast.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def no_mask_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A byte-level BPE with no mask and no pad token (fit for causal LM only)."""
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(
        _lines()[:500], vocab_size=400, special_tokens=["<|endoftext|>"], show_progress=False
    )
    out = tmp_path_factory.mktemp("tok") / "nomask"
    out.mkdir()
    trainer.save(str(out / "tokenizer.json"))
    return out


@pytest.fixture(scope="session")
def sentencepiece_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SentencePiece unigram model (what Reformer uses) with pad, eos and a <mask> symbol."""
    import sentencepiece as spm

    out = tmp_path_factory.mktemp("tok") / "spm"
    out.mkdir()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_lines()),
        model_prefix=str(out / "spiece"),
        vocab_size=500,
        model_type="unigram",
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        user_defined_symbols=["<mask>"],
        minloglevel=2,
    )
    return out
