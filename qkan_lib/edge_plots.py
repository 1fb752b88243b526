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

from .edge_analysis import (
    DEFAULT_TOL,
    EdgeParameters,
    SpectrumRecorder,
    edge_parameters,
    edge_values,
    layer_spectra,
)
from .layers import QKANLayer

GATES = ("i", "f", "g", "o")


def gate_labels(input_size: int, hidden_size: int) -> tuple[list[str], list[str]]:
    """(input labels, output labels) of an LSTM gate layer (d + m -> 4m).

    Inputs are x_1..x_d then h_1..h_m (the cell concatenates [x_t, h]); outputs are the
    gates i, f, g, o, each with m units, in that order (the cell splits the 4m outputs
    into four consecutive chunks).
    """
    inputs = [f"x{k + 1}" if input_size > 1 else "x" for k in range(input_size)]
    inputs += [f"h{k + 1}" if hidden_size > 1 else "h" for k in range(hidden_size)]
    outputs = [f"{g}{k + 1}" if hidden_size > 1 else g for g in GATES for k in range(hidden_size)]
    return inputs, outputs


def _labels(labels: Sequence[str] | None, count: int, prefix: str, name: str) -> list[str]:
    if labels is None:
        return [f"{prefix}{k}" for k in range(count)]
    labels = list(labels)
    if len(labels) != count:
        raise ValueError(f"{name} needs {count} labels, got {len(labels)}")
    return labels


def _grid(rows: int, cols: int, figsize, panel=(1.9, 1.25)):
    figsize = figsize or (max(4.0, panel[0] * cols + 0.8), max(2.5, panel[1] * rows + 0.8))
    fig, axes = plt.subplots(rows, cols, figsize=figsize, sharex=True, squeeze=False,
                             constrained_layout=True)
    return fig, axes


def plot_edge_functions(source: QKANLayer | EdgeParameters, x_range: tuple = (-1.0, 1.0),
                        n_points: int = 401, in_labels: Sequence[str] | None = None,
                        out_labels: Sequence[str] | None = None, wide_range: tuple | None = None,
                        title: str | None = None, figsize=None):
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
            ax.tick_params(labelsize=7)
            if j == 0:
                ax.set_title(ins[k], fontsize=9)
            if k == 0:
                ax.set_ylabel(outs[j], fontsize=9)
    fig.supxlabel("input x", fontsize=9)
    fig.suptitle(title or f"learned edge functions, L = {params.reps}", fontsize=10)
    return fig


def plot_edge_spectra(source: QKANLayer | EdgeParameters, tol: float = DEFAULT_TOL,
                      in_labels: Sequence[str] | None = None,
                      out_labels: Sequence[str] | None = None, max_frequency: float | None = None,
                      title: str | None = None, figsize=None):
    """Grid of every edge's spectrum: stems of the amplitude 2|c_f| at each f > 0 of Omega
    (|c_0| at 0 in grey), with the share of oscillating energy outside the lowest frequency.

    The amplitude 2|c_f| is the height of the cosine at frequency f in phi(x).
    """
    params = edge_parameters(source)
    ins = _labels(in_labels, params.in_features, "in ", "in_labels")
    outs = _labels(out_labels, params.out_features, "out ", "out_labels")
    spectra = layer_spectra(params, tol)
    top = max_frequency or max([float(s.frequencies.max()) for s in spectra
                                if s.frequencies.size] + [1.0]) * 1.1
    fig, axes = _grid(params.out_features, params.in_features, figsize)
    for s in spectra:
        ax = axes[s.out_index, s.in_index]
        amplitude = np.sqrt(2 * s.energies)  # 2|c_f| = sqrt(2 E(f))
        if s.frequencies.size:
            ax.stem(s.frequencies, amplitude, basefmt=" ", linefmt="C0-", markerfmt="C0o")
        ax.stem([0.0], [abs(s.dc)], basefmt=" ", linefmt="0.6", markerfmt="o")
        share = s.share_outside_lowest
        ax.text(0.97, 0.92, "—" if math.isnan(share) else f"{100 * share:.1f}%",
                transform=ax.transAxes, ha="right", va="top", fontsize=7)
        ax.set_xlim(-0.05 * top, top)
        ax.set_ylim(0, 1.1)
        ax.tick_params(labelsize=7)
        if s.out_index == 0:
            ax.set_title(ins[s.in_index], fontsize=9)
        if s.in_index == 0:
            ax.set_ylabel(outs[s.out_index], fontsize=9)
    fig.supxlabel(r"frequency $f$ (stems: $2|c_f|$; corner: energy outside the lowest $f$)",
                  fontsize=9)
    fig.suptitle(title or f"edge spectra from the trained w, theta, b (L = {params.reps})",
                 fontsize=10)
    return fig


def plot_weight_trajectories(recorder: SpectrumRecorder, in_labels: Sequence[str] | None = None,
                             out_labels: Sequence[str] | None = None,
                             share: str | None = "share_outside_lowest", figsize=None):
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
    fig, axes = plt.subplots(1, cols, figsize=figsize or (5.2 * cols, 3.4), squeeze=False,
                             constrained_layout=True)
    ax = axes[0, 0]
    for (j, k, rep), line in weights.groupby(["out", "in", "rep"], sort=True):
        label = f"{outs[j]}←{ins[k]}" + (f", l={rep + 1}" if first.reps > 1 else "")
        ax.plot(line["epoch"], line["w"], marker="o", ms=3, lw=1, label=label)
    ax.set(xlabel="epoch", ylabel=r"encoding weight $w_l$", title="encoding weights")
    if len(weights.groupby(["out", "in", "rep"])) <= 12:
        ax.legend(fontsize=7, ncol=2)
    if share is not None:
        ax = axes[0, 1]
        summary = recorder.summary_frame()
        for (j, k), line in summary.groupby(["out", "in"], sort=True):
            ax.plot(line["epoch"], 100 * line[share], marker="o", ms=3, lw=1,
                    label=f"{outs[j]}←{ins[k]}")
        titles = {"share_outside_lowest": "energy outside the lowest frequency",
                  "share_outside_dominant": "energy outside the dominant frequency",
                  "share_combination": "energy at combination frequencies"}
        ax.set(xlabel="epoch", ylabel="% of oscillating energy", ylim=(-2, 102),
               title=titles[share])
    return fig
