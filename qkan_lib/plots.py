"""Pure plotting functions. Widgets in the chapters are thin wrappers around these."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from .daruan import daruan
from .spectrum import fit_coefficients, predicted_frequencies


def daruan_parameters(reps: int, weights=None, theta_seed: int = 0, theta_shift: float = 0.0,
                      bias: float = 0.0):
    """A reproducible parameter set for one DARUAN, as the spectrum widget builds it.

    Angles are drawn uniformly in [-pi, pi) from ``theta_seed`` and shifted by
    ``theta_shift``; every encoding bias is ``bias``; ``weights`` gives w_1..w_reps
    (default all 1).
    """
    gen = torch.Generator().manual_seed(int(theta_seed))
    theta = (torch.rand(reps + 1, 2, generator=gen, dtype=torch.float64) * 2 - 1) * math.pi + theta_shift
    w = torch.ones(reps, dtype=torch.float64) if weights is None else torch.as_tensor(
        list(weights)[:reps], dtype=torch.float64)
    if w.numel() != reps:
        raise ValueError(f"need {reps} encoding weights, got {w.numel()}")
    b = torch.full((reps,), float(bias), dtype=torch.float64)
    return theta, w, b


def plot_daruan_spectrum(theta, weight, bias, readout: str = "expectation",
                         x_range: tuple = (-2 * math.pi, 2 * math.pi), n_points: int = 2001,
                         figsize=(10, 3.6)):
    """Draw a DARUAN phi(x) (left) and |c_omega| on its predicted frequencies Omega (right).

    The coefficients are a least-squares fit on Omega over ``x_range``; the title of
    the right panel reports the fit's largest residual, which is at rounding level
    exactly when phi lies in the span of Omega (true for <Z>, false for the
    amplitude readout). Returns the matplotlib Figure.
    """
    x = torch.linspace(*x_range, n_points, dtype=torch.float64)
    with torch.no_grad():
        y = daruan(x, torch.as_tensor(theta, dtype=torch.float64), torch.as_tensor(weight, dtype=torch.float64),
                   torch.as_tensor(bias, dtype=torch.float64), readout)
    omegas = predicted_frequencies(weight)
    freqs, coeffs, residual = fit_coefficients(x, y, omegas)
    fig, (ax_f, ax_s) = plt.subplots(1, 2, figsize=figsize, constrained_layout=True)
    ax_f.plot(x.numpy(), y.numpy(), color="C0")
    ax_f.set(xlabel="x", ylabel=r"$\varphi(x)$", ylim=(-1.05, 1.05),
             title=f"DARUAN, L = {torch.as_tensor(weight).numel()}, readout: {readout}")
    ax_f.axhline(0, color="0.8", lw=0.8)
    ax_s.stem(freqs, np.abs(coeffs), basefmt=" ")
    ax_s.set(xlabel=r"frequency $\omega$", ylabel=r"$|c_\omega|$",
             title=f"{np.sum(freqs >= 0)} frequencies >= 0; fit residual {residual:.1e}")
    return fig


GATE_MAP_LABELS = {
    "lstm": "affine map\n$W v_t + b$",
    "qlstm": "4 variational circuits\n$n = d + m$ qubits each",
    "qkan_lstm": "one QKAN layer\n$(d+m) \\to 4m$ DARUANs",
    "hqkan_lstm": "HQKAN: Linear $\\to$\nQKAN latent $\\to$ Linear",
}


def plot_cell_diagram(model: str = "qkan_lstm", ax=None):
    """Data flow through one recurrent step: v_t = [x_t, h_{t-1}] -> gate map -> gates -> (c_t, h_t).

    The four models differ only in the gate-map box; everything else is Eq. (1).
    Returns the matplotlib Figure.
    """
    if model not in GATE_MAP_LABELS:
        raise ValueError(f"unknown model {model!r}; choose from {sorted(GATE_MAP_LABELS)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 3.2), constrained_layout=True)
    else:
        fig = ax.figure
    ax.set(xlim=(0, 10), ylim=(0, 4)); ax.axis("off")
    box = dict(boxstyle="round,pad=0.35", fc="white", ec="0.3")
    arrow = dict(arrowstyle="->", color="0.3")
    ax.text(0.6, 2.9, "$x_t$", ha="center", va="center", bbox=box)
    ax.text(0.6, 1.1, "$h_{t-1}$", ha="center", va="center", bbox=box)
    ax.text(2.0, 2.0, "$v_t=[x_t, h_{t-1}]$", ha="center", va="center", bbox=box)
    for y in (2.9, 1.1):
        ax.annotate("", (1.3, 2.0), (0.9, y), arrowprops=arrow)
    ax.text(4.3, 2.0, GATE_MAP_LABELS[model], ha="center", va="center",
            bbox=dict(boxstyle="round,pad=0.5", fc="#dbe9f6", ec="#2b6cb0"))
    ax.annotate("", (3.35, 2.0), (2.95, 2.0), arrowprops=arrow)
    gates = [("$i_t=\\sigma(\\cdot)$", 3.4), ("$f_t=\\sigma(\\cdot)$", 2.5), ("$\\tilde C_t=\\tanh(\\cdot)$", 1.5),
             ("$o_t=\\sigma(\\cdot)$", 0.6)]
    for label, y in gates:
        ax.text(6.6, y, label, ha="center", va="center", bbox=box, fontsize=9)
        ax.annotate("", (5.85, y), (5.3, 2.0), arrowprops=arrow)
    ax.text(8.8, 2.6, "$c_t=f_t\\odot c_{t-1}+i_t\\odot\\tilde C_t$", ha="center", va="center", bbox=box, fontsize=9)
    ax.text(8.8, 1.0, "$h_t=o_t\\odot\\tanh(c_t)$", ha="center", va="center", bbox=box, fontsize=9)
    for y in (3.4, 2.5, 1.5):
        ax.annotate("", (7.6, 2.6), (7.4, y), arrowprops=arrow)
    ax.annotate("", (7.75, 1.0), (7.35, 0.6), arrowprops=arrow)
    ax.annotate("", (8.8, 1.3), (8.8, 2.3), arrowprops=arrow)
    ax.set_title(f"one step of the {model.replace('_', '-').upper()} cell: only the blue box changes")
    return fig
