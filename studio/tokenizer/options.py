"""What a tokenizer is trained with: the kinds, their options, and the special tokens per model.

Cheap to import (no tokenizers, no sentencepiece): the CLI and the TUI build and check options
on their main thread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from studio.errors import StudioError

KINDS = ("bytelevel-bpe", "wordpiece", "unigram", "sentencepiece-unigram", "sentencepiece-bpe")
SENTENCEPIECE_KINDS = ("sentencepiece-unigram", "sentencepiece-bpe")
TARGETS = ("roberta", "bert", "gpt2", "llama", "reformer")

# The model family a kind is usually trained for; its special tokens are the default.
DEFAULT_TARGET = {
    "bytelevel-bpe": "roberta",
    "wordpiece": "bert",
    "unigram": "roberta",
    "sentencepiece-unigram": "reformer",
    "sentencepiece-bpe": "reformer",
}


@dataclass(frozen=True)
class SpecialTokens:
    """The special tokens of one model family, by role, in the order they take the first ids."""

    order: tuple[str, ...]
    roles: dict[str, str]  # HF attribute name (bos_token, pad_token, ...) -> token
    template: tuple[str, str] | None = None  # (before, after) added around a single sequence


SPECIALS: dict[str, SpecialTokens] = {
    "roberta": SpecialTokens(
        ("<s>", "<pad>", "</s>", "<unk>", "<mask>"),
        {
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "sep_token": "</s>",
            "cls_token": "<s>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
        },
        ("<s>", "</s>"),
    ),
    "bert": SpecialTokens(
        ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"),
        {
            "unk_token": "[UNK]",
            "sep_token": "[SEP]",
            "pad_token": "[PAD]",
            "cls_token": "[CLS]",
            "mask_token": "[MASK]",
        },
        ("[CLS]", "[SEP]"),
    ),
    "gpt2": SpecialTokens(
        ("<|endoftext|>", "<pad>"),
        {
            "bos_token": "<|endoftext|>",
            "eos_token": "<|endoftext|>",
            "unk_token": "<|endoftext|>",
            "pad_token": "<pad>",
        },
    ),
    # SentencePiece's own order: unk 0, bos 1, eos 2, pad 3 (what Llama-style tokenizers use).
    "llama": SpecialTokens(
        ("<unk>", "<s>", "</s>", "<pad>"),
        {"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"},
        ("<s>", ""),
    ),
    # Reformer's tokenizer knows eos, unk and pad; <mask> makes masked-LM training possible.
    "reformer": SpecialTokens(
        ("<unk>", "<s>", "</s>", "<pad>", "<mask>"),
        {
            "unk_token": "<unk>",
            "bos_token": "<s>",
            "eos_token": "</s>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
        },
    ),
}

# The transformers class written in tokenizer_config.json; the file itself is always tokenizer.json.
TOKENIZER_CLASS = {"llama": "LlamaTokenizer", "reformer": "ReformerTokenizer"}


@dataclass
class TrainOptions:
    """Everything a tokenizer is trained with; saved in the output's `studio_tokenizer.json`."""

    corpus: str
    kind: str = "bytelevel-bpe"
    vocab_size: int = 52_000
    min_frequency: int = 2
    target: str = ""  # empty: the kind's usual model family (DEFAULT_TARGET)
    special_tokens: list[str] = field(default_factory=list)  # empty: the target's specials
    limit_alphabet: int | None = None  # HF kinds: at most this many initial characters
    character_coverage: float = 0.9995  # SentencePiece: share of characters the alphabet covers
    byte_fallback: bool = False  # SentencePiece: unknown characters become <0x..> byte pieces
    normalization: str = "nmt_nfkc"  # SentencePiece rule name; HF kinds: "nfkc" or "none"
    lowercase: bool = False
    max_sentence_length: int = 16_384  # SentencePiece: longer lines (bytes) are skipped
    sample_lines: int | None = None  # train on this many lines (SentencePiece: input_sentence_size)
    threads: int | None = None  # None: all cores
    model_max_length: int = 512
    text_column: str = "text"

    def resolved_target(self) -> str:
        return self.target or DEFAULT_TARGET.get(self.kind, "roberta")

    def specials(self) -> SpecialTokens:
        """The special tokens in use: the target's, or the user's list (roles kept where they match)."""
        base = SPECIALS[self.resolved_target()]
        if not self.special_tokens:
            return base
        given = tuple(dict.fromkeys(self.special_tokens))
        roles = {role: tok for role, tok in base.roles.items() if tok in given}
        template = base.template if base.template and all(t in given for t in base.template if t) else None
        return SpecialTokens(given, roles, template)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainOptions:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})

    def check(self) -> None:
        """Refuse options that cannot work, before any process starts."""
        if self.kind not in KINDS:
            raise StudioError(f"unknown tokenizer kind {self.kind!r}", f"choose one of: {', '.join(KINDS)}")
        if self.target and self.target not in TARGETS:
            raise StudioError(f"unknown target model {self.target!r}", f"choose one of: {', '.join(TARGETS)}")
        minimum = minimum_vocab_size(self)
        if self.vocab_size < minimum:
            raise StudioError(
                f"vocab size {self.vocab_size} is below the minimum for {self.kind} ({minimum}: "
                f"{len(self.specials().order)} special tokens plus the alphabet)",
                f"use --vocab-size {minimum} or more (the blog uses 52000)",
            )
        if self.min_frequency < 1:
            raise StudioError(f"min frequency {self.min_frequency} must be at least 1")
        if not 0.9 <= self.character_coverage <= 1.0:
            raise StudioError(
                f"character coverage {self.character_coverage} is out of range",
                "use a value between 0.9 and 1.0 (0.9995 for most languages, 1.0 for small alphabets)",
            )
        if self.sample_lines is not None and self.sample_lines < 1:
            raise StudioError(f"sample size {self.sample_lines} must be a positive number of lines")
        if self.threads is not None and self.threads < 1:
            raise StudioError(f"threads {self.threads} must be at least 1")
        if self.model_max_length < 8:
            raise StudioError(f"model max length {self.model_max_length} is too small", "use 512 or more")
        if self.kind not in SENTENCEPIECE_KINDS and self.normalization not in ("nfkc", "none", "nmt_nfkc"):
            raise StudioError(
                f"normalization {self.normalization!r} is not available for {self.kind}", "use nfkc or none"
            )


# The alphabet every kind starts from, before any merge: byte-level BPE has all 256 bytes;
# the others learn theirs from the corpus, so the floor is a small alphabet (the trainers then
# refuse or pad when the corpus has more distinct characters than that).
_ALPHABET_FLOOR = {
    "bytelevel-bpe": 256,
    "wordpiece": 30,
    "unigram": 30,
    "sentencepiece-unigram": 30,
    "sentencepiece-bpe": 30,
}


def minimum_vocab_size(options: TrainOptions) -> int:
    """The smallest vocab size that holds the kind's alphabet plus the special tokens."""
    alphabet = _ALPHABET_FLOOR.get(options.kind, 30)
    if options.kind in SENTENCEPIECE_KINDS and options.byte_fallback:
        alphabet = 256 + alphabet
    return alphabet + len(options.specials().order)
