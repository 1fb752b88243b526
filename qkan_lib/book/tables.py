"""Report tables: what the chapters and the command line print from stored results.

Every headline sentence of the book is computed from one of these functions, and each has a unit
test. Tables come as pandas DataFrames of formatted strings, ready to glue into a page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pandas as pd
import torch
from scipy.stats import kendalltau

from ..core.shift import circuit_evaluations
from ..data.real_series import REAL_SERIES
from ..evidence.real_forecasts import METRIC_LABELS as FORECAST_METRICS
from ..evidence.real_forecasts import model_label
from ..evidence.statistics import paper_agreement, paper_cells, seed_summary
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
from ..runs.store import results_frame, training_time, variant_label  # noqa: F401 (ql.reports.*)


def number(value: float, digits: int = 4) -> str:
    """``digits`` decimals, or scientific notation where that would print only zeros
    (|value| < 10^-digits, e.g. a training loss of 3e-5, which ``.4f`` shows as 0.0000)."""
    if value != 0 and abs(value) < 10**-digits:
        return f"{value:.{max(digits - 2, 1)}e}"
    return f"{value:.{digits}f}"


def mean_std(mean: float, std: float, digits: int = 4) -> str:
    """'mean ± std' (see :func:`number`); a missing std (one seed) prints the mean alone."""
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return number(mean, digits)
    return f"{number(mean, digits)} ± {number(std, digits)}"


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
    """'median [min, max]' with ``digits`` decimals."""
    return f"{number(median, digits)} [{number(low, digits)}, {number(high, digits)}]"


def range_mark(paper: float, inside: bool, n: int, digits: int = 4) -> str:
    """The paper's value, ∈ (inside our seed range) or ∉ (outside), and our seed count."""
    return f"{paper:.{digits}f} {'∈' if inside else '∉'} (n={n})"


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
    rows, index = [], []
    for model in [m for m in MODELS if m in stats.index.get_level_values("model")]:
        for epoch in epochs:
            s, r2 = stats.loc[(model, epoch)], agreement.loc[(model, epoch)]
            paper = (
                range_mark(r2["paper"], bool(r2["inside"]), int(r2["n"]))
                if not math.isnan(r2["paper"])
                else "no value"
            )
            rows.append(
                {  # the comparison with the paper first: wide tables scroll
                    "R² (paper)": paper,
                    "R² median [min, max]": median_range(r2["median"], r2["low"], r2["high"]),
                    "R² mean ± std": mean_std(r2["mean"], r2["std"]),
                    "test loss": mean_std(s[("test_mse", "mean")], s[("test_mse", "std")]),
                    "train loss": mean_std(s[("train_loss", "mean")], s[("train_loss", "std")]),
                }
            )
            index.append((MODEL_LABELS[model], int(epoch)))
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["model", "epoch"]))


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
    rows = []
    for model in [m for m in MODELS if m in set(frame["model"])]:
        row = {}
        for seq_len in seq_lens:
            s = stats.loc[(model, seq_len)]
            base = stats.loc[("lstm", seq_len)] if "lstm" in set(frame["model"]) else None
            printed = paper[model][SEQ_LENS.index(seq_len)]
            printed_lstm = paper["lstm"][SEQ_LENS.index(seq_len)]
            for k, metric in enumerate(("mae", "mse")):
                mean, std = s[(f"test_{metric}", "mean")], s[(f"test_{metric}", "std")]
                several = s[(f"test_{metric}", "count")] > 1
                row[(seq_len, f"{metric.upper()} (book)")] = mean_std(
                    mean, std if several else None
                )
                if not stand_in:
                    row[(seq_len, f"{metric.upper()} (paper, scaled)")] = f"{printed[k]:.4f}"
                if base is not None:
                    ratio = mean / base[(f"test_{metric}", "mean")]
                    if stand_in:
                        row[(seq_len, f"{metric.upper()} / LSTM")] = f"{ratio:.3f}"
                    else:
                        row[(seq_len, f"{metric.upper()} / LSTM book | paper")] = (
                            f"{ratio:.3f} | {printed[k] / printed_lstm[k]:.3f}"
                        )
        rows.append(pd.Series(row, name=MODEL_LABELS[model]))
    table = pd.DataFrame(rows)
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["seq_len", ""])
    return table


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
        return "-" if value is None or pd.isna(value) else str(int(value))

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
    return pd.DataFrame(out, index=index)


def tuning_table(scores: pd.DataFrame, best: dict[str, float], digits: int = 4) -> pd.DataFrame:
    """Learning-rate tuning (:func:`qkan_lib.experiments.tune_learning_rate`) for display: per
    model and rate the median validation score over seeds with its range, the chosen rate
    marked with ``*``."""
    out = {}
    for (model, lr), group in scores.groupby(["model", "lr"]):
        values = group["score"]
        mark = " *" if best.get(model) == lr else ""
        spread = (
            f" [{values.min():.{digits}f}, {values.max():.{digits}f}]" if len(values) > 1 else ""
        )  # one seed: the value alone, no range
        out.setdefault(MODEL_LABELS.get(model, model), {})[lr] = (
            f"{values.median():.{digits}f}{spread}{mark}"
        )
    order = [MODEL_LABELS.get(m, m) for m in ALL_MODELS if MODEL_LABELS.get(m, m) in out]
    table = pd.DataFrame(out).T.reindex(order)
    table.columns = [f"lr {lr:g}" for lr in table.columns]
    n_seeds = scores.groupby(["model", "lr"]).size().max()
    table.index.name = (
        "median [min, max] over {} seeds".format(n_seeds)
        if n_seeds > 1
        else "validation score, 1 seed"
    )
    return table


def shift_cost_table(
    models: Sequence[str] = ("qlstm", "qkan_lstm", "hqkan_lstm"),
    datasets: Sequence[str] = ("bessel", "urban"),
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
    return pd.DataFrame(rows).set_index(["model", "dataset"])


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
    return pd.DataFrame(columns, index=pd.Index([model_label(m) for m in order], name="model"))


def dm_table(comparisons: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """The Diebold-Mariano comparisons (one row each): series, model, best baseline, the ratio
    of mean absolute errors, the HLN statistic, Holm's p and the verdict, as display text."""
    return pd.DataFrame(
        {
            "series": [DATASET_LABELS.get(d, d) for d in comparisons["dataset"]],
            "model": [model_label(a) for a in comparisons["a"]],
            "best baseline": [model_label(b) for b in comparisons["b"]],
            "MAE ratio": [f"{r:.{digits}f}" for r in comparisons["mae_ratio"]],
            "DM (HLN)": [f"{s:+.{digits}f}" for s in comparisons["statistic"]],
            "Holm p": [f"{p:.2g}" for p in comparisons["p_holm"]],
            "verdict": [
                v if not v.endswith(" better") else f"{model_label(v[: -len(' better')])} better"
                for v in comparisons["verdict"]
            ],
        }
    )


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
    return pd.DataFrame(rows).set_index("series")


def real_series_overview(
    summary: pd.DataFrame, metric: str = "mase", kind: str = "multi-step", digits: int = 3
) -> pd.DataFrame:
    """Rows: models (display names, best mean rank of ``metric`` across the series first),
    columns: the series; cells: mean (± std over seeds) of ``metric``."""
    part = summary[summary["kind"] == kind]
    wide = part.pivot(index="dataset", columns="model", values=f"{metric}_mean")
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
