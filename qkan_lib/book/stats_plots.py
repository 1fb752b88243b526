"""Pure plots of the seed statistics in qkan_lib.statistics (forest plot of comparisons)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..evidence import display
from ..evidence.statistics import NO_DIFFERENCE
from .style import PAGE_WIDTH_IN, book_figure

_EFFECTS = {
    "effect": "median difference a − b (of the per-seed differences if paired)",
    "rank_effect": "rank effect (Cliff's δ or rank-biserial r)",
}


# The colours of significant and non-significant comparisons, and their legend entries.
FOREST_SIGNIFICANT = ("C3", "significant after Holm")
FOREST_NOT_SIGNIFICANT = ("0.55", "not significant")
FOREST_LABEL_CHARS = 26  # the left labels wrap at this many characters


def _tick_format(low: float, high: float, ticks: int = 5):
    """A tick formatter with just the digits the tick step needs ("-0.025", not "-0.025000")."""
    step = (high - low) / ticks if high > low else 1.0
    digits = max(0, int(-np.floor(np.log10(step))) + 1)
    return lambda x, _pos: f"{x:.{digits}f}".replace("-", "−") if abs(x) > 1e-12 else "0"


@book_figure
def plot_forest(
    table: pd.DataFrame, effect: str = "effect", labels=None, title: str | None = None, figsize=None
):
    """Forest plot of a :func:`qkan_lib.statistics.compare_models` table.

    One row per comparison: the point estimate of ``effect`` ("effect" or "rank_effect")
    and its bootstrap interval, with the Holm-adjusted p (and the seed counts when they
    differ between rows) at the right. Comparisons with a significant verdict are drawn in
    colour, the rest in grey (a legend says which); the dashed line is "no difference".
    Long labels wrap onto several lines so the plot keeps most of the width, and the x range
    covers every interval.
    """
    if effect not in _EFFECTS:
        raise ValueError(f"effect must be one of {tuple(_EFFECTS)}, got {effect!r}")
    needed = [
        effect,
        f"{effect}_ci_low",
        f"{effect}_ci_high",
        "a",
        "b",
        "p_holm",
        "verdict",
        "n_a",
        "n_b",
    ]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks column(s) {missing}: pass a compare_models() table")
    if table.empty:
        raise ValueError("table has no comparisons to plot")
    rows = table.reset_index(drop=True)
    names = list(labels) if labels is not None else [f"{r.a} vs {r.b}" for r in rows.itertuples()]
    if len(names) != len(rows):
        raise ValueError(f"labels needs {len(rows)} entries, got {len(names)}")
    # A line per part ("QKAN-LSTM vs LSTM, Damped SHM" or "Damped SHM: QKAN-LSTM − LSTM"),
    # each wrapped at spaces only (never inside "HQKAN-LSTM").
    names = [
        "\n".join(
            textwrap.fill(part, FOREST_LABEL_CHARS, break_on_hyphens=False)
            for part in re.split(r", |(?<=:) ", str(n))
        )
        for n in names
    ]
    lines_per_row = max(n.count("\n") + 1 for n in names)
    y = np.arange(len(rows))[::-1].astype(float)
    # Tall enough for the wrapped labels, whatever height a caller asked for.
    height = (0.14 + 0.17 * lines_per_row) * len(rows) + 1.3
    width, asked = figsize if figsize is not None else (6.5, height)
    fig, ax = plt.subplots(
        figsize=(width, max(asked, height)),
        constrained_layout=True,
    )
    ax.axvline(0, color="0.5", ls="--", lw=0.9)
    low_all = rows[f"{effect}_ci_low"].to_numpy(float)
    high_all = rows[f"{effect}_ci_high"].to_numpy(float)
    mids = rows[effect].to_numpy(float)
    for yi, row in zip(y, rows.itertuples()):
        significant = row.verdict != NO_DIFFERENCE
        color = (FOREST_SIGNIFICANT if significant else FOREST_NOT_SIGNIFICANT)[0]
        mid, low, high = (
            getattr(row, effect),
            getattr(row, f"{effect}_ci_low"),
            getattr(row, f"{effect}_ci_high"),
        )
        ax.plot([low, high], [yi, yi], color=color, lw=2, solid_capstyle="butt")
        ax.plot([mid], [yi], "o", color=color, ms=6)
    # x range: every interval, every point and zero, with a margin so no end touches the frame.
    lo = float(np.nanmin(np.concatenate([low_all, mids, [0.0]])))
    hi = float(np.nanmax(np.concatenate([high_all, mids, [0.0]])))
    pad = 0.06 * (hi - lo) if hi > lo else 1.0
    ax.set_xlim(lo - pad, hi + pad)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_formatter(FuncFormatter(_tick_format(lo - pad, hi + pad)))
    ax.set_ylim(y.min() - 0.6, y.max() + 0.6)
    ax.set_yticks(y, names)
    # The right-hand column as the tick labels of a twin axis: the layout then makes room for
    # it (annotations outside the axes were not counted, and squeezed the plot to nothing).
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    same_n = len({(r.n_a, r.n_b) for r in rows.itertuples()}) == 1
    right.set_yticks(
        y,
        [
            display.p_value(r.p_holm)
            if same_n
            else f"{display.p_value(r.p_holm)} (n = {r.n_a}/{r.n_b})"
            for r in rows.itertuples()
        ],
    )
    right.tick_params(axis="y", length=0)
    first = rows.iloc[0]
    seeds = f"; {first.n_a} and {first.n_b} seeds" if same_n else ""
    right.set_ylabel(f"Holm-adjusted p{seeds}")
    handles = [
        Line2D([], [], color=c, lw=2, marker="o", ms=6, label=text)
        for c, text in (FOREST_SIGNIFICANT, FOREST_NOT_SIGNIFICANT)
    ]
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    ax.set_xlabel(textwrap.fill(_EFFECTS[effect], 60))
    if title:
        fig.suptitle(title, fontsize=10.5)
    return fig


METRIC_LABELS = display.METRIC_LABELS  # the one display-name mapping
# The line style of each deterministic forecaster (keyed by its display name), read by the
# plots that draw them and by line_style_caption, so a caption cannot contradict its figure.
FIXED_LINE_STYLES = {"AR(p)": "--", "persistence": ":"}
OTHER_FIXED_LINE_STYLE = "-."
STYLE_WORDS = {"--": "dashed", ":": "dotted", "-.": "dash-dotted", "-": "solid"}


def fixed_line_style(label: str) -> str:
    """The Matplotlib line style a deterministic forecaster ``label`` is drawn with."""
    return FIXED_LINE_STYLES.get(display.display_name(label), OTHER_FIXED_LINE_STYLE)


def line_style_caption(labels) -> str:
    """What the lines of ``labels`` look like, for a caption: "dashed: AR(p); dotted:
    persistence" (the styles :func:`plot_seed_scores` and :func:`plot_horizon_scores` use)."""
    known = list(FIXED_LINE_STYLES)
    labels = sorted(dict.fromkeys(labels), key=lambda lb: (known + [lb]).index(lb))
    return "; ".join(f"{STYLE_WORDS[fixed_line_style(lb)]}: {lb}" for lb in labels)


@book_figure
def plot_seed_scores(
    final: pd.DataFrame,
    order,
    labels=None,
    metric: str = "test_r2",
    fixed=None,
    by: str | None = None,
    title: str | None = None,
    ylim=None,
):
    """Every seed's score per arm (dots), its median (bar) and fixed reference values (lines).

    ``final`` has one row per (arm, seed) with columns ``arm`` and ``metric`` (and ``by`` for
    one panel per value, e.g. dataset); ``fixed`` maps a label to a value drawn as a
    horizontal line (a deterministic forecaster, in :func:`fixed_line_style`) or, with
    ``by``, ``{panel: {label: value}}``.
    """
    order = list(order)
    labels = list(labels) if labels is not None else order
    if len(labels) != len(order):
        raise ValueError(f"labels needs {len(order)} entries, got {len(labels)}")
    if "arm" not in final.columns or metric not in final.columns:
        raise ValueError(f"final needs columns 'arm' and {metric!r}")
    panels = [None] if by is None else list(dict.fromkeys(final[by]))
    # one panel per row, as wide as the page: side by side the panels were scaled down on the
    # page and their text with them (issue 25)
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(PAGE_WIDTH_IN, 2.4 * len(panels) + 1.9),
        squeeze=False,
        constrained_layout=True,
        sharex=True,
        sharey=ylim is not None,
    )
    legend = {}  # one legend for every panel, below them: it covers no seed
    for ax, panel in zip(axes[:, 0], panels):
        part = final if panel is None else final[final[by] == panel]
        for x, name in enumerate(order):
            values = part[part["arm"] == name][metric].to_numpy(float)
            if values.size == 0:
                continue
            jitter = np.linspace(-0.15, 0.15, values.size) if values.size > 1 else np.zeros(1)
            ax.plot(x + jitter, values, "o", ms=4, alpha=0.7, color=f"C{x % 10}")
            ax.plot([x - 0.3, x + 0.3], [np.median(values)] * 2, color="k", lw=2)
        lines = fixed if panel is None or fixed is None else fixed.get(panel, {})
        for name, value in (lines or {}).items():
            legend[name] = ax.axhline(
                value, ls=fixed_line_style(name), color="0.35", lw=1, label=name
            )
        ax.set_xticks(range(len(order)), labels, rotation=35, ha="right")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        if panel is not None:
            ax.set_title(str(panel))
        if ylim is not None:
            ax.set_ylim(*ylim)
    if legend:
        fig.legend(legend.values(), legend.keys(), loc="outside lower center", ncol=len(legend))
    if title:
        fig.suptitle(title)
    return fig


@book_figure
def plot_horizon_scores(
    closed: pd.DataFrame,
    order,
    labels=None,
    metric: str = "r2",
    title: str | None = None,
    ylim=None,
):
    """Closed-loop score against the horizon: median over seeds (line) and range (band) per
    arm; deterministic forecasters (seed < 0) as lines in :func:`fixed_line_style`."""
    order = list(order)
    labels = list(labels) if labels is not None else order
    needed = {"arm", "seed", "horizon", metric}
    if not needed <= set(closed.columns):
        raise ValueError(f"closed needs columns {sorted(needed)}")
    arms = []  # (name, label, colour, statistics, deterministic) in the given order
    for k, (name, label) in enumerate(zip(order, labels)):
        part = closed[closed["arm"] == name]
        if part.empty:
            continue
        stats = part.groupby("horizon")[metric].agg(["median", "min", "max"])
        arms.append((name, label, f"C{k % 10}", stats, bool((part["seed"] < 0).all())))
    seeded = [a for a in arms if not a[4]] or arms[:1]
    shown = {a[0] for a in seeded}
    fixed = [a for a in arms if a[4] and a[0] not in shown]
    # One panel per seeded arm (its median and min-max band), the deterministic forecasters
    # dashed in every panel: in one panel the overlapping bands merged into one block.
    cols = min(4, len(seeded))
    rows = -(-len(seeded) // cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(2.6 * cols + 0.6, 2.2 * rows + 0.9),
        sharex=True,
        sharey=True,
        squeeze=False,
        constrained_layout=True,
    )
    for ax, (name, label, colour, stats, deterministic) in zip(axes.flat, seeded):
        for _, other, other_colour, other_stats, _ in fixed:
            ax.plot(
                other_stats.index,
                other_stats["median"],
                ls=fixed_line_style(other),
                color=other_colour,
                lw=1.2,
                label=other,
            )
        ax.plot(
            stats.index,
            stats["median"],
            ls=fixed_line_style(label) if deterministic else "-",
            color=colour,
            label=label,
        )
        if not deterministic:
            ax.fill_between(stats.index, stats["min"], stats["max"], color=colour, alpha=0.25)
        ax.set_title(label)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.xaxis.get_major_locator().set_params(integer=True)  # horizons are whole steps
    spare = list(axes.flat[len(seeded) :])
    for ax in spare:
        ax.set_visible(False)
    fig.supxlabel("forecast horizon (steps fed back)")
    fig.supylabel(METRIC_LABELS.get(metric, metric))
    if fixed:  # the references (each its own style), once: in a spare panel, else beside
        handles = axes.flat[0].get_lines()[: len(fixed)]  # drawn first in every panel
        names = [h.get_label() for h in handles]
        if spare:
            spare[0].set_visible(True)
            spare[0].axis("off")
            spare[0].legend(handles, names, loc="center", title="in every panel")
        else:
            fig.legend(handles, names, loc="outside right upper", frameon=False)
    fig.suptitle(title or "closed-loop forecasts: median over seeds, band = min–max")
    return fig


# line style of a forecast by whether it has seeds (the caption reads the same mapping)
FORECAST_STYLES = {True: ("--", "dashed", "baselines (deterministic)"),
                   False: ("-", "solid", "neural models (mean over seeds)")}  # fmt: skip


def forecast_styles_note() -> str:
    """The caption's description of :func:`plot_origin_forecasts`' line styles."""
    return "; ".join(f"{word}: {what}" for _, word, what in FORECAST_STYLES.values())


@book_figure
def plot_origin_forecasts(
    forecasts: pd.DataFrame,
    history: pd.Series | np.ndarray,
    dataset: str,
    models: Sequence[str],
    labels: Sequence[str] | None = None,
    tail: int = 60,
    title: str | None = None,
):
    """The forecasts of ``models`` from every origin of one series over its last ``tail``
    observed values: the series in black, each model's forecast (the mean over its seeds) in
    its colour, dashed for deterministic baselines; vertical lines mark the origins."""
    part = forecasts[forecasts["dataset"] == dataset]
    if part.empty:
        raise ValueError(f"no forecasts of {dataset!r}")
    labels = list(labels) if labels is not None else list(models)
    values = np.asarray(history, dtype=float)
    start = max(0, len(values) - tail)
    fig, ax = plt.subplots(figsize=(9, 3.6), constrained_layout=True)
    ax.plot(np.arange(start, len(values)), values[start:], color="black", lw=1.2, label="series")
    for k, (model, label) in enumerate(zip(models, labels)):
        rows = part[part["model"] == model]
        deterministic = (rows["seed"] < 0).all()
        for i, (origin, group) in enumerate(rows.groupby("origin")):
            mean = group.groupby("h")["forecast"].mean()
            ax.plot(origin + mean.index - 1, mean.to_numpy(), color=f"C{k % 10}",
                    ls=FORECAST_STYLES[bool(deterministic)][0], lw=1.4,
                    label=label if i == 0 else None)  # fmt: skip
    for origin in sorted(set(part["origin"])):
        ax.axvline(origin - 0.5, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("time step")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("value (original scale)")
    ax.tick_params(labelsize=9)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title or "forecasts from each origin", fontsize=10)
    return fig


@book_figure
def plot_mean_ranks(ranks: pd.Series, cd: float, labels: Sequence[str] | None = None, title=None):
    """Mean rank of each model across the series (1 = best), best at the top, with a bar of the
    Nemenyi critical difference ``cd``: two models whose mean ranks differ by less cannot be
    told apart at the chosen level."""
    labels = list(labels) if labels is not None else list(ranks.index)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(ranks) + 1.4), constrained_layout=True)
    y = np.arange(len(ranks))[::-1]
    ax.scatter(ranks.to_numpy(), y, color="C0", zorder=3)
    ax.set_yticks(y, labels, fontsize=9)
    best = float(ranks.iloc[0])
    if np.isfinite(cd):
        # the bar named where it is drawn: a legend box would sit on the lowest ranks' points
        top = y[0] + 0.6
        ax.plot([best, best + cd], [top] * 2, color="C3", lw=3)
        ax.annotate(f"critical difference {cd:.2f}", (best + cd / 2, top), xytext=(0, 4),
                    textcoords="offset points", ha="center", va="bottom", color="C3",
                    fontsize=9)  # fmt: skip
        ax.set_ylim(-0.7, top + 1.0)
    ax.set_xlabel("mean rank across series (1 = best)")
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(labelsize=9)
    ax.set_title(title or "mean ranks by MASE", fontsize=10)
    return fig


@book_figure
def plot_series_grid(series: dict, ncols: int = 3):
    """Each named series (``{label: pandas Series with a time index}``) in its own panel."""
    n = len(series)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(10, 2.3 * nrows), constrained_layout=True,
                             squeeze=False)  # fmt: skip
    for ax, (label, values) in zip(axes.flat, series.items()):
        ax.plot(values.index, values.to_numpy(), color="black", lw=0.8)
        ax.set_title(label, fontsize=10)
        ax.tick_params(labelsize=9)
        # a third of the column per panel: at most four years fit side by side
        if isinstance(values.index, pd.DatetimeIndex):
            ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=2, maxticks=4))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig
