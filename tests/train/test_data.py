"""The data pipeline: packed blocks, line-by-line examples, validation split, cache, clear errors."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from _engine_fixtures import TINY_BLOCK, make_config, make_corpus, make_tokenizer

from studio.errors import StudioError
from studio.train.data import prepare_datasets, uses_packing


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A 1,500-line demo corpus and a 1,000-token byte-level BPE trained on it."""
    root = tmp_path_factory.mktemp("data")
    corpus = make_corpus(root / "corpus", lines=1500)
    tokenizer = make_tokenizer(corpus, root / "tokenizer")
    return {"root": root, "corpus": corpus, "tokenizer_dir": root / "tokenizer", "tokenizer": tokenizer}


def test_packed_blocks_are_full_and_keep_document_boundaries(assets: dict[str, Any], tmp_path: Path) -> None:
    """Packed: every example is exactly one block, documents are separated by </s><s>."""
    tokenizer = assets["tokenizer"]
    config = make_config(assets["corpus"], assets["tokenizer_dir"])
    prepared = prepare_datasets(config, tokenizer, cache_dir=tmp_path)
    assert prepared.packed and prepared.block_size == TINY_BLOCK
    lengths = {len(row) for row in prepared.train["input_ids"]}
    assert lengths == {TINY_BLOCK}
    assert prepared.train_tokens == len(prepared.train) * TINY_BLOCK
    stream = [i for row in prepared.train["input_ids"][:20] for i in row]
    pairs = list(itertools.pairwise(stream))
    assert (tokenizer.eos_token_id, tokenizer.bos_token_id) in pairs
    assert tokenizer.pad_token_id not in stream
    assert prepared.eval is not None and len(prepared.eval) >= 1  # 1 % of 1,500 lines


def test_line_by_line_truncates_and_drops_empty_lines(assets: dict[str, Any], tmp_path: Path) -> None:
    """Line by line (and the recipe): one example per non-empty line, truncated to the block."""
    config = make_config(assets["corpus"], assets["tokenizer_dir"], mode="recipe")
    config.data.validation_split = 0.0
    assert not uses_packing(config)
    prepared = prepare_datasets(config, assets["tokenizer"], cache_dir=tmp_path)
    non_empty = sum(1 for line in assets["corpus"].read_text(encoding="utf-8").splitlines() if line.strip())
    assert not prepared.packed and prepared.eval is None
    assert len(prepared.train) == non_empty
    lengths = [len(row) for row in prepared.train["input_ids"]]
    assert max(lengths) == TINY_BLOCK and min(lengths) < TINY_BLOCK
    assert prepared.train_tokens == sum(lengths)


def test_second_prepare_comes_from_the_cache(assets: dict[str, Any], tmp_path: Path) -> None:
    """The same corpus, tokenizer and settings load from the fingerprint cache; a change does not."""
    config = make_config(assets["corpus"], assets["tokenizer_dir"])
    first = prepare_datasets(config, assets["tokenizer"], cache_dir=tmp_path)
    again = prepare_datasets(config, assets["tokenizer"], cache_dir=tmp_path)
    assert not first.from_cache and again.from_cache
    assert again.train["input_ids"][:3] == first.train["input_ids"][:3]
    assert again.train_tokens == first.train_tokens
    config.data.block_size = 32
    other = prepare_datasets(config, assets["tokenizer"], cache_dir=tmp_path)
    assert not other.from_cache and other.block_size == 32


def test_runs_that_prepare_the_same_data_at_once_share_the_cache(
    assets: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs started together tokenize the same corpus and both save it: the second save finds
    the entry the first put in place (or loses the rename to it) and keeps going; the entry stays
    whole and nothing is left behind."""
    import shutil

    from studio.train import data

    config = make_config(assets["corpus"], assets["tokenizer_dir"])
    first = prepare_datasets(config, assets["tokenizer"], cache_dir=tmp_path)
    (entry,) = (tmp_path / "tokenized").iterdir()
    data._save_prepared(first, entry)  # the slower run saves after the first finished: no error

    # The slower run checks before the faster one's rename lands, and loses the race.
    winner = tmp_path / "winner"
    shutil.copytree(entry, winner)
    shutil.rmtree(entry)
    real_replace = Path.replace

    def lose_the_race(self: Path, target: Any) -> Path:
        if self.name.endswith(".tmp"):
            real_replace(winner, target)  # the other run's entry lands first
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", lose_the_race)
    data._save_prepared(first, entry)
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "tokenized").iterdir()) == [entry.name]
    again = prepare_datasets(config, assets["tokenizer"], cache_dir=tmp_path)
    assert again.from_cache and again.train["input_ids"][:3] == first.train["input_ids"][:3]


def test_jsonl_column_max_lines_and_eval_split(assets: dict[str, Any], tmp_path: Path) -> None:
    """A .jsonl corpus with another text column; max_lines limits it; the split is seeded."""
    lines = assets["corpus"].read_text(encoding="utf-8").splitlines()[:400]
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "".join(json.dumps({"id": i, "body": t}) + "\n" for i, t in enumerate(lines)), encoding="utf-8"
    )
    config = make_config(corpus, assets["tokenizer_dir"], mode="recipe")
    config.data.text_column = "body"
    config.data.max_lines = 300
    config.data.validation_split = 0.1
    prepared = prepare_datasets(config, assets["tokenizer"], cache_dir=None)
    assert prepared.eval is not None
    non_empty = sum(1 for t in lines[:300] if t.strip())
    assert len(prepared.train) + len(prepared.eval) == non_empty


def test_corpus_smaller_than_one_block_is_a_clear_error(assets: dict[str, Any], tmp_path: Path) -> None:
    """Fewer tokens than one block: a StudioError that says so and suggests a smaller block."""
    corpus = tmp_path / "small.txt"
    corpus.write_text("La hundo kuras.\nMi legas libron.\n", encoding="utf-8")
    config = make_config(corpus, assets["tokenizer_dir"])
    with pytest.raises(StudioError, match="smaller than one block") as caught:
        prepare_datasets(config, assets["tokenizer"], cache_dir=tmp_path)
    assert "block_size" in (caught.value.hint or "")


def test_missing_corpus_is_a_clear_error(assets: dict[str, Any], tmp_path: Path) -> None:
    """A corpus path that does not exist is a StudioError, not a traceback."""
    config = make_config(tmp_path / "nowhere.txt", assets["tokenizer_dir"])
    with pytest.raises(StudioError):
        prepare_datasets(config, assets["tokenizer"], cache_dir=tmp_path)


def test_parallel_tokenization_matches_one_process(assets: dict[str, Any], tmp_path: Path) -> None:
    """`data.num_proc: 2` gives the same line-by-line examples as one process."""
    config = make_config(assets["corpus"], assets["tokenizer_dir"], mode="recipe")
    config.data.validation_split = 0.0
    config.data.max_lines = 600
    one = prepare_datasets(config, assets["tokenizer"])
    config.data.num_proc = 2
    two = prepare_datasets(config, assets["tokenizer"])
    assert one.train["input_ids"] == two.train["input_ids"]
