"""What Studio's run machinery costs, and how fast a huge run's history replays.

1. **Overhead**: one HF `Trainer` run (a small RoBERTa, fast masked-LM path, synthetic packed
   blocks, logging every step) cut into windows of `--window-steps` steps that alternate without
   and with Studio's machinery: its callback, event file, live queue (drained by a reader in
   another process, as the TUI does), heartbeat and 1 Hz system monitor. Each Studio window is
   compared with the plain windows either side; the median of those `--pairs` differences is the
   overhead. Target: ≤ 2 % on CPU, ≤ 1 % on a GPU.
2. **Replay**: a 1,000,000-step `events.jsonl` (with system samples, evals and checkpoints) is
   rebuilt into a `RunHistory` in a fresh process. Target: < 2 s and < 200 MB.

Usage: `python benchmarks/overhead.py [--device cpu|cuda] [--window-steps N] [--pairs P] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transformers import TrainerCallback

from studio.config import ModelConfig, RunConfig
from studio.train.events import Checkpoint, Eval, RunStarted, Step, System


class _Tokenizer:
    """What `build_model`/`build_collator` read from a tokenizer, for synthetic data."""

    pad_token_id, bos_token_id, eos_token_id, unk_token_id, mask_token_id = 1, 0, 2, 3, 4
    all_special_ids = [0, 1, 2, 3, 4]

    def __init__(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size

    def __len__(self) -> int:
        return self.vocab_size


def bench_config(device: str) -> RunConfig:
    gpu = device == "cuda"
    fields = (
        {"hidden_size": 512, "num_hidden_layers": 4, "num_attention_heads": 8, "intermediate_size": 2048}
        if gpu
        else {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 512}
    )
    block = 128
    fields.update(vocab_size=8000, max_position_embeddings=block + 2, type_vocab_size=1)
    config = RunConfig(model=ModelConfig(arch="roberta", task="mlm", fields=fields))
    config.data.block_size = block
    config.train = {
        "per_device_train_batch_size": 64 if gpu else 16,
        "learning_rate": 5e-4,
        "logging_steps": 1,
        "save_strategy": "no",
        "eval_strategy": "no",
        "report_to": "none",
        "disable_tqdm": True,
        "seed": 1,
        "warmup_steps": 0,
    }
    config.studio.monitor_interval = 1.0
    return config


class _Windows(TrainerCallback):
    """Cuts one Trainer run into windows of `length` steps that alternate plain, Studio, plain, ...

    At each window edge (the start of a step, so a window holds whole steps with their logging)
    the device is synchronised and the clock read; then Studio's machinery is switched on or off,
    outside the timing. While it is on, the Trainer's step-end and log events reach a live
    `StudioCallback`. Neighbouring windows of one run share allocator state, clocks and data, which
    separate runs do not: their spread swamped a 1 % effect on a GPU.
    """

    def __init__(
        self,
        warmup: int,
        length: int,
        count: int,
        switch_on: Callable[[Any, Any, Any], Any],
        switch_off: Callable[[], None],
        sync: Callable[[], None],
    ) -> None:
        self.warmup, self.length, self.last_edge = warmup, length, warmup + count * length
        self.switch_on, self.switch_off, self.sync = switch_on, switch_off, sync
        self.times: dict[str, list[float]] = {"plain": [], "studio": []}
        self.target: Any = None  # the live StudioCallback during a Studio window
        self._variant: str | None = None
        self._started = 0.0

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        done = state.global_step
        if done < self.warmup or (done - self.warmup) % self.length or done > self.last_edge:
            return
        self.sync()
        now = time.perf_counter()
        if self._variant is not None:
            self.times[self._variant].append(now - self._started)
        if self._variant == "studio":
            self.switch_off()
            self.target = None
        if done == self.last_edge:  # the last window is closed
            self._variant = None
            return
        self._variant = "studio" if self._variant == "plain" else "plain"
        if self._variant == "studio":
            self.target = self.switch_on(args, state, control)
        self._started = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        return self.target.on_step_end(args, state, control, **kwargs) if self.target is not None else None

    def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        return self.target.on_log(args, state, control, **kwargs) if self.target is not None else None


def _drain(queue: Any, stop: Any) -> None:
    """A reader in another process, as the TUI is: it takes every event off the queue."""
    import queue as queue_module

    while not stop.is_set():
        try:
            queue.get(timeout=0.2)
        except queue_module.Empty:
            pass
        except (EOFError, OSError):
            return


def windowed_run(
    config: RunConfig, device: str, warmup: int, length: int, pairs: int
) -> dict[str, list[float]]:
    """Seconds per window of one Trainer run: `pairs` Studio windows, each between two plain ones."""
    import torch
    import transformers
    from transformers import Trainer, TrainingArguments

    from studio.train.callback import StudioCallback
    from studio.train.engine import build_collator, build_model, training_args_defaults
    from studio.train.monitor import SystemMonitor
    from studio.train.worker import LiveChannel, Reporter, StopFlag

    tokenizer = _Tokenizer(config.model.fields["vocab_size"])
    model = build_model(config, tokenizer)
    steps = warmup + (2 * pairs + 1) * length + 1  # the extra step's start closes the last window
    config.train["max_steps"] = steps
    generator = torch.Generator().manual_seed(0)
    n_blocks = config.train["per_device_train_batch_size"] * (steps + 2)
    ids = torch.randint(5, tokenizer.vocab_size, (n_blocks, config.data.block_size), generator=generator)
    dataset = [{"input_ids": row} for row in ids]
    workdir = Path(tempfile.mkdtemp(prefix="studio-overhead-"))
    values = {**training_args_defaults(config, device), **config.train, "output_dir": str(workdir / "out")}
    args = TrainingArguments(**values)

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue(maxsize=5000)
    stop_reader = ctx.Event()
    reader = ctx.Process(target=_drain, args=(queue, stop_reader), daemon=True)
    reader.start()
    live: list[Any] = []  # the reporter and monitor of the current Studio window

    def switch_on(args: Any, state: Any, control: Any) -> Any:
        run_dir = Path(tempfile.mkdtemp(dir=workdir))
        reporter = Reporter(run_dir, LiveChannel(queue), is_main=True)
        reporter.begin("bench")
        monitor = SystemMonitor(reporter.emit, config.studio.monitor_interval)
        monitor.start()
        live[:] = [reporter, monitor]
        callback = StudioCallback(reporter, run_dir, StopFlag(), float(config.data.block_size))
        callback.on_train_begin(args, state, control)
        return callback

    def switch_off() -> None:
        reporter, monitor = live
        monitor.stop()
        monitor.join()
        reporter.close()

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    windows = _Windows(warmup, length, 2 * pairs + 1, switch_on, switch_off, sync)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=build_collator(config, tokenizer),
        callbacks=[windows],
    )
    trainer.remove_callback(transformers.PrinterCallback)  # a printed line per step is not Studio's cost
    try:
        trainer.train()
    finally:
        stop_reader.set()
        reader.join(timeout=5)
        shutil.rmtree(workdir, ignore_errors=True)
    return windows.times


def measure_callback_cost(calls: int = 20_000) -> dict[str, Any]:
    """Studio's own work per logging step, timed directly: the callback's step-end and log hooks
    (event to file and queue, status figures, control polling), plus one system sample."""
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from studio.train.callback import StudioCallback
    from studio.train.monitor import SystemSampler
    from studio.train.worker import LiveChannel, Reporter, StopFlag

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue(maxsize=5000)
    stop_reader = ctx.Event()
    reader = ctx.Process(target=_drain, args=(queue, stop_reader), daemon=True)
    reader.start()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        reporter = Reporter(run_dir, LiveChannel(queue), is_main=True)
        reporter.begin("bench")
        callback = StudioCallback(reporter, run_dir, StopFlag(), 128.0)
        args = TrainingArguments(
            output_dir=tmp, per_device_train_batch_size=16, logging_steps=1, use_cpu=True, report_to="none"
        )
        state, control = TrainerState(max_steps=calls), TrainerControl()
        callback.on_train_begin(args, state, control)
        logs = {"loss": 2.5, "grad_norm": 1.1, "learning_rate": 1e-4, "epoch": 0.1}
        start = time.perf_counter()
        for step in range(1, calls + 1):
            state.global_step = step
            callback.on_step_end(args, state, control)
            callback.on_log(args, state, control, logs=logs)
        per_step_us = (time.perf_counter() - start) / calls * 1e6
        sampler = SystemSampler()
        start = time.perf_counter()
        for _ in range(50):
            sampler.sample()
        sample_us = (time.perf_counter() - start) / 50 * 1e6
        sampler.close()
        reporter.close()
    stop_reader.set()
    reader.join(timeout=5)
    return {"per_logging_step_us": per_step_us, "system_sample_us": sample_us, "dropped_events": 0}


def measure_overhead(device: str, warmup: int, length: int, pairs: int) -> dict[str, Any]:
    config = bench_config(device)
    times = windowed_run(config, device, warmup, length, pairs)
    plain, studio = times["plain"], times["studio"]
    # Each Studio window against the mean of the plain windows either side: a machine that
    # drifts faster or slower during the run moves both sides alike.
    paired = [100.0 * (s / ((plain[i] + plain[i + 1]) / 2) - 1.0) for i, s in enumerate(studio)]
    tokens = length * config.train["per_device_train_batch_size"] * config.data.block_size
    quartiles = statistics.quantiles(paired, n=4) if len(paired) > 1 else [paired[0]] * 3
    cost = measure_callback_cost()
    step_ms = 1000.0 * statistics.median(plain) / length
    return {
        "device": device,
        "device_name": _device_name(device),
        "model": {k: config.model.fields[k] for k in ("hidden_size", "num_hidden_layers", "vocab_size")},
        "batch": config.train["per_device_train_batch_size"],
        "block": config.data.block_size,
        "window_steps": length,
        "pairs": pairs,
        "plain_s": plain,
        "studio_s": studio,
        "plain_tokens_per_s": tokens / statistics.median(plain),
        "studio_tokens_per_s": tokens / statistics.median(studio),
        "paired_overhead_percent": paired,
        "overhead_percent": statistics.median(paired),
        "overhead_quartiles_percent": [quartiles[0], quartiles[2]],
        "total_overhead_percent": 100.0 * (sum(studio) / (sum(plain) - (plain[0] + plain[-1]) / 2) - 1.0),
        "plain_step_ms": step_ms,
        "callback_us_per_logging_step": cost["per_logging_step_us"],
        "callback_percent_of_step": 100.0 * cost["per_logging_step_us"] / 1000.0 / step_ms,
        "system_sample_us": cost["system_sample_us"],
    }


def _device_name(device: str) -> str:
    if device == "cuda":
        import torch

        return str(torch.cuda.get_device_name(0))
    import platform

    return f"{platform.machine()} CPU, {os.cpu_count()} cores"


# --- replay -----------------------------------------------------------------------------------------


def write_big_events(path: Path, steps: int) -> None:
    """A realistic huge events file: every step, a system sample every 10 steps, evals and checkpoints."""
    step_line = Step(
        step=0, epoch=0.0, loss=1.0, learning_rate=1.0, grad_norm=1.0, tokens=0, tokens_per_s=1.0, time=1.0
    ).to_json()
    assert step_line.startswith('{"v":1,"type":"step","time":')
    system = System(
        gpus=[
            {
                "index": 0,
                "memory_used": 60 << 30,
                "memory_total": 80 << 30,
                "utilization": 97,
                "temperature": 61,
                "power": 612.5,
            }
        ],
        cpu_percent=101.0,
        rss_bytes=6 << 30,
        ram_used=40 << 30,
        ram_total=128 << 30,
        time=1.0,
    ).to_json()
    now = 1_800_000_000.0
    with open(path, "w", encoding="utf-8") as f:
        f.write(RunStarted(run_id="bench", total_steps=steps, time=now).to_json() + "\n")
        batch: list[str] = []
        for step in range(1, steps + 1):
            t = now + step * 0.1
            batch.append(
                f'{{"v":1,"type":"step","time":{t:.3f},"step":{step},"epoch":{step / 50000:.6f},'
                f'"loss":{2.0 + 8.0 / (1 + step / 1000):.6f},"learning_rate":{5e-4 * (1 - step / steps):.8g},'
                f'"grad_norm":{0.5 + (step % 97) / 97:.4f},"tokens":{step * 65536},'
                f'"tokens_per_s":{800000 + step % 1000:.1f},"skipped_steps":0}}'
            )
            if step % 10 == 0:
                batch.append(system.replace('"time":1.0', f'"time":{t:.3f}'))
            if step % 1000 == 0:
                batch.append(Eval(step=step, eval_loss=2.0 + 8.0 / (1 + step / 1000), time=t).to_json())
            if step % 10000 == 0:
                batch.append(Checkpoint(step=step, path=f"checkpoints/checkpoint-{step}", time=t).to_json())
            if len(batch) >= 10000:
                f.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            f.write("\n".join(batch) + "\n")


_REPLAY_PROBE = """
import json, sys, time
from studio.train.history import RunHistory

def status_mb(key):  # VmHWM is this process's own peak RSS (ru_maxrss would include a parent's)
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024

before = status_mb("VmRSS")
start = time.perf_counter()
history = RunHistory.from_file(sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_rss_mb": status_mb("VmHWM"), "added_rss_mb": status_mb("VmHWM") - before,
                  "points": len(history.points("loss")), "last_step": history.step,
                  "evals": len(history.points("eval_loss")), "system_kept": len(history.system)}))
"""


def measure_replay(steps: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        started = time.perf_counter()
        write_big_events(path, steps)
        written = time.perf_counter() - started
        root = str(Path(__file__).resolve().parents[1])
        out = subprocess.run(
            [sys.executable, "-c", _REPLAY_PROBE, str(path)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": root},
        )
        result = json.loads(out.stdout)
        result.update(steps=steps, file_mb=path.stat().st_size / 1e6, write_s=written)
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--window-steps",
        type=int,
        default=None,
        help="steps per window (default: 25 CPU, 250 GPU: a few seconds each)",
    )
    parser.add_argument("--pairs", type=int, default=None, help="Studio windows (default: 8 CPU, 10 GPU)")
    parser.add_argument("--warmup", type=int, default=20, help="steps before the first window")
    parser.add_argument("--replay-steps", type=int, default=1_000_000)
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-replay", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    parser.add_argument("--out", default=None, help="also write the JSON report to this file")
    args = parser.parse_args()
    gpu = args.device == "cuda"
    length = args.window_steps or (250 if gpu else 25)
    pairs = args.pairs or (10 if gpu else 8)
    report: dict[str, Any] = {}
    if not args.skip_overhead:
        report["overhead"] = measure_overhead(args.device, args.warmup, length, pairs)
    if not args.skip_replay:
        report["replay"] = measure_replay(args.replay_steps)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0


def print_report(report: dict[str, Any]) -> None:
    if "overhead" in report:
        o = report["overhead"]
        low, high = o["overhead_quartiles_percent"]
        print(
            f"overhead on {o['device_name']} ({o['model']}, batch {o['batch']}x{o['block']}, "
            f"{o['pairs']} Studio windows of {o['window_steps']} steps, each between two plain ones): "
            f"plain {o['plain_tokens_per_s']:,.0f} tok/s, studio {o['studio_tokens_per_s']:,.0f} tok/s "
            f"-> overhead {o['overhead_percent']:+.2f} % (median; quartiles {low:+.2f} / {high:+.2f} %; "
            f"all windows together {o['total_overhead_percent']:+.2f} %)"
        )
        print(f"  plain windows (s): {', '.join(f'{t:.3f}' for t in o['plain_s'])}")
        print(f"  studio windows (s): {', '.join(f'{t:.3f}' for t in o['studio_s'])}")
        print(f"  paired differences (%): {', '.join(f'{p:+.2f}' for p in o['paired_overhead_percent'])}")
        print(
            f"  Studio's own work per logging step: {o['callback_us_per_logging_step']:.1f} us = "
            f"{o['callback_percent_of_step']:.3f} % of a {o['plain_step_ms']:.2f} ms step; one system sample "
            f"{o['system_sample_us']:.0f} us (1 Hz)"
        )
    if "replay" in report:
        r = report["replay"]
        print(
            f"replay of {r['steps']:,} steps ({r['file_mb']:.0f} MB): {r['seconds']:.2f} s, peak RSS "
            f"{r['peak_rss_mb']:.0f} MB (+{r['added_rss_mb']:.0f} MB), {r['points']} loss points kept"
        )


if __name__ == "__main__":
    sys.exit(main())
