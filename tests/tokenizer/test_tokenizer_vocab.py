"""The readable vocabulary: loading each kind of path, readable forms, filter, sort, detail, figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.errors import StudioError
from studio.tokenizer.figures import compare, compute_figures
from studio.tokenizer.vocab import (
    NEWLINE_MARK,
    SPACE_MARK,
    count_frequencies,
    open_vocabulary,
    readable_bytes,
)


def test_readable_bytes_marks_spaces_newlines_stray_bytes_and_controls() -> None:
    """Spaces and newlines get marks, bytes that are not whole characters show as <0x..>, controls are visible."""
    assert readable_bytes(b" the") == f"{SPACE_MARK}the"
    assert readable_bytes(b"\n") == NEWLINE_MARK
    assert readable_bytes("€".encode()[:2]) == "<0xE2><0x82>"
    assert readable_bytes(b"\x1b[0m") == "␛[0m"


def test_bytelevel_tokens_are_readable(trained: dict[str, Path]) -> None:
    """Byte-level tokens show Ġ as a space mark and never show the raw Ġ/Ċ stand-ins."""
    vocab = open_vocabulary(trained["bytelevel-bpe"])
    assert vocab.info.byte_level and vocab.info.model_type == "BPE"
    spaced = [i for i, raw in enumerate(vocab.raw) if raw.startswith("Ġ") and len(raw) > 1]
    assert spaced and all(vocab.readable[i].startswith(SPACE_MARK) for i in spaced)
    newline = vocab.tokenizer.token_to_id("Ċ")
    assert vocab.readable[newline] == NEWLINE_MARK
    assert vocab.readable[vocab.tokenizer.token_to_id("<s>")] == "<s>"


@pytest.mark.parametrize("which", ["dir", "tokenizer.json", ".model"])
def test_open_each_kind_of_path(trained: dict[str, Path], which: str) -> None:
    """A directory, a tokenizer.json and a bare .model all open, with the same vocabulary size."""
    folder = trained["sentencepiece-unigram"]
    path = {"dir": folder, "tokenizer.json": folder / "tokenizer.json", ".model": folder / "tokenizer.model"}[
        which
    ]
    vocab = open_vocabulary(path)
    assert len(vocab) == 600 and vocab.info.metaspace


def test_not_a_tokenizer_says_what_was_expected(tmp_path: Path, corpus_file: Path) -> None:
    """Paths that are not tokenizers get a message naming what was expected."""
    for path in (tmp_path / "missing", tmp_path, corpus_file):
        with pytest.raises(StudioError) as caught:
            open_vocabulary(path)
        assert "tokenizer" in caught.value.message and "tokenizer.json" in (caught.value.hint or "")
    bad = tmp_path / "tokenizer.json"
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(StudioError, match="not a valid tokenizer.json"):
        open_vocabulary(bad)
    model = tmp_path / "x.model"
    model.write_bytes(b"\x00\x01garbage")
    with pytest.raises(StudioError, match="not a SentencePiece"):
        open_vocabulary(model)


def test_filter_sort_and_detail(trained: dict[str, Path], demo_lines: list[str]) -> None:
    """Filter finds tokens by readable text (a typed space matches ␣), sorts work, detail explains a merge."""
    vocab = open_vocabulary(trained["bytelevel-bpe"])
    hits = vocab.filter(" la")
    assert hits and all(" la" in vocab.readable[i].replace(SPACE_MARK, " ").casefold() for i in hits)
    by_length = vocab.sort(hits, "length", descending=True)
    assert vocab.lengths[by_length[0]] >= vocab.lengths[by_length[-1]]
    vocab.set_frequency(count_frequencies(vocab.tokenizer, demo_lines[:500], len(vocab)))
    by_freq = vocab.sort(list(range(len(vocab))), "frequency", descending=True)
    assert vocab.frequency is not None and vocab.frequency[by_freq[0]] >= vocab.frequency[by_freq[100]]
    merged = next(i for i in by_freq if vocab.merge_of(i))
    detail = vocab.detail(merged, demo_lines)
    assert detail["merge"] and detail["frequency"] > 0 and detail["examples"]
    assert bytes.fromhex(detail["bytes"].replace(" ", "")) == vocab.decoded_bytes(merged)


def test_figures_on_held_out_text(trained: dict[str, Path], held_out_lines: list[str]) -> None:
    """Figures are consistent: tokens/word, bytes/token, shares within [0, 1]."""
    for kind, folder in trained.items():
        figures = compute_figures(open_vocabulary(folder), held_out_lines)
        assert figures.tokens > figures.words > 0, kind
        assert figures.fertility == pytest.approx(figures.tokens / figures.words, rel=1e-3)
        assert figures.bytes_per_token == pytest.approx(figures.bytes / figures.tokens, rel=1e-3)
        assert 0 <= figures.unk_rate < 0.01 and 0 < figures.vocab_used <= 1 and 0 <= figures.split3_share <= 1


def test_unknown_rate_counts_unknown_tokens(trained: dict[str, Path]) -> None:
    """Characters the WordPiece vocabulary never saw count as unknown."""
    figures = compute_figures(open_vocabulary(trained["wordpiece"]), ["汉字 汉字 汉字"])
    assert figures.unk_rate == 1.0


def test_compare_two_tokenizers(trained: dict[str, Path], held_out_lines: list[str]) -> None:
    """Compare gives both sets of figures and the same text split by each."""
    vocabs = [open_vocabulary(trained["bytelevel-bpe"]), open_vocabulary(trained["sentencepiece-unigram"])]
    result = compare(vocabs, held_out_lines[:50], sample="La hundo")
    assert len(result["figures"]) == 2 and all(pieces for pieces in result["pieces"])
