"""What Studio's run machinery costs, and how fast a huge run's history replays.

1. **Overhead**: the same HF `Trainer` run (tiny RoBERTa, fast masked-LM path, synthetic packed
   blocks, logging every step) with and without Studio's callback, event file, live queue (drained
   by a separate reader process, as the TUI would), heartbeat and 1 Hz system monitor. Runs
   alternate (plain, Studio, plain, Studio, ...) so a machine that speeds up or slows down affects
   both alike; each run's time is measured from the end of step `--warmup` to the last step, and
   the median per variant is compared. Target: ≤ 2 % on CPU, ≤ 1 % on a GPU.
2. **Replay**: a 1,000,000-step `events.jsonl` (with system samples, evals and checkpoints) is
   rebuilt into a `RunHistory` in a fresh process. Target: < 2 s and < 200 MB.

Usage: `python benchmarks/overhead.py [--device cpu|cuda] [--steps N] [--rounds R] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def bench_config(device: str, steps: int) -> RunConfig:
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
        "max_steps": steps,
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


class _StepClock:
    """Times the steps after the warm-up (a callback in both variants, so both pay for it)."""

    def __init__(self, warmup: int) -> None:
        from transformers import TrainerCallback

        clock = self

        class Callback(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                if state.global_step == warmup:
                    clock.start = time.perf_counter()
                clock.end = time.perf_counter()

        self.callback = Callback()
        self.start = 0.0
        self.end = 0.0


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


def one_run(config: RunConfig, device: str, studio: bool, warmup: int, workdir: Path) -> float:
    """Seconds for the steps after `warmup` of one fresh Trainer run."""
    import torch
    from transformers import Trainer, TrainingArguments

    from studio.train.engine import build_collator, build_model, training_args_defaults

    tokenizer = _Tokenizer(config.model.fields["vocab_size"])
    model = build_model(config, tokenizer)
    generator = torch.Generator().manual_seed(0)
    n_blocks = config.train["per_device_train_batch_size"] * (config.train["max_steps"] + 2)
    ids = torch.randint(5, tokenizer.vocab_size, (n_blocks, config.data.block_size), generator=generator)
    dataset = [{"input_ids": row} for row in ids]
    values = {**training_args_defaults(config, device), **config.train, "output_dir": str(workdir / "out")}
    args = TrainingArguments(**values)
    clock = _StepClock(warmup)
    callbacks: list[Any] = [clock.callback]
    extras: list[Any] = []
    if studio:
        from studio.train.callback import StudioCallback
        from studio.train.monitor import SystemMonitor
        from studio.train.worker import LiveChannel, Reporter, StopFlag

        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue(maxsize=5000)
        stop_reader = ctx.Event()
        reader = ctx.Process(target=_drain, args=(queue, stop_reader), daemon=True)
        reader.start()
        run_dir = Path(tempfile.mkdtemp(dir=workdir))
        reporter = Reporter(run_dir, LiveChannel(queue), is_main=True)
        reporter.begin("bench")
        monitor = SystemMonitor(reporter.emit, config.studio.monitor_interval)
        monitor.start()
        callbacks.append(StudioCallback(reporter, run_dir, StopFlag(), float(config.data.block_size)))
        extras = [reporter, monitor, stop_reader, reader]
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=build_collator(config, tokenizer),
        callbacks=callbacks,
    )
    trainer.train()
    if device == "cuda":
        torch.cuda.synchronize()
    if extras:
        reporter, monitor, stop_reader, reader = extras
        monitor.stop()
        reporter.close()
        stop_reader.set()
        reader.join(timeout=5)
    return clock.end - clock.start


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


def measure_overhead(device: str, steps: int, rounds: int, warmup: int) -> dict[str, Any]:
    config = bench_config(device, steps)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        times: dict[str, list[float]] = {"plain": [], "studio": []}
        one_run(bench_config(device, warmup + 5), device, False, warmup, workdir)  # warm caches, kernels
        for _ in range(rounds):
            for variant in ("plain", "studio"):
                times[variant].append(one_run(config, device, variant == "studio", warmup, workdir))
    timed_steps = steps - warmup
    tokens = timed_steps * config.train["per_device_train_batch_size"] * config.data.block_size
    plain, studio = statistics.median(times["plain"]), statistics.median(times["studio"])
    paired = [100.0 * (b - a) / a for a, b in zip(times["plain"], times["studio"], strict=True)]
    cost = measure_callback_cost()
    step_ms = 1000.0 * min(times["plain"]) / timed_steps
    return {
        "device": device,
        "model": {k: config.model.fields[k] for k in ("hidden_size", "num_hidden_layers")},
        "batch": config.train["per_device_train_batch_size"],
        "block": config.data.block_size,
        "timed_steps": timed_steps,
        "rounds": rounds,
        "plain_s": times["plain"],
        "studio_s": times["studio"],
        "plain_tokens_per_s": tokens / plain,
        "studio_tokens_per_s": tokens / studio,
        "overhead_percent": 100.0 * (studio - plain) / plain,
        "paired_overhead_percent": paired,
        "min_overhead_percent": 100.0 * (min(times["studio"]) - min(times["plain"])) / min(times["plain"]),
        "plain_step_ms": step_ms,
        "callback_us_per_logging_step": cost["per_logging_step_us"],
        "callback_percent_of_step": 100.0 * cost["per_logging_step_us"] / 1000.0 / step_ms,
        "system_sample_us": cost["system_sample_us"],
    }


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
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default: 150 CPU, 400 GPU)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--replay-steps", type=int, default=1_000_000)
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-replay", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    steps = args.steps or (400 if args.device == "cuda" else 150)
    report: dict[str, Any] = {}
    if not args.skip_overhead:
        report["overhead"] = measure_overhead(args.device, steps, args.rounds, args.warmup)
    if not args.skip_replay:
        report["replay"] = measure_replay(args.replay_steps)
    if args.json:
        print(json.dumps(report))
        return 0
    if "overhead" in report:
        o = report["overhead"]
        print(
            f"overhead on {o['device']} ({o['model']}, batch {o['batch']}x{o['block']}, {o['timed_steps']} timed "
            f"steps x {o['rounds']} rounds): plain {o['plain_tokens_per_s']:,.0f} tok/s, studio "
            f"{o['studio_tokens_per_s']:,.0f} tok/s -> overhead {o['overhead_percent']:+.2f} %"
        )
        print(f"  plain runs (s): {', '.join(f'{t:.3f}' for t in o['plain_s'])}")
        print(f"  studio runs (s): {', '.join(f'{t:.3f}' for t in o['studio_s'])}")
        print(
            f"  paired differences (%): {', '.join(f'{p:+.2f}' for p in o['paired_overhead_percent'])}; "
            f"best-of: {o['min_overhead_percent']:+.2f} %"
        )
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
