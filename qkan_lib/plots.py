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
