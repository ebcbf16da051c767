"""Probes: what the model makes of a few held-out sentences, every `studio.probe_every` steps.

Masked LM: one word of each sentence is masked and the top 5 fillers are reported with their
probabilities (the fill-mask pipeline's view). Causal LM: the first words are continued greedily.
Probes run on the main rank, in eval mode and without gradients, then training resumes.
"""

from __future__ import annotations

from typing import Any

from studio.train.events import Probe

PROBE_SENTENCES = 3
TOP_K = 5
GENERATE_TOKENS = 16
PROMPT_WORDS = 6


def probe_texts_from(
    dataset: Any, tokenizer: Any, count: int = PROBE_SENTENCES, words: int = 12
) -> list[str]:
    """A few held-out sentences decoded from the evaluation split (any corpus format works)."""
    texts: list[str] = []
    if dataset is None:
        return texts
    for index in range(min(len(dataset), count * 4)):
        ids = dataset[index]["input_ids"]
        text = tokenizer.decode(ids[: words * 4], skip_special_tokens=True)
        chunk = " ".join(text.split()[:words])
        if len(chunk.split()) >= 4:
            texts.append(chunk)
        if len(texts) >= count:
            break
    return texts


class Prober:
    """Runs the probe for a task on the given model and returns a `Probe` event."""

    def __init__(self, task: str, tokenizer: Any, texts: list[str]) -> None:
        self.task = task
        self.tokenizer = tokenizer
        self.texts = [t for t in texts if t.strip()]

    def run(self, model: Any, step: int) -> Probe | None:
        if model is None or not self.texts:
            return None
        import torch

        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                if self.task == "mlm":
                    results = [r for text in self.texts if (r := self._fill_mask(model, text))]
                    kind = "fill-mask"
                else:
                    results = [self._generate(model, text) for text in self.texts]
                    kind = "generate"
        finally:
            model.train(was_training)
        return Probe(step=step, kind=kind, results=results)

    def _fill_mask(self, model: Any, text: str) -> dict[str, Any] | None:
        import torch

        mask = self.tokenizer.mask_token
        if mask is None:
            return None
        words = text.split()
        position = len(words) // 2
        target = words[position]
        words[position] = mask
        masked = " ".join(words)
        device = next(model.parameters()).device
        encoded = self.tokenizer(masked, return_tensors="pt").to(device)
        where = (encoded["input_ids"][0] == self.tokenizer.mask_token_id).nonzero()
        if len(where) == 0:
            return None
        logits = model(**encoded).logits[0, int(where[0])]
        probs = torch.softmax(logits.float(), dim=-1)
        top = torch.topk(probs, TOP_K)
        outputs = [
            {"token": self.tokenizer.decode([int(i)]).strip(), "score": round(float(p), 4)}
            for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)
        ]
        return {"input": masked, "target": target, "outputs": outputs}

    def _generate(self, model: Any, text: str) -> dict[str, Any]:
        prompt = " ".join(text.split()[:PROMPT_WORDS])
        device = next(model.parameters()).device
        encoded = self.tokenizer(prompt, return_tensors="pt").to(device)
        pad = (
            self.tokenizer.pad_token_id
            if self.tokenizer.pad_token_id is not None
            else self.tokenizer.eos_token_id
        )
        out = model.generate(**encoded, max_new_tokens=GENERATE_TOKENS, do_sample=False, pad_token_id=pad)
        continuation = self.tokenizer.decode(
            out[0, encoded["input_ids"].shape[1] :], skip_special_tokens=True
        )
        return {"input": prompt, "outputs": [continuation]}
