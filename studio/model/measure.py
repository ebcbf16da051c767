"""Measure a config for real: two training steps in a subprocess, reporting peak memory and step time.

The parent (`measure_steps`) writes the config to the child's stdin and reads one JSON line back;
the child (`python -m studio.model.measure`) builds the model on the best device, runs a warm-up
step and a timed step on random tokens of the configured batch and block, and reports the device's
peak memory (CUDA's allocator peak, or the process's peak RSS on CPU). A subprocess keeps the
app's memory clean and lets the cancel key kill it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from studio.config import RunConfig
from studio.errors import Cancelled, StudioError
from studio.progress import CancelFlag, ProgressCallback, ProgressUpdate, no_progress


@dataclass(frozen=True)
class Measurement:
    """What two real steps showed."""

    device: str
    step_seconds: float
    peak_memory_bytes: int
    tokens_per_second: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def measure_steps(
    config: RunConfig,
    timeout: float = 600.0,
    device: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelFlag | None = None,
) -> Measurement:
    """Run two real training steps of this config in a subprocess."""
    command = [sys.executable, "-m", "studio.model.measure"] + ([device] if device else [])
    progress(ProgressUpdate("measuring", 0, 2, "starting"))
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdin is not None
    process.stdin.write(config.to_yaml())
    process.stdin.close()
    started = time.monotonic()
    while process.poll() is None:
        if cancel is not None and cancel.is_set():
            process.kill()
            process.wait()
            raise Cancelled()
        if time.monotonic() - started > timeout:
            process.kill()
            process.wait()
            raise StudioError(f"measuring took over {timeout:.0f} s and was stopped", "try a smaller batch")
        time.sleep(0.05)
    out = process.stdout.read() if process.stdout else ""
    err = process.stderr.read() if process.stderr else ""
    result = _last_json(out)
    if process.returncode != 0 or result is None or "error" in result:
        reason = (result or {}).get("error") or (err.strip().splitlines() or ["no output"])[-1]
        raise StudioError(f"measuring failed: {reason}", "check the config with `studio model check`")
    progress(ProgressUpdate("measuring", 2, 2, "done"))
    return Measurement(
        result["device"], result["step_seconds"], result["peak_memory_bytes"], result["tokens_per_second"]
    )


def _last_json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _peak_rss_bytes() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # KiB on Linux


def run_two_steps(config: RunConfig, device_name: str | None = None) -> dict[str, Any]:
    """The child's work: a warm-up step and a timed step; returns the figures."""
    import torch

    from studio.model.build import auto_model_class, build_hf_config

    device = torch.device(device_name or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(0)
    hf_config = build_hf_config(config)
    model = auto_model_class(config.model.task).from_config(hf_config).to(device)
    model.train()
    train = config.train
    half = torch.bfloat16 if train.get("bf16") else torch.float16 if train.get("fp16") else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(train.get("learning_rate", 5e-4)))
    batch = int(train.get("per_device_train_batch_size", 8))
    block = config.data.block_size
    ids = torch.randint(0, hf_config.vocab_size, (batch, block), device=device)
    labels = ids.clone()
    if config.model.task == "mlm":
        labels[torch.rand(labels.shape, device=device) > 0.15] = -100
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=half, enabled=half is not None):
            loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else _peak_rss_bytes()
    step = times[-1]
    return {
        "device": str(device),
        "step_seconds": step,
        "peak_memory_bytes": int(peak),
        "tokens_per_second": batch * block / step if step > 0 else 0.0,
        "loss": float(loss.detach()),
    }


def main() -> int:
    """Entry of the subprocess: the config as YAML on stdin, one JSON line on stdout."""
    import yaml

    try:
        config = RunConfig.from_dict(yaml.safe_load(sys.stdin.read()), source="measure")
        result = run_two_steps(config, sys.argv[1] if len(sys.argv) > 1 else None)
    except Exception as exc:  # reported to the parent as data, not a traceback
        message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        if "out of memory" in message.lower():
            message = f"out of memory at batch {config.train.get('per_device_train_batch_size')}; try half"
        print(json.dumps({"error": f"{exc.__class__.__name__}: {message}"[:500]}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
