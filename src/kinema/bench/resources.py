"""Generation time and peak memory, measured around each generated clip.

* time: wall-clock seconds of the generator call (``time.perf_counter``), per clip;
* CPU memory: the process's resident set size (RSS) sampled every ``interval`` s by a thread
  reading ``/proc/self/statm`` (Linux) while generating; the peak over the run is reported, and
  also the peak *above* the RSS before the first clip (what generation itself added). Where
  ``/proc`` is missing, ``resource.getrusage(...).ru_maxrss`` (the process's lifetime peak) is used;
* GPU memory (CUDA only): ``torch.cuda.max_memory_allocated`` over the run (tensors only, not the
  allocator's cache).
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time

import torch

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """Current resident set size of this process in bytes (lifetime peak where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class ResourceMeter:
    """``with meter.measure(): gen(...)`` per clip; :meth:`summary` gives time and peak memory."""

    def __init__(self, device: torch.device | str = "cpu", interval: float = 0.01):
        self.device, self.interval = torch.device(device), interval
        self.seconds: list[float] = []
        self.base_rss, self.peak_rss = rss_bytes(), rss_bytes()
        self._stop = threading.Event()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_rss = max(self.peak_rss, rss_bytes())

    def measure(self):
        return _Measure(self)

    def summary(self) -> dict:
        mib = 1024.0 ** 2
        out = {"seconds_per_clip": float(sum(self.seconds) / max(1, len(self.seconds))),
               "seconds_total": float(sum(self.seconds)), "clips_timed": len(self.seconds),
               "peak_rss_mib": round(self.peak_rss / mib, 1),
               "peak_rss_added_mib": round(max(0, self.peak_rss - self.base_rss) / mib, 1),
               "peak_gpu_mib": None}
        if self.device.type == "cuda":
            out["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated(self.device) / mib, 1)
        return out


class _Measure:
    def __init__(self, meter: ResourceMeter):
        self.m = meter

    def __enter__(self):
        self.m._stop.clear()
        self._thread = threading.Thread(target=self.m._sample, daemon=True)
        self._thread.start()
        if self.m.device.type == "cuda":
            torch.cuda.synchronize(self.m.device)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        if self.m.device.type == "cuda":
            torch.cuda.synchronize(self.m.device)
        self.m.seconds.append(time.perf_counter() - self._t0)
        self.m._stop.set()
        self._thread.join()
        self.m.peak_rss = max(self.m.peak_rss, rss_bytes())
        return False
