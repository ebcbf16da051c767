"""A tokenizer's vocabulary made readable: load fast, show every token, filter, sort, explain.

`load_tokenizer` reads a tokenizer directory, a `tokenizer.json` or a SentencePiece `.model`
with the `tokenizers` library directly (no transformers), so a 250k vocabulary opens in well
under a second. `Vocabulary` holds each token's raw form, its readable form (byte-level `Ġ` as
a visible space mark, `Ċ` as a newline mark, bytes that are not whole characters as `<0xE2>`,
control characters visible), and answers filters and sorts with plain lists of ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from studio.errors import StudioError
from studio.text import visible

SPACE_MARK = "␣"
NEWLINE_MARK = "↵"
NOT_A_TOKENIZER_HINT = "give a tokenizer directory (with tokenizer.json or a .model), a tokenizer.json, or a SentencePiece .model"


@cache
def byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet, reversed: the printable stand-in character -> the byte."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return {chr(code): byte for byte, code in zip(printable, codes, strict=True)}


def readable_bytes(data: bytes) -> str:
    """Decode bytes for display: whole UTF-8 characters as text, stray bytes as `<0xNN>`."""
    out: list[str] = []
    text = data.decode("utf-8", errors="surrogateescape")
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that is not part of a whole character
            out.append(f"<0x{code - 0xDC00:02X}>")
        else:
            out.append(char)
    return _marks("".join(out))


def _marks(text: str) -> str:
    return visible(text.replace(" ", SPACE_MARK).replace("\n", NEWLINE_MARK))


@dataclass
class TokenizerInfo:
    """How a tokenizer was found and what kind of model it is."""

    path: Path
    source: str  # "tokenizer.json" or "sentencepiece"
    model_type: str  # BPE, WordPiece, Unigram, WordLevel
    byte_level: bool
    metaspace: bool
    record: dict[str, Any] = field(default_factory=dict)  # studio_tokenizer.json, when there is one
    config: dict[str, Any] = field(default_factory=dict)  # tokenizer_config.json, when there is one


def find_tokenizer_file(path: str | Path) -> tuple[Path, str]:
    """Where the tokenizer is: (file, "tokenizer.json" | "sentencepiece"), or a `StudioError`."""
    path = Path(path).expanduser()
    if not path.exists():
        raise StudioError(f"{path}: no such file or folder", NOT_A_TOKENIZER_HINT)
    if path.is_dir():
        if (path / "tokenizer.json").is_file():
            return path / "tokenizer.json", "tokenizer.json"
        models = sorted(path.glob("*.model"))
        if models:
            return models[0], "sentencepiece"
        raise StudioError(f"{path}: not a tokenizer folder (no tokenizer.json and no .model file in it)",
                          NOT_A_TOKENIZER_HINT)
    if path.suffix == ".model":
        return path, "sentencepiece"
    if path.suffix == ".json":
        return path, "tokenizer.json"
    raise StudioError(f"{path}: not a tokenizer file (expected tokenizer.json or a .model)", NOT_A_TOKENIZER_HINT)


def load_tokenizer(path: str | Path) -> tuple[Any, TokenizerInfo]:
    """A `tokenizers.Tokenizer` and what it is, from a directory, a tokenizer.json or a .model."""
    from tokenizers import Tokenizer

    file, source = find_tokenizer_file(path)
    if source == "sentencepiece":
        from studio.tokenizer.spm import load_spm_as_tokenizer

        tokenizer = load_spm_as_tokenizer(file)
    else:
        try:
            tokenizer = Tokenizer.from_file(str(file))
        except Exception as exc:  # tokenizers raises plain Exceptions for files it cannot parse
            first = str(exc).splitlines()[0][:160] if str(exc) else exc.__class__.__name__
            raise StudioError(f"{file}: not a valid tokenizer.json ({first})", NOT_A_TOKENIZER_HINT) from None
    pipeline = json.loads(tokenizer.to_str()) if source == "sentencepiece" else _read_json(file)
    folder = file.parent
    info = TokenizerInfo(
        path=file,
        source=source,
        model_type=str((pipeline.get("model") or {}).get("type", "?")),
        byte_level=_mentions(pipeline.get("pre_tokenizer"), "ByteLevel") or _mentions(pipeline.get("decoder"), "ByteLevel"),
        metaspace=_mentions(pipeline.get("pre_tokenizer"), "Metaspace") or _mentions(pipeline.get("decoder"), "Metaspace"),
        record=_read_json(folder / "studio_tokenizer.json"),
        config=_read_json(folder / "tokenizer_config.json"),
    )
    return tokenizer, info


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _mentions(node: Any, type_name: str) -> bool:
    if isinstance(node, dict):
        return node.get("type") == type_name or any(_mentions(v, type_name) for v in node.values())
    if isinstance(node, list):
        return any(_mentions(v, type_name) for v in node)
    return False


class Vocabulary:
    """Every token by id, raw and readable, with filters, sorts and a per-token detail."""

    def __init__(self, tokenizer: Any, info: TokenizerInfo) -> None:
        self.tokenizer = tokenizer
        self.info = info
        size = tokenizer.get_vocab_size(with_added_tokens=True)
        raw: list[str] = [""] * size
        for token, index in tokenizer.get_vocab(with_added_tokens=True).items():
            if 0 <= index < size:
                raw[index] = token
        self.raw = raw
        self.special = {t.content for t in tokenizer.get_added_tokens_decoder().values() if t.special}
        self.readable = [self._readable(token) for token in raw]
        self.lengths = [len(self.decoded_bytes(i)) for i in range(size)]  # in bytes of text
        self.frequency: list[int] | None = None
        self._folded: list[str] | None = None
        self._merges: dict[str, tuple[str, str]] | None = None

    def __len__(self) -> int:
        return len(self.raw)

    # --- forms ---------------------------------------------------------------------------------

    def _readable(self, token: str) -> str:
        if token in self.special:
            return visible(token)
        if self.info.byte_level:
            table = byte_decoder()
            if all(ch in table for ch in token):
                return readable_bytes(bytes(table[ch] for ch in token))
        if self.info.metaspace:
            token = token.replace("▁", " ")
        return _marks(token)

    def decoded_bytes(self, token_id: int) -> bytes:
        """The bytes of text this token stands for (specials: their own text)."""
        token = self.raw[token_id]
        if token in self.special:
            return token.encode("utf-8")
        if self.info.byte_level:
            table = byte_decoder()
            if all(ch in table for ch in token):
                return bytes(table[ch] for ch in token)
        if len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
            try:
                return bytes([int(token[3:5], 16)])
            except ValueError:
                pass
        if self.info.metaspace:
            token = token.replace("▁", " ")
        if self.info.model_type == "WordPiece" and token.startswith("##"):
            token = token[2:]
        return token.encode("utf-8")

    # --- filter and sort -----------------------------------------------------------------------

    def filter(self, query: str, ids: Sequence[int] | None = None) -> list[int]:
        """Ids whose readable or raw form contains `query` (case-insensitive; a space matches ␣)."""
        if not query:
            return list(range(len(self))) if ids is None else list(ids)
        if self._folded is None:
            self._folded = [f"{r}\x00{t}".casefold() for r, t in zip(self.readable, self.raw, strict=True)]
        folded = self._folded
        needle = query.casefold()
        alt = needle.replace(" ", SPACE_MARK)
        source = range(len(folded)) if ids is None else ids
        if alt == needle:
            return [i for i in source if needle in folded[i]]
        return [i for i in source if needle in folded[i] or alt in folded[i]]

    def sort(self, ids: list[int], key: str, descending: bool = False) -> list[int]:
        """Sort ids by "id", "length" (bytes) or "frequency" (needs `set_frequency` first)."""
        if key == "length":
            lengths = self.lengths
            return sorted(ids, key=lambda i: (-lengths[i], i) if descending else (lengths[i], i))
        if key == "frequency" and self.frequency is not None:
            freq = self.frequency
            return sorted(ids, key=lambda i: (-freq[i], i) if descending else (freq[i], i))
        return sorted(ids, reverse=descending)

    def set_frequency(self, counts: Sequence[int]) -> None:
        self.frequency = list(counts)[: len(self)] + [0] * max(0, len(self) - len(counts))

    # --- detail --------------------------------------------------------------------------------

    def merge_of(self, token_id: int) -> tuple[str, str] | None:
        """The BPE merge (left, right) that produced this token, when the model is BPE."""
        if self.info.model_type != "BPE":
            return None
        if self._merges is None:
            model = json.loads(self.tokenizer.to_str()).get("model", {})
            merges: dict[str, tuple[str, str]] = {}
            for merge in model.get("merges", []):
                left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
                merges.setdefault(left + right, (left, right))
            self._merges = merges
        return self._merges.get(self.raw[token_id])

    def detail(self, token_id: int, sample_lines: Iterable[str] = (), max_examples: int = 3) -> dict[str, Any]:
        """Everything about one token: forms, bytes, merge, frequency, example lines."""
        data = self.decoded_bytes(token_id)
        merge = self.merge_of(token_id)
        text = data.decode("utf-8", errors="ignore").strip()
        examples: list[str] = []
        if text and token_id not in self.special_ids():
            for line in sample_lines:
                if text in line:
                    examples.append(line)
                    if len(examples) >= max_examples:
                        break
        return {
            "id": token_id,
            "raw": self.raw[token_id],
            "readable": self.readable[token_id],
            "bytes": data.hex(" "),
            "length": len(data),
            "special": self.raw[token_id] in self.special,
            "merge": [self._readable(merge[0]), self._readable(merge[1])] if merge else None,
            "frequency": self.frequency[token_id] if self.frequency is not None else None,
            "examples": examples,
        }

    def special_ids(self) -> set[int]:
        return {i for i, token in enumerate(self.raw) if token in self.special}

    def readable_pieces(self, text: str) -> list[tuple[int, str]]:
        """`text` split into (id, readable form) pairs, specials not added."""
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        return [(i, self.readable[i] if 0 <= i < len(self) else str(i)) for i in encoding.ids]


def open_vocabulary(path: str | Path) -> Vocabulary:
    """Load a tokenizer and its readable vocabulary in one call."""
    tokenizer, info = load_tokenizer(path)
    return Vocabulary(tokenizer, info)


def count_frequencies(tokenizer: Any, lines: Sequence[str], vocab_size: int, batch: int = 2000) -> list[int]:
    """How often each id occurs when `lines` are encoded (batch encoding, all cores)."""
    import numpy as np

    counts = np.zeros(vocab_size, dtype=np.int64)
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
    for start in range(0, len(lines), batch):
        encodings = encode(list(lines[start : start + batch]), add_special_tokens=False)
        ids = [i for enc in encodings for i in enc.ids]
        if ids:
            counts += np.bincount(np.asarray(ids, dtype=np.int64), minlength=vocab_size)[:vocab_size]
    return counts.tolist()
