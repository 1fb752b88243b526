"""Timings a reader can trust: spread over repeats, models interleaved, and a load check.

A single median hides how noisy a measurement was, and a machine shared with other work
can make any model look 20x faster or slower than it is. So every configuration here is
timed ``runs`` times with the models interleaved (a load spike then hits all of them), the
minimum, median and maximum are kept, and :func:`busy_warning` compares the machine's load
average before and after with its CPU count, returning a sentence for the page when the
machine was busy.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..kernels.paths import reference_path
from ..models.registry import build_model
from ..utils import check_positive_int, intra_op_threads


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
    cpus = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    return LoadSnapshot(float(load1), int(cpus))


def busy_warning(
    before: LoadSnapshot | None,
    after: LoadSnapshot | None,
    own_threads: int | None = None,
    fraction: float = 0.5,
) -> str:
    """A warning sentence when other work loaded the machine during a measurement, else "".

    The load average counts runnable threads, this measurement's own among them, so
    ``own_threads`` (default: torch's intra-op thread count) is subtracted from the load
    after it. The machine counts as busy when the remaining load, before or after, exceeds
    ``fraction`` of the CPUs.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if before is None or after is None:
        return (
            "Note: this platform reports no load average, so these timings could not be "
            "checked for other work running at the same time."
        )
    own = torch.get_num_threads() if own_threads is None else own_threads
    if own < 0:
        raise ValueError(f"own_threads must be >= 0, got {own}")
    other = max(before.load1, after.load1 - min(own, after.cpus))
    if other <= fraction * before.cpus:
        return ""
    return (
        f"⚠️ The machine was busy while these timings were taken: the 1-minute load average was "
        f"{before.load1:.1f} before and {after.load1:.1f} after, on {before.cpus} CPUs. Other work "
        f"competed for the processor, so the times below are noisy and their ratios unreliable; "
        f"rebuild on an idle machine for clean numbers."
    )


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


def median_time(fn, runs: int = 7, warmup: int = 2, device="cpu") -> float:
    """Median wall time of ``fn()`` in seconds over ``runs`` calls (after ``warmup`` calls)."""
    return statistics.median(time_samples(fn, runs, warmup, device))


def _training_step(model: torch.nn.Module, batch: int, seq_len: int, device, dtype):
    """One full training step: zero_grad, forward, MSE, backward, Adam update."""
    model = model.to(device=device, dtype=dtype)
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(batch, seq_len, 1, generator=generator, dtype=dtype) * 2 - 1).to(device)
    y = (torch.rand(batch, 1, generator=generator, dtype=dtype) * 2 - 1).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()

    return step


REPS_MODELS = ("qkan_lstm", "hqkan_lstm")


def time_spread_table(
    models=("lstm", "qlstm", "qkan_lstm", "hqkan_lstm"),
    dataset: str = "bessel",
    batches=(8, 64, 512),
    seq_lens=(4, 16, 64),
    reps=(1, 2, 3),
    runs: int = 5,
    warmup: int = 2,
    device="cpu",
    dtype=torch.float32,
    threads: int | None = 1,
):
    """Time of one training step (forward, MSE, backward, Adam) of each model as the batch size,
    the window length and the DARUAN reps grow.

    The batch axis uses ``seq_lens[0]``; the seq_len and reps axes use ``batches[1]`` (or the
    only batch). On the reps axis the QKAN models get ``reps``; ``lstm`` (torch.nn.LSTM) is
    timed there too as the reference it is compared with (it has no reps: a flat line).
    For each configuration all models are warmed up, then timed in turn ``runs`` times
    (round robin), with ``threads`` PyTorch intra-op threads (default one, as training uses:
    :func:`qkan_lib.utils.intra_op_threads`; None leaves the setting). Returns
    ``(table, warning)``: a long DataFrame with columns ``model, axis, value, batch, seq_len,
    min_s, median_s, max_s, runs`` and the :func:`busy_warning` sentence for the whole
    measurement ("" on a quiet machine).
    """
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    middle = batches[min(1, len(batches) - 1)]
    configurations = (
        [("batch", b, b, seq_lens[0], None) for b in batches]
        + [("seq_len", s, middle, s, None) for s in seq_lens]
        + [("reps", r, middle, seq_lens[0], r) for r in reps]
    )
    before = load_snapshot()
    rows = []
    with intra_op_threads(threads):
        for axis, value, batch, seq_len, n_reps in configurations:
            chosen = [m for m in models if n_reps is None or m in REPS_MODELS or m == "lstm"]
            steps = {}
            for model in chosen:
                options = {} if n_reps is None or model not in REPS_MODELS else {"reps": n_reps}
                steps[model] = _training_step(
                    build_model(model, dataset, **options), batch, seq_len, device, dtype
                )
                time_samples(steps[model], runs=1, warmup=warmup, device=device)
            samples = {model: [] for model in chosen}
            for r in range(runs):
                order = chosen[r % len(chosen) :] + chosen[: r % len(chosen)]
                for model in order:
                    samples[model] += time_samples(steps[model], runs=1, warmup=0, device=device)
            for model in chosen:
                times = samples[model]
                rows.append(
                    {
                        "model": model,
                        "axis": axis,
                        "value": value,
                        "batch": batch,
                        "seq_len": seq_len,
                        "min_s": min(times),
                        "median_s": statistics.median(times),
                        "max_s": max(times),
                        "runs": runs,
                    }
                )
    own = 1 if threads is None else threads
    return pd.DataFrame(rows), busy_warning(before, load_snapshot(), own_threads=own)


def relative_times(table, reference: str = "lstm"):
    """Each model's step time divided by ``reference``'s in the same configuration.

    ``table`` is :func:`time_spread_table`'s. Returns one row per (axis, value, model other
    than the reference) with ``median_ratio`` (ratio of medians) and ``min_ratio`` (ratio
    of minima: the fastest run is the least disturbed by other work on a busy machine).
    Above 1 the model is slower than the reference.
    """
    missing = {"model", "axis", "value", "min_s", "median_s"} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}")
    if reference not in set(table["model"]):
        raise ValueError(f"reference model {reference!r} is not in the table")
    ref = table[table["model"] == reference].set_index(["axis", "value"])
    rows = []
    for _, row in table[table["model"] != reference].iterrows():
        key = (row["axis"], row["value"])
        if key not in ref.index:
            continue
        rows.append(
            {
                "axis": row["axis"],
                "value": row["value"],
                "model": row["model"],
                "median_ratio": row["median_s"] / ref.loc[key, "median_s"],
                "min_ratio": row["min_s"] / ref.loc[key, "min_s"],
            }
        )
    return pd.DataFrame(rows, columns=["axis", "value", "model", "median_ratio", "min_ratio"])


def growth_exponents(table, statistic: str = "median_s"):
    """How the step time grows along each axis: the exponent p of time ~ value^p.

    Per (model, axis) with at least two values: the least-squares slope of log(time)
    against log(value) over all of them (``exponent``; 1 = proportional to the work,
    0 = the same time whatever the size), and the time ratio between the largest and
    the smallest value (``time_ratio``) beside the value ratio (``value_ratio``).
    """
    missing = {"model", "axis", "value", statistic} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}")
    rows = []
    for (model, axis), part in table.groupby(["model", "axis"], sort=False):
        part = part.sort_values("value")
        if len(part) < 2:
            continue
        values = part["value"].to_numpy(dtype=float)
        times = part[statistic].to_numpy(dtype=float)
        slope = float(np.polyfit(np.log(values), np.log(times), 1)[0])
        rows.append(
            {
                "model": model,
                "axis": axis,
                "exponent": slope,
                "value_ratio": values[-1] / values[0],
                "time_ratio": times[-1] / times[0],
            }
        )
    return pd.DataFrame(rows, columns=["model", "axis", "exponent", "value_ratio", "time_ratio"])


def interleaved_spread(cases: dict, runs: int = 7, warmup: int = 2, device="cpu"):
    """min / median / max seconds of each callable in ``cases`` ({name: fn}), timed round
    robin (the starting case rotates) after ``warmup`` untimed calls of each. Returns a
    DataFrame indexed by name."""

    if runs < 1 or warmup < 0:
        raise ValueError(f"runs must be >= 1 and warmup >= 0, got runs={runs}, warmup={warmup}")
    if not cases:
        raise ValueError("cases is empty")
    names = list(cases)
    for name in names:
        time_samples(cases[name], runs=1, warmup=warmup, device=device)
    samples = {name: [] for name in names}
    for r in range(runs):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name] += time_samples(cases[name], runs=1, warmup=0, device=device)
    return pd.DataFrame(
        {
            "min_s": {n: min(t) for n, t in samples.items()},
            "median_s": {n: statistics.median(t) for n, t in samples.items()},
            "max_s": {n: max(t) for n, t in samples.items()},
        }
    ).loc[names]


def kernel_bracketing_spread(
    batches=(4, 16, 64, 256),
    runs: int = 5,
    warmup: int = 2,
    seed: int = 0,
    n_qubits: int = 6,
    depth: int = 3,
    n_measured: int = 5,
):
    """Forward + backward time of the compiled QLSTM circuit kernel with each bracketing of
    the adjoint matrix chain (through the states, through the unitary), min / median / max
    in ms over ``runs`` interleaved calls, and the bracketing the kernel picks."""
    # imported here: the kernel module loads Numba, which importing this module should not
    from ..kernels.circuit import through_states_is_cheaper, value_and_grad

    rng = np.random.default_rng(seed)
    rows = []
    for batch in batches:
        v = rng.uniform(-np.pi, np.pi, (batch, n_qubits))
        theta = rng.normal(size=(depth, n_qubits))
        spread = (
            interleaved_spread(
                {
                    way: (
                        lambda through=through: value_and_grad(
                            v, theta, n_measured, through_states=through
                        )
                    )
                    for way, through in (("states", True), ("unitary", False))
                },
                runs=runs,
                warmup=warmup,
            )
            * 1e3
        )
        row = {"batch": batch}
        for way in ("states", "unitary"):
            low, mid, high = spread.loc[way, ["min_s", "median_s", "max_s"]]
            row[f"through the {way}: min / median / max (ms)"] = (
                f"{low:.3f} / {mid:.3f} / {high:.3f}"
            )
        cheaper = through_states_is_cheaper(batch, depth, 2**n_qubits)
        row["kernel picks"] = "states" if cheaper else "unitary"
        row["faster by median"] = (
            "states"
            if spread.loc["states", "median_s"] <= spread.loc["unitary", "median_s"]
            else "unitary"
        )
        rows.append(row)
    return pd.DataFrame(rows).set_index("batch")


def step_time_by_threads(
    model: str = "qkan_lstm",
    dataset: str = "urban",
    batch: int = 64,
    seq_len: int = 64,
    thread_counts=(1, 2),
    reference: bool = True,
    runs: int = 7,
    warmup: int = 2,
    dtype=torch.float32,
):
    """min / median / max seconds of one training step of ``model`` with each number of
    PyTorch intra-op threads, interleaved. ``reference=True`` runs the autograd path
    (:func:`qkan_lib.reference_path`), the one whose thousands of small
    operators each open a parallel region. Returns a DataFrame indexed by thread count."""
    counts = [check_positive_int(c, "thread_counts") for c in thread_counts]
    step = _training_step(build_model(model, dataset), batch, seq_len, "cpu", dtype)

    def with_threads(count):
        def run():
            with intra_op_threads(count), reference_path() if reference else nullcontext():
                step()

        return run

    table = interleaved_spread(
        {count: with_threads(count) for count in counts}, runs=runs, warmup=warmup
    )
    table.index.name = "threads"
    return table


def benchmark_table(records):
    """The rows of ``benchmarks/run_benchmarks.py --json`` as a readable table.

    Rows whose reference was not measured (an optional library not installed) are left out.
    ``comparison`` says in words which side is faster and by how much (the ratio is the
    reference's time over qkan_lib's); ``target`` gives the benchmark's target and whether
    it was met, where it has one.
    """
    rows = []
    for r in records:
        reference_s = r.get("reference_s")
        if reference_s is None or not math.isfinite(reference_s) or r["reference"] == "-":
            continue
        ratio = reference_s / r["ours_s"]
        comparison = f"qkan_lib {speed_words(ratio, short=True)}"
        target = r.get("target")
        if target is None:
            goal = ""
        elif target >= 1:
            goal = f">= {target:g}x faster: {'met' if ratio >= target else 'MISSED'}"
        else:
            goal = f"<= {1 / target:g}x slower: {'met' if ratio >= target else 'MISSED'}"
        rows.append(
            {
                "case": r["case"],
                "reference": r["reference"],
                "qkan_lib (ms)": f"{r['ours_s'] * 1e3:.3f}",
                "reference (ms)": f"{reference_s * 1e3:.3f}",
                "comparison": comparison,
                "target": goal,
            }
        )
    # the verdict first: the labels are long and a wide table scrolls sideways
    columns = ["comparison", "target", "case", "reference", "qkan_lib (ms)", "reference (ms)"]
    table = pd.DataFrame(rows, columns=columns)
    table.index = pd.RangeIndex(1, len(table) + 1, name="row")
    return table


def speed_words(ratio: float, short: bool = False, tolerance: float = 0.05) -> str:
    """A speed ratio (reference time / our time) in words: "2.3 times faster than",
    "1.5 times slower than", or "about as fast as" within ``tolerance``; ``short`` drops the
    "than" and writes "2.30x faster"."""
    if not (isinstance(ratio, (int, float)) and math.isfinite(ratio) and ratio > 0):
        raise ValueError(f"ratio must be a positive finite number, got {ratio!r}")
    if abs(ratio - 1) <= tolerance:
        return "about as fast" if short else "about as fast as"
    faster = ratio > 1
    factor = ratio if faster else 1 / ratio
    word = "faster" if faster else "slower"
    return f"{factor:.2f}x {word}" if short else f"{factor:.1f} times {word} than"
