"""`studio bench`: the blog's recipe against Studio's default, same model, corpus and device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


def train_bytelevel_tokenizer(corpus: str | Path, out_dir: str | Path, vocab_size: int = 52_000) -> Any:
    """Train the blog's byte-level BPE (RoBERTa specials, min frequency 2), save it, load it.

    The saved directory loads with `AutoTokenizer`. Used by the bench and its tests, where a
    tokenizer is needed in seconds and without the tokenizer layer's subprocess.
    """
    import transformers
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trainer = ByteLevelBPETokenizer()
    trainer.train([str(corpus)], vocab_size=vocab_size, min_frequency=2,
                  special_tokens=list(ROBERTA_SPECIALS), show_progress=False)
    backend = trainer._tokenizer
    backend.post_processor = RobertaProcessing(
        ("</s>", backend.token_to_id("</s>")), ("<s>", backend.token_to_id("<s>"))
    )
    backend.save(str(out / "tokenizer.json"))
    tokenizer = transformers.RobertaTokenizerFast(tokenizer_file=str(out / "tokenizer.json"), model_max_length=512)
    tokenizer.save_pretrained(str(out))
    return tokenizer
