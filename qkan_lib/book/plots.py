"""Pure plotting functions. Widgets in the chapters are thin wrappers around these."""

from __future__ import annotations

import base64
import io
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatter, MaxNLocator

from ..core.daruan import evaluate_daruan
from ..core.noise import NoiseModel, noisy_daruan
from ..core.spectrum import (
    exact_fourier_series,
    fft_coefficients,
    fit_coefficients,
    predicted_frequencies,
    shot_noise_floor,
)
from ..data.milan import longest_gap
from ..evidence.display import (
    display_name,
    number,
    power_of_ten_text,
    scientific,
    significant,
)
from ..evidence.noisy_deployment import shot_order
from ..models.registry import DATASET_LABELS, DATASETS, MODEL_LABELS, MODELS
from ..paper import R2_EPOCHS
from .style import COLUMN_PX, DPI, PAGE_WIDTH_IN, book_figure


class PlainLogFormatter(LogFormatter):
    """Log-axis tick labels as plain numbers ("6", "20", "0.5"), never "6×10⁰"; which minor
    ticks get a label is Matplotlib's choice (all of them only on a short axis)."""

    def _num_to_string(self, x, vmin, vmax):
        if 1 <= abs(x) < 1e6 and x == round(x):
            return number(x, 0)  # "20", "1,000", never "1e+03"
        return significant(x, 3)  # "0.5", and "1 × 10⁻⁵" where a plain number would not fit


def daruan_parameters(
    reps: int, weights=None, theta_seed: int = 0, theta_shift: float = 0.0, bias: float = 0.0
):
    """A reproducible parameter set for one DARUAN, as the spectrum widget builds it.

    Angles are drawn uniformly in [-pi, pi) from ``theta_seed`` and shifted by
    ``theta_shift``; every encoding bias is ``bias``; ``weights`` gives w_1..w_reps
    (default all 1).
    """
    gen = torch.Generator().manual_seed(int(theta_seed))
    theta = (
        torch.rand(reps + 1, 2, generator=gen, dtype=torch.float64) * 2 - 1
    ) * math.pi + theta_shift
    w = (
        torch.ones(reps, dtype=torch.float64)
        if weights is None
        else torch.as_tensor(list(weights)[:reps], dtype=torch.float64)
    )
    if w.numel() != reps:
        raise ValueError(f"need {reps} encoding weights, got {w.numel()}")
    b = torch.full((reps,), float(bias), dtype=torch.float64)
    return theta, w, b


# Line styles of the noisy-DARUAN figure, one mapping for the plot and its caption.
NOISY_DARUAN_STYLES = {
    "exact": {"color": "0.55", "ls": "--", "label": "noiseless, exact"},
    "noisy": {"color": "C0", "ls": "-", "label": "noisy, exact expectation"},
    "sampled": {"color": "C3", "ls": "", "marker": ".", "label": "noisy, estimated from shots"},
}


def noisy_daruan_caption() -> str:
    """The legend of :func:`plot_noisy_daruan` in words, from the same style mapping."""
    words = {"--": "dashed", "-": "solid", "": "dots"}
    colours = {"0.55": "grey", "C0": "blue", "C3": "red"}
    return "; ".join(
        f"{colours[st['color']]} {words[st['ls']]}: {st['label']}"
        for st in NOISY_DARUAN_STYLES.values()
    )


@book_figure
def plot_noisy_daruan(
    theta,
    bias,
    noise: NoiseModel,
    shots: int | None = 1000,
    seed: int = 0,
    n_points: int = 128,
    figsize=(10, 3.6),
):
    """A DARUAN with w_l = 1 on x in [0, 2 pi): noiseless, noisy and estimated from shots
    (left), and |c_omega| of the three by FFT (right, log scale) with the shot-noise floor
    (dotted). Returns the Figure."""
    theta = torch.as_tensor(theta, dtype=torch.float64)
    bias = torch.as_tensor(bias, dtype=torch.float64)
    reps = theta.shape[0] - 1
    x = torch.arange(n_points, dtype=torch.float64) * 2 * math.pi / n_points
    gen = torch.Generator().manual_seed(int(seed))
    curves = {
        "exact": noisy_daruan(x, theta, None, bias),
        "noisy": noisy_daruan(x, theta, None, bias, noise),
    }
    if shots is not None:
        curves["sampled"] = noisy_daruan(x, theta, None, bias, noise, shots, gen)
    fig, (ax_f, ax_s) = plt.subplots(1, 2, figsize=figsize, constrained_layout=True)
    shown = np.arange(-reps - 2, reps + 3)
    for offset, (key, y) in zip((-0.2, 0.0, 0.2), curves.items()):
        style = NOISY_DARUAN_STYLES[key]
        ax_f.plot(x.numpy(), y.numpy(), ms=4, **style)
        freqs, coeffs = fft_coefficients(y.numpy())
        keep = np.isin(freqs, shown)
        ax_s.plot(
            freqs[keep] + offset,
            np.abs(coeffs[keep]),
            marker="o",
            ls="",
            ms=5,
            color=style["color"],
            label=style["label"],
        )
    if shots is not None:
        ax_s.axhline(shot_noise_floor(curves["noisy"].numpy(), shots), color="C3", ls=":", lw=1)
    ax_f.set(
        xlabel="x",
        ylabel=r"$\varphi(x)$",
        ylim=(-1.05, 1.05),
        title=f"DARUAN, L = {reps}, shots: {'exact' if shots is None else shots}",
    )
    ax_f.legend(fontsize=9, loc="lower left")
    ax_s.set(
        xlabel=r"frequency $\omega$",
        ylabel=r"$|c_\omega|$",
        yscale="log",
        ylim=(1e-5, 1.5),
        title="spectrum by FFT (dotted: shot-noise floor)",
    )
    ax_s.set_xticks(shown)
    for ax in (ax_f, ax_s):
        ax.tick_params(labelsize=9)
    return fig


# Encoding weights of the spectrum explorers: every prefix w_1..w_L has 3^L distinct sums
# s . w (no two sign patterns collide, the closest two frequencies are 0.05 apart), so the
# "3^L frequencies" of chapter 1 is true for each L = 1..4 (tests/test_spectrum_counting.py).
SPECTRUM_WEIGHTS = (1.0, 1.7, 0.4, 2.15)


@book_figure
def plot_daruan_spectrum(
    theta,
    weight,
    bias,
    readout: str = "expectation",
    x_range: tuple = (-2 * math.pi, 2 * math.pi),
    n_points: int = 2001,
    figsize=(10, 3.6),
    omega_limit: float | None = None,
    coeff_limit: float | None = None,
):
    """Draw a DARUAN phi(x) (left) and |c_omega| on its predicted frequencies Omega (right).

    The coefficients are a least-squares fit on Omega over ``x_range``; the title of
    the right panel counts the distinct non-negative frequencies (merged with a tolerance,
    see :func:`qkan_lib.spectrum.distinct_frequencies`) and reports the fit's largest
    residual, which is at rounding level exactly when phi lies in the span of Omega (true
    for <Z>, false for the amplitude readout). ``omega_limit`` and ``coeff_limit`` fix the
    spectrum's axes, so that panels for several L can be compared. Returns the Figure.
    """
    x = torch.linspace(*x_range, n_points, dtype=torch.float64)
    with torch.no_grad():
        y = evaluate_daruan(
            x,
            torch.as_tensor(theta, dtype=torch.float64),
            torch.as_tensor(weight, dtype=torch.float64),
            torch.as_tensor(bias, dtype=torch.float64),
            readout,
        )
    omegas = predicted_frequencies(weight)
    freqs, coeffs, residual = fit_coefficients(x, y, omegas)
    fig, (ax_f, ax_s) = plt.subplots(1, 2, figsize=figsize, constrained_layout=True)
    ax_f.plot(x.numpy(), y.numpy(), color="C0")
    ax_f.set(
        xlabel="x",
        ylabel=r"$\varphi(x)$",
        ylim=(-1.05, 1.05),
        title=f"DARUAN, L = {torch.as_tensor(weight).numel()}, readout: {readout}",
    )
    ax_f.axhline(0, color="0.8", lw=0.8)
    ax_s.stem(freqs, np.abs(coeffs), basefmt=" ")
    ax_s.set(
        xlabel=r"frequency $\omega$",
        ylabel=r"$|c_\omega|$",
        title=f"{np.sum(freqs >= 0)} frequencies ω ≥ 0; fit residual {scientific(residual)}",
    )
    if omega_limit is not None:
        ax_s.set_xlim(-omega_limit, omega_limit)
    if coeff_limit is not None:
        ax_s.set_ylim(0, coeff_limit)
    return fig


@book_figure
def plot_readout_spectra(
    freqs, coeffs_z, coeffs_amplitude, reps: int, max_frequency: int = 12, floor: float = 1e-18
):
    """FFT coefficients of one DARUAN under the two readouts, on a log axis.

    ``freqs`` and the two coefficient arrays are :func:`qkan_lib.spectrum.fft_coefficients`
    of the same circuit read out as <Z> and as |alpha| - |beta|; frequencies up to
    ``max_frequency`` are drawn, the band |omega| <= ``reps`` (all a <Z> readout can hold)
    is shaded, and magnitudes below ``floor`` are drawn at ``floor``. Returns the Figure.
    """
    freqs = np.asarray(freqs)
    if not (freqs.shape == np.shape(coeffs_z) == np.shape(coeffs_amplitude)):
        raise ValueError(
            f"freqs, coeffs_z and coeffs_amplitude must have one shape, got "
            f"{freqs.shape}, {np.shape(coeffs_z)}, {np.shape(coeffs_amplitude)}"
        )
    shown = np.abs(freqs) <= max_frequency
    fig, ax = plt.subplots(figsize=(7, 3.2), constrained_layout=True)
    ax.axvspan(-reps, reps, color="0.9", label=rf"$|\omega| \leq L = {reps}$")
    ax.semilogy(
        freqs[shown],
        np.maximum(np.abs(np.asarray(coeffs_z)[shown]), floor),
        "o",
        label=r"$\langle Z\rangle$ (Eq. 3)",
    )
    ax.semilogy(
        freqs[shown],
        np.maximum(np.abs(np.asarray(coeffs_amplitude)[shown]), floor),
        "x",
        label=r"$|\alpha|-|\beta|$",
    )
    ax.set(
        xlabel=r"frequency $\omega$",
        ylabel=r"$|c_\omega|$",
        ylim=(floor / 2, 2),
        title=f"L = {reps}, w = 1: the two readouts' FFT coefficients",
    )
    ax.legend()
    return fig


@book_figure
def plot_predictions(results, epochs=R2_EPOCHS, seed: int = 0, title: str = ""):
    """Figure 3: predictions against ground truth over the whole series, per model and epoch.

    ``results`` are :class:`~qkan_lib.experiments.RunResult` objects of one dataset (any seeds;
    ``seed`` is drawn). Training
    targets are left of the dashed line, test targets right of it.
    """
    chosen = {r.experiment.model: r for r in results if r.seed == seed}
    models = [m for m in MODELS if m in chosen]
    if not models:
        raise ValueError(f"no results with seed {seed}")
    fig, axes = plt.subplots(
        len(models),
        len(epochs),
        figsize=(3.6 * len(epochs), 2.1 * len(models)),
        sharex=True,
        sharey=True,
        constrained_layout=True,
        squeeze=False,
    )
    for row, model in enumerate(models):
        result = chosen[model]
        truth = sum(
            (result.targets[s] for s in ("train", "val", "test") if s in result.targets), []
        )
        n_train = len(result.targets["train"])
        for col, epoch in enumerate(epochs):
            ax = axes[row, col]
            predicted = result.predictions.get(str(epoch))
            if predicted is None and epoch in result.experiment.train.record_epochs:
                raise ValueError(
                    f"{result.experiment.filename()}: its predictions at epoch {epoch} were "
                    "recorded but not kept (the run archive keeps only those a chapter draws: "
                    "qkan_lib.evidence.book_runs.plotted_predictions); retrain the run to see them"
                )
            ax.plot(truth, color="0.2", lw=1.2, label="ground truth")
            if predicted is not None:
                series = sum((predicted[s] for s in ("train", "val", "test") if s in predicted), [])
                ax.plot(series, color="C1", lw=1.2, ls="--", label="prediction")
            ax.axvline(n_train, color="C0", ls=":", lw=1, label="end of training data")
            if row == 0:
                ax.set_title(f"epoch {epoch}")
            if col == 0:
                ax.set_ylabel(MODEL_LABELS[model])
    if title:
        fig.suptitle(title)
    # Below the panels, not inside one: a legend in a panel covered its series.
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), frameon=False)
    return fig


@book_figure
def plot_seed_spread(
    frame, metric: str = "test_r2", paper=None, epochs=None, ylim=None, title: str = ""
):
    """A metric against the epoch per model: mean over seeds, band from min to max, paper points."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6), constrained_layout=True)
    for k, model in enumerate(m for m in MODELS if m in set(frame["model"])):
        stats = frame[frame["model"] == model].groupby("epoch")[metric].agg(["mean", "min", "max"])
        ax.plot(stats.index, stats["mean"], color=f"C{k}", label=MODEL_LABELS[model])
        ax.fill_between(stats.index, stats["min"], stats["max"], color=f"C{k}", alpha=0.2)
        if paper is not None and epochs is not None:
            ax.plot(epochs, paper[model], "x", color=f"C{k}", ms=8, mew=2)
    ax.set(xlabel="epoch", ylabel=display_name(metric), ylim=ylim, title=title)
    ax.legend(ncol=2)
    return fig


@book_figure
def plot_urban_overview(series, selected, min_coverage: float, max_gap: int, label: str):
    """Milan data exploration: the cell-selection rule (top) and the chosen series (below).

    ``series`` is a :class:`qkan_lib.milan.MilanSeries`, ``selected`` its chosen column
    indices; ``label`` (real data or stand-in) is printed in the figure title.
    """
    coverage, gaps = series.coverage(), longest_gap(series.values)
    mean = np.nanmean(series.values, axis=0)
    ok = (coverage >= min_coverage) & (gaps <= max_gap)
    # one panel per row at the page's width: side by side, the coverage ticks ran together
    fig, axes = plt.subplots(2, 1, figsize=(PAGE_WIDTH_IN, 7.2), constrained_layout=True)
    ax = axes[0]
    ax.scatter(coverage[~ok], mean[~ok], s=12, color="0.6", label="excluded")
    ax.scatter(coverage[ok], mean[ok], s=12, color="C0", label="continuous enough")
    ax.scatter(
        coverage[selected],
        mean[selected],
        s=60,
        facecolors="none",
        edgecolors="C3",
        label="selected",
    )
    ax.axvline(min_coverage, color="C3", ls=":")
    ax.set(xlabel="share of slots with data", ylabel="mean SMS-in per slot", title="cell selection")
    ax.xaxis.set_major_locator(MaxNLocator(5))
    # legends below their panels: inside, they covered the points and the daily peaks
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, frameon=False)
    ax = axes[1]
    days = (series.slots_ms - series.slots_ms[0]) / 86_400_000
    for k, column in enumerate(selected):
        ax.plot(
            days,
            series.values[:, column],
            lw=0.7,
            color=f"C{k}",
            label=f"square {series.squares[column]}",
        )
    ax.set(xlabel="days since 2013-11-01", ylabel="SMS-in per 10 min", title="selected squares")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, frameon=False)
    fig.suptitle(label, color="C3" if series.stand_in else "black", fontweight="bold")
    return fig


def figure_png(fig, dpi: int = DPI) -> bytes:
    """A figure as PNG bytes (closes the figure)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def spectrum_stack_widget(
    weights=SPECTRUM_WEIGHTS, theta_seed: int = 0, bias: float = 0.3, max_reps: int = 4
):
    """A slider over L that needs no Python kernel: precomputed spectra in a Stack widget whose
    selected child is jslink-ed to the slider, so it also works in the published HTML page.

    Every panel has the same axes (the widest frequency range and the tallest coefficient
    over all L), so moving the slider shows stems appear, not axes rescale.
    """
    # lazy: ipywidgets is needed only by the widget, not by the static figures
    from ipywidgets import HTML, SelectionSlider, Stack, VBox, jslink

    if len(weights) < max_reps:
        raise ValueError(f"weights needs max_reps = {max_reps} values, got {len(weights)}")
    params = [
        daruan_parameters(reps, weights=list(weights)[:reps], theta_seed=theta_seed, bias=bias)
        for reps in range(1, max_reps + 1)
    ]
    omega_limit = 1.05 * float(np.sum(np.abs(weights[:max_reps]))) + 0.2
    coeff_limit = 1.1 * max(float(np.max(np.abs(exact_fourier_series(*p)[1]))) for p in params)
    images = []
    for reps, (theta, w, b) in enumerate(params, start=1):
        fig = plot_daruan_spectrum(theta, w, b, omega_limit=omega_limit, coeff_limit=coeff_limit)
        data = base64.b64encode(figure_png(fig)).decode("ascii")
        # An <img> with alt text (ipywidgets' Image widget has none) for screen readers.
        alt = (
            f"A DARUAN with L = {reps} re-uploads: its output over x (left) and the "
            "magnitudes of its Fourier coefficients per frequency (right)"
        )
        images.append(
            HTML(
                # never narrower than the style's column (its text stays >= 9 px): on a
                # phone the panel scrolls sideways inside its box
                f'<div style="overflow-x:auto"><img src="data:image/png;base64,{data}" '
                f'alt="{alt}" style="width:100%;min-width:{COLUMN_PX}px"></div>'
            )
        )
    slider = SelectionSlider(
        options=[f"L = {r}" for r in range(1, max_reps + 1)],
        value="L = 3",
        description="re-uploads",
        continuous_update=True,
    )
    stack = Stack(images, selected_index=slider.index)
    jslink((slider, "index"), (stack, "selected_index"))
    caption = HTML(f"<i>w = {tuple(weights)[:max_reps]}; precomputed, linked in the browser</i>")
    return VBox([slider, stack, caption])


@book_figure
def plot_parameter_counts(table):
    """Table I as bars: classical + quantum (stacked) for this book's models and the paper's, per
    dataset."""
    fig, axes = plt.subplots(
        1, len(DATASETS), figsize=(12, 3.6), sharey=True, constrained_layout=True
    )
    for ax, dataset in zip(axes, DATASETS):
        part = table[table["dataset"] == dataset].set_index("model").loc[list(MODELS)]
        x = np.arange(len(MODELS))
        for offset, prefix, hatch, label in (
            (-0.2, "", None, "this book"),
            (0.2, "paper_", "//", "paper"),
        ):
            classical = part[f"{prefix}classical"].fillna(0).astype(float).to_numpy()
            quantum = part[f"{prefix}quantum"].fillna(0).astype(float).to_numpy()
            ax.bar(
                x + offset,
                classical,
                0.38,
                color="C0",
                hatch=hatch,
                edgecolor="white",
                label=f"classical ({label})",
            )
            ax.bar(
                x + offset,
                quantum,
                0.38,
                bottom=classical,
                color="C1",
                hatch=hatch,
                edgecolor="white",
                label=f"quantum ({label})",
            )
        ax.set_xticks(x, [MODEL_LABELS[m] for m in MODELS], rotation=30, ha="right")
        ax.set_title(DATASET_LABELS[dataset])
    axes[0].set_ylabel("trainable parameters")
    # Below the panels, not inside one: inside, the legend covered the bars of a panel.
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels))
    return fig


@book_figure
def plot_shift_sinusoid(
    phi_of_angle,
    angle0: float,
    shift: float = math.pi / 2,
    n_points: int = 201,
    label: str = r"$\theta$",
):
    """phi as a function of one gate angle, with the two parameter-shift evaluations marked.

    The curve is drawn over one full period centred on ``angle0`` (angle0 - pi .. angle0 + pi),
    so both shifted points angle0 +/- shift (|shift| < pi) always lie inside the plotted range,
    wherever the angle sits. ``phi_of_angle`` maps a float angle to a float. Returns the Figure.
    """
    if not 0 < abs(shift) < math.pi:
        raise ValueError(
            f"shift must satisfy 0 < |shift| < pi to fall inside one period, got {shift}"
        )
    angles = np.linspace(angle0 - math.pi, angle0 + math.pi, n_points)
    values = np.array([float(phi_of_angle(float(a))) for a in angles])
    fig, ax = plt.subplots(figsize=(7, 3), constrained_layout=True)
    ax.plot(angles, values, color="C0", label=rf"$\varphi$ as a function of {label}")
    ax.axvline(angle0, color="0.6", ls=":", label=f"{label} now")
    shifted = [angle0 + shift, angle0 - shift]
    ax.plot(
        shifted,
        [float(phi_of_angle(a)) for a in shifted],
        "o",
        color="C3",
        ms=7,
        label=rf"shifted runs, {label} $\pm\,\pi/2$",
    )
    ax.set(
        xlabel=label,
        ylabel=r"$\varphi(x)$",
        xlim=(angles[0], angles[-1]),
        title="one angle: a pure sinusoid, one period around the current value",
    )
    ax.legend(loc="best")
    return fig


@book_figure
def plot_r2_gap(frame, paper=None, epochs=None, metric: str = "test_r2", title: str = ""):
    """1 - R^2 against the epoch on a log axis: mean over seeds, band min..max, paper points.

    R^2 close to 1 squeezes every good model into one line at the top of a linear axis;
    1 - R^2 (the unexplained share of the variance) on a log axis shows a 0.99 and a 0.999
    a decade apart. ``paper`` maps a model to its published R^2 at ``epochs``; they are drawn
    as crosses. Values of 1 - R^2 below 1e-6 are drawn at 1e-6. Returns the Figure.
    """
    if (paper is None) != (epochs is None):
        raise ValueError("pass both paper and epochs, or neither")
    floor = 1e-6
    fig, ax = plt.subplots(figsize=(7.5, 3.8), constrained_layout=True)
    for k, model in enumerate(m for m in MODELS if m in set(frame["model"])):
        gap = (1 - frame[frame["model"] == model].set_index("epoch")[metric]).clip(lower=floor)
        stats = gap.groupby(level=0).agg(["mean", "min", "max"])
        ax.plot(
            stats.index, stats["mean"], color=f"C{k}", label=f"{MODEL_LABELS[model]} (this book)"
        )
        ax.fill_between(stats.index, stats["min"], stats["max"], color=f"C{k}", alpha=0.2, lw=0)
        if paper is not None and model in paper:
            published = [
                (e, max(1 - v, floor)) for e, v in zip(epochs, paper[model]) if v is not None
            ]
            ax.plot(
                *zip(*published),
                "X",
                color=f"C{k}",
                ms=9,
                mec="black",
                mew=0.8,
                label=f"{MODEL_LABELS[model]} (paper)",
            )
    ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel=r"$1 - R^2$ (log scale; lower is better)", title=title)
    ax.grid(alpha=0.3, which="both")
    # Below the axes, not inside: a legend of eight entries inside covered the bands. One
    # entry per model (its colour) and one per source (line and band, or a cross).
    models = [m for m in MODELS if m in set(frame["model"])]
    handles = [Line2D([], [], color=f"C{k}", lw=6, alpha=0.6) for k in range(len(models))]
    labels = [MODEL_LABELS[m] for m in models]
    handles.append(Line2D([], [], color="0.3"))
    labels.append("this book: mean, band min–max")
    if paper is not None:
        handles.append(Line2D([], [], ls="", marker="X", ms=9, color="0.6", mec="black"))
        labels.append("paper")
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 3))
    return fig


@book_figure
def plot_timing_spread(
    table,
    title: str = "",
    unit: str = "ms",
    what: str = "forward + backward",
    ncols: int | None = None,
):
    """Timings with their spread: median with a min..max bar, one panel per varied axis.

    ``table`` has columns ``model``, ``axis`` (what was varied), ``value`` and ``min_s``,
    ``median_s``, ``max_s`` (seconds; :func:`qkan_lib.machine.time_spread_table` writes it).
    Models are drawn side by side with a small offset on a categorical x axis, so the tick
    labels are the measured values only and never overlap. ``what`` names the timed unit
    in the y label; ``ncols`` panels per row (default: all in one row). Returns the Figure.
    """
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6}.get(unit)
    if scale is None:
        raise ValueError(f"unit must be 's', 'ms' or 'us', got {unit!r}")
    missing = {"model", "axis", "value", "min_s", "median_s", "max_s"} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}")
    axes_names = list(dict.fromkeys(table["axis"]))
    ncols = len(axes_names) if ncols is None else max(1, min(int(ncols), len(axes_names)))
    nrows = -(-len(axes_names) // ncols)
    fig, grid = plt.subplots(
        nrows,
        ncols,
        figsize=(4.2 * ncols if ncols > 1 else 7.5, 3.6 * nrows),
        constrained_layout=True,
        squeeze=False,
    )
    for extra in grid.flat[len(axes_names) :]:
        extra.remove()
    axes = grid.reshape(1, -1)
    models = [m for m in MODELS if m in set(table["model"])] + sorted(
        set(table["model"]) - set(MODELS)
    )
    for ax, name in zip(axes[0], axes_names):
        part = table[table["axis"] == name]
        values = sorted(set(part["value"]))
        for k, model in enumerate(models):
            rows = part[part["model"] == model].set_index("value").reindex(values)
            position = np.arange(len(values)) + (k - (len(models) - 1) / 2) * 0.12
            median = rows["median_s"].to_numpy(dtype=float) * scale
            low = median - rows["min_s"].to_numpy(dtype=float) * scale
            high = rows["max_s"].to_numpy(dtype=float) * scale - median
            ax.errorbar(
                position,
                median,
                yerr=[low, high],
                fmt="o-",
                ms=4,
                capsize=3,
                color=f"C{k}",
                label=MODEL_LABELS.get(model, model),
            )
        ax.set_xticks(np.arange(len(values)), [significant(v, 6) for v in values])
        ax.set(
            xlabel=display_name(name),
            ylabel=f"{unit} per {what} (median, min-max)",
            yscale="log",
        )
        # plain numbers on the log axis ("6", "20"), never "6×10⁰"
        ax.yaxis.set_major_formatter(PlainLogFormatter())
        ax.yaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].legend()
    if title:
        fig.suptitle(title)
    return fig


@book_figure
def plot_pendulum_data(t, angle, velocity, series, n_train: int):
    """The Damped SHM data: the pendulum's angle and angular velocity against time (left) and
    the scaled series that is modelled, with the chronological test part shaded (right).

    ``n_train`` is the index of the first sample whose window is a test window's target.
    Returns the Figure.
    """
    series = np.asarray(series, dtype=float)
    if not 0 <= n_train <= len(series):
        raise ValueError(f"n_train must lie in [0, {len(series)}], got {n_train}")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3), constrained_layout=True)
    axes[0].plot(t, angle, label=r"$\theta$")
    axes[0].plot(t, velocity, label=r"$\dot\theta$ (modelled)")
    axes[0].set(xlabel="t", title="damped pendulum")
    axes[0].legend()
    axes[1].plot(series, color="0.3")
    axes[1].axvspan(n_train, len(series), color="C1", alpha=0.15, label="test windows' targets")
    axes[1].set(xlabel="sample", title="scaled to [-1, 1]")
    axes[1].legend()
    return fig


@book_figure
def plot_bessel_data(x, series, n_train: int):
    """The Bessel data: scaled J_2 against x with the chronological test part shaded from
    sample ``n_train`` on. Returns the Figure."""
    x, series = np.asarray(x, dtype=float), np.asarray(series, dtype=float)
    if x.shape != series.shape:
        raise ValueError(f"x and series must have the same shape, got {x.shape} and {series.shape}")
    if not 0 <= n_train < len(series):
        raise ValueError(f"n_train must lie in [0, {len(series) - 1}], got {n_train}")
    fig, ax = plt.subplots(figsize=(8, 3), constrained_layout=True)
    ax.plot(x, series, color="0.3")
    ax.axvspan(x[n_train], x[-1], color="C1", alpha=0.15, label="test part")
    ax.set(xlabel="x", ylabel=r"scaled $J_2(x)$")
    ax.legend()
    return fig


# Line styles of the deployment figure by device kind, one mapping for plot and caption.
DEPLOYMENT_STYLES = {
    "IBM": {"ls": "-", "marker": "o", "word": "solid lines with circles: IBM snapshots"},
    "published": {"ls": "--", "marker": "s", "word": "dashed lines with squares: trapped ions"},
}


# Losses below this (gains included) are drawn at it on the log axis; the caption says so.
DEPLOYMENT_FLOOR = 1e-4


def deployment_caption() -> str:
    """The line styles of :func:`plot_deployment` in words, from the same mapping."""
    floor = power_of_ten_text(round(math.log10(DEPLOYMENT_FLOOR)))
    return (
        "; ".join(style["word"] for style in DEPLOYMENT_STYLES.values())
        + "; at the right, unjoined, the device model's exact expectation (no shots)"
        + f"; losses below {floor}, gains (negative losses) included, are drawn at"
        + f" {floor}"
    )


@book_figure
def plot_deployment(summary, readouts: dict[str, str], figsize=(PAGE_WIDTH_IN, 5.4)):
    """Median test R² lost against the shot budget, one line per device model, one panel per
    readout (``readouts`` maps the summary's readout key to its display name); "exact" is the
    device model's exact expectation, drawn at the right as unjoined markers (it is no shot
    budget). Drawn as wide as the page, so that its text is shown at its own size (issue 25:
    the legend was small to read). Returns the Figure."""
    fig, axes = plt.subplots(
        1, len(readouts), figsize=figsize, sharey=True, constrained_layout=True, squeeze=False
    )
    for ax, (key, label) in zip(axes[0], readouts.items()):
        part = summary[summary["readout"] == key]
        order = list(dict.fromkeys(part["shots"]))
        budgets = [o for o in order if o != "exact"]
        for i, (device, rows) in enumerate(part.groupby("device", sort=False)):
            style = DEPLOYMENT_STYLES["published" if "published" in device else "IBM"]
            y = rows.set_index("shots")["median"].clip(lower=DEPLOYMENT_FLOOR)
            ax.plot(
                range(len(budgets)),
                y.loc[budgets].to_numpy(),
                ls=style["ls"],
                marker=style["marker"],
                ms=4,
                color=f"C{i % 10}",
                label=device,
            )
            if "exact" in order:
                ax.plot(
                    [len(budgets) + 0.5],
                    [y.loc["exact"]],
                    ls="",
                    marker=style["marker"],
                    ms=4,
                    color=f"C{i % 10}",
                )
        ticks = list(range(len(budgets))) + ([len(budgets) + 0.5] if "exact" in order else [])
        ax.set_xticks(ticks, budgets + (["exact"] if "exact" in order else []))
        if "exact" in order:
            ax.axvline(len(budgets) - 0.25, color="0.8", lw=0.8)
        ax.set(yscale="log", xlabel="shots per circuit", title=f"readout: {label}")
    axes[0, 0].set_ylabel("median test R² lost")
    # below the panels, so that it covers no line
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=2)
    return fig


# How plot_loss_against_error draws each shot budget; its caption reads this.
ERROR_LOSS_STYLES = {
    "exact": {"marker": "o", "word": "circles: the device model's exact expectation"},
    "10,000": {"marker": "s", "word": "squares: 10,000 shots per circuit"},
}


def loss_against_error_caption() -> str:
    """The markers of :func:`plot_loss_against_error` in words, from the same mapping."""
    return "; ".join(style["word"] for style in ERROR_LOSS_STYLES.values())


@book_figure
def plot_loss_against_error(
    summary, errors, readouts: dict[str, str], figsize=(PAGE_WIDTH_IN, 5.0)
):
    """Median test R² lost (from :func:`qkan_lib.evidence.noisy_deployment.
    summarise_deployment`) against each device model's error on one DARUAN (the RMS error of
    :func:`~qkan_lib.evidence.noisy_deployment.daruan_device_errors`), one panel per readout,
    one marker per shot budget of :data:`ERROR_LOSS_STYLES`. Losses below
    :data:`DEPLOYMENT_FLOOR` are drawn at it (log axes). Returns the Figure."""
    rms = errors.set_index("device")["rms_error"]
    fig, axes = plt.subplots(
        1, len(readouts), figsize=figsize, sharey=True, constrained_layout=True, squeeze=False
    )
    for ax, (key, label) in zip(axes[0], readouts.items()):
        part = summary[summary["readout"] == key]
        for shots, style in ERROR_LOSS_STYLES.items():
            rows = part[part["shots"] == shots]
            if rows.empty:
                continue
            ax.plot(
                rms.loc[rows["device"]].to_numpy(),
                rows["median"].clip(lower=DEPLOYMENT_FLOOR).to_numpy(),
                ls="",
                marker=style["marker"],
                ms=6,
                mfc="none" if shots != "exact" else None,
                color="C0" if shots == "exact" else "C3",
                label=shots if shots == "exact" else f"{shots} shots",
            )
        ax.set(xscale="log", yscale="log", xlabel="RMS error on one DARUAN",
               title=f"readout: {label}")  # fmt: skip
    axes[0, 0].set_ylabel("median test R² lost")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=2)
    return fig


# How plot_device_training draws each scoring of the trained models; its caption reads this.
DEVICE_TRAINING_STYLES = {
    "test_r2": {"ls": "-", "marker": "o", "word": "solid lines with circles: scored noiselessly"},
    "device_test_r2": {
        "ls": "--",
        "marker": "s",
        "word": "dashed lines with squares: scored on the device model with the training's shots",
    },
}


def device_training_caption() -> str:
    """The line styles of :func:`plot_device_training` in words, from the same mapping."""
    return (
        "; ".join(style["word"] for style in DEVICE_TRAINING_STYLES.values())
        + "; one colour per model; at the right, unjoined, training with the device model's"
        + " exact expectations (no shots)"
    )


@book_figure
def plot_device_training(scores, figsize=(PAGE_WIDTH_IN, 5.0)):
    """Median test R² over seeds against the shot budget of training on a device model, one
    panel per dataset, one colour per model, one line style per scoring
    (:data:`DEVICE_TRAINING_STYLES`); "exact" (training with exact expectations) at the right
    as unjoined markers. ``scores`` as from
    :func:`qkan_lib.evidence.noisy_deployment.device_training_frame`. Returns the Figure."""
    datasets = list(dict.fromkeys(scores["dataset"]))
    models = list(dict.fromkeys(scores["model"]))
    fig, axes = plt.subplots(
        1, len(datasets), figsize=figsize, sharey=False, constrained_layout=True, squeeze=False
    )
    order = shot_order(scores["shots"])
    budgets = [o for o in order if o != "exact"]
    exact_x = len(budgets) + 0.5
    for ax, dataset in zip(axes[0], datasets):
        for i, model in enumerate(models):
            rows = scores[(scores["dataset"] == dataset) & (scores["model"] == model)]
            for column, style in DEVICE_TRAINING_STYLES.items():
                medians = rows.groupby("shots")[column].median()
                kwargs = dict(marker=style["marker"], ms=5, color=f"C{i % 10}")
                ax.plot(
                    range(len(budgets)),
                    medians.reindex(budgets).to_numpy(),
                    ls=style["ls"],
                    label=f"{MODEL_LABELS[model]}, {style['word'].split(': ')[1]}",
                    **kwargs,
                )
                if "exact" in medians.index:
                    ax.plot([exact_x], [medians["exact"]], ls="", **kwargs)
        ticks = list(range(len(budgets))) + ([exact_x] if "exact" in order else [])
        ax.set_xticks(ticks, budgets + (["exact"] if "exact" in order else []))
        if "exact" in order and budgets:
            ax.axvline(len(budgets) - 0.25, color="0.8", lw=0.8)
        ax.set(xlabel="shots per circuit in training", title=DATASET_LABELS[dataset])
    axes[0, 0].set_ylabel("median test R²")
    # one column: the labels name the model and the scoring, too long for two side by side
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center")
    return fig


@book_figure
def plot_device_cost(costs, here_seconds: dict[str, float], dataset: str, figsize=(8, 4.2)):
    """What the full training of one table would take on each device kind (bars, log scale)
    against the measured training time here (black marks), per model. Returns the Figure."""
    part = costs[costs["dataset"] == dataset]
    models = list(dict.fromkeys(part["model"]))
    devices = list(dict.fromkeys(part["device"]))
    fig, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    width = 0.8 / (len(devices) + 1)
    for j, device in enumerate(devices):
        rows = part[part["device"] == device].set_index("model").loc[models]
        ax.bar(
            np.arange(len(models)) + j * width,
            rows["training_s"],
            width,
            color=f"C{j}",
            label=device,
        )
    ax.bar(
        np.arange(len(models)) + len(devices) * width,
        [here_seconds.get(m, np.nan) for m in models],
        width,
        color="0.2",
        label="this machine, exact simulation",
    )
    ax.set_xticks(np.arange(len(models)) + width * len(devices) / 2, models)
    # room on the right of the last group for the "a day" / "a year" labels, inside the axes
    ax.set_xlim(-0.5, len(models) + 0.3)
    ax.set(yscale="log", ylabel="seconds for the full training", title=dataset)
    for days, text in ((1, "a day"), (365, "a year")):
        ax.axhline(days * 86400, color="0.6", lw=0.8, ls=":")
        ax.text(
            0.99,
            days * 86400 * 1.2,
            text,
            fontsize=9,
            color="0.4",
            ha="right",
            transform=ax.get_yaxis_transform(),
        )
    # below the axes, so that it covers no bar and runs out of no edge
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    ax.tick_params(labelsize=9)
    return fig
