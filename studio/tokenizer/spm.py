"""SentencePiece `.model` files turned into `tokenizers` tokenizers, without protobuf.

transformers converts a `.model` with the `protobuf` package, which Studio does not depend on.
A `.model` is a small protobuf message, so we read the few fields we need by hand and build the
same pipeline as transformers' `SpmConverter.build_tokenizer_from_spm_proto` (normalizer spec,
Metaspace, BPE merges ranked by piece score, byte fallback). The result encodes like
`SentencePieceProcessor.encode`, and it is what Studio saves as `tokenizer.json` next to the
`.model`, so the inspector and `AutoTokenizer` both read one fast file.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import StudioError

# SentencePiece piece types (sentencepiece_model.proto)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
MODEL_UNIGRAM, MODEL_BPE = 1, 2


@dataclass
class SpmModel:
    """The fields of a SentencePiece ModelProto that a `tokenizers` pipeline needs."""

    pieces: list[tuple[str, float, int]] = field(default_factory=list)  # (piece, score, type)
    model_type: int = MODEL_UNIGRAM
    byte_fallback: bool = False
    unk_id: int = 0
    precompiled_charsmap: bytes = b""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True
    normalizer_name: str = ""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, Any]]:
    """Decode one protobuf message level: (field number, int or bytes) in order."""
    out: list[tuple[int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, value))
    return out


def read_spm_model(path: str | Path) -> SpmModel:
    """Parse a SentencePiece `.model` file; a `StudioError` if it is not one."""
    path = Path(path)
    try:
        data = path.read_bytes()
        model = SpmModel()
        for number, value in _fields(data):
            if number == 1:  # SentencePiece pieces
                piece, score, kind = "", 0.0, NORMAL
                for sub, sub_value in _fields(value):
                    if sub == 1:
                        piece = sub_value.decode("utf-8")
                    elif sub == 2:
                        score = struct.unpack("<f", sub_value)[0]
                    elif sub == 3:
                        kind = sub_value
                model.pieces.append((piece, score, kind))
            elif number == 2:  # TrainerSpec
                for sub, sub_value in _fields(value):
                    if sub == 3:
                        model.model_type = sub_value
                    elif sub == 35:
                        model.byte_fallback = bool(sub_value)
                    elif sub == 40:
                        model.unk_id = sub_value
            elif number == 3:  # NormalizerSpec
                for sub, sub_value in _fields(value):
                    if sub == 1:
                        model.normalizer_name = sub_value.decode("utf-8")
                    elif sub == 2:
                        model.precompiled_charsmap = bytes(sub_value)
                    elif sub == 3:
                        model.add_dummy_prefix = bool(sub_value)
                    elif sub == 4:
                        model.remove_extra_whitespaces = bool(sub_value)
                    elif sub == 5:
                        model.escape_whitespaces = bool(sub_value)
    except (OSError, ValueError, IndexError, UnicodeDecodeError, struct.error):
        model = SpmModel()
    if not model.pieces or model.model_type not in (MODEL_UNIGRAM, MODEL_BPE):
        raise StudioError(
            f"{path}: not a SentencePiece unigram or BPE model",
            "give a .model file written by sentencepiece (or a tokenizer directory)",
        )
    return model


def spm_to_tokenizer(model: SpmModel) -> Any:
    """Build a `tokenizers.Tokenizer` that encodes like SentencePiece does with this model."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE, Unigram

    if model.model_type == MODEL_BPE:
        vocab = {piece: i for i, (piece, _score, _kind) in enumerate(model.pieces)}
        normal = {piece: (score, i) for i, (piece, score, kind) in enumerate(model.pieces) if kind == NORMAL}
        ranked = []
        for token, (score, index) in normal.items():
            for split in range(1, len(token)):
                left, right = token[:split], token[split:]
                if left in normal and right in normal:
                    ranked.append((-score, index, left, right))
        merges = [(left, right) for _, _, left, right in sorted(ranked)]
        unk_piece = model.pieces[model.unk_id][0]
        tokenizer = Tokenizer(
            BPE(
                vocab=vocab,
                merges=merges,
                unk_token=unk_piece,
                fuse_unk=True,
                byte_fallback=model.byte_fallback,
            )
        )
    else:
        vocab_scores = [(piece, score) for piece, score, _kind in model.pieces]
        tokenizer = Tokenizer(Unigram(vocab_scores, unk_id=model.unk_id, byte_fallback=model.byte_fallback))

    parts: list[Any] = []
    if model.precompiled_charsmap:
        parts.append(normalizers.Precompiled(model.precompiled_charsmap))
    if model.remove_extra_whitespaces:
        parts += [normalizers.Replace(Regex(r"\A +| +\z"), ""), normalizers.Replace(Regex(" {2,}"), " ")]
    if model.escape_whitespaces:
        parts.append(normalizers.Replace(" ", "▁"))
    if model.add_dummy_prefix:
        # Metaspace skips the dummy prefix when the text already starts with "▁"; SentencePiece does not
        parts.append(normalizers.Replace(Regex(r"\A▁"), "▁▁"))
    tokenizer.normalizer = normalizers.Sequence(parts)
    if model.add_dummy_prefix:
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement="▁", prepend_scheme="always", split=False
        )
    steps: list[Any] = [decoders.Replace("▁", " ")]
    if model.byte_fallback:
        steps.append(decoders.ByteFallback())
    steps.append(decoders.Fuse())
    if model.add_dummy_prefix:
        steps.append(decoders.Strip(content=" ", left=1))
    tokenizer.decoder = decoders.Sequence(steps)
    specials = [
        AddedToken(piece, special=True, normalized=False)
        for piece, _score, kind in model.pieces
        if kind in (CONTROL, UNKNOWN, USER_DEFINED)
    ]
    tokenizer.add_special_tokens(specials)
    return tokenizer


def load_spm_as_tokenizer(path: str | Path) -> Any:
    """A `.model` file as a `tokenizers.Tokenizer` (see `spm_to_tokenizer`)."""
    return spm_to_tokenizer(read_spm_model(path))


def is_special_piece_pattern(piece: str) -> bool:
    """True for SentencePiece byte pieces like `<0xE2>`."""
    return re.fullmatch(r"<0x[0-9A-F]{2}>", piece) is not None
