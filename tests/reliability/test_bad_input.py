"""Bad input found by the journey: an empty corpus field must not read the current folder."""

from __future__ import annotations

from pathlib import Path

from reliability_helpers import studio


def test_empty_corpus_path_is_refused(tmp_path: Path) -> None:
    """`--corpus ""` (an empty form field) is "no corpus given", not the current folder read as a corpus."""
    out = tmp_path / "tok"
    result = studio(
        "tokenizer", "train", "--corpus", "", "--vocab-size", "300", "--out", str(out), cwd=tmp_path
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "studio: error: no corpus given" in result.stderr, result.stderr
    assert not out.exists()
