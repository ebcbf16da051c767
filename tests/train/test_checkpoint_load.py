"""Loading a checkpoint on resume: tied weights come back tied, and nothing is reported missing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, TrainingArguments

from studio.config import RunConfig
from studio.train.engine import build_collator, build_model
from studio.train.worker import studio_trainer_class, tied_aliases


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_resume_loads_tied_weights_without_a_missing_keys_warning(
    tmp_path: Path, tiny_config: Callable[..., RunConfig], train_tokenizer: Path
) -> None:
    """RoBERTa's decoder is its word embedding (and the decoder bias the head's bias): a checkpoint
    stores each once. Loading it must restore both through the tie and not warn of missing keys,
    a warning a user would read as a broken resume."""
    config = tiny_config()
    tokenizer = AutoTokenizer.from_pretrained(str(train_tokenizer))
    saved = build_model(config, tokenizer)
    with torch.no_grad():  # weights that a fresh model cannot have by chance
        saved.roberta.embeddings.word_embeddings.weight.add_(1.0)
        saved.lm_head.bias.add_(2.0)
    saved.save_pretrained(tmp_path / "checkpoint")

    model = build_model(config, tokenizer)
    trainer = studio_trainer_class()(
        model=model,
        args=TrainingArguments(output_dir=str(tmp_path / "out"), use_cpu=True, report_to="none"),
        data_collator=build_collator(config, tokenizer),
    )
    collect = _Collect()
    transformers_logger = logging.getLogger("transformers")
    transformers_logger.addHandler(collect)
    try:
        trainer._load_from_checkpoint(str(tmp_path / "checkpoint"))
    finally:
        transformers_logger.removeHandler(collect)

    assert not [m for m in collect.messages if "missing keys" in m], collect.messages
    embedding = model.roberta.embeddings.word_embeddings.weight
    assert model.lm_head.decoder.weight is embedding  # still tied
    assert torch.equal(embedding, saved.roberta.embeddings.word_embeddings.weight)
    assert torch.equal(model.lm_head.decoder.bias, saved.lm_head.bias)


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ({"lm_head.decoder.weight"}, {"lm_head.decoder.weight"}),  # loaded through the embedding
        ({"lm_head.decoder.weight", "roberta.embeddings.word_embeddings.weight"}, set()),  # truly absent
        ({"lm_head.dense.weight"}, set()),  # not tied to anything: a real missing key stays reported
    ],
)
def test_only_tied_names_are_forgiven(
    tiny_config: Callable[..., RunConfig], train_tokenizer: Path, missing: set[str], expected: set[str]
) -> None:
    model = build_model(tiny_config(), AutoTokenizer.from_pretrained(str(train_tokenizer)))
    assert tied_aliases(model, missing) == expected
