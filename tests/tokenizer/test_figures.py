"""Tokenizer figures: the fast path (distinct pieces encoded once) equals encoding every line."""

from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

from studio.corpus.demo import iter_demo_lines
from studio.errors import Cancelled
from studio.progress import CancelFlag, ProgressUpdate
from studio.tokenizer import figures as figures_module
from studio.tokenizer.figures import Figures, compute_figures
from studio.tokenizer.options import TrainOptions
from studio.tokenizer.train import train_tokenizer
from studio.tokenizer.vocab import Vocabulary, open_vocabulary
from studio.tokenizer.worker import build_hf_tokenizer

# Text that trips naive splitting: runs of spaces and tabs, other Unicode spaces, control and
# combining characters, NFKC changes (ligature, fullwidth, "¨" becomes a space and a mark, U+FDFA
# 18 characters), Greek final sigma, characters no small vocabulary knows, special tokens written
# in the text, SentencePiece's "▁", and marks that share a grapheme cluster with the space before
# them (U+0E33; U+0340 U+0301, which NFKC maps to two marks but SentencePiece's map, on the cluster
# without the space, to one) or after them (U+0600).
TRICKY = [
    "  ", "\t", " \t ", "\u00a0", "\u3000", "\u2028", "\x1c", "\x85", "\r", "\u200b", "\ufeff",
    "\u180e", "\x00", "ﬁne", "ＡＢＣ１２", "¨", "´x", "e\u0301", "ΟΔΟΣ", "Σ", "İstanbul", "汉字",
    "😀👍🏽", "<mask>", "a<s>b", "</s>", "[UNK]", "[MASK]", "<unk>x", "it's", "l'  ", "42,5", "...",
    "ĉu", "Ĝis!", "-", "ŭ", "▁", "▁x", "x▁", "\ufdfa", "\u0e33", "\u0340\u0301", "\u0340\u0301x",
    "x\u0600", "\u0600",
]  # fmt: skip


# Which kinds take the fast path. SentencePiece's Unigram would too, but the scores tokenizers reads
# back from a tokenizer.json are not sums it adds up exactly (its JSON parser rounds them), so its
# best path over a whole line may differ from the words' (see test_unigram_scores_*).
FAST = {"bytelevel-bpe": True, "wordpiece": True, "unigram": True, "sentencepiece-bpe": True}


def tricky_lines(count: int = 400, seed: int = 3) -> list[str]:
    """Demo sentences with tricky bits spliced in and odd gaps between words, plus odd whole lines."""
    rng = random.Random(seed)
    lines = ["", " ", "\t", "   leading", "trailing   ", "a\nb c", "x \n y", " ".join(TRICKY), "<mask>"]
    gaps = [" ", " ", " ", "  ", "   ", "\t", "\t\t", " \t", "\u3000", ""]
    for line in iter_demo_lines(count, seed=seed):
        words = line.split(" ")
        for _ in range(rng.randint(0, 4)):
            words.insert(rng.randint(0, len(words)), rng.choice(TRICKY))
        if rng.random() < 0.3:
            lines.append(rng.choice(["", "  ", "\t"]) + "".join(w + rng.choice(gaps) for w in words))
        else:
            lines.append(" ".join(words))
    lines += list(iter_demo_lines(count, seed=seed + 1))  # plain lines, the common case
    return lines


def reference_figures(vocab: Vocabulary, lines: list[str]) -> Figures:
    """The figures the obvious way: encode each line on its own and count."""
    tokenizer = vocab.tokenizer
    ids: Counter[int] = Counter()
    words: Counter[str] = Counter()
    for line in lines:
        ids.update(tokenizer.encode(line, add_special_tokens=False).ids)
        words.update(line.split())
    prefix = " " if vocab.info.byte_level else ""
    split3 = sum(
        n for w, n in words.items() if len(tokenizer.encode(prefix + w, add_special_tokens=False).ids) >= 3
    )
    unk_id = figures_module._unk_id(vocab)
    tokens, n_words = sum(ids.values()), sum(words.values())

    def ratio(a: float, b: float) -> float:
        return a / b if b else 0.0

    chars = sum(map(len, lines))
    n_bytes = sum(len(line.encode("utf-8")) for line in lines)
    size = len(vocab)
    return Figures(
        lines=len(lines),
        words=n_words,
        chars=chars,
        bytes=n_bytes,
        tokens=tokens,
        fertility=round(ratio(tokens, n_words), 4),
        bytes_per_token=round(ratio(n_bytes, tokens), 4),
        chars_per_token=round(ratio(chars, tokens), 4),
        unk_rate=round(ratio(ids[unk_id], tokens) if unk_id is not None else 0.0, 6),
        vocab_used=round(len([i for i in ids if i < size]) / size, 4),
        split3_share=round(ratio(split3, n_words), 4),
        vocab_size=size,
    )


@pytest.fixture(scope="module")
def lowercase_bpe(tmp_path_factory: pytest.TempPathFactory, corpus_file: Path) -> Path:
    """A byte-level BPE with a Lowercase normalizer (the one normalizer its fast path allows)."""
    options = TrainOptions(corpus=str(corpus_file), kind="bytelevel-bpe", vocab_size=600, lowercase=True)
    return train_tokenizer(options, tmp_path_factory.mktemp("lower") / "bpe").out_dir


@pytest.fixture(scope="module")
def spacey(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fast-path kinds trained on tricky text, so that their vocabularies hold runs of spaces
    and tabs ("ĠĠĠ", "\\tword"): a wrong cut between spaces then changes the token count."""
    root = tmp_path_factory.mktemp("spacey")
    out = {}
    for kind in ("bytelevel-bpe", "wordpiece", "unigram"):
        tokenizer, trainer = build_hf_tokenizer(TrainOptions(corpus="-", kind=kind, vocab_size=500))
        tokenizer.train_from_iterator(tricky_lines(1000, seed=11), trainer=trainer)
        (root / kind).mkdir()
        tokenizer.save(str(root / kind / "tokenizer.json"))
        out[kind] = root / kind
    return out


@pytest.mark.parametrize("kind", ["bytelevel-bpe", "wordpiece", "unigram"])
def test_figures_equal_encoding_every_line_with_space_tokens(spacey: dict[str, Path], kind: str) -> None:
    """With tokens made of spaces and tabs in the vocabulary, the fast path still equals the reference."""
    vocab = open_vocabulary(spacey[kind])
    assert figures_module._cuts_exactly(vocab.tokenizer)
    lines = tricky_lines(seed=12)
    assert compute_figures(vocab, lines) == reference_figures(vocab, lines)


@pytest.mark.parametrize(
    "kind", ["bytelevel-bpe", "wordpiece", "unigram", "sentencepiece-unigram", "sentencepiece-bpe"]
)
def test_figures_equal_encoding_every_line(trained: dict[str, Path], kind: str) -> None:
    """Each kind's figures on tricky text equal the line-by-line reference, to the last digit."""
    vocab = open_vocabulary(trained[kind])
    lines = tricky_lines()
    assert figures_module._cuts_exactly(vocab.tokenizer) == FAST.get(kind, False)
    assert compute_figures(vocab, lines) == reference_figures(vocab, lines)


def test_figures_with_lowercase_and_unknowns(lowercase_bpe: Path, trained: dict[str, Path]) -> None:
    """A Lowercase normalizer keeps the fast path exact; WordPiece's unknown words are counted."""
    vocab = open_vocabulary(lowercase_bpe)
    assert figures_module._cuts_exactly(vocab.tokenizer)
    lines = tricky_lines(200, seed=5)
    assert compute_figures(vocab, lines) == reference_figures(vocab, lines)
    wordpiece = open_vocabulary(trained["wordpiece"])
    unknown = ["汉字 ok 😀", "  汉字\t汉字  ", "ĉu 汉"]
    figures = compute_figures(wordpiece, unknown)
    assert figures.unk_rate > 0.3 and figures == reference_figures(wordpiece, unknown)


@pytest.mark.parametrize("token", [AddedToken("kaj", rstrip=True), AddedToken("la kaj")], ids=str)
def test_added_tokens_across_a_cut_turn_the_fast_path_off(
    trained: dict[str, Path], token: AddedToken
) -> None:
    """An added token that eats the spaces after it, or holds a space, makes every line be encoded."""
    vocab = open_vocabulary(trained["bytelevel-bpe"])
    vocab.tokenizer.add_tokens([token])
    assert not figures_module._cuts_exactly(vocab.tokenizer)
    lines = ["ĉu kaj   la kaj", "kaj kaj la kaj", *tricky_lines(100)]
    assert compute_figures(vocab, lines) == reference_figures(vocab, lines)


def test_truncation_turns_the_fast_path_off(trained: dict[str, Path]) -> None:
    """Truncated lines are not the sum of their pieces."""
    vocab = open_vocabulary(trained["unigram"])
    vocab.tokenizer.enable_truncation(8)
    assert not figures_module._cuts_exactly(vocab.tokenizer)


def test_text_without_words(trained: dict[str, Path]) -> None:
    """Empty and blank lines: their tokens count, fertility and shares stay 0 rather than failing."""
    for kind in ("bytelevel-bpe", "unigram"):
        vocab = open_vocabulary(trained[kind])
        for lines in ([], [""], ["", "  ", "\t"]):
            assert compute_figures(vocab, lines) == reference_figures(vocab, lines), (kind, lines)


def test_byte_level_regex_cuts_before_every_space_after_a_non_space() -> None:
    """For every code point Python does not call whitespace, the byte-level regex starts a piece
    at a space right after it: the fact the byte-level fast path rests on, for this `tokenizers`."""
    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF and not chr(c).isspace()]
    starts = {start for _piece, (start, _end) in pre.pre_tokenize_str(" ".join(chars))}
    missing = [chars[i] for i in range(len(chars) - 1) if 2 * i + 1 not in starts]
    assert not missing, [hex(ord(c)) for c in missing[:10]]


@pytest.mark.parametrize("kind", ["bytelevel-bpe", "sentencepiece-unigram"])
def test_progress_and_cancel(trained: dict[str, Path], kind: str) -> None:
    """Both paths report progress to the end and stop with `Cancelled` when asked."""
    vocab = open_vocabulary(trained[kind])
    assert figures_module._cuts_exactly(vocab.tokenizer) == FAST.get(kind, False)
    lines = tricky_lines(3000)
    updates: list[ProgressUpdate] = []
    compute_figures(vocab, lines, progress=updates.append)
    assert updates and updates[-1].done == updates[-1].total
    assert any(u.phase == "encoding" for u in updates)
    assert all(u.total and 0 < u.done <= u.total for u in updates)
    cancel = CancelFlag()

    def stop_at_first(update: ProgressUpdate) -> None:
        cancel.set()

    with pytest.raises(Cancelled):
        compute_figures(vocab, lines, progress=stop_at_first, cancel=cancel)


def test_split_share_counts_long_words(tmp_path: Path) -> None:
    """A word the vocabulary splits into 3+ pieces counts once per occurrence, mid-line or first."""
    vocab_dict = {c: i for i, c in enumerate(pre_tokenizers.ByteLevel.alphabet())}
    tokenizer = Tokenizer(models.BPE(vocab=vocab_dict, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    vocab = open_vocabulary(tmp_path)
    figures = compute_figures(vocab, ["ab abc", "abc ab ab"])
    # mid-sentence forms: " ab" is 3 bytes (split), " abc" 4: every word is split in three
    assert figures.split3_share == 1.0 and figures.tokens == 2 + 4 + 3 + 3 + 3
    assert figures == reference_figures(vocab, ["ab abc", "abc ab ab"])


# --- SentencePiece: a line encodes as its words only when nothing reaches across a space ---------


def encode_words(vocab: Vocabulary, line: str) -> list[str]:
    """A line's tokens as its words' tokens, each word encoded on its own (the SentencePiece cut)."""
    return [t for word in line.split() for t in vocab.tokenizer.encode(word, add_special_tokens=False).tokens]


def train_spm(path: Path, lines: list[str], **options: object) -> Vocabulary:
    """A SentencePiece Unigram model trained with `options`, as Studio loads it (`spm.py`)."""
    import io

    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=600, hard_vocab_limit=False,
        minloglevel=2, **options,
    )  # fmt: skip
    path.write_bytes(model.getvalue())
    return open_vocabulary(path)


@pytest.mark.parametrize("kind", ["sentencepiece-unigram", "sentencepiece-bpe"])
def test_sentencepiece_words_are_the_pieces(trained: dict[str, Path], kind: str) -> None:
    """SentencePiece kinds (Unigram read from its .model) cut plain lines into bare words, on tricky text."""
    folder = trained[kind]
    vocab = open_vocabulary(folder / "tokenizer.model" if kind == "sentencepiece-unigram" else folder)
    cut = figures_module._cut_for(vocab.tokenizer)
    assert cut is not None and cut.later == "" and not cut.cut_odd_lines
    assert cut.max_chars is None if kind == "sentencepiece-bpe" else cut.max_chars > 100_000
    for seed in (3, 4):
        lines = tricky_lines(seed=seed)
        batch = pa.array(lines, type=pa.large_string())
        whole = figures_module._odd_lines(batch, pc.utf8_length(batch), cut).to_pylist()
        assert 0.1 < sum(whole) / len(lines) < 0.5  # many lines are cut into words, some kept whole
        assert compute_figures(vocab, lines) == reference_figures(vocab, lines)


def test_sentencepiece_cut_keeps_clusters_that_span_a_space(tmp_path: Path, corpus_file: Path) -> None:
    """A character map acts on grapheme clusters, and a cluster may hold a space: lines where one
    does are encoded whole. A map with rules for U+0600 (which takes the space after it into its
    cluster) and U+0340 (which a following mark joins) shows it: word by word differs."""
    (tmp_path / "rules.tsv").write_text("600\t41\n340\t300\n")
    lines = corpus_file.read_text(encoding="utf-8").splitlines()
    vocab = train_spm(tmp_path / "rules.model", lines, normalization_rule_tsv=str(tmp_path / "rules.tsv"))
    assert figures_module._cuts_exactly(vocab.tokenizer)
    odd = ["la x\u0600 hundo", "la \u0340\u0301kato"]
    for line in odd:
        assert vocab.tokenizer.encode(line, add_special_tokens=False).tokens != encode_words(vocab, line)
    test_lines = [*odd, *lines[:200]]
    assert compute_figures(vocab, test_lines) == reference_figures(vocab, test_lines)
    with pytest.MonkeyPatch.context() as patch:  # without the cluster check, the figures go wrong
        patch.setattr(figures_module, "_grapheme_joiners", lambda: "")
        assert compute_figures(vocab, test_lines) != reference_figures(vocab, test_lines)


def test_grapheme_joiners_as_tokenizers_segments() -> None:
    """The probe finds marks that join the space before them, U+0600 that joins the one after, and
    leaves letters, spaces and marks inside words alone."""
    joiners = figures_module._grapheme_joiners()
    assert joiners
    texts = [" \u0301", "a \u0e33", "x \u200d", "\u0600 b", "a b", "e\u0301 b", "汉 字", "\u0600b"]
    found = pc.match_substring_regex(pa.array(texts), joiners).to_pylist()
    assert found == [True] * 4 + [False] * 4


def test_sentencepiece_vocab_with_spaces_inside_pieces(tmp_path: Path, corpus_file: Path) -> None:
    """Pieces with an inner "▁" (SentencePiece's split_by_whitespace=False) reach across words:
    every line is encoded."""
    lines = corpus_file.read_text(encoding="utf-8").splitlines()[:1000]
    vocab = train_spm(tmp_path / "phrases.model", lines, split_by_whitespace=False)
    assert any("▁" in piece[1:] for piece in vocab.tokenizer.get_vocab())
    assert not figures_module._cuts_exactly(vocab.tokenizer)
    encode = vocab.tokenizer.encode
    assert any(encode(line, add_special_tokens=False).tokens != encode_words(vocab, line) for line in lines)
    assert compute_figures(vocab, lines[:300]) == reference_figures(vocab, lines[:300])


def unigram_vocab(tmp_path: Path, big: float) -> Vocabulary:
    """A SentencePiece Unigram where "▁q" scores `big`: with -2**60, adding "▁q"'s score first
    rounds away the difference between "▁ab" (-2.5) and "▁a" "b" (-2), so "q ab" encodes as
    "▁q" "▁ab" while "ab" alone is "▁a" "b"."""
    from studio.tokenizer.spm import NORMAL, UNKNOWN, SpmModel, spm_to_tokenizer

    pieces = [("<unk>", 0.0, UNKNOWN), ("▁", -1.0, NORMAL), ("▁q", big, NORMAL)]
    pieces += [("▁a", -1.0, NORMAL), ("b", -1.0, NORMAL), ("▁ab", -2.5, NORMAL)]
    spm_to_tokenizer(SpmModel(pieces=pieces)).save(str(tmp_path / "tokenizer.json"))
    return open_vocabulary(tmp_path)


def test_unigram_scores_too_large_to_add_exactly(tmp_path: Path) -> None:
    """Unigram's best path over a line equals its words' only while float64 adds the scores exactly:
    a score of -2**60 breaks it, and lines are then encoded whole."""
    vocab = unigram_vocab(tmp_path, -(2.0**60))
    lines = ["q ab", "ab q ab", "ab"]
    assert vocab.tokenizer.encode("q ab", add_special_tokens=False).tokens == ["▁q", "▁ab"]
    assert encode_words(vocab, "q ab") == ["▁q", "▁a", "b"]
    assert not figures_module._cuts_exactly(vocab.tokenizer)
    assert compute_figures(vocab, lines) == reference_figures(vocab, lines)


def test_unigram_scores_that_add_exactly(tmp_path: Path) -> None:
    """The same vocabulary with small scores cuts lines into words, as long as lines are short enough
    for exact sums: scores are halves, at most 13 in size (unknown: -3 - 10), a token per character."""
    vocab = unigram_vocab(tmp_path, -3.0)
    cut = figures_module._cut_for(vocab.tokenizer)
    assert cut is not None and cut.max_chars == 2**52 // 13 - 2
    lines = ["q ab", "ab q ab", "ab", "q ab  q", "q" * 50]
    assert compute_figures(vocab, lines) == reference_figures(vocab, lines)
