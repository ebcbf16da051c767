"""What the model layer needs to know about a saved tokenizer: kind, vocabulary size, special tokens.

Read with the `tokenizers` library (a `tokenizer.json`) or `sentencepiece` (a `.model` file), never
with transformers, so checking a config stays quick. The kind is inferred from the tokenizer's own
model and pre-tokenizer unless the directory says it (Studio's `studio_tokenizer.json` record).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import StudioError

KINDS = ("bytelevel-bpe", "wordpiece", "unigram", "sentencepiece-unigram", "sentencepiece-bpe")
SPECIAL_ROLES = ("pad_token", "mask_token", "bos_token", "eos_token", "unk_token", "cls_token", "sep_token")
# When a tokenizer does not name its specials, these spellings are looked up in its vocabulary.
_USUAL_SPELLINGS = {
    "pad_token": ("<pad>", "[PAD]"),
    "mask_token": ("<mask>", "[MASK]"),
    "bos_token": ("<s>", "[CLS]", "<|startoftext|>", "<bos>"),
    "eos_token": ("</s>", "[SEP]", "<|endoftext|>", "<eos>"),
    "unk_token": ("<unk>", "[UNK]"),
    "cls_token": ("<s>", "[CLS]"),
    "sep_token": ("</s>", "[SEP]"),
}


@dataclass(frozen=True)
class TokenizerInfo:
    """A tokenizer as the model sees it: its kind, vocabulary size and special tokens with ids."""

    path: str
    kind: str
    vocab_size: int
    special_tokens: dict[str, str] = field(default_factory=dict)  # role -> token text
    special_ids: dict[str, int] = field(default_factory=dict)  # role -> id

    def has(self, role: str) -> bool:
        return role in self.special_ids


def load_tokenizer_info(path: str | Path) -> TokenizerInfo:
    """Read a tokenizer directory (or a `tokenizer.json` / `.model` file); `StudioError` if unusable."""
    path = Path(path)
    if not str(path) or not path.exists():
        raise StudioError(
            f"{path}: no such tokenizer", "train one with `studio tokenizer train` or pick another"
        )
    directory = path if path.is_dir() else path.parent
    declared = _declared(directory)
    json_file = path if path.is_file() and path.suffix == ".json" else directory / "tokenizer.json"
    if json_file.is_file():
        return _from_tokenizer_json(json_file, directory, declared)
    sp_files = [path] if path.is_file() and path.suffix == ".model" else sorted(directory.glob("*.model"))
    if sp_files:
        return _from_sentencepiece(sp_files[0], directory, declared)
    raise StudioError(
        f"{path}: not a tokenizer (no tokenizer.json and no SentencePiece .model file)",
        "give a directory written by `studio tokenizer train` or `save_pretrained`",
    )


def _declared(directory: Path) -> dict[str, Any]:
    """The kind and special tokens a directory states about itself, if it does."""
    found: dict[str, Any] = {}
    for name in ("tokenizer_config.json", "special_tokens_map.json", "studio_tokenizer.json"):
        file = directory / name
        if not file.is_file():
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        for role in SPECIAL_ROLES:
            value = data.get(role)
            if isinstance(value, dict):  # AddedToken written out
                value = value.get("content")
            if isinstance(value, str) and value:
                found.setdefault(role, value)
        kind = data.get("kind") or data.get("studio_kind")
        if isinstance(kind, str) and kind in KINDS:
            found["kind"] = kind
    return found


def _from_tokenizer_json(file: Path, directory: Path, declared: dict[str, Any]) -> TokenizerInfo:
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(file))
        spec = json.loads(file.read_text(encoding="utf-8"))
    except Exception as exc:  # tokenizers raises plain Exceptions for bad files
        raise StudioError(f"{file}: not a valid tokenizer file ({str(exc).splitlines()[0][:120]})") from None
    kind = declared.get("kind") or _infer_kind(spec)
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    return TokenizerInfo(
        str(directory),
        kind,
        tokenizer.get_vocab_size(with_added_tokens=True),
        *_specials(declared, vocab.get),
    )


def _from_sentencepiece(file: Path, directory: Path, declared: dict[str, Any]) -> TokenizerInfo:
    import sentencepiece as spm

    try:
        sp = spm.SentencePieceProcessor(model_file=str(file))
    except Exception as exc:  # sentencepiece raises RuntimeError/OSError for bad files
        raise StudioError(
            f"{file}: not a valid SentencePiece model ({str(exc).splitlines()[0][:120]})"
        ) from None
    unk = sp.unk_id()

    def lookup(token: str) -> int | None:
        piece_id = sp.piece_to_id(token)
        return None if piece_id == unk and token != sp.id_to_piece(unk) else piece_id

    # SentencePiece's own control ids (-1 when turned off) come first, then the usual spellings.
    builtin = {"pad_token": sp.pad_id(), "bos_token": sp.bos_id(), "eos_token": sp.eos_id(), "unk_token": unk}
    for role, piece_id in builtin.items():
        if piece_id >= 0:
            declared.setdefault(role, sp.id_to_piece(piece_id))
    kind = declared.get("kind") or (
        "sentencepiece-bpe" if "bpe" in file.stem.lower() else "sentencepiece-unigram"
    )
    return TokenizerInfo(str(directory), kind, sp.get_piece_size(), *_specials(declared, lookup))


def _specials(declared: dict[str, Any], lookup: Any) -> tuple[dict[str, str], dict[str, int]]:
    """Each role's token and id: the declared spelling if the vocabulary has it, else a usual one."""
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    for role in SPECIAL_ROLES:
        candidates = [declared[role]] if role in declared else list(_USUAL_SPELLINGS[role])
        for token in candidates:
            token_id = lookup(token)
            if token_id is not None:
                tokens[role], ids[role] = token, int(token_id)
                break
    return tokens, ids


def _infer_kind(spec: dict[str, Any]) -> str:
    model_type = (spec.get("model") or {}).get("type", "")
    pre = json.dumps(spec.get("pre_tokenizer") or {})
    if model_type == "WordPiece":
        return "wordpiece"
    if model_type == "BPE":
        if "ByteLevel" in pre:
            return "bytelevel-bpe"
        return "sentencepiece-bpe" if "Metaspace" in pre else "unknown"
    if model_type == "Unigram":
        return "sentencepiece-unigram" if "Metaspace" in pre else "unigram"
    return "unknown"
