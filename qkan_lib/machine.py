"""Timings a reader can trust: spread over repeats, models interleaved, and a load check.

A single median hides how noisy a measurement was, and a machine shared with other work
can make any model look 20x faster or slower than it is. So every configuration here is
timed ``runs`` times with the models interleaved (a load spike then hits all of them), the
minimum, median and maximum are kept, and :func:`busy_warning` compares the machine's load
average before and after with its CPU count, returning a sentence for the page when the
machine was busy.
"""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LoadSnapshot:
    """The 1-minute load average and the CPUs this process may use, at one moment."""

    load1: float
    cpus: int


def load_snapshot() -> LoadSnapshot | None:
    """The current load, or None where the platform has no load average (Windows)."""
    try:
        load1 = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return LoadSnapshot(float(load1), int(cpus))


def busy_warning(before: LoadSnapshot | None, after: LoadSnapshot | None, own_threads: int | None = None,
                 fraction: float = 0.5) -> str:
    """A warning sentence when other work loaded the machine during a measurement, else "".

    The load average counts runnable threads, this measurement's own among them, so
    ``own_threads`` (default: torch's intra-op thread count) is subtracted from the load
    after it. The machine counts as busy when the remaining load, before or after, exceeds
    ``fraction`` of the CPUs.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if before is None or after is None:
        return ("Note: this platform reports no load average, so these timings could not be "
                "checked for other work running at the same time.")
    own = torch.get_num_threads() if own_threads is None else own_threads
    if own < 0:
        raise ValueError(f"own_threads must be >= 0, got {own}")
    other = max(before.load1, after.load1 - min(own, after.cpus))
    if other <= fraction * before.cpus:
        return ""
    return (f"⚠️ The machine was busy while these timings were taken: the 1-minute load average was "
            f"{before.load1:.1f} before and {after.load1:.1f} after, on {before.cpus} CPUs. Other work "
            f"competed for the processor, so the times below are noisy and their ratios unreliable; "
            f"rebuild on an idle machine for clean numbers.")


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def time_samples(fn, runs: int = 7, warmup: int = 2, device="cpu") -> list[float]:
    """Wall times of ``runs`` calls of ``fn()`` (seconds) after ``warmup`` untimed calls."""
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs must be >= 1 and warmup >= 0, got runs={runs}, warmup={warmup}")
    for _ in range(warmup):
        fn()
    _sync(device)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        _sync(device)
        samples.append(time.perf_counter() - start)
    return samples


def _training_step(model: torch.nn.Module, batch: int, seq_len: int, device, dtype):
    model = model.to(device=device, dtype=dtype)
    x = torch.rand(batch, seq_len, 1, device=device, dtype=dtype) * 2 - 1

    def step():
        model.zero_grad(set_to_none=True)
        model(x).square().mean().backward()

    return step


def time_spread_table(models=("lstm", "qlstm", "qkan_lstm", "hqkan_lstm"), dataset: str = "bessel",
                      batches=(8, 64, 512), seq_lens=(4, 16, 64), reps=(1, 2, 3), runs: int = 5,
                      warmup: int = 2, device="cpu", dtype=torch.float32):
    """Forward + backward time of each model as batch size, window length and DARUAN reps grow.

    For each configuration all models are warmed up, then timed in turn ``runs`` times
    (round robin). Returns ``(table, warning)``: a long DataFrame with columns ``model, axis,
    value, min_s, median_s, max_s, runs`` (reps only for the QKAN models) and the
    :func:`busy_warning` sentence for the whole measurement ("" on a quiet machine).
    """
    import pandas as pd

    from .configs import build_model

    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    configurations = ([("batch", b, b, seq_lens[0], None) for b in batches]
                      + [("seq_len", s, batches[min(1, len(batches) - 1)], s, None) for s in seq_lens]
                      + [("reps", r, batches[min(1, len(batches) - 1)], seq_lens[0], r) for r in reps])
    before = load_snapshot()
    rows = []
    for axis, value, batch, seq_len, n_reps in configurations:
        chosen = [m for m in models if n_reps is None or m in ("qkan_lstm", "hqkan_lstm")]
        steps = {}
        for model in chosen:
            options = {} if n_reps is None else {"reps": n_reps}
            steps[model] = _training_step(build_model(model, dataset, **options), batch, seq_len, device, dtype)
            time_samples(steps[model], runs=1, warmup=warmup, device=device)
        samples = {model: [] for model in chosen}
        for _ in range(runs):
            for model in chosen:
                samples[model] += time_samples(steps[model], runs=1, warmup=0, device=device)
        for model in chosen:
            times = samples[model]
            rows.append({"model": model, "axis": axis, "value": value, "min_s": min(times),
                         "median_s": statistics.median(times), "max_s": max(times), "runs": runs})
    return pd.DataFrame(rows), busy_warning(before, load_snapshot())
