"""Report tables: what the chapters and the command line print from stored results.

Every headline sentence of the book is computed from one of these functions, and each has a unit
test. Tables come as pandas DataFrames of formatted strings, ready to glue into a page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau

from ..core.shift import circuit_evaluations
from ..data.real_series import REAL_SERIES
from ..evidence.display import (  # noqa: F401 (power_text, power_of_ten_text: ql.tables.*)
    MISSING,
    count,
    display_name,
    interval,
    listing,
    mean_std_column,
    number,
    number_format,
    numbers,
    p_value,
    page_table,
    power_of_ten_text,
    power_text,
    scaled_interval,
    scientific,
    significant,
)
from ..evidence.noisy_deployment import shot_order
from ..evidence.quantum_cost import readout_shot_factor
from ..evidence.real_forecasts import METRIC_LABELS as FORECAST_METRICS
from ..evidence.real_forecasts import model_label, verdict_label
from ..evidence.statistics import (
    paper_agreement,
    paper_cells,
    seed_summary,
)
from ..models.parameters import count_parameters
from ..models.registry import (
    ALL_MODELS,
    DATASET_LABELS,
    DATASETS,
    MODEL_LABELS,
    MODELS,
    build_model,
)
from ..paper import R2_EPOCHS, SEQ_LENS, TABLE_I, TABLE_IV
from ..runs.store import (  # noqa: F401 (ql.reports.*)
    results_frame,
    training_runs,
    training_time,
    variant_label,
)


def mean_std(mean: float, std: float, digits: int = 4) -> str:
    """'mean ± std' in one precision (:func:`qkan_lib.evidence.display.numbers`); a missing
    std (one seed) prints the mean alone."""
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return number(mean, digits)
    return " ± ".join(numbers([mean, std], digits))


def summary(
    frame: pd.DataFrame,
    metrics: Sequence[str],
    by: Sequence[str] = ("model",),
    epochs: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Mean and standard deviation over seeds of ``metrics`` (at ``epochs``, default the last)."""
    if epochs is None:
        last = frame.groupby(["model", "dataset", "seq_len", "seed"])["epoch"].transform("max")
        frame = frame[frame["epoch"] == last]
        groups = list(by)
    else:
        frame = frame[frame["epoch"].isin(epochs)]
        groups = list(by) + ["epoch"]
    stats = frame.groupby(groups)[list(metrics)].agg(["mean", "std", "count"])
    return stats


def mean_std_text(stats: pd.DataFrame, metric: str, digits: int = 4) -> pd.Series:
    """Format one metric of :func:`summary` as 'mean ± std (n)' strings."""
    mean, std, count = (
        stats[(metric, "mean")],
        stats[(metric, "std")].fillna(0),
        stats[(metric, "count")],
    )
    return pd.Series(
        [f"{mean_std(m, s, digits)} ({n})" for m, s, n in zip(mean, std, count)], index=stats.index
    )


def median_range(median: float, low: float, high: float, digits: int = 4) -> str:
    """'median [min, max]' with at least ``digits`` decimals, more where values that differ
    would print the same (:func:`qkan_lib.evidence.display.interval`)."""
    return interval(median, low, high, digits)


def range_mark(paper: float, inside: bool, n: int | None, digits: int = 4) -> str:
    """The paper's value, ∈ (inside our seed range) or ∉ (outside), and our seed count (None:
    the table's header gives it, the same for every row)."""
    count = "" if n is None else f" (n={n})"
    return f"{number(paper, digits)} {'∈' if inside else '∉'}{count}"


def synthetic_table(
    frame: pd.DataFrame, paper_r2: dict, epochs: Sequence[int] = R2_EPOCHS
) -> pd.DataFrame:
    """Tables II / III, one row per (model, epoch): train loss, test loss (mean ± std over
    seeds) and test R^2 (mean ± std and median [min, max]) at ``epochs``, beside the paper's R^2
    (its text as available gives
    no losses) marked ∈ when it lies inside our seed range [min, max] and ∉ when outside,
    with the number of seeds n of that range (a range of n seeds covers a new draw of the
    same distribution with probability (n - 1) / (n + 1) only, so the mark can fail)."""
    stats = summary(frame, ["train_loss", "test_mse"], by=("model",), epochs=epochs)
    agreement = r2_agreement(frame, paper_r2, epochs).set_index(["model", "epoch"])
    rows, losses, index = [], [], []
    # one seed count for every row goes to the header (a narrower column: Table III fits)
    counts = set(agreement["n"].dropna().astype(int))
    shared = counts.pop() if len(counts) == 1 else None
    paper_header = "R² (paper)" if shared is None else f"R² (paper), n = {shared}"
    for model in [m for m in MODELS if m in stats.index.get_level_values("model")]:
        for epoch in epochs:
            s, r2 = stats.loc[(model, epoch)], agreement.loc[(model, epoch)]
            paper = (
                range_mark(r2["paper"], bool(r2["inside"]), None if shared else int(r2["n"]))
                if not math.isnan(r2["paper"])
                else "no value"
            )
            rows.append(
                {  # the comparison with the paper first
                    paper_header: paper,
                    "R² median [min, max]": median_range(r2["median"], r2["low"], r2["high"]),
                    "R² mean ± std": mean_std(r2["mean"], r2["std"]),
                }
            )
            losses.append([s[(m, k)] for m in ("test_mse", "train_loss") for k in ("mean", "std")])
            index.append((MODEL_LABELS[model], f"epoch {int(epoch)}"))
    table = pd.DataFrame(rows)
    losses = pd.DataFrame(losses, columns=["test mean", "test std", "train mean", "train std"])
    # each loss column in one number style (issue 25: not "9.56 × 10⁻⁵ ± 8.93 × 10⁻⁵" beside
    # "0.0002 ± 0.0001"); the epoch label stays on the phone's stacked cards
    for name, key in (("test loss", "test"), ("train loss", "train")):
        means, stds = losses[f"{key} mean"], losses[f"{key} std"]
        column = mean_std_column(means, stds)
        if any("×" in cell for cell in column):
            # "0.00063 ± 0.00031" is narrower than "(6.33 ± 3.12) × 10⁻⁴": a fifth decimal
            # before a power of ten (Table III's train losses went over the page's width)
            wider = mean_std_column(means, stds, digits=5)
            column = column if any("×" in cell for cell in wider) else wider
        table[name] = column
    table.index = pd.MultiIndex.from_tuples(index, names=["model", "epoch"])
    return page_table(table)  # one header row


def r2_agreement(
    frame: pd.DataFrame, paper_r2: dict, epochs: Sequence[int] = R2_EPOCHS
) -> pd.DataFrame:
    """One row per (model, epoch) of our runs: seed count n, mean, std, median, our seed range
    [low, high], the paper's R^2 and ``inside`` (paper value within [low, high]).

    The agreement is :func:`qkan_lib.statistics.paper_agreement` with ``method="range"``;
    count the agreeing cells with :func:`qkan_lib.statistics.count_inside`. A cell whose
    paper value the paper's text does not give has ``paper`` NaN and ``inside`` False.
    """
    epochs = [int(e) for e in epochs]
    at_epochs = frame[frame["epoch"].isin(epochs)]
    summary_ = seed_summary(at_epochs, "test_r2", by=("model", "epoch"))
    models = [m for m in MODELS if m in set(at_epochs["model"])]
    cells = paper_cells({m: paper_r2[m] for m in models}, epochs)
    agreement = paper_agreement(at_epochs, "test_r2", cells, method="range")
    agreement = agreement.set_index(["model", "epoch"])
    rows = []
    for model in models:
        for epoch in epochs:
            if (model, epoch) not in summary_.index:
                continue
            s = summary_.loc[(model, epoch)]
            if (model, epoch) in agreement.index:
                paper, inside = agreement.loc[(model, epoch), ["paper", "inside"]]
            else:
                paper, inside = math.nan, False
            rows.append(
                {
                    "model": model,
                    "epoch": epoch,
                    "n": int(s["n"]),
                    "mean": s["mean"],
                    "std": s["std"],
                    "median": s["median"],
                    "low": s["min"],
                    "high": s["max"],
                    "paper": float(paper),
                    "inside": bool(inside),
                }
            )
    columns = ["model", "epoch", "n", "mean", "std", "median", "low", "high", "paper", "inside"]
    return pd.DataFrame(rows, columns=columns)


def agreement_statement(agreement: pd.DataFrame) -> str:
    """What a Table II / III comparison says, in one sentence for the end of its section: how
    many of the paper's values lie inside our seed ranges against how many runs from our
    distribution would give ((n - 1) / (n + 1) of them), and which model leads at the last
    epoch here and in the paper. ``agreement`` is :func:`r2_agreement`'s table."""
    inside, compared = int(agreement["inside"].sum()), len(agreement)
    expected = float(((agreement["n"] - 1) / (agreement["n"] + 1)).sum())
    if abs(inside - expected) <= 1:
        relation = "about as many as"
    else:
        relation = "fewer than" if inside < expected else "more than"
    last = agreement[agreement["epoch"] == agreement["epoch"].max()].set_index("model")
    ours = MODEL_LABELS[last["median"].idxmax()]
    papers = last["paper"].dropna()
    paper_lead = (
        f"{MODEL_LABELS[papers.idxmax()]} in the paper" if len(papers) else "the paper gives none"
    )
    return (
        f"{inside} of the paper's {compared} values lie inside our seed ranges, {relation} "
        f"the {expected:.0f} that runs from our distribution would give; at epoch "
        f"{int(agreement['epoch'].max())} {ours} leads by median here and {paper_lead}."
    )


STAND_IN_LABEL = "SYNTHETIC STAND-IN DATA, not the Milan dataset"


def data_label(stand_in: bool) -> str:
    """The label every Urban page, figure and table carries."""
    return STAND_IN_LABEL if stand_in else "Milan SMS-in data (Harvard Dataverse)"


def urban_table(
    frame: pd.DataFrame,
    paper: dict | None = None,
    seq_lens: Sequence[int] | None = None,
    stand_in: bool = False,
) -> pd.DataFrame:
    """Table IV: test MAE and MSE per model and seq_len (mean over seeds, "± std" only where
    there are several), beside the paper's printed values, and each model's ratio to the LSTM
    in this book and in the paper (scale-free, so comparable).

    With ``stand_in=True`` (the results come from the synthetic stand-in, not the Milan
    data) the paper's values and the "book | paper" ratios are left out: set beside numbers
    from other data they would invite a comparison that means nothing. The book's own
    ratios to the LSTM stay.
    """
    paper = paper or TABLE_IV
    stats = summary(frame, ["test_mae", "test_mse"], by=("model", "seq_len"))
    seq_lens = seq_lens or sorted(set(frame["seq_len"]))
    # One row per (window length, model) and a few short columns, so that the table fits
    # the page (issue 25): the window lengths run down the page, not across it.
    rows, index, spread = [], [], {"MAE": ([], []), "MSE": ([], [])}
    for seq_len in seq_lens:
        for model in [m for m in MODELS if m in set(frame["model"])]:
            s = stats.loc[(model, seq_len)]
            base = stats.loc[("lstm", seq_len)] if "lstm" in set(frame["model"]) else None
            printed = paper[model][SEQ_LENS.index(seq_len)]
            printed_lstm = paper["lstm"][SEQ_LENS.index(seq_len)]
            row = {}
            for k, metric in enumerate(("mae", "mse")):
                name = metric.upper()
                mean, std = s[(f"test_{metric}", "mean")], s[(f"test_{metric}", "std")]
                several = s[(f"test_{metric}", "count")] > 1
                row[name] = None  # filled per column below, in one number style
                spread[name][0].append(mean)
                spread[name][1].append(std if several else None)
                if not stand_in:
                    row[f"{name} (paper)"] = number(printed[k], 4)
                if base is not None:
                    ratio = mean / base[(f"test_{metric}", "mean")]
                    if stand_in:
                        row[f"{name} / LSTM"] = number(ratio, 3)
                    else:
                        row[f"{name} / LSTM book | paper"] = (
                            f"{number(ratio, 3)} | {number(printed[k] / printed_lstm[k], 3)}"
                        )
            rows.append(row)
            index.append((seq_len, MODEL_LABELS[model]))
    table = pd.DataFrame(rows)
    # one style per column: no "± 0.0000" beside a mean with digits (issue 25)
    for name, (means, stds) in spread.items():
        table[name] = mean_std_column(means, stds)
    table.index = pd.MultiIndex.from_tuples(index, names=[display_name("seq_len"), "model"])
    return page_table(table)  # one header row


def ranking_agreement(frame: pd.DataFrame, paper: dict | None = None) -> pd.DataFrame:
    """Per seq_len and metric: the models ranked by this book and by the paper, and Kendall's
    tau."""
    paper = paper or TABLE_IV
    stats = summary(frame, ["test_mae", "test_mse"], by=("model", "seq_len"))
    models = [m for m in MODELS if m in set(frame["model"])]
    rows = []
    for seq_len in sorted(set(frame["seq_len"])):
        for k, metric in enumerate(("mae", "mse")):
            ours = [stats.loc[(m, seq_len)][(f"test_{metric}", "mean")] for m in models]
            theirs = [paper[m][SEQ_LENS.index(seq_len)][k] for m in models]
            tau = kendalltau(ours, theirs).statistic if len(models) > 1 else float("nan")
            order = lambda values: " < ".join(
                MODEL_LABELS[m] for _, m in sorted(zip(values, models))
            )
            rows.append(
                {
                    "seq_len": seq_len,
                    "metric": metric.upper(),
                    "this book (best first)": order(ours),
                    "paper (best first)": order(theirs),
                    "kendall_tau": tau,
                }
            )
    return pd.DataFrame(rows)


def parameter_table(build: Callable[[str, str], torch.nn.Module] | None = None) -> pd.DataFrame:
    """Table I: classical / quantum / total for every model and dataset, beside the paper's.

    Returns a pandas DataFrame with one row per (dataset, model): our counts, the paper's
    counts and a per-cell match flag. ``build(model, dataset)`` defaults to
    :func:`qkan_lib.configs.build_model`, so the table always reflects the named configs.
    """
    build = build or (lambda model, dataset: build_model(model, dataset))
    rows = []
    for dataset in DATASETS:
        for model in MODELS:
            counts = count_parameters(build(model, dataset))
            ours = (counts["classical"], counts["quantum"] or None, counts["total"])
            paper = TABLE_I[(dataset, model)]
            row = {"dataset": dataset, "model": model}
            for part, o, p in zip(("classical", "quantum", "total"), ours, paper):
                row[part] = o
                row[f"paper_{part}"] = p
                row[f"match_{part}"] = o == p
            rows.append(row)
    return pd.DataFrame(rows)


def format_parameter_table(table: pd.DataFrame) -> pd.DataFrame:
    """Table I for display: rows (dataset, model), columns (part, ours/paper), marks per cell."""

    def show(value):
        return MISSING if value is None or pd.isna(value) else str(int(value))

    out = {}
    for part in ("classical", "quantum", "total"):
        out[(part, "paper")] = [show(v) for v in table[f"paper_{part}"]]
        out[(part, "this book")] = [
            f"{show(v)} {'✓' if ok else '✗'}" for v, ok in zip(table[part], table[f"match_{part}"])
        ]
    index = pd.MultiIndex.from_arrays(
        [table["dataset"].map(DATASET_LABELS), table["model"].map(MODEL_LABELS)],
        names=["dataset", "model"],
    )
    return page_table(pd.DataFrame(out, index=index))  # one header row over the parts


def tuning_table(scores: pd.DataFrame, best: dict[str, float], digits: int = 3) -> pd.DataFrame:
    """Learning-rate tuning (:func:`qkan_lib.experiments.tune_learning_rate`) for display: per
    model and rate the median validation score over seeds (``digits`` significant digits) with
    its range, over one power of ten per cell (:func:`qkan_lib.evidence.display.
    scaled_interval`: "4.52 [1.2, 16] × 10⁻⁵"), the chosen rate marked with ``*``."""
    groups = scores.groupby(["model", "lr"])["score"]
    stats = groups.agg(["median", "min", "max", "size"])
    out = {}
    for lr, column in stats.groupby(level="lr"):
        for (model, _), s in column.iterrows():
            mark = " *" if best.get(model) == lr else ""
            # errors that span decades: each cell over its median's power of ten, narrow
            # enough for five rates side by side; one seed: the value alone, no range
            text = (
                scaled_interval(s["median"], s["min"], s["max"], digits)
                if s["size"] > 1
                else significant(s["median"], digits)
            )
            out.setdefault(MODEL_LABELS.get(model, model), {})[lr] = f"{text}{mark}"
    order = [MODEL_LABELS.get(m, m) for m in ALL_MODELS if MODEL_LABELS.get(m, m) in out]
    table = pd.DataFrame(out).T.reindex(order).fillna(MISSING)
    table.columns = [f"rate {significant(lr, 3)}" for lr in table.columns]
    n_seeds = int(stats["size"].max())
    table.index.name = (
        f"median [min, max] over {n_seeds} seeds" if n_seeds > 1 else "validation score, 1 seed"
    )
    return page_table(table)


def tuning_statement(best: dict[str, float], used: dict[str, float]) -> str:
    """Whether the learning rates a table was trained at (``used``, per model) are the ones
    validation would choose (``best``, from :func:`qkan_lib.experiments.tune_learning_rate`),
    as the sentence that closes a tuning section."""
    models = [m for m in ALL_MODELS if m in best] + [m for m in best if m not in ALL_MODELS]
    kept = [MODEL_LABELS.get(m, m) for m in models if used.get(m) == best[m]]
    moved = [
        f"{MODEL_LABELS.get(m, m)} {significant(used[m], 3)} → {significant(best[m], 3)}"
        for m in models
        if m in used and used[m] != best[m]
    ]
    if not moved:
        return f"Validation chooses the rate the table was trained at for all {len(kept)} models."
    return (
        f"Validation chooses the rate the table was trained at for {len(kept)} of "
        f"{len(models)} models; it would move {listing(moved)}."
    )


def urban_statement(frame: pd.DataFrame, metric: str = "test_mae") -> str:
    """Which model has the lowest mean ``metric`` over seeds at each window length of an Urban
    results frame (last epoch), as the sentence that closes the Table IV section."""
    stats = summary(frame, [metric], by=("model", "seq_len"))[(metric, "mean")]
    winners: dict[str, list[int]] = {}
    for seq_len in sorted(set(frame["seq_len"])):
        part = stats.xs(seq_len, level="seq_len")
        winners.setdefault(MODEL_LABELS[part.idxmin()], []).append(int(seq_len))
    name = display_name(metric)
    if len(winners) == 1:
        ((model, lengths),) = winners.items()
        lengths_text = listing(map(str, lengths))
        return f"{model} has the lowest mean {name} at every window length ({lengths_text})."
    parts = [
        f"{model} at window length{'s' if len(v) > 1 else ''} {listing(map(str, v))}"
        for model, v in winners.items()
    ]
    return f"The lowest mean {name} goes to {listing(parts)}: no model is best throughout."


def shift_cost_table(
    models: Sequence[str] = ("qlstm", "qkan_lstm", "hqkan_lstm"),
    datasets: Sequence[str] = DATASETS,  # every dataset of Table I
) -> pd.DataFrame:
    """Circuit runs for one gradient of each model's quantum parameters: the parameter-shift
    rule (1 + 2 per angle) against backpropagation's forward and backward sweep, with the
    angles counted on the models :func:`qkan_lib.configs.build_model` builds. Rows are
    indexed by (model, dataset)."""
    rows = []
    for model in models:
        for dataset in datasets:
            angles = count_parameters(build_model(model, dataset))["quantum"]
            rows.append(
                {
                    "model": MODEL_LABELS[model],
                    "dataset": DATASET_LABELS[dataset],
                    "angles": angles,
                    "shift-rule runs": circuit_evaluations(angles, "parameter_shift"),
                    "backprop sweeps": circuit_evaluations(angles, "backprop"),
                }
            )
    return page_table(pd.DataFrame(rows).set_index(["model", "dataset"]))


def _median_iqr(q: pd.DataFrame, device: str, figure: str, fmt: str) -> str:
    lo, mid, hi = (q.loc[device, (figure, p)] for p in (0.25, 0.5, 0.75))
    return f"{mid:{fmt}} ({lo:{fmt}}–{hi:{fmt}})"


CALIBRATION_TABLE_PARTS = ("errors", "coherence")


def device_calibration_table(
    summary: pd.DataFrame, sources: pd.DataFrame, part: str = "errors"
) -> pd.DataFrame:
    """Per device, median (interquartile range) across qubits (from
    :func:`qkan_lib.data.devices.calibration_summary` and ``calibration_sources``), in two
    tables so that each fits the page (issue 25: eight columns of ranges wrapped word by word):
    ``part="errors"``: the processor, the sx error and the two readout errors;
    ``part="coherence"``: the snapshot date, T1 and T2."""
    if part not in CALIBRATION_TABLE_PARTS:
        raise ValueError(f"part must be one of {CALIBRATION_TABLE_PARTS}, got {part!r}")
    rows = {}
    for device in summary.index:
        src = sources.loc[device]
        if part == "errors":
            row = {
                "processor": src["processor"],
                "sx error ×10⁻⁴": _median_iqr(summary * 1e4, device, "sx_error", ".2f"),
                "P(1|0) (%)": _median_iqr(summary * 100, device, "readout_error_0", ".2f"),
                "P(0|1) (%)": _median_iqr(summary * 100, device, "readout_error_1", ".2f"),
            }
        else:
            row = {
                "snapshot": src["snapshot"],
                "T1 (µs)": _median_iqr(summary, device, "t1_us", ".0f"),
                "T2 (µs)": _median_iqr(summary, device, "t2_us", ".0f"),
            }
        rows[src["backend"].removeprefix("ibm_").capitalize()] = row
    return page_table(pd.DataFrame(rows).T.rename_axis("IBM device"))  # one header row


def shrinkage_table(factors: pd.DataFrame) -> pd.DataFrame:
    """Rows L, columns depolarizing probability p: the factor every non-constant Fourier
    coefficient is multiplied by (``factors`` has index reps, columns p)."""
    out = factors.map(lambda v: f"{v:.3f}")
    out.columns = [f"p = {significant(p, 3)}" for p in factors.columns]
    out.index = [f"L = {r}" for r in factors.index]
    return out


def daruan_error_table(errors: pd.DataFrame) -> pd.DataFrame:
    """Per device model: RMS and largest error of a DARUAN's <Z> against the exact value (exact
    expectation on the device model), beside the RMS shot standard error at 1,000 shots, all
    in the page's scientific notation ("9.3 × 10⁻³")."""
    table = pd.DataFrame(
        {
            "RMS error": errors["rms_error"].map(scientific),
            "largest error": errors["max_error"].map(scientific),
            f"shot s.e. at {count(1000)}": errors["shot_se_1000"].map(scientific),
        }
    ).set_index(errors["device"].rename("device model"))
    return page_table(table)  # one header row


def deployment_table(summary: pd.DataFrame, readout: str) -> pd.DataFrame:
    """Median test R² lost per device model (rows) and shot budget (columns) for one readout,
    from :func:`qkan_lib.evidence.noisy_deployment.summarise_deployment`."""
    part = summary[summary["readout"] == readout]
    table = part.pivot(index="device", columns="shots", values="median")
    order = list(dict.fromkeys(part["shots"]))
    devices = list(dict.fromkeys(part["device"]))
    return (
        table.loc[devices, order]
        .map(lambda v: number(v, 3, sign=True, scientific=False))  # never "-0.000"
        .rename_axis(index="device model", columns="shots")
    )


def cost_display_table(workloads: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """Per model and dataset: circuits for one forecast, one epoch and the full training, and
    the full training's device time on each device kind, in days, or in years where days
    would exceed 100,000 (from
    :func:`qkan_lib.evidence.quantum_cost.table_workloads` and ``cost_table``), all in one
    number style (:func:`power_text`)."""
    # per device kind one unit: years where days would run past 100,000
    in_years = {
        device: float(group["training_s"].max()) / 86400 > 1e5
        for device, group in costs.groupby("device")
    }
    rows = []
    for r in workloads.itertuples(index=False):
        row = {
            "dataset": DATASET_LABELS.get(r.dataset, r.dataset),
            "model": MODEL_LABELS.get(r.model, r.model),
            "circuits / forecast": power_text(r.forecast_circuits),
            "circuits / epoch": power_text(r.epoch_circuits),
            "circuits, training": power_text(r.training_circuits),
        }
        mine = costs[(costs["dataset"] == row["dataset"]) & (costs["model"] == row["model"])]
        for c in mine.itertuples(index=False):
            unit, days = ("years", 365) if in_years[c.device] else ("days", 1)
            row[f"{unit} on {c.device.split(' (')[0]}"] = power_text(c.training_s / 86400 / days)
        rows.append(row)
    return page_table(pd.DataFrame(rows).set_index(["dataset", "model"]))  # one header row


def _days_text(days: float) -> str:
    # one decimal below 10 days, where whole days would hide a factor of two
    return f"{days:.1f}" if days < 10 else power_text(days)


def packing_display_table(packing: pd.DataFrame) -> pd.DataFrame:
    """The full training per model and way of filling jobs (from
    :func:`qkan_lib.evidence.quantum_cost.packing_table`): jobs, device executions and days of
    device time, in one number style (:func:`power_text`)."""
    first = packing.iloc[0]
    per_job, legacy = int(first["circuits_per_job"]), int(first["legacy_per_job"])
    ways = {
        "legacy": f"{count(legacy)} circuits",
        "sweeps": f"{count(per_job)} circuits",
        "packed": f"{count(per_job)} circuits, {count(first['qubits'])} qubits",
    }
    rows = []
    for model, r in packing.iterrows():
        for way, label in ways.items():
            rows.append(
                {
                    "model": MODEL_LABELS.get(model, model),
                    "a job holds": label,
                    "jobs": power_text(r[f"{way}_jobs"]),
                    "executions": power_text(r[f"{way}_executions"]),
                    "days": _days_text(r[f"{way}_s"] / 86400),
                }
            )
    return page_table(pd.DataFrame(rows).set_index(["model", "a job holds"]))


def queue_display_table(queued: pd.DataFrame) -> pd.DataFrame:
    """Days of wall-clock time per model with each queue wait (from
    :func:`qkan_lib.evidence.quantum_cost.queue_table`; one column per wait)."""
    out = (queued / 86400).map(_days_text)
    out.index.names = ["dataset", "model"]
    return page_table(out)


def readout_cost_table(noise_models: dict) -> pd.DataFrame:
    """Per device model: its readout errors e0, e1 (SPAM for the trapped-ion models) and how
    many times more shots its readout costs for the same precision
    (:func:`qkan_lib.evidence.quantum_cost.readout_shot_factor`)."""
    table = pd.DataFrame(
        {
            "readout e0, e1 (%)": [
                f"{100 * m.readout_error_0:.2f}, {100 * m.readout_error_1:.2f}"
                for m in noise_models.values()
            ],
            "shots needed (×)": [f"{readout_shot_factor(m):.3f}" for m in noise_models.values()],
        },
        index=pd.Index(list(noise_models), name="device model"),
    )
    return page_table(table)


def device_training_table(
    scores: pd.DataFrame, comparisons: pd.DataFrame, column: str = "test_r2"
) -> pd.DataFrame:
    """Test R² of models trained on a device model, per model, dataset and shot budget: mean ±
    std and median (from :func:`qkan_lib.evidence.noisy_deployment.device_training_frame`),
    and against exact-expectation training of the same model and seeds (from
    :func:`qkan_lib.evidence.noisy_deployment.shot_comparisons` of the same ``column``): the
    median of the per-seed differences (Δ), the matched-pairs rank-biserial correlation r and
    the Holm-adjusted signed-rank p-value. Short headers, the words in the caption; the seed
    count is a column ("n") only where it differs between rows, else the caption says it
    (:func:`device_training_seeds`). A page table (:func:`page_table`)."""
    compared = {(r.model, r.dataset, r.a): r for r in comparisons.itertuples()}
    groups = scores.groupby(["model", "dataset", "shots"], sort=False)
    rows, index = [], []
    for model, dataset, shots in [
        (m, d, n)
        for m in dict.fromkeys(scores["model"])
        for d in dict.fromkeys(scores["dataset"])
        for n in shot_order(scores["shots"])
        if (m, d, n) in groups.groups
    ]:
        values = groups.get_group((model, dataset, shots))[column].to_numpy(float)
        std = values.std(ddof=1) if len(values) > 1 else None
        c = compared.get((model, dataset, shots))
        rows.append(
            {
                "mean ± std": mean_std(values.mean(), std, 3),
                "median": number(np.median(values), 3),
                "n": len(values),
                # three decimals like the R² beside it, never "+5.6 × 10⁻⁴" among "+0.003"
                "Δ vs exact": MISSING
                if c is None
                else number(c.effect, 3, sign=True, scientific=False),
                "r": MISSING if c is None else number(c.rank_effect, 2, sign=True),
                "Holm p": MISSING if c is None else p_value(c.p_holm),
            }
        )
        index.append((MODEL_LABELS[model], DATASET_LABELS[dataset], shots))
    names = ["model", "dataset", "shots"]
    table = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=names))
    if device_training_seeds(scores) is not None:
        table = table.drop(columns="n")
    return page_table(table)


def device_training_seeds(scores: pd.DataFrame) -> int | None:
    """The number of seeds of every (model, dataset, shot budget) of ``scores`` when it is one
    number (then :func:`device_training_table` leaves it to the caption), else None."""
    counts = set(scores.groupby(["model", "dataset", "shots"], sort=False).size())
    return int(counts.pop()) if len(counts) == 1 else None


# The options search_configurations varies, as a reader names them.
TRAINABLE_PARTS = {
    "preact_trainable": "encoding w, b",
    "base_trainable": "base β",
    "postact_weight_trainable": "post-weight a",
    "postact_bias_trainable": "post-bias c",
}


def configuration_table(searches: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`qkan_lib.models.registry.search_configurations` results for the page, one block
    per ``searches`` key (the row of Table I they explain): rank from 1, what trains, L, the
    latent widths (HQKAN only; a dash otherwise, never NaN) and the counts."""
    rows, index = [], []
    for label, found in searches.items():
        for rank, r in enumerate(found.to_dict("records"), start=1):
            trains = [name for key, name in TRAINABLE_PARTS.items() if r.get(key)]
            latent = (
                f"{int(r['latent_in'])} → {int(r['latent_out'])}"
                if "latent_in" in r and not pd.isna(r["latent_in"])
                else MISSING
            )
            rows.append(
                {
                    "also trainable": ", ".join(trains) or "nothing else",
                    "L": int(r["reps"]),
                    "latent": latent,
                    "classical / quantum / total": (
                        f"{int(r['classical'])} / {int(r['quantum'])} / {int(r['total'])}"
                    ),
                    "distance": int(r["distance"]),
                }
            )
            index.append((label, rank))
    index = pd.MultiIndex.from_tuples(index, names=["row", "rank"])
    return page_table(pd.DataFrame(rows, index=index))


def forecast_table(
    summary: pd.DataFrame,
    dataset: str,
    metrics: Sequence[str] = ("mase", "smape"),
    digits: int = 3,
) -> pd.DataFrame:
    """One real series: a row per model (display names, best multi-step MASE first), columns
    '<metric> one-step' and '<metric> multi-step' as 'mean ± std' over seeds (a baseline has one
    value). ``summary`` is :func:`qkan_lib.evidence.real_forecasts.summarize_scores`'s table."""
    part = summary[summary["dataset"] == dataset]
    if part.empty:
        raise ValueError(f"no scores for {dataset!r}")
    order = part[part["kind"] == "multi-step"].sort_values("mase_mean")["model"].tolist()
    columns = {}
    for metric in metrics:
        for kind in ("one-step", "multi-step"):
            rows = part[part["kind"] == kind].set_index("model").reindex(order)
            columns[f"{FORECAST_METRICS[metric]} {kind}"] = [
                mean_std(m, s if n > 1 else float("nan"), digits)
                for m, s, n in zip(rows[f"{metric}_mean"], rows[f"{metric}_std"], rows["n_seeds"])
            ]
    index = pd.Index([model_label(m) for m in order], name="model")
    return page_table(pd.DataFrame(columns, index=index))  # one header row


def dm_table(comparisons: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """The Diebold-Mariano comparisons (one row each): series, model, best baseline, the ratio
    of mean absolute errors, the HLN statistic, Holm's p and the verdict, as display text."""
    table = pd.DataFrame(
        {
            "series": [DATASET_LABELS.get(d, d) for d in comparisons["dataset"]],
            "model": [model_label(a) for a in comparisons["a"]],
            "best baseline": [model_label(b) for b in comparisons["b"]],
            "MAE ratio": [number(r, digits) for r in comparisons["mae_ratio"]],
            "DM (HLN)": [number(s, digits, sign=True) for s in comparisons["statistic"]],
            "Holm p": [p_value(p) for p in comparisons["p_holm"]],
            "verdict": [verdict_label(v) for v in comparisons["verdict"]],
        }
    )
    return page_table(table.set_index("series"))  # the series as the row label, not 0..N


def series_catalogue(lengths: dict[str, int]) -> pd.DataFrame:
    """The bundled real series (:data:`qkan_lib.data.real_series.REAL_SERIES`): one row each
    with its display name, sampling, seasonal period, length (``lengths``), character, source
    and licence."""
    rows = [
        {
            "series": s.label,
            "sampling": s.frequency,
            "season": s.season,
            "values": lengths[name],
            "character": s.character,
            "source": s.source,
            "licence": s.licence,
        }  # fmt: skip
        for name, s in REAL_SERIES.items()
    ]
    return page_table(pd.DataFrame(rows).set_index("series"))  # sources wrap, never cut


def real_series_overview(
    summary: pd.DataFrame, metric: str = "mase", kind: str = "multi-step", digits: int = 3
) -> pd.DataFrame:
    """Rows: models (display names) in one order for every table of the chapter, the best
    mean rank of multi-step MASE across the series first (its ranking); columns: the series;
    cells: mean (± std over seeds) of ``metric``."""
    part = summary[summary["kind"] == kind]
    ranked = summary[summary["kind"] == "multi-step"]
    wide = ranked.pivot(index="dataset", columns="model", values="mase_mean")
    order = wide.rank(axis=1).mean().sort_values().index
    out = {}
    for dataset, group in part.groupby("dataset", sort=False):
        g = group.set_index("model")
        out[DATASET_LABELS.get(dataset, dataset)] = {
            model_label(m): mean_std(
                g.loc[m, f"{metric}_mean"],
                g.loc[m, f"{metric}_std"] if g.loc[m, "n_seeds"] > 1 else float("nan"),
                digits,
            )  # fmt: skip
            for m in order
        }
    return pd.DataFrame(out, index=[model_label(m) for m in order])


def narrow_comparisons(shown: pd.DataFrame) -> pd.DataFrame:
    """A :func:`qkan_lib.evidence.findings.format_comparisons` table made narrower for the
    page (issue 25: Tables 9.7 and 9.8 wrapped their verdicts and intervals at 1280 px): a
    dataset level that holds one dataset is dropped (the caption names it), and a comparison
    with the model's own parameter-matched LSTM reads "HQKAN-LSTM vs Matched LSTM", not
    "HQKAN-LSTM vs Matched LSTM (HQKAN-LSTM)": the row already names the model it matches."""
    out = shown.copy()
    if isinstance(out.index, pd.MultiIndex) and out.index.get_level_values(0).nunique() == 1:
        out = out.droplevel(0)
    matched = display_name("param_matched_lstm")

    def shorter(label):
        model, _, other = str(label).partition(" vs ")
        return f"{model} vs {matched}" if other == f"{matched} ({model})" else label

    labels = out.index.get_level_values(-1)
    if "verdict" in out.columns:  # "Matched LSTM (HQKAN-LSTM) better" in that row: the same
        out["verdict"] = [
            str(v).replace(f"{matched} ({str(c).partition(' vs ')[0]})", matched)
            for v, c in zip(out["verdict"], labels)
        ]
    if isinstance(out.index, pd.MultiIndex):
        out.index = out.index.set_levels(
            [shorter(v) for v in out.index.levels[-1]], level=-1, verify_integrity=False
        )
    else:
        out.index = pd.Index([shorter(v) for v in out.index], name=out.index.name)
    return page_table(out)


def comparison_tables(shown: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A :func:`qkan_lib.evidence.findings.format_comparisons` table with a dataset level as
    one narrow table per dataset (:func:`narrow_comparisons`), in the table's order: each
    fits a 1280 px page without wrapping its verdicts and intervals, and its caption names
    the dataset."""
    if not isinstance(shown.index, pd.MultiIndex):
        raise ValueError("comparison_tables: expected a table with a dataset level first")
    return {
        str(dataset): narrow_comparisons(shown.xs(dataset, level=0, drop_level=False))
        for dataset in dict.fromkeys(shown.index.get_level_values(0))
    }
