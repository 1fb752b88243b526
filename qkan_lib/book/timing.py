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

from ..core.circuits import circuit_expectations
from ..core.layers import QKANLayer
from ..core.pennylane_circuits import pennylane_qlstm_circuit
from ..data.registry import load_dataset
from ..evidence.display import (
    MISSING,
    NO_BREAK,
    display_name,
    number_format,
    page_table,
    significant,
)
from ..kernels.paths import reference_path
from ..models.cells import LSTMCell, ModuleGates, QKANGates, QLSTMGates, RecurrentRegressor
from ..models.registry import MODEL_LABELS, MODEL_REGISTRY, MODELS, build_model
from ..utils import check_positive_int, environment_info, intra_op_threads


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


def machine_busy(
    before: LoadSnapshot | None,
    after: LoadSnapshot | None,
    own_threads: int | None = None,
    fraction: float = 0.5,
) -> bool | None:
    """Whether other work loaded the machine during a measurement; None where the platform
    reports no load average.

    The load average counts runnable threads, this measurement's own among them, so
    ``own_threads`` (default: torch's intra-op thread count) is subtracted from the load
    after it. The machine counts as busy when the remaining load, before or after, exceeds
    ``fraction`` of the CPUs.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if before is None or after is None:
        return None
    own = torch.get_num_threads() if own_threads is None else own_threads
    if own < 0:
        raise ValueError(f"own_threads must be >= 0, got {own}")
    other = max(before.load1, after.load1 - min(own, after.cpus))
    return other > fraction * before.cpus


def busy_warning(
    before: LoadSnapshot | None,
    after: LoadSnapshot | None,
    own_threads: int | None = None,
    fraction: float = 0.5,
) -> str:
    """A warning sentence when other work loaded the machine during a measurement
    (:func:`machine_busy`), else "". It names no load figures: the page says what they
    mean, not what the build machine's counters read (issue 25)."""
    busy = machine_busy(before, after, own_threads, fraction)
    if busy is None:
        return (
            "Note: this platform reports no load average, so these timings could not be "
            "checked for other work running at the same time."
        )
    if not busy:
        return ""
    return (
        "⚠️ Other work kept the machine busy while these timings were taken, so they are "
        "noisy and their ratios unreliable; rebuild on an idle machine for clean numbers."
    )


def machine_words(environment: dict) -> str:
    """What a timing ran on, in a few words: "2 CPU threads, no GPU" (or "..., a GPU"). No
    processor or GPU model: the page needs the scale of the machine, not its inventory."""
    threads, gpu = _machine_parts(environment)
    return f"{threads}, {gpu}"


def _machine_parts(environment: dict) -> tuple[str, str]:
    threads = int(environment["cpu_threads"])
    return f"{threads} CPU thread{'s' if threads != 1 else ''}", (
        "a GPU" if "gpu" in environment else "no GPU"
    )


def machine_sentence(
    environment: dict,
    before: LoadSnapshot | None,
    after: LoadSnapshot | None,
    own_threads: int | None = None,
) -> str:
    """The build machine in one clause for the page: "on a machine with 2 CPU threads and no
    GPU that other work kept busy" (or "that was otherwise idle", or "whose load this
    platform does not report")."""
    threads, gpu = _machine_parts(environment)
    busy = machine_busy(before, after, own_threads)
    state = {
        True: "that other work kept busy",
        False: "that was otherwise idle",
        None: "whose load this platform does not report",
    }[busy]
    return f"on a machine with {threads} and {gpu} {state}"


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


REPS_MODELS = tuple(n for n, spec in MODEL_REGISTRY.items() if spec.daruan_edges)


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


def relative_table(relative: pd.DataFrame) -> pd.DataFrame:
    """:func:`relative_times`' ratios of fastest steps as a page shows them: one row per
    axis (display name) and value, one column per model (its label), two decimals; a model
    without that axis (the QLSTM has no DARUAN reps) shows :data:`MISSING`, as the caption
    says."""
    shown = relative.pivot(index=["axis", "value"], columns="model", values="min_ratio")
    axes = list(dict.fromkeys(relative["axis"]))  # the measured order (the figure's), not a-z
    shown = shown.sort_index(level="axis", key=lambda a: a.map(axes.index), sort_remaining=False)
    shown = shown[[m for m in MODELS if m in shown.columns]]  # the paper's order
    finite = shown.to_numpy(dtype=float)
    as_text = number_format(finite[np.isfinite(finite)], 2)
    shown = shown.map(lambda r: as_text(r) if np.isfinite(r) else MISSING)
    shown.columns = [MODEL_LABELS[m] for m in shown.columns]
    shown = shown.rename(index=display_name, level="axis")
    shown.index = shown.index.set_names(["axis", "value"])
    return page_table(shown)


def models_without(relative: pd.DataFrame, axis: str = "reps") -> list[str]:
    """The labels of the models :func:`relative_times` has no ratio for along ``axis`` (the
    QLSTM along the reps: it has no DARUAN), for the caption of :func:`relative_table`."""
    models = [m for m in MODELS if m in set(relative["model"])]
    have = set(relative.loc[relative["axis"] == axis, "model"])
    return [MODEL_LABELS[m] for m in models if m not in have]


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


def thread_table(by_threads: pd.DataFrame) -> pd.DataFrame:
    """:func:`step_time_by_threads` as a page shows it: milliseconds to two decimals, one
    row per thread count."""
    shown = by_threads.map(lambda seconds: f"{seconds * 1e3:.2f}")
    return page_table(shown.rename(columns=lambda c: c.replace("_s", " (ms)")))


# A median more than this many times the fastest of the same interleaved runs: the runs did
# not see the same machine (other work took the core some of the time), and a ratio of
# medians would measure the load, not the code (chapter 8 once printed "76.81 times as long"
# from a 2,012 ms median against a 129 ms fastest run).
DISTURBED_SPREAD = 1.5


def disturbed_rows(table: pd.DataFrame, spread: float = DISTURBED_SPREAD) -> pd.Index:
    """The rows of a min / median / max table (:func:`interleaved_spread`) whose median is
    more than ``spread`` times their fastest run."""
    return table.index[table["median_s"] > spread * table["min_s"]]


def thread_sentence(by_threads: pd.DataFrame, busy: str = "") -> str:
    """What :func:`step_time_by_threads` measured, with its caveat beside the number: the
    ratio of the fastest steps (the run least disturbed by other work, all counts timed in
    turn), two significant digits; when a thread count's median is far above its fastest
    run (:func:`disturbed_rows`) or the load check warned (``busy``, from
    :func:`busy_warning`), the sentence says the measurement was disturbed and the ratio is
    only indicative."""
    counts = list(by_threads.index)
    if len(counts) < 2:
        return "This machine has one thread only, so there is nothing to compare."
    one, many = by_threads.loc[counts[0], "min_s"], by_threads.loc[counts[-1], "min_s"]
    ratio = many / one
    head = (
        f"With {counts[-1]} threads the fastest step took {significant(ratio, 2)} times as "
        f"long as the fastest with {counts[0]} thread{'s' if counts[0] != 1 else ''} "
        f"({'slower' if ratio > 1 else 'faster'} with more threads)"
    )
    if len(disturbed_rows(by_threads)):
        factors = by_threads["median_s"] / by_threads["min_s"]
        worst, factor = factors.idxmax(), factors.max()
        return (
            f"{head}; but other work disturbed this measurement: with {worst} "
            f"thread{'s' if worst != 1 else ''} the median step took "
            f"{significant(factor, 2)} times the fastest, so even this ratio is only a rough "
            "guide, and a ratio of medians would measure the load, not the threads."
        )
    if busy:
        return f"{head}; other work loaded the machine meanwhile, so the ratio is rough."
    return head + "."


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
        target = r.get("target")
        if target is None:
            goal = MISSING
        else:
            outcome = "met" if ratio >= target else "missed"
            goal = (
                f"≥ {significant(target, 3)}× faster: {outcome}"
                if target >= 1
                else f"≤ {significant(1 / target, 3)}× slower: {outcome}"
            )
        # a comparison and a target are each one unit: never "≥ 50× / faster: / met"
        goal = goal.replace(" ", NO_BREAK)
        rows.append(
            {
                "case": r["case"],
                "reference": r["reference"],
                # three significant digits: "112" ms and "0.853" ms, not "112.285"
                "ours (ms)": significant(r["ours_s"] * 1e3, 3),
                "reference (ms)": significant(reference_s * 1e3, 3),
                "comparison": speed_words(ratio, short=True).replace(" ", NO_BREAK),
                "target": goal,
            }
        )
    # rows named by what they measure (no bare row numbers); the verdict first among the
    # columns: the labels are long and a wide table scrolls sideways
    columns = ["case", "reference", "comparison", "target", "ours (ms)", "reference (ms)"]
    return page_table(pd.DataFrame(rows, columns=columns).set_index(["case", "reference"]))


def speed_words(ratio: float, short: bool = False, tolerance: float = 0.05) -> str:
    """A speed ratio (reference time / our time) in words: "2.3 times faster than",
    "1.5 times slower than", or "about as fast as" within ``tolerance``; ``short`` drops the
    "than" and writes "2.3× faster" (three significant digits)."""
    if not (isinstance(ratio, (int, float)) and math.isfinite(ratio) and ratio > 0):
        raise ValueError(f"ratio must be a positive finite number, got {ratio!r}")
    if abs(ratio - 1) <= tolerance:
        return "about as fast" if short else "about as fast as"
    faster = ratio > 1
    factor = ratio if faster else 1 / ratio
    word = "faster" if faster else "slower"
    # short (a table cell): three significant digits, "174× faster", "1.11× slower"
    return f"{significant(factor, 3)}× {word}" if short else f"{factor:.1f} times {word} than"


# ---------------------------------------------------------------------------------------------
# the speed benchmarks (benchmarks/run_benchmarks.py and chapter 8 both call run_benchmarks)

BENCHMARK_TARGETS = {
    "daruan_layer": 15.0,
    "gate_sequence": 4.0,
    "qlstm_circuit": 50.0,
    "urban_step": 1 / 1.5,  # QKAN-LSTM / HQKAN-LSTM Adam step at most 1.5x torch.nn.LSTM's
    "qlstm_step": 3.0,
}  # QLSTM's Adam step at least 3x faster than its autograd path


def _optional(name: str, log):
    try:
        return __import__(name)
    except ImportError:
        log(f"[skip] {name} is not installed: comparisons against it are skipped")
        return None


def _forward_backward(module, x):
    def run():
        inputs = x.detach().requires_grad_()
        module(inputs).sum().backward()

    return run


def _bench_daruan_layer(qkan, runs, quick):
    batch, width, reps = (64, 32, 3) if quick else (256, 64, 3)
    x = torch.randn(batch, width)
    ours = QKANLayer(width, width, reps)
    rows = [
        (
            "daruan_layer",
            f"QKAN layer {width} → {width}, L = {reps}, batch {batch}, forward + backward",
            median_time(_forward_backward(ours, x), runs),
            "this library, gate by gate",
            median_time(_forward_backward(ours.reference_forward, x), runs),
            None,
        )
    ]
    if qkan is not None:
        ref = qkan.QKANLayer(
            width, width, reps=reps, solver="exact", preact_trainable=True, device="cpu"
        )
        rows.append(
            (
                "daruan_layer",
                rows[0][1],
                rows[0][2],
                "qkan 0.2.3, exact solver",
                median_time(_forward_backward(ref, x), runs),
                BENCHMARK_TARGETS["daruan_layer"],
            )
        )
    return rows


def _bench_gate_sequence(qkan, runs, quick):
    rows = []
    steps, batch = (32, 32) if quick else (64, 64)
    for reps in (1, 2, 3):
        seq = torch.randn(batch, steps, 1)
        ours = RecurrentRegressor(LSTMCell(1, 1, QKANGates(1, 1, reps)))
        label = (
            f"QKAN-LSTM gate layer 2 → 4, L = {reps}, {steps} steps, batch {batch}, "
            "forward + backward"
        )
        t_ours = median_time(lambda: ours(seq).sum().backward(), runs)
        if qkan is not None:
            layer = qkan.QKANLayer(
                2, 4, reps=reps, solver="exact", preact_trainable=True, device="cpu"
            )
            ref = RecurrentRegressor(LSTMCell(1, 1, ModuleGates(1, 1, layer)))
            rows.append(
                (
                    "gate_sequence",
                    label,
                    t_ours,
                    "qkan 0.2.3, exact solver",
                    median_time(lambda: ref(seq).sum().backward(), runs),
                    BENCHMARK_TARGETS["gate_sequence"],
                )
            )
        else:
            rows.append(("gate_sequence", label, t_ours, "-", float("nan"), None))
    return rows


def _bench_qlstm_circuit(qml, runs, quick):
    """Batches 10 and 64 are the paper protocol's (SHM/Bessel and Urban); 256 shows the
    large-batch end."""
    return [
        row
        for batch in ((10,) if quick else (10, 64, 256))
        for row in _bench_qlstm_circuit_batch(qml, runs, batch)
    ]


def _bench_qlstm_circuit_batch(qml, runs, batch):
    hidden, depth = 5, 3
    n = hidden + 1
    v = torch.rand(batch, n, dtype=torch.float64)
    theta = torch.randn(depth, n, dtype=torch.float64, requires_grad=True)

    def ours():
        circuit_expectations(v, theta, hidden).sum().backward()

    label = f"QLSTM circuit, {n} qubits, depth {depth}, batch {batch}, forward + backward"
    t_ours = median_time(
        ours, 10 * runs, warmup=5
    )  # sub-millisecond: more samples for a stable median
    if qml is None:
        return [("qlstm_circuit", label, t_ours, "-", float("nan"), None)]
    circuit = pennylane_qlstm_circuit(n, depth, hidden, interface="torch", diff_method="backprop")

    def reference():
        torch.stack(circuit(v, theta)).sum().backward()

    return [
        (
            "qlstm_circuit",
            label,
            t_ours,
            "PennyLane default.qubit",
            median_time(reference, runs),
            BENCHMARK_TARGETS["qlstm_circuit"],
        )
    ]


def _bench_qlstm_sequence(qml, runs, quick):
    """The circuits in their real use: a QLSTM cell over a window, both simulators in the same
    cell."""
    if qml is None:
        return []

    hidden, depth, steps, batch = 5, 3, 4, 10
    n = hidden + 1
    circuit = pennylane_qlstm_circuit(n, depth, hidden, interface="torch", diff_method="backprop")

    class PennyLaneGates(torch.nn.Module):
        def __init__(self, theta):
            super().__init__()
            self.theta = theta

        def forward(self, v):
            return torch.cat([torch.stack(circuit(v, self.theta[g]), -1) for g in range(4)], -1)

    gates = QLSTMGates(1, hidden, depth, dtype=torch.float64)
    ours = RecurrentRegressor(LSTMCell(1, hidden, gates)).double()
    reference_gates = ModuleGates(1, hidden, PennyLaneGates(gates.theta))
    reference = RecurrentRegressor(LSTMCell(1, hidden, reference_gates)).double()
    reference.head.load_state_dict(ours.head.state_dict())
    seq = torch.rand(batch, steps, 1, dtype=torch.float64)
    torch.testing.assert_close(ours(seq), reference(seq))  # same model, two simulators
    label = f"QLSTM cell, 4 circuits × {steps} steps, batch {batch}, forward + backward"
    return [
        (
            "qlstm_sequence",
            label,
            median_time(lambda: ours(seq).sum().backward(), runs),
            "PennyLane default.qubit in the same cell",
            median_time(lambda: reference(seq).sum().backward(), max(3, runs // 2)),
            BENCHMARK_TARGETS["qlstm_circuit"],
        )
    ]


def _bench_training_epoch(runs, quick, device):
    data = load_dataset("bessel").to(dtype=torch.float32, device=device)
    rows = []
    for name in ("qkan_lstm", "hqkan_lstm", "qlstm"):
        models = {
            m: build_model(m, "bessel", dtype=torch.float32, device=device) for m in ("lstm", name)
        }

        def epoch(model):
            optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01)

            def run():
                for i in range(0, len(data.x_train), 10):
                    optimizer.zero_grad()
                    loss = torch.nn.functional.mse_loss(
                        model(data.x_train[i : i + 10]), data.y_train[i : i + 10]
                    )
                    loss.backward()
                    optimizer.step()

            return run

        t_lstm = median_time(epoch(models["lstm"]), runs)
        t_model = median_time(epoch(models[name]), runs)
        rows.append(
            (
                "training_epoch",
                f"{MODEL_LABELS[name]} epoch, Bessel Function, batch 10, on the "
                f"{'CPU' if device == 'cpu' else 'GPU'}",
                t_model,
                "PyTorch LSTM epoch (hidden size 5)",
                t_lstm,
                1 / 5 if name == "qkan_lstm" else None,
            )
        )
    return rows


def _interleaved_times(cases: dict, rounds: int, warmup: int = 3) -> dict[str, list[float]]:
    """Wall times of every case, run round-robin (so a busy spell on the machine hits all of
    them alike); the starting case rotates from round to round."""
    for _ in range(warmup):
        for fn in cases.values():
            fn()
    names = list(cases)
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            cases[name]()
            times[name].append(time.perf_counter() - start)
    return times


def _adam_step(model, x, y, reference: bool = False):
    """One full training step: zero_grad, forward, MSE, backward, Adam update."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    context = reference_path if reference else nullcontext  # the autograd reference path

    def step():
        with context():
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

    return step


URBAN_STEP = "Adam step at the Urban shape (batch 64, 64 steps)"  # the cases' words
LSTM_STEP = "PyTorch LSTM step, same run"


def _bench_urban_step(runs, quick, log):
    """Training step at the Urban shape (batch 64, seq_len 64, input 1), float32 and float64.

    The models are ``build_model(name, "urban")``; QKAN-LSTM and HQKAN-LSTM also run on their
    autograd reference path (``reference_path()``), the speed-up of the fused kernel. Timed
    with ONE intra-op thread: the tensors of a tiny recurrent model are too small to split, so
    extra threads only add synchronisation, and on a busy machine a parallel region in the
    backward pass waits for a thread that is not scheduled (a QKAN-LSTM step was measured at
    328 ms with 2 threads against 61 ms with 1). Independent runs use the other cores.
    """
    rounds = 7 if quick else max(15, 3 * runs)
    rows = []
    with intra_op_threads(1):
        for dtype in (torch.float32, torch.float64):
            generator = torch.Generator().manual_seed(0)
            x = torch.rand(64, 64, 1, generator=generator, dtype=dtype) * 2 - 1
            y = torch.rand(64, 1, generator=generator, dtype=dtype) * 2 - 1
            cases = {}
            for name in ("lstm", "qkan_lstm", "hqkan_lstm", "qlstm"):
                for reference in (False, True) if name != "lstm" else (False,):
                    torch.manual_seed(1)
                    model = build_model(name, "urban", dtype=dtype)
                    cases[name, reference] = _adam_step(model, x, y, reference)
            times = _interleaved_times(cases, rounds)
            medians = {key: statistics.median(t) for key, t in times.items()}
            dt = str(dtype).removeprefix("torch.")
            log(
                f"training step at the Urban shape ({dt}, batch 64, seq_len 64, 1 thread, "
                f"{rounds} interleaved rounds): median [25%-75%] ms"
            )
            for (name, reference), t in times.items():
                q1, _, q3 = statistics.quantiles(t, n=4)
                path = "autograd reference" if reference else "default path"
                log(
                    f"  {MODEL_LABELS[name]:<11} {path:<19}{medians[name, reference] * 1e3:>9.3f}"
                    f"  [{q1 * 1e3:.3f}-{q3 * 1e3:.3f}]"
                )
            lstm = medians["lstm", False]
            for name in ("qkan_lstm", "hqkan_lstm"):
                label = f"{MODEL_LABELS[name]} {URBAN_STEP}, {dt}"
                rows.append(
                    (
                        "urban_step",
                        label,
                        medians[name, False],
                        LSTM_STEP,
                        lstm,
                        BENCHMARK_TARGETS["urban_step"],
                    )
                )
                rows.append(
                    (
                        "urban_step",
                        label,
                        medians[name, False],
                        "its autograd reference path",
                        medians[name, True],
                        None,
                    )
                )
            label = f"QLSTM {URBAN_STEP}, {dt}"
            rows.append(
                (
                    "urban_step",
                    label,
                    medians["qlstm", False],
                    LSTM_STEP,
                    lstm,
                    None,
                )
            )
            rows.append(
                (
                    "urban_step",
                    label,
                    medians["qlstm", False],
                    "its autograd reference path",
                    medians["qlstm", True],
                    BENCHMARK_TARGETS["qlstm_step"],
                )
            )
    return rows


BENCHMARK_SECTIONS = (
    "daruan_layer",
    "gate_sequence",
    "qlstm_circuit",
    "qlstm_sequence",
    "training_epoch",
    "urban_step",
)


def run_benchmarks(
    quick: bool = False,
    runs: int = 7,
    only=None,
    threads: int | None = None,
    log=None,
) -> dict:
    """Speed of qkan_lib against references measured in the same run.

    ``quick``: the smaller shapes (what the book's chapter 8 runs); ``runs``: timed repeats
    per case (medians); ``only``: an iterable of :data:`BENCHMARK_SECTIONS` (default: all);
    ``threads``: PyTorch intra-op threads for the whole run (``None``: leave as is; the book
    uses 1, as its training runs do); ``log``: a function called with progress lines (e.g.
    ``print``; default: quiet). The reference library ``qkan`` (PyPI 0.2.3, "exact" solver)
    and PennyLane are optional: a comparison whose reference is missing is skipped (logged).
    The global random state is restored afterwards; inside, ``torch.manual_seed(0)``.

    Returns ``{"environment": environment_info("cpu"), "rows": [...]}``, one row per
    comparison with ``kind``, ``case``, ``ours_s``, ``reference``, ``reference_s``,
    ``speedup`` (reference_s / ours_s) and ``target`` (see :data:`BENCHMARK_TARGETS`; None
    when the comparison has none). :func:`benchmark_table` shows the rows.
    """
    runs = check_positive_int(runs, "runs")
    wanted = set(BENCHMARK_SECTIONS if only is None else only)
    unknown = wanted - set(BENCHMARK_SECTIONS)
    if unknown:
        raise ValueError(f"unknown sections {sorted(unknown)}; choose from {BENCHMARK_SECTIONS}")
    log = log or (lambda line: None)
    with torch.random.fork_rng(), intra_op_threads(threads):
        torch.manual_seed(0)
        qkan = _optional("qkan", log) if wanted & {"daruan_layer", "gate_sequence"} else None
        qml = _optional("pennylane", log) if wanted & {"qlstm_circuit", "qlstm_sequence"} else None
        rows = []
        if "daruan_layer" in wanted:
            rows += _bench_daruan_layer(qkan, runs, quick)
        if "gate_sequence" in wanted:
            rows += _bench_gate_sequence(qkan, runs, quick)
        if "qlstm_circuit" in wanted:
            rows += _bench_qlstm_circuit(qml, runs, quick)
        if "qlstm_sequence" in wanted:
            rows += _bench_qlstm_sequence(qml, runs, quick)
        if "training_epoch" in wanted:
            rows += _bench_training_epoch(runs, quick, "cpu")
            if torch.cuda.is_available():
                rows += _bench_training_epoch(runs, quick, "cuda")
        if "urban_step" in wanted:
            rows += _bench_urban_step(runs, quick, log)
        environment = environment_info("cpu")
    records = [
        {
            "kind": kind,
            "case": label,
            "ours_s": ours,
            "reference": ref_name,
            "reference_s": ref,
            "speedup": ref / ours,
            "target": target,
        }
        for kind, label, ours, ref_name, ref, target in rows
    ]
    return {"environment": environment, "rows": records}


def benchmark_lines(records) -> list[str]:
    """:func:`run_benchmarks`' rows as the fixed-width lines of the command-line table."""
    lines = [
        f"{'case':<72}{'ours ms':>9}  {'reference':<42}{'ref ms':>9}{'speed-up':>10}{'target':>9}"
    ]
    for r in records:
        ratio, target = r["speedup"], r["target"]
        if target is None:
            verdict = ""
        elif target >= 1:
            verdict = f">={significant(target, 3)}x {'ok' if ratio >= target else 'MISSED'}"
        else:  # a slowdown bound: ours may be at most 1/target times the reference
            verdict = (
                f"<={significant(1 / target, 3)}x slower {'ok' if ratio >= target else 'MISSED'}"
            )
        lines.append(
            f"{r['case']:<72}{r['ours_s'] * 1e3:>9.3f}  {r['reference']:<42}"
            f"{r['reference_s'] * 1e3:>9.3f}{ratio:>9.2f}x  {verdict}"
        )
    return lines
