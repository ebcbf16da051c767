"""The training engine: the model, collator and `TrainingArguments` defaults for each mode.

Two modes (`studio.mode`):

- **fast** (the default). Masked LM on packed blocks, with the masking moved from the CPU
  collator into the training step on the device (80/10/10, special tokens excluded) and the MLM
  head applied only at the masked positions (gather, then head: ~15 % of the head's work, and
  of its memory). The collator only stacks token ids; the encoder runs SDPA with no padding
  mask; bf16 autocast and TF32 where the device has them (fp32 on CPU), fused AdamW, pinned
  memory and loader workers. Causal LM: packed blocks, bf16, fused AdamW, SDPA.
- **recipe**: the blog's way, kept because it is what people compare against: line by line,
  dynamic padding, `DataCollatorForLanguageModeling` masking on the CPU, the full head, fp32.

Everything runs inside the stock HF `Trainer`: the fast path is a model subclass whose forward
does the masking and the sparse loss. The subclass saves as its parent (`architectures` and
weights are the standard ones), so checkpoints load with `AutoModelForMaskedLM` and no Studio
code, and give the same logits.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.config import RunConfig

if TYPE_CHECKING:
    import torch
    import transformers

# The label value the cross-entropy ignores (PyTorch's and HF's convention).
IGNORE_INDEX = -100
MLM_PROBABILITY = 0.15
# The collator's flag asking the fast model to mask on the device (see `DeviceMaskingMixin`).
MASK_ON_DEVICE = "mask_on_device"
# Architectures with a fast masked-LM subclass: the base model attribute and the head attribute.
_FAST_MLM_PARTS = {"roberta": ("roberta", "lm_head"), "bert": ("bert", "cls")}


def is_fast_mlm(config: RunConfig) -> bool:
    """True when this run trains masked LM with on-device masking and the sparse head."""
    return (
        config.studio.mode == "fast" and config.model.task == "mlm" and config.model.arch in _FAST_MLM_PARTS
    )


# --- the fast masked-LM model ----------------------------------------------------------------


def _mixin() -> type:
    """Built on first use so that importing this module does not import torch."""
    import torch
    import torch.nn.functional as F
    from transformers.modeling_outputs import MaskedLMOutput

    class DeviceMaskingMixin(torch.nn.Module):
        """Masks on the device and computes the MLM loss from the masked positions only.

        `forward(input_ids, mask_on_device=True)` corrupts the ids (of the non-special tokens,
        15 % are chosen: 80 % become the mask token, 10 % a random token, 10 % stay) with the
        device's own RNG, runs the encoder, applies the head to the chosen positions only, and
        returns the loss. `forward(input_ids, labels=...)` takes masking done elsewhere, still uses
        the sparse head, and returns the loss and the logits at the labelled positions. Any other
        call is the parent's forward, unchanged (full logits for inference and probes).
        """

        _base_attr: str
        _head_attr: str
        _parent_name: str
        _special_lookup: Any  # a bool per vocabulary id (a buffer)
        config: Any

        def configure_masking(
            self, mask_token_id: int, special_ids: Sequence[int], random_upper: int, seed: int = 0
        ) -> None:
            """Tell the model the tokenizer's mask id, its special ids and its size."""
            vocab = max(int(self.config.vocab_size), random_upper, *(int(i) + 1 for i in special_ids))
            special = torch.zeros(vocab, dtype=torch.bool)
            special[list(special_ids)] = True
            device = next(self.parameters()).device
            # Not persistent: checkpoints stay exactly the parent's state dict.
            self.register_buffer("_special_lookup", special.to(device), persistent=False)
            self._mask_token_id = int(mask_token_id)
            self._random_upper = int(random_upper)
            self._eval_seed = int(seed)
            self._eval_generator: torch.Generator | None = None

        def train(self, mode: bool = True) -> Any:
            # Every evaluation starts its masks from the same seed, so eval losses compare.
            self._eval_generator = None
            return super().train(mode)  # type: ignore[misc]

        def mask_tokens(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            """Corrupted ids, labels (-100 where not chosen) and the flat indices of the positions
            the head must score. On CUDA the index has a fixed length (no host sync); positions
            past the chosen ones carry the label -100 and cost a little head work, nothing else."""
            generator = None
            if not self.training:
                if self._eval_generator is None or self._eval_generator.device != input_ids.device:
                    self._eval_generator = torch.Generator(device=input_ids.device).manual_seed(
                        self._eval_seed
                    )
                generator = self._eval_generator
            corrupted, labels, chosen = mask_on_device(
                input_ids, self._special_lookup, self._mask_token_id, self._random_upper, generator
            )
            return corrupted, labels, self._scored_positions(chosen)

        @classmethod
        def _scored_positions(cls, chosen: torch.Tensor) -> torch.Tensor:
            if not chosen.is_cuda:
                return chosen.reshape(-1).nonzero().squeeze(1)
            return cls._fixed_capacity_positions(chosen)

        @staticmethod
        def _fixed_capacity_positions(chosen: torch.Tensor) -> torch.Tensor:
            """A boolean index would make the host wait for the GPU to learn its length. Take a
            fixed number of positions instead, the chosen ones first, sized so that more chosen
            positions than that is a 6-sigma event; their -100 labels make the extras loss-free."""
            flat = chosen.reshape(-1)
            n = flat.numel()
            capacity = min(n, math.ceil(n * MLM_PROBABILITY + 6 * math.sqrt(n * 0.25) + 8))
            key = flat.to(torch.float32) + torch.rand(n, device=flat.device) * 0.5
            return torch.topk(key, capacity, sorted=False).indices

        def sparse_loss(
            self, hidden: torch.Tensor, labels: torch.Tensor, positions: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            """Head logits at `positions` and their mean cross-entropy (the full head's loss)."""
            flat_hidden = hidden.reshape(-1, hidden.shape[-1]).index_select(0, positions)
            flat_labels = labels.reshape(-1).index_select(0, positions)
            logits = getattr(self, self._head_attr)(flat_hidden)
            loss = F.cross_entropy(logits.float(), flat_labels, ignore_index=IGNORE_INDEX)
            return loss, logits

        def forward(  # type: ignore[override]
            self,
            input_ids: torch.Tensor | None = None,
            attention_mask: torch.Tensor | None = None,
            labels: torch.Tensor | None = None,
            mask_on_device: bool = False,
            **kwargs: Any,
        ) -> Any:
            if not mask_on_device and labels is None:
                return super().forward(input_ids=input_ids, attention_mask=attention_mask, **kwargs)  # type: ignore[misc]
            kwargs.pop("num_items_in_batch", None)  # the loss here is a mean over masked tokens
            kwargs.pop("return_dict", None)
            if mask_on_device:
                if input_ids is None:
                    raise ValueError("mask_on_device needs input_ids")
                input_ids, labels, positions = self.mask_tokens(input_ids)
            else:
                assert labels is not None
                positions = (labels.reshape(-1) != IGNORE_INDEX).nonzero().squeeze(1)
            encoder = getattr(self, self._base_attr)
            hidden = encoder(input_ids, attention_mask=attention_mask, return_dict=True, **kwargs)[0]
            loss, logits = self.sparse_loss(hidden, labels, positions)
            # Training returns no logits: the Trainer would only upcast them to fp32 (a copy of
            # n_masked x vocab floats per step) and throw them away.
            return MaskedLMOutput(loss=loss, logits=None if mask_on_device else logits)

        def save_pretrained(self, save_directory: Any, *args: Any, **kwargs: Any) -> Any:
            """Save as the parent class: a standard checkpoint that needs no Studio code."""
            result = super().save_pretrained(save_directory, *args, **kwargs)  # type: ignore[misc]
            self.config.architectures = [self._parent_name]  # type: ignore[attr-defined]
            if kwargs.get("is_main_process", True):
                self.config.save_pretrained(save_directory)  # type: ignore[attr-defined]
            return result

    return DeviceMaskingMixin


def mask_on_device(
    input_ids: torch.Tensor,
    special_lookup: torch.Tensor,
    mask_token_id: int,
    random_upper: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """BERT's masking, on the ids' device: of the tokens that are not special (`special_lookup`
    is a bool per vocabulary id), 15 % are chosen; 80 % of those become `mask_token_id`, 10 % a
    random id below `random_upper`, 10 % stay. Returns corrupted ids, labels (-100 where not
    chosen) and the chosen positions, all without a host sync."""
    import torch

    draw = torch.rand(input_ids.shape, device=input_ids.device, generator=generator)
    chosen = ~special_lookup[input_ids] & (draw < MLM_PROBABILITY)
    # One draw decides both: [0, .12) mask token, [.12, .135) random token, [.135, .15) keep.
    to_mask = chosen & (draw < MLM_PROBABILITY * 0.8)
    to_random = chosen & ~to_mask & (draw < MLM_PROBABILITY * 0.9)
    random_ids = torch.randint(random_upper, input_ids.shape, device=input_ids.device, generator=generator)
    corrupted = torch.where(to_mask, torch.full_like(input_ids, mask_token_id), input_ids)
    corrupted = torch.where(to_random, random_ids, corrupted)
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    return corrupted, labels, chosen


_FAST_CLASSES: dict[str, type] = {}


def fast_mlm_class(arch: str) -> type:
    """`RobertaForMaskedLM`/`BertForMaskedLM` with on-device masking and the sparse head."""
    if arch not in _FAST_CLASSES:
        import transformers

        base_attr, head_attr = _FAST_MLM_PARTS[arch]
        parent = {"roberta": transformers.RobertaForMaskedLM, "bert": transformers.BertForMaskedLM}[arch]
        _FAST_CLASSES[arch] = type(
            f"Fast{parent.__name__}",
            (_mixin(), parent),
            {
                "_base_attr": base_attr,
                "_head_attr": head_attr,
                "parent_class": parent,
                "_parent_name": parent.__name__,
            },
        )
    return _FAST_CLASSES[arch]


def build_model(config: RunConfig, tokenizer: Any) -> transformers.PreTrainedModel:
    """A freshly initialised model for this run: the fast subclass in fast masked-LM mode."""
    import transformers

    from studio.model.build import auto_model_class, build_hf_config

    hf_config = build_hf_config(config)
    _align_special_ids(hf_config, tokenizer)
    seed = int(config.train.get("seed", 42))
    transformers.set_seed(seed)  # the same initial weights in every mode
    attention = "sdpa" if config.model.arch != "reformer" else None
    if is_fast_mlm(config):
        fast_class: Any = fast_mlm_class(config.model.arch)
        model = fast_class._from_config(hf_config, attn_implementation=attention)
        model.configure_masking(tokenizer.mask_token_id, tokenizer.all_special_ids, len(tokenizer), seed=seed)
        return model
    options = {"attn_implementation": attention} if attention else {}
    return auto_model_class(config.model.task).from_config(hf_config, **options)


def _align_special_ids(hf_config: Any, tokenizer: Any) -> None:
    """Positions (RoBERTa), padding and generation use the tokenizer's ids, not the config's defaults."""
    for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None and hasattr(hf_config, name):
            setattr(hf_config, name, value)


# --- collators -----------------------------------------------------------------------------------


class StackIds:
    """The fast collator: stacks equal-length blocks of ids into one tensor, nothing else.

    Masked LM adds the flag that asks the model to mask on the device; causal LM passes the ids
    as labels (the model shifts them). Line-by-line examples are padded to the longest one (a
    multiple of 8, for tensor cores) with an attention mask. A class, so loader workers can pickle it.
    """

    def __init__(self, task: str, pad_token_id: int | None) -> None:
        self.task = task
        self.pad_token_id = pad_token_id if pad_token_id is not None else 0

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import torch

        rows = [f["input_ids"] for f in features]
        lengths = {len(r) for r in rows}
        if len(lengths) == 1:
            batch: dict[str, Any] = {"input_ids": _stack(rows)}
        else:
            longest = -(-max(lengths) // 8) * 8
            ids = torch.full((len(rows), longest), self.pad_token_id, dtype=torch.long)
            attention = torch.zeros((len(rows), longest), dtype=torch.long)
            for i, row in enumerate(rows):
                ids[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
                attention[i, : len(row)] = 1
            batch = {"input_ids": ids, "attention_mask": attention}
        if self.task == "mlm":
            batch[MASK_ON_DEVICE] = True
        else:
            labels = batch["input_ids"].clone()
            if "attention_mask" in batch:
                labels[batch["attention_mask"] == 0] = IGNORE_INDEX
            batch["labels"] = labels
        return batch


def _stack(rows: Sequence[Any]) -> torch.Tensor:
    """Equal-length rows (lists, numpy arrays or tensors) as one int64 tensor."""
    import numpy as np
    import torch

    if isinstance(rows[0], torch.Tensor):
        return torch.stack(list(rows)).long()
    if isinstance(rows[0], np.ndarray):
        return torch.from_numpy(np.stack(rows)).long()
    return torch.tensor(rows, dtype=torch.long)


def build_collator(
    config: RunConfig, tokenizer: Any
) -> Callable[[Sequence[Mapping[str, Any]]], dict[str, Any]]:
    """Fast masked LM: `StackIds` (masking happens on the device). Otherwise, and in recipe mode,
    `DataCollatorForLanguageModeling`: CPU masking with dynamic padding, as the blog does."""
    if is_fast_mlm(config) or (config.studio.mode == "fast" and config.model.task == "clm"):
        return StackIds(config.model.task, tokenizer.pad_token_id)
    import transformers

    return transformers.DataCollatorForLanguageModeling(
        tokenizer=tokenizer, mlm=config.model.task == "mlm", mlm_probability=MLM_PROBABILITY
    )


# --- TrainingArguments defaults ----------------------------------------------------------------


def device_supports_bf16(device_type: str) -> bool:
    """bf16 autocast on CUDA cards that have it (Ampere and later); never on CPU (fp32 there)."""
    if device_type != "cuda":
        return False
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def training_args_defaults(config: RunConfig, device_type: str) -> dict[str, Any]:
    """`TrainingArguments` fields for this mode and device, merged under the user's `train`
    section (the user's values win). `device_type` is "cuda", "cpu" or "mps"."""
    defaults: dict[str, Any] = {
        "report_to": "none",
        # The default filter hides NaN losses and syncs the GPU every step (transformers #33693);
        # Studio's callback detects NaN at logging steps instead.
        "logging_nan_inf_filter": False,
        # No metrics are computed from logits: do not gather them during evaluation.
        "prediction_loss_only": True,
        "disable_tqdm": True,
    }
    if device_type == "cpu":
        defaults["use_cpu"] = True
    if config.studio.mode == "recipe":
        defaults["optim"] = "adamw_torch"  # the blog's plain AdamW, in fp32
        return {**defaults, **config.train}
    defaults["optim"] = "adamw_torch_fused"
    if device_type == "cuda":
        import torch

        bf16 = device_supports_bf16(device_type)
        defaults["bf16"] = bf16
        defaults["fp16"] = not bf16 and torch.cuda.is_available()
        defaults["tf32"] = bf16  # TF32 exists from Ampere on, like bf16
        defaults["dataloader_pin_memory"] = True
        workers = min(2, max(0, (os.cpu_count() or 1) - 1))
        defaults["dataloader_num_workers"] = workers
        if workers:
            defaults["dataloader_persistent_workers"] = True
            defaults["dataloader_prefetch_factor"] = 4
    else:
        defaults["dataloader_pin_memory"] = False
    if is_fast_mlm(config):
        # The ids are the labels' source: this makes the Trainer compute eval losses without a
        # `labels` column (the masks are drawn on the device, from a fixed seed when evaluating).
        defaults["label_names"] = ["input_ids"]
    return {**defaults, **config.train}


def save_standard(model: Any, out_dir: str | Path) -> None:
    """Save `model` as a standard HF checkpoint (the fast subclass saves as its parent)."""
    model.save_pretrained(str(out_dir))
