"""A tokenizer's figures on held-out text, and two tokenizers compared on the same text.

Figures: fertility (tokens per whitespace word), bytes and characters per token, the unknown
rate, the share of the vocabulary used, and the share of words split into three or more pieces.

Most pipelines never join text across a space that follows a non-space character (byte-level
BPE's regex, Metaspace, BERT's whitespace split): a line then encodes exactly as its pieces cut
before such spaces ("la", " hundo", " kuras") encoded one by one. So the pieces are counted (by
Arrow, in C++, for lines of words between single spaces) and each distinct piece is encoded once:
100 MB takes seconds, not a minute. SentencePiece's pipeline normalizes and encodes the whole line;
when no vocabulary piece holds a "▁" but first (and, for Unigram, float64 adds up its scores
exactly), a line still encodes as its words do, one by one, unless text at a word boundary reaches
across the space (see `_sentencepiece_cut`): such lines are encoded whole. Other pipelines
(truncation, an added token that strips the spaces after it, ...) encode every line, in batches.
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
import struct
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Any

from studio.errors import StudioError
from studio.progress import CancelFlag, ProgressCallback, ProgressUpdate, no_progress
from studio.tokenizer.vocab import Vocabulary

_BATCH_LINES = 4000  # lines encoded per call
_COUNT_LINES = 100_000  # lines counted per Arrow call (fewer, bigger calls are faster)
_BATCH_PIECES = 20_000  # distinct pieces or words encoded per call

# Where a line may be cut: before a space that follows a non-space (Python's `\S`; a test checks
# that the byte-level regex treats every such character as a non-space too). Matches tile the line.
_PIECE = re.compile(r"(?:(?<=\S) )?(?:[^ ]|(?<!\S) )*")

# Pipeline parts that keep "encode(a + ' ' + b) == encode(a) + encode(' ' + b)" when `a` ends in a
# non-space. Normalizers: per character, or Unicode forms (a space never composes with a neighbour).
_CUTTING_PRE_TOKENIZERS = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit", "Metaspace", "ByteLevel"}
_PER_CHARACTER_NORMALIZERS = {"Lowercase"}
_SPACE_SAFE_NORMALIZERS = {"BertNormalizer", "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "StripAccents"}

# SentencePiece's whitespace rules after its character map, as `spm.py` writes them.
_SPM_WHITESPACE_STEPS = [
    {"type": "Replace", "pattern": {"Regex": r"\A +| +\z"}, "content": ""},
    {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
    {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
    {"type": "Replace", "pattern": {"Regex": r"\A▁"}, "content": "▁▁"},
]
_UNIGRAM_UNK_PENALTY = 10.0  # tokenizers' Unigram scores an unknown character min(score) - 10
# Code points probed for grapheme clusters (`_grapheme_joiners`); lines with others are encoded whole.
_PROBED = [(0, 0x3FFFF), (0xE0000, 0xE0FFF)]
_UNPROBED_CLASS = r"[\x{40000}-\x{DFFFF}\x{E1000}-\x{10FFFF}]"


@dataclass(frozen=True)
class _Cut:
    """How a pipeline's lines are cut into pieces that encode independently.

    Plain lines (words between single spaces) are cut before each space; `later` is what a later
    word's piece keeps of it (" " for byte-level BPE; "" where the pipeline drops it, so a word is
    one piece wherever it stands). Lines that are not plain, match `odd` or run past `max_chars` are
    cut with `_PIECE` (`cut_odd_lines`) or encoded whole.
    """

    later: str = " "
    odd: str = ""  # RE2 regex
    max_chars: int | None = None
    cut_odd_lines: bool = True


@dataclass(frozen=True)
class Figures:
    """One tokenizer on one text. Rates are fractions (0.02 means 2 %)."""

    lines: int
    words: int
    chars: int
    bytes: int
    tokens: int
    fertility: float  # tokens per whitespace-separated word
    bytes_per_token: float
    chars_per_token: float
    unk_rate: float  # unknown tokens / tokens
    vocab_used: float  # distinct ids seen / vocabulary size
    split3_share: float  # share of word occurrences split into 3 or more tokens
    vocab_size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Tally:
    """What the encoding pass counts; `lengths` holds tokens per distinct piece, when pieces were used."""

    id_counts: Any  # numpy int64 array by id
    chars: int = 0
    bytes: int = 0
    tokens: int = 0
    words: Counter[str] = field(default_factory=Counter)
    lengths: dict[str, int] = field(default_factory=dict)


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def compute_figures(
    vocab: Vocabulary,
    lines: Sequence[str],
    progress: ProgressCallback = no_progress,
    cancel: CancelFlag | None = None,
) -> Figures:
    """Encode `lines` (or their distinct pieces) and measure; specials are not added (they are not text)."""
    import numpy as np

    size = len(vocab)
    tally = _Tally(id_counts=np.zeros(size, dtype=np.int64))
    cut = _cut_for(vocab.tokenizer)
    if cut is None:
        _count_by_lines(vocab, lines, tally, progress, cancel)
    else:
        _count_by_pieces(vocab, lines, cut, tally, progress, cancel)
    n_words = sum(tally.words.values())
    split3 = _words_split_in_three(vocab, tally.words, tally.lengths, cancel)
    unk_id = _unk_id(vocab)
    unknown = int(tally.id_counts[unk_id]) if unk_id is not None else 0
    n_tokens = tally.tokens
    return Figures(
        lines=len(lines),
        words=n_words,
        chars=tally.chars,
        bytes=tally.bytes,
        tokens=n_tokens,
        fertility=round(_ratio(n_tokens, n_words), 4),
        bytes_per_token=round(_ratio(tally.bytes, n_tokens), 4),
        chars_per_token=round(_ratio(tally.chars, n_tokens), 4),
        unk_rate=round(_ratio(unknown, n_tokens), 6),
        vocab_used=round(_ratio(int(np.count_nonzero(tally.id_counts)), size), 4),
        split3_share=round(_ratio(split3, n_words), 4),
        vocab_size=size,
    )


def _encoder(tokenizer: Any) -> Any:
    return getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)


def _encode_ids(encode: Any, texts: list[str]) -> tuple[list[Any], Any]:
    """Encode a batch without specials; all its ids in one numpy array (not one per text: the
    per-text Python work is just reading `.ids`)."""
    import numpy as np

    encodings = encode(texts, add_special_tokens=False)
    return encodings, np.fromiter(chain.from_iterable(enc.ids for enc in encodings), dtype=np.int64)


def _count_by_lines(
    vocab: Vocabulary,
    lines: Sequence[str],
    tally: _Tally,
    progress: ProgressCallback,
    cancel: CancelFlag | None,
) -> None:
    """Encode every line, in batches (the way that holds for any pipeline)."""
    import numpy as np

    encode = _encoder(vocab.tokenizer)
    size = len(tally.id_counts)
    total = len(lines)
    for start in range(0, total, _BATCH_LINES):
        if cancel is not None:
            cancel.check()
        batch = list(lines[start : start + _BATCH_LINES])
        _, ids = _encode_ids(encode, batch)
        tally.tokens += len(ids)
        if len(ids):
            tally.id_counts += np.bincount(ids, minlength=size)[:size]
        text = "\n".join(batch)
        tally.chars += len(text) - (len(batch) - 1)
        tally.bytes += len(text.encode("utf-8")) - (len(batch) - 1)
        tally.words.update(text.split())
        progress(ProgressUpdate("encoding", min(total, start + _BATCH_LINES), total))


def _count_by_pieces(
    vocab: Vocabulary,
    lines: Sequence[str],
    cut: _Cut,
    tally: _Tally,
    progress: ProgressCallback,
    cancel: CancelFlag | None,
) -> None:
    """Count the lines' pieces (see `_Cut`), then encode each distinct piece once."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    # Plain lines (words between single spaces) are split and counted by Arrow, in C++: their
    # pieces are the first word and `cut.later` + each later word. Other lines are cut with
    # `_PIECE`, or are pieces themselves.
    word_counts, first_counts = [], []
    pieces: Counter[str] = Counter()
    total = len(lines)
    for start in range(0, total, _COUNT_LINES):
        if cancel is not None:
            cancel.check()
        batch = pa.array(list(lines[start : start + _COUNT_LINES]), type=pa.large_string())
        lengths = pc.utf8_length(batch)
        tally.chars += pc.sum(lengths).as_py() or 0
        tally.bytes += pc.sum(pc.binary_length(batch)).as_py() or 0
        odd = _odd_lines(batch, lengths, cut)
        odd_lines = batch.filter(odd).to_pylist()
        pieces.update(chain.from_iterable(map(_PIECE.findall, odd_lines)) if cut.cut_odd_lines else odd_lines)
        split = pc.split_pattern(batch.filter(pc.invert(odd)), " ")
        word_counts.append(pc.value_counts(pc.list_flatten(split)))
        first_counts.append(pc.value_counts(pc.list_element(split, 0)))
        progress(ProgressUpdate("counting", min(total, start + _COUNT_LINES), total))
    words, first = _sum_counts(word_counts), _sum_counts(first_counts)
    for counter in (words, first, pieces):
        counter.pop("", None)  # empty lines
    tally.words = words.copy()
    for piece, n in pieces.items():
        for word in piece.split():
            tally.words[word] += n
    if cut.later:
        pieces.update(first)
        words -= first
    for word, n in words.items():
        pieces[cut.later + word] += n
    distinct = list(pieces)
    weights = np.fromiter(pieces.values(), dtype=np.int64, count=len(distinct))
    id_counts = np.zeros(len(tally.id_counts), dtype=np.float64)
    encode = _encoder(vocab.tokenizer)
    for start in range(0, len(distinct), _BATCH_PIECES):
        if cancel is not None:
            cancel.check()
        chunk = distinct[start : start + _BATCH_PIECES]
        chunk_weights = weights[start : start + len(chunk)]
        encodings, ids = _encode_ids(encode, chunk)
        lengths = np.fromiter(map(len, encodings), dtype=np.int64, count=len(chunk))
        tally.tokens += int(lengths @ chunk_weights)
        if len(ids):
            # Float weights are exact: counts stay far below 2**53.
            counts = np.bincount(ids, weights=np.repeat(chunk_weights, lengths))
            id_counts[: len(counts)] += counts[: len(id_counts)]
        tally.lengths.update(zip(chunk, lengths.tolist(), strict=True))
        progress(ProgressUpdate("encoding", min(len(distinct), start + _BATCH_PIECES), len(distinct)))
    tally.id_counts += id_counts.astype(np.int64)


def _odd_lines(batch: Any, lengths: Any, cut: _Cut) -> Any:
    """Arrow booleans: lines with whitespace other than single spaces between words, and those
    that `cut` keeps whole (`lengths`: the lines' lengths in characters)."""
    import pyarrow.compute as pc

    checks = [
        pc.match_substring(batch, "  "),
        pc.starts_with(batch, " "),
        pc.ends_with(batch, " "),
        pc.match_substring_regex(batch, _other_whitespace_class()),
    ]
    if cut.odd:
        checks.append(pc.match_substring_regex(batch, cut.odd))
    if cut.max_chars is not None:
        checks.append(pc.greater(lengths, cut.max_chars))
    odd = checks[0]
    for check in checks[1:]:
        odd = pc.or_(odd, check)
    return odd


@cache
def _other_whitespace_class() -> str:
    """A regex class of every character Python's `str.split()` splits on, but the space."""
    spaces = filter(str.isspace, map(chr, range(sys.maxunicode + 1)))
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in spaces if c != " ") + "]"


def _sum_counts(tables: list[Any]) -> Counter[str]:
    """Arrow `value_counts` results added up, as one Counter."""
    import pyarrow as pa

    if not tables:
        return Counter()
    values = pa.chunked_array([t.field(0) for t in tables])
    counts = pa.chunked_array([t.field(1) for t in tables])
    summed = (
        pa.table({"value": values, "count": counts})
        .group_by("value", use_threads=False)
        .aggregate([("count", "sum")])
    )
    return Counter(dict(zip(summed["value"].to_pylist(), summed["count_sum"].to_pylist(), strict=True)))


def _cuts_exactly(tokenizer: Any) -> bool:
    """Whether lines are cut into pieces, each distinct one encoded once (else every line is encoded)."""
    return _cut_for(tokenizer) is not None


def _cut_for(tokenizer: Any) -> _Cut | None:
    """How a line cuts into pieces that encode exactly as it does, one by one; None if it does not."""
    if tokenizer.truncation or tokenizer.padding or getattr(tokenizer.model, "dropout", None):
        return None
    pre = _component(tokenizer.pre_tokenizer)
    kind = pre.get("type")
    if kind == "Metaspace" and not pre.get("split", True):
        return _sentencepiece_cut(tokenizer, pre)
    if kind not in _CUTTING_PRE_TOKENIZERS:
        return None
    if kind == "ByteLevel" and (pre.get("add_prefix_space") or not pre.get("use_regex", True)):
        return None
    # Byte-level BPE splits on the text itself: only a normalizer that maps each character on its own
    # keeps "a non-space before the cut" true; the others cut at every space whatever comes before.
    allowed = _PER_CHARACTER_NORMALIZERS if kind == "ByteLevel" else _SPACE_SAFE_NORMALIZERS
    if not all(part in allowed for part in _normalizer_types(_component(tokenizer.normalizer))):
        return None
    # An added token found in the text must lie inside one piece and leave the next piece alone.
    added = tokenizer.get_added_tokens_decoder().values()
    return _Cut() if all(" " not in token.content and not token.rstrip for token in added) else None


def _sentencepiece_cut(tokenizer: Any, pre: dict[str, Any]) -> _Cut | None:
    """SentencePiece's pipeline (`spm.py`) encodes a plain line as its words, one by one, if:

    - the model never makes a token across a "▁": no vocabulary piece holds one but first, and "▁"
      is a piece (so no run of unknown characters spans one). BPE then never merges across a "▁";
      Unigram's best path passes through every "▁" and, its float64 sums being exact (`max_chars`),
      picks the same tokens between them. So the normalized line encodes as its "▁"-led stretches;
    - the normalized line is its words' normalized forms end to end: the whitespace rules drop,
      collapse and escape spaces alike in both (a word normalized to nothing adds nothing), and the
      character map sees the same text, as no grapheme cluster spans a space (`_grapheme_joiners`).
    Lines with an added token in them are encoded whole: the token splits the line before normalizing.
    """
    if pre.get("replacement") != "▁" or pre.get("prepend_scheme") not in ("always", "first"):
        return None
    normalizer = _component(tokenizer.normalizer)
    steps = normalizer.get("normalizers", []) if normalizer.get("type") == "Sequence" else [normalizer]
    charsmaps = [step.get("precompiled_charsmap") for step in steps[:-4]]
    if steps[-4:] != _SPM_WHITESPACE_STEPS or len(charsmaps) > 1 or not all(charsmaps):
        return None
    added = list(tokenizer.get_added_tokens_decoder().values())
    if any(token.normalized for token in added):
        return None
    model = _component(tokenizer.model)
    if model.get("type") == "Unigram":
        pieces = [piece for piece, _score in model["vocab"]]
        unk = pieces[model["unk_id"]] if model.get("unk_id") is not None else ""
    elif (
        model.get("type") == "BPE"
        and not model.get("continuing_subword_prefix")
        and not model.get("end_of_word_suffix")
    ):
        pieces, unk = list(model["vocab"]), model.get("unk_token") or ""
    else:
        return None
    if "▁" not in pieces or unk.startswith("▁") or any("▁" in piece[1:] for piece in pieces):
        return None
    odd = ["".join(f"\\x{{{ord(c):x}}}" for c in token.content) for token in added]
    expansion = 1  # characters a character may become
    if charsmaps:
        from tokenizers import normalizers

        charsmap = base64.b64decode(str(charsmaps[0]))
        joiners = _grapheme_joiners()
        if joiners is None or normalizers.Precompiled(charsmap).normalize_str(" ") != " ":
            return None
        odd += [joiners, _UNPROBED_CLASS] if joiners else [_UNPROBED_CLASS]
        expansion = _longest_mapping(charsmap)
    max_chars = None
    if model["type"] == "Unigram":
        max_chars = _exact_sum_chars([score for _piece, score in model["vocab"]], expansion)
        if max_chars is not None and max_chars < 1:
            return None  # scores too fine to add up exactly (say, read back from a tokenizer.json)
    return _Cut(later="", odd="|".join(odd), max_chars=max_chars, cut_odd_lines=False)


def _exact_sum_chars(scores: list[float], expansion: int) -> int | None:
    """The longest line (in characters) whose Unigram path scores tokenizers adds up exactly.

    Scores (and the unknown score) are multiples of 1/2**k: sums of n of them, each at most `top`,
    are exact in float64 while n * top <= 2**53 / 2**k. A path has a token per character at most,
    and a line of c characters normalizes to at most `expansion` * c + 2 of them.
    """
    values = [*scores, min(scores) - _UNIGRAM_UNK_PENALTY]
    top = max(map(abs, values))
    if not top:
        return None
    step = max(value.as_integer_ratio()[1] for value in values)
    return math.floor((Fraction(2**53, step) / Fraction(top) - 2) / expansion)


def _longest_mapping(charsmap: bytes) -> int:
    """The most characters a SentencePiece character map turns a character (or cluster) into: the
    map is a 4-byte trie size, the trie, then its outputs, each ending in a NUL byte."""
    (trie_size,) = struct.unpack_from("<I", charsmap)
    outputs = charsmap[4 + trie_size :].split(b"\0")
    return max(1, *(len(out.decode("utf-8", errors="replace")) for out in outputs))


@cache
def _grapheme_joiners() -> str | None:
    """RE2: a space in one grapheme cluster with the character before or after it (U+0600 before,
    U+0301 after), as the installed tokenizers segments text (its character maps act on clusters: a
    map entry for a cluster's start replaces the whole cluster). None if the probe misbehaves.

    Measured rather than looked up, for Python's Unicode tables are older than the Rust crate's: a
    map that only knows " " turns a cluster that starts with a space into a bare "S".
    """
    import numpy as np
    from tokenizers import normalizers

    probe = normalizers.Precompiled(_space_charsmap("S"))
    points = np.concatenate([np.arange(low, high + 1, dtype=np.uint32) for low, high in _PROBED])
    points = points[((points < 0xD800) | (points > 0xDFFF)) & (points != 0x0A)]
    # " " + c gives "S" alone when c joins the space; c + " " + U+0301 gives "cS" + U+0301 (not
    # "cS") when the space joins c, for the space's cluster then starts with c, which is not mapped.
    after = _probe_lengths(probe, points, [0x20, None])
    before = _probe_lengths(probe, points, [None, 0x20, 0x301])
    if (
        after is None
        or before is None
        or not set(after.tolist()) <= {1, 2}
        or not set(before.tolist()) <= {2, 3}
    ):
        return None
    joins_after, joins_before = points[after == 1].tolist(), points[before == 3].tolist()
    if 0x301 not in joins_after:
        return None
    joiners = [_char_class(joins_before) + " "] if joins_before else []
    return "|".join([*joiners, " " + _char_class(joins_after)])


def _space_charsmap(value: str) -> bytes:
    """A SentencePiece character map with one entry, " " to `value`: a darts-clone double array
    whose root (unit 0) has offset 1, so the node for byte b sits at 1 ^ b; the leaf under it holds
    the output's position (0). Filler units carry a label no byte matches."""
    units = [1 << 31] * 256
    units[0] = 1 << 10  # root: offset 1
    node = 1 ^ 0x20
    units[node] = 0x20 | 1 << 8 | 1 << 10  # label " ", has a leaf, offset 1
    units[node ^ 1] = 1 << 31  # the leaf: output at 0
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + value.encode("utf-8") + b"\0"


def _probe_lengths(probe: Any, points: Any, template: list[int | None]) -> Any:
    """For each code point, the length `probe` normalizes `template` to (None: the code point);
    all in one call, a line each. None if the lines do not come back one for one."""
    import numpy as np

    columns = [points if c is None else np.full(len(points), c, np.uint32) for c in [*template, 0x0A]]
    text = np.stack(columns, axis=1).ravel().tobytes().decode("utf-32-le")
    out = np.frombuffer(probe.normalize_str(text).encode("utf-32-le"), dtype=np.uint32)
    ends = np.flatnonzero(out == 0x0A)
    return np.diff(ends, prepend=-1) - 1 if len(ends) == len(points) else None


def _char_class(points: list[int]) -> str:
    """A RE2 class of sorted code points, as ranges."""
    runs: list[list[int]] = []
    for point in points:
        if runs and point == runs[-1][1] + 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    return "[" + "".join(f"\\x{{{a:x}}}" + (f"-\\x{{{b:x}}}" if b > a else "") for a, b in runs) + "]"


def _component(part: Any) -> dict[str, Any]:
    """A pipeline part's settings, as in tokenizer.json ({} when there is none)."""
    if part is None:
        return {}
    state = json.loads(part.__getstate__())
    return state if isinstance(state, dict) else {}


def _normalizer_types(node: dict[str, Any]) -> list[str]:
    if node.get("type") == "Sequence":
        return [t for child in node.get("normalizers", []) for t in _normalizer_types(child)]
    return [node["type"]] if node.get("type") else []


def _unk_id(vocab: Vocabulary) -> int | None:
    model = vocab.tokenizer.model
    unk = getattr(model, "unk_token", None)
    if unk:
        return vocab.tokenizer.token_to_id(unk)
    unk_id = getattr(model, "unk_id", None)
    return unk_id if isinstance(unk_id, int) else None


def _words_split_in_three(
    vocab: Vocabulary, words: Counter[str], known: dict[str, int], cancel: CancelFlag | None
) -> int:
    """Occurrences of words that take 3+ tokens, each distinct word encoded once, as mid-sentence.

    `known` gives the tokens of texts already encoded (pieces such as " word"), to skip them here.
    """
    # Byte-level BPE sees a word mid-sentence with its leading space; Metaspace adds one itself.
    prefix = " " if vocab.info.byte_level else ""
    split = 0
    distinct = []  # words not met as a piece yet
    for word, n in words.items():
        length = known.get(prefix + word)
        if length is None:
            distinct.append(word)
        elif length >= 3:
            split += n
    encode = _encoder(vocab.tokenizer)
    for start in range(0, len(distinct), _BATCH_PIECES):
        if cancel is not None:
            cancel.check()
        chunk = distinct[start : start + _BATCH_PIECES]
        encodings = encode([prefix + w for w in chunk], add_special_tokens=False)
        split += sum(words[w] for w, enc in zip(chunk, encodings, strict=True) if len(enc.ids) >= 3)
    return split


def read_lines(
    path: str | Path, limit: int | None = 10_000, column: str = "text", seed: int = 0
) -> list[str]:
    """Up to `limit` non-empty lines of a corpus (all when `limit` is None or 0), sampled evenly."""
    from studio.corpus.formats import describe_corpus

    info = describe_corpus(path)
    if info.is_plain:
        found: list[str] = []
        for file in info.files:
            with open(file.path, encoding="utf-8", errors="replace") as handle:
                found.extend(line.rstrip("\n") for line in handle if line.strip())
    else:
        from studio.corpus.formats import load_text_dataset

        found = [t for t in load_text_dataset(path, column)["text"] if t and t.strip()]
    if not found:
        raise StudioError(
            f"{path}: no text to measure on (the corpus is empty)", "point at a corpus with some text"
        )
    if limit and len(found) > limit:
        found = random.Random(seed).sample(found, limit)
    return found


def held_out_lines(vocab: Vocabulary, limit: int = 10_000) -> list[str]:
    """Lines to measure on when none are given: the tail of the training corpus, when it still exists."""
    corpus = vocab.info.record.get("corpus")
    if not corpus or not Path(corpus).is_absolute() or not Path(corpus).exists():
        return []
    return _tail_lines(Path(corpus), limit) if Path(corpus).is_file() else read_lines(corpus, limit)


def _tail_lines(path: Path, limit: int) -> list[str]:
    """The last `limit` non-empty lines of a text file, read from its end (cheap for big files)."""
    if not path.name.endswith((".txt", ".text")):
        return read_lines(path, limit)
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        block = min(size, max(1 << 20, limit * 400))
        handle.seek(size - block)
        text = handle.read().decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines()[1 if block < size else 0 :] if line.strip()]
    return lines[-limit:]


def compare(vocabs: Sequence[Vocabulary], lines: Sequence[str], sample: str = "") -> dict[str, Any]:
    """Both tokenizers' figures on the same lines, and `sample` as each one splits it."""
    return {
        "figures": [compute_figures(v, lines).to_dict() for v in vocabs],
        "pieces": [v.readable_pieces(sample) if sample else [] for v in vocabs],
    }
