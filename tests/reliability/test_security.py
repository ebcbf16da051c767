"""Security invariants that hold across the code base."""

from __future__ import annotations

import re
from pathlib import Path

import studio

SOURCE = Path(studio.__file__).parent


def _python_files() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def test_trust_remote_code_is_never_passed() -> None:
    """No call in Studio passes trust_remote_code (it would run code from a model directory)."""
    offenders = [
        f"{p}:{i}"
        for p in _python_files()
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"trust_remote_code\s*=\s*True", line)
    ]
    assert offenders == []


def test_torch_load_is_always_weights_only() -> None:
    """Every torch.load in Studio passes weights_only=True (pickles can run code)."""
    offenders = []
    for path in _python_files():
        text = path.read_text()
        for match in re.finditer(r"torch\.load\(", text):
            call = text[match.start() : text.find(")", match.start()) + 200]
            if "weights_only=True" not in call:
                offenders.append(f"{path}:{text[: match.start()].count(chr(10)) + 1}")
    assert offenders == []


def test_no_pickle_of_untrusted_data() -> None:
    """Studio never unpickles files (checkpoints and models are safetensors)."""
    offenders = [str(p) for p in _python_files() if re.search(r"\bpickle\.loads?\(", p.read_text())]
    assert offenders == []
