"""Pure plotting functions for the learned edges of a QKAN layer (see qkan_lib.edge_analysis).

Each function takes a layer or an :class:`~qkan_lib.edge_analysis.EdgeParameters` snapshot
(or a :class:`~qkan_lib.edge_analysis.SpectrumRecorder`) plus plain keyword options, draws,
and returns the matplotlib Figure, so a chapter calls it once for the static page and then
wraps it in ``ipywidgets.interact`` (e.g. a slider over the recorded epochs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..core.layers import QKANLayer
from ..evidence.learned_spectra import (
    DEFAULT_TOL,
    EdgeParameters,
    SpectrumRecorder,
    edge_parameters,
    edge_spectrum,
    edge_values,
    gate_labels,  # noqa: F401  (re-exported: its home is evidence.learned_spectra)
    layer_spectra,
)
from ..models.registry import DATASET_LABELS
from .style import PAGE_WIDTH_IN, book_figure

SHARE_TITLES = {
    "share_outside_lowest": "energy outside the lowest frequency",
    "share_outside_dominant": "energy outside the dominant frequency",
    "share_combination": "energy at combination frequencies",
}


def _labels(labels: Sequence[str] | None, count: int, prefix: str, name: str) -> list[str]:
    if labels is None:
        return [f"{prefix}{k}" for k in range(count)]
    labels = list(labels)
    if len(labels) != count:
        raise ValueError(f"{name} needs {count} labels, got {len(labels)}")
    return labels


# Tick labels and panel labels of the edge grids (up to 24 panels, as wide as the page): 9 pt
# is 12.5 px on the page (the ticks were 7 pt, 9.7 px: too small to read, issue 25).
GRID_TICK_PT = 9
GRID_LABEL_PT = 10


def _grid(rows: int, cols: int, figsize, panel=(1.9, 1.3)):
    # no wider than the page: a wider grid is scaled down, and its tick labels with it
    width = min(PAGE_WIDTH_IN, max(4.0, panel[0] * cols + 0.8))
    figsize = figsize or (width, max(2.5, panel[1] * rows + 0.9))
    fig, axes = plt.subplots(
        rows, cols, figsize=figsize, sharex=True, squeeze=False, constrained_layout=True
    )
    return fig, axes


@book_figure
def plot_edge_functions(
    source: QKANLayer | EdgeParameters,
    x_range: tuple = (-1.0, 1.0),
    n_points: int = 401,
    in_labels: Sequence[str] | None = None,
    out_labels: Sequence[str] | None = None,
    wide_range: tuple | None = None,
    title: str | None = None,
    figsize=None,
):
    """Grid of every edge function phi_jk(x): one row per output j, one column per input k.

    ``x_range`` is the window the inputs actually visit (gate inputs x_t and h lie in
    [-1, 1]); ``wide_range``, if given, adds the same function over a wider window in grey,
    which shows the frequencies a narrow window hides.
    """
    params = edge_parameters(source)
    if int(n_points) < 2:
        raise ValueError(f"n_points must be at least 2, got {n_points}")
    ins = _labels(in_labels, params.in_features, "in ", "in_labels")
    outs = _labels(out_labels, params.out_features, "out ", "out_labels")
    fig, axes = _grid(params.out_features, params.in_features, figsize)
    x = np.linspace(*x_range, int(n_points))
    values = edge_values(params, x)
    if wide_range is not None:
        x_wide = np.linspace(*wide_range, 4 * int(n_points))
        wide = edge_values(params, x_wide)
    for j in range(params.out_features):
        for k in range(params.in_features):
            ax = axes[j, k]
            if wide_range is not None:
                ax.plot(x_wide, wide[:, j, k], color="0.75", lw=0.9)
            ax.plot(x, values[:, j, k], color="C0", lw=1.3)
            ax.axhline(0, color="0.85", lw=0.6)
            ax.set_ylim(-1.05, 1.05)
            ax.set_yticks([-1, 0, 1])  # three ticks: room for them at the book's size
            ax.tick_params(labelsize=GRID_TICK_PT)
            if j == 0:
                ax.set_title(ins[k], fontsize=GRID_LABEL_PT)
            if k == 0:
                ax.set_ylabel(outs[j], fontsize=GRID_LABEL_PT)
            else:
                ax.tick_params(labelleft=False)  # every panel shares the range [-1, 1]
    fig.supxlabel("input x")
    fig.suptitle(title or f"learned edge functions, L = {params.reps}")
    return fig


@book_figure
def plot_edge_spectra(
    source: QKANLayer | EdgeParameters,
    tol: float = DEFAULT_TOL,
    in_labels: Sequence[str] | None = None,
    out_labels: Sequence[str] | None = None,
    max_frequency: float | None = None,
    title: str | None = None,
    figsize=None,
    share: str = "share_outside_lowest",
):
    """Grid of every edge's spectrum: stems of the amplitude 2|c_f| at each f > 0 of Omega
    (|c_0| at 0 in grey), with one energy share in the corner (``share``: the share of
    oscillating energy outside the lowest frequency by default, or ``"share_outside_dominant"``
    / ``"share_combination"``).

    The amplitude 2|c_f| is the height of the cosine at frequency f in phi(x).
    """
    if share not in SHARE_TITLES:
        raise ValueError(f"share must be one of {tuple(SHARE_TITLES)}, got {share!r}")
    params = edge_parameters(source)
    ins = _labels(in_labels, params.in_features, "in ", "in_labels")
    outs = _labels(out_labels, params.out_features, "out ", "out_labels")
    spectra = layer_spectra(params, tol)
    top = (
        max_frequency
        or max([float(s.frequencies.max()) for s in spectra if s.frequencies.size] + [1.0]) * 1.1
    )
    fig, axes = _grid(params.out_features, params.in_features, figsize)
    for s in spectra:
        ax = axes[s.out_index, s.in_index]
        amplitude = np.sqrt(2 * s.energies)  # 2|c_f| = sqrt(2 E(f))
        if s.frequencies.size:
            ax.stem(s.frequencies, amplitude, basefmt=" ", linefmt="C0-", markerfmt="C0o")
        ax.stem([0.0], [abs(s.dc)], basefmt=" ", linefmt="0.6", markerfmt="o")
        value = getattr(s, share)
        ax.text(
            0.97,
            0.92,
            "—" if math.isnan(value) else f"{100 * value:.1f}%",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=9,
        )
        ax.set_xlim(-0.05 * top, top)
        ax.set_ylim(0, 1.1)
        ax.set_yticks([0, 1])
        ax.tick_params(labelsize=GRID_TICK_PT)
        if s.out_index == 0:
            ax.set_title(ins[s.in_index], fontsize=GRID_LABEL_PT)
        if s.in_index == 0:
            ax.set_ylabel(outs[s.out_index], fontsize=GRID_LABEL_PT)
        else:
            ax.tick_params(labelleft=False)  # every panel shares the range [0, 1.1]
    fig.supxlabel(rf"frequency $f$ (stems: $2|c_f|$; corner: {SHARE_TITLES[share]})")
    fig.suptitle(title or f"edge spectra from the trained w, θ, b (L = {params.reps})", fontsize=10)
    return fig


@book_figure
def plot_weight_trajectories(
    recorder: SpectrumRecorder,
    in_labels: Sequence[str] | None = None,
    out_labels: Sequence[str] | None = None,
    share: str | None = "share_outside_lowest",
    figsize=None,
):
    """How the encoding weights w_l of every edge (left) and, optionally, one energy share per
    edge (right; ``share`` names a share column of :func:`spectral_summary`, or None for no
    panel) move over the recorded epochs.

    One line per (edge, l); the weights set the frequencies, so a line that stays put
    means the edge kept its initial frequency set.
    """
    if not isinstance(recorder, SpectrumRecorder):
        raise ValueError(f"recorder must be a SpectrumRecorder, got {type(recorder).__name__}")
    epochs = recorder.recorded_epochs()
    if not epochs:
        raise ValueError("the recorder holds no snapshots yet")
    first = recorder.at(epochs[0])
    ins = _labels(in_labels, first.in_features, "in ", "in_labels")
    outs = _labels(out_labels, first.out_features, "out ", "out_labels")
    weights = recorder.weights_frame()
    shares = ("share_outside_lowest", "share_outside_dominant", "share_combination")
    if share is not None and share not in shares:
        raise ValueError(f"share must be one of {shares} or None, got {share!r}")
    cols = 1 if share is None else 2
    fig, axes = plt.subplots(
        1, cols, figsize=figsize or (5.2 * cols, 3.4), squeeze=False, constrained_layout=True
    )
    ax = axes[0, 0]
    for (j, k, rep), line in weights.groupby(["out", "in", "rep"], sort=True):
        label = f"{outs[j]}←{ins[k]}" + (f", l={rep + 1}" if first.reps > 1 else "")
        ax.plot(line["epoch"], line["w"], marker="o", ms=3, lw=1, label=label)
    ax.set(xlabel="epoch", ylabel=r"encoding weight $w_l$", title="encoding weights")
    if len(weights.groupby(["out", "in", "rep"])) <= 12:
        ax.legend(ncol=2)
    if share is not None:
        ax = axes[0, 1]
        summary = recorder.summary_frame()
        for (j, k), line in summary.groupby(["out", "in"], sort=True):
            ax.plot(
                line["epoch"],
                100 * line[share],
                marker="o",
                ms=3,
                lw=1,
                label=f"{outs[j]}←{ins[k]}",
            )
        ax.set(
            xlabel="epoch",
            ylabel="% of oscillating energy",
            ylim=(-2, 102),
            title=SHARE_TITLES[share],
        )
    return fig


@book_figure
def plot_edge_detail(
    source: QKANLayer | EdgeParameters,
    out_index: int = 0,
    in_index: int = 0,
    in_labels: Sequence[str] | None = None,
    out_labels: Sequence[str] | None = None,
    x_range: tuple = (-1.0, 1.0),
    wide_range: tuple = (-2 * math.pi, 2 * math.pi),
    tol: float = DEFAULT_TOL,
    max_frequency: float | None = None,
    title: str | None = None,
    figsize=None,
):
    """One edge in detail: phi(x) on the inputs' window (blue) and a wider window (grey), left;
    its exact spectrum (stems 2|c_f|, dominant in orange), right, with the three energy shares.

    The pure function behind the chapter's explorer of trained edges: the widget only picks
    the snapshot (dataset, L, epoch) and the edge.
    """
    params = edge_parameters(source)
    ins = _labels(in_labels, params.in_features, "in ", "in_labels")
    outs = _labels(out_labels, params.out_features, "out ", "out_labels")
    s = edge_spectrum(params, out_index, in_index, tol)
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize or (9.5, 3.2), constrained_layout=True)
    x_wide = np.linspace(*wide_range, 1201)
    x = np.linspace(*x_range, 401)
    left.plot(x_wide, edge_values(params, x_wide)[:, out_index, in_index], color="0.7", lw=1)
    left.plot(
        x,
        edge_values(params, x)[:, out_index, in_index],
        color="C0",
        lw=1.8,
        label="inputs' window",
    )
    left.axvspan(*x_range, color="C0", alpha=0.06)
    left.set(
        xlabel="input x",
        ylabel=r"$\phi(x)$",
        ylim=(-1.05, 1.05),
        title=f"edge {outs[out_index]} ← {ins[in_index]} (L = {params.reps})",
    )
    left.legend(loc="lower right")
    amplitude = np.sqrt(2 * s.energies)
    if s.frequencies.size:
        right.stem(s.frequencies, amplitude, basefmt=" ", linefmt="C0-", markerfmt="C0o")
        top = int(np.argmax(s.energies))
        right.plot([s.frequencies[top]], [amplitude[top]], "o", color="C1", ms=8, label="dominant")
        right.legend(loc="upper right")
    right.stem([0.0], [abs(s.dc)], basefmt=" ", linefmt="0.6", markerfmt="o")
    for w in np.abs(s.weight):
        right.axvline(w, color="C2", lw=0.8, ls=":")
    limit = (
        max_frequency or max(float(s.frequencies.max()) if s.frequencies.size else 1.0, 1.0) * 1.1
    )
    right.set(
        xlim=(-0.05 * limit, limit),
        ylim=(0, 1.1),
        xlabel=r"frequency $f$ (dotted: $|w_l|$)",
        ylabel=r"amplitude $2|c_f|$",
    )

    def pct(v):
        return "—" if math.isnan(v) else f"{100 * v:.1f}%"

    right.set_title(
        f"outside dominant {pct(s.share_outside_dominant)}, outside lowest "
        f"{pct(s.share_outside_lowest)}, combinations {pct(s.share_combination)}",
        fontsize=9,
    )
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


USAGE_PANELS = {
    "share_outside_dominant": "energy outside the dominant f (%)",
    "share_outside_lowest": "energy outside the lowest f (%)",
    "active_frequencies": "active frequencies",
}


@book_figure
def plot_spectrum_usage(
    usage, measures: Sequence[str] = tuple(USAGE_PANELS), title: str | None = None, figsize=None
):
    """Every edge of every seed, one point each, per dataset and L: the measures of
    :func:`qkan_lib.edge_analysis.spectrum_usage` (shares in %), trained (filled) and, where
    ``usage`` holds epoch 0, initial (hollow); bars mark the medians. For active frequencies a
    dashed tick marks the (3^L - 1) / 2 frequencies the edge offers."""
    unknown = [m for m in measures if m not in USAGE_PANELS]
    if unknown or not measures:
        raise ValueError(f"measures must be among {tuple(USAGE_PANELS)}, got {list(measures)}")
    if usage.empty:
        raise ValueError("usage is empty")
    datasets = list(dict.fromkeys(usage["dataset"]))
    reps_values = sorted(usage["reps"].unique())
    last = usage["epoch"] == usage.groupby(["dataset", "reps", "seed"])["epoch"].transform("max")
    stages = [("trained", usage[last], True)]
    if (usage["epoch"] == 0).any() and not last[usage["epoch"] == 0].all():
        stages.append(("initial", usage[usage["epoch"] == 0], False))
    rng = np.random.default_rng(0)  # jitter only: a fixed draw keeps the figure reproducible
    # two panels per row, as wide as the page (three in a row were scaled down to half size on
    # the page, issue 25); the legend takes a spare cell, or goes below the panels
    cols = min(2, len(measures))
    rows = -(-len(measures) // cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=figsize or (PAGE_WIDTH_IN, 2.9 * rows + 0.6),
        squeeze=False,
        constrained_layout=True,
    )
    width = 0.8 / (len(datasets) * len(stages))
    for ax, measure in zip(axes.flat, measures):
        scale = 100.0 if measure.startswith("share") else 1.0
        slot = 0
        for d_index, dataset in enumerate(datasets):
            for stage, frame, filled in stages:
                offset = -0.4 + width * (slot + 0.5)
                color = f"C{d_index}"
                for reps in reps_values:
                    values = frame[(frame["dataset"] == dataset) & (frame["reps"] == reps)]
                    values = scale * values[measure].dropna().to_numpy(dtype=float)
                    if not values.size:
                        continue
                    x = reps + offset + rng.uniform(-0.35, 0.35, values.size) * width
                    ax.scatter(
                        x,
                        values,
                        s=10,
                        color=color if filled else "none",
                        edgecolors=color,
                        lw=0.7,
                        alpha=0.7,
                    )
                    ax.hlines(
                        np.median(values),
                        reps + offset - width / 2,
                        reps + offset + width / 2,
                        color="k",
                        lw=1.6,
                    )
                label = f"{DATASET_LABELS.get(dataset, dataset)}, {stage}"
                ax.scatter(
                    [], [], s=14, color=color if filled else "none", edgecolors=color, label=label
                )
                slot += 1
        if measure == "active_frequencies":
            for reps in reps_values:
                ax.hlines(
                    (3 ** int(reps) - 1) / 2, reps - 0.45, reps + 0.45, color="0.4", ls="--", lw=0.9
                )
        ax.set_xticks(reps_values, [f"L = {r}" for r in reps_values])
        ax.set(ylabel=USAGE_PANELS[measure])
        if measure.startswith("share"):
            ax.set_ylim(-3, 103)
    spare = list(axes.flat)[len(measures) :]
    for ax in spare:
        ax.axis("off")
    handles = axes[0, 0].get_legend_handles_labels()
    if spare:
        spare[0].legend(*handles, loc="center")
    else:
        fig.legend(*handles, loc="outside lower center", ncol=2)
    fig.suptitle(title or "spectrum use of trained QKAN-LSTM gate edges (one point per edge)")
    return fig
