"""System figures for `system` events: per GPU (NVML), torch's allocator, the process and the machine.

NVML queries of memory, utilisation, temperature and power cost ~10 µs each, so sampling at 1 Hz
is free; the running-process list is slow and holds a driver lock, so it is never asked for.
`torch.cuda.max_memory_allocated()` reads a host counter (no sync). No GPU, no NVML, or no torch:
the CPU and RAM figures alone, never an error.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from typing import Any

from studio.train.events import System


class SystemSampler:
    """Takes one `System` sample at a time; NVML is opened once and closed by `close()`."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self._process.cpu_percent(None)  # the first reading is always 0: prime it
        self._nvml: Any = None
        self._handles: list[Any] = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        except Exception:  # no driver, no GPU, or no pynvml: CPU and RAM only
            self._nvml, self._handles = None, []

    def sample(self) -> System:
        import psutil

        memory = psutil.virtual_memory()
        try:
            cpu = self._process.cpu_percent(None)
            rss = self._process.memory_info().rss
        except psutil.Error:
            cpu, rss = None, None
        return System(
            gpus=self._gpus(),
            cpu_percent=cpu,
            rss_bytes=rss,
            ram_used=memory.total - memory.available,
            ram_total=memory.total,
        )

    def _gpus(self) -> list[dict[str, Any]]:
        gpus: list[dict[str, Any]] = []
        torch_figures = _torch_memory()
        nvml = self._nvml
        for index, handle in enumerate(self._handles):
            gpu: dict[str, Any] = {"index": index}
            gpu["name"] = self._ask(nvml.nvmlDeviceGetName, handle)
            gpu["name"] = _text(gpu["name"]) if gpu["name"] is not None else None
            mem = self._ask(nvml.nvmlDeviceGetMemoryInfo, handle)
            gpu["memory_used"] = getattr(mem, "used", None)
            gpu["memory_total"] = getattr(mem, "total", None)
            util = self._ask(nvml.nvmlDeviceGetUtilizationRates, handle)
            gpu["utilization"] = getattr(util, "gpu", None)
            gpu["temperature"] = self._ask(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
            power = self._ask(nvml.nvmlDeviceGetPowerUsage, handle)
            gpu["power"] = power / 1000.0 if power is not None else None  # mW -> W
            gpu.update(torch_figures.get(index, {}))
            gpus.append(gpu)
        if not self._handles:  # torch sees GPUs that NVML does not (rare): report torch's figures
            gpus = [{"index": i, **figures} for i, figures in sorted(torch_figures.items())]
        return gpus

    def _ask(self, query: Callable[..., Any], *args: Any) -> Any:
        try:
            return query(*args)
        except Exception:  # one unsupported query (power on some cards) must not hide the rest
            return None

    def close(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()
            self._nvml = None


def _torch_memory() -> dict[int, dict[str, int]]:
    """torch's allocator figures per CUDA device, only if this process already uses CUDA."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    try:
        if not torch.cuda.is_available() or not torch.cuda.is_initialized():
            return {}
        return {
            i: {
                "torch_allocated": torch.cuda.memory_allocated(i),
                "torch_reserved": torch.cuda.memory_reserved(i),
                "torch_peak": torch.cuda.max_memory_allocated(i),
            }
            for i in range(torch.cuda.device_count())
        }
    except Exception:
        return {}


class SystemMonitor(threading.Thread):
    """A daemon thread that emits one `System` event every `interval` seconds until `stop()`."""

    def __init__(self, emit: Callable[[System], None], interval: float = 1.0) -> None:
        super().__init__(name="studio-monitor", daemon=True)
        self._emit = emit
        self.interval = max(0.1, float(interval))
        self._stopped = threading.Event()

    def run(self) -> None:
        sampler = SystemSampler()
        try:
            while not self._stopped.is_set():
                with contextlib.suppress(Exception):  # a failed sample is skipped; the run goes on
                    self._emit(sampler.sample())
                self._stopped.wait(self.interval)
        finally:
            sampler.close()

    def stop(self) -> None:
        self._stopped.set()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
