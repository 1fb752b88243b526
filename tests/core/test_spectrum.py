import math

import numpy as np
import pytest
import torch

from qkan_lib import (
    evaluate_daruan,
    evaluate_series,
    exact_fourier_series,
    fft_coefficients,
    fit_coefficients,
    predicted_frequencies,
)
from qkan_lib.book.plots import daruan_parameters, plot_daruan_spectrum
from qkan_lib.evidence.display import read_number

RNG = np.random.default_rng(7)


def sample_on_period(theta, w, b, n=256, readout="expectation"):
    x = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
    return evaluate_daruan(
        x, torch.as_tensor(theta), torch.as_tensor(w), torch.as_tensor(b), readout
    )


@pytest.mark.parametrize("reps", [1, 2, 3, 4])
def test_unit_weights_have_no_energy_above_L(reps):
    theta = RNG.uniform(-math.pi, math.pi, (reps + 1, 2))
    freqs, coeffs = fft_coefficients(sample_on_period(theta, np.ones(reps), RNG.normal(size=reps)))
    assert np.sum(np.abs(coeffs[np.abs(freqs) > reps]) ** 2) < 1e-24
    # and the top frequency L is generically present
    assert np.abs(coeffs[freqs == reps][0]) > 1e-6


def test_amplitude_readout_is_not_band_limited():
    reps = 2
    theta = RNG.uniform(-math.pi, math.pi, (reps + 1, 2))
    freqs, coeffs = fft_coefficients(
        sample_on_period(theta, np.ones(reps), np.zeros(reps), readout="amplitude")
    )
    assert np.sum(np.abs(coeffs[np.abs(freqs) > reps]) ** 2) > 1e-6


@pytest.mark.parametrize("reps", [1, 2, 3])
def test_least_squares_on_predicted_frequencies_is_exact(reps):
    theta = RNG.uniform(-math.pi, math.pi, (reps + 1, 2))
    w, b = RNG.uniform(0.3, 2.5, reps), RNG.normal(size=reps)
    x = torch.linspace(-15, 15, 3001, dtype=torch.float64)
    y = evaluate_daruan(x, torch.tensor(theta), torch.tensor(w), torch.tensor(b))
    omegas = predicted_frequencies(w)
    assert omegas.size == 3**reps  # generic w: every sign pattern gives its own frequency
    _, coeffs, residual = fit_coefficients(x, y, omegas)
    assert residual < 1e-8
    exact_omegas, exact_coeffs = exact_fourier_series(theta, w, b)
    np.testing.assert_allclose(exact_omegas, omegas)
    np.testing.assert_allclose(coeffs, exact_coeffs, atol=1e-8)
    # dropping the highest frequency leaves a visible residual: Omega is needed in full
    assert fit_coefficients(x, y, omegas[1:-1])[2] > 1e-4


def test_exact_series_matches_fft_for_integer_weights():
    theta = RNG.uniform(-math.pi, math.pi, (4, 2))
    w, b = np.array([1.0, 2.0, 1.0]), RNG.normal(size=3)
    omegas, coeffs = exact_fourier_series(theta, w, b)
    np.testing.assert_allclose(omegas, np.arange(-4, 5))
    freqs, fft_c = fft_coefficients(sample_on_period(theta, w, b, n=64))
    for om, c in zip(omegas, coeffs):
        assert abs(fft_c[freqs == om][0] - c) < 1e-12
    np.testing.assert_allclose(np.conj(coeffs[::-1]), coeffs, atol=1e-14)  # real function
    x = np.linspace(-5, 5, 50)
    np.testing.assert_allclose(
        evaluate_series(x, omegas, coeffs),
        evaluate_daruan(
            torch.tensor(x), torch.tensor(theta), torch.tensor(w), torch.tensor(b)
        ).numpy(),
        atol=1e-12,
    )


def test_predicted_frequencies_counts():
    assert predicted_frequencies([1, 1, 1]).tolist() == [-3, -2, -1, 0, 1, 2, 3]
    assert predicted_frequencies([1, 3, 9]).size == 27  # balanced ternary: all of -13..13
    with pytest.raises(ValueError):
        predicted_frequencies([])
    with pytest.raises(ValueError, match="theta must have shape"):
        exact_fourier_series(np.zeros((1, 2)))


def test_spectrum_plot_is_a_real_figure():
    theta, w, b = daruan_parameters(3, weights=[1.0, 1.7, 0.4], theta_seed=3, bias=0.2)
    fig = plot_daruan_spectrum(theta, w, b)
    ax_f, ax_s = fig.axes
    assert len(ax_f.lines[0].get_xdata()) == 2001
    assert "27 frequencies" not in ax_s.get_title() and "14 frequencies ω ≥ 0" in ax_s.get_title()
    residual = read_number(ax_s.get_title().rsplit(" ", 1)[1])
    assert residual < 1e-8
    amp = plot_daruan_spectrum(theta, w, b, readout="amplitude")
    assert read_number(amp.axes[1].get_title().rsplit(" ", 1)[1]) > 1e-4
    with pytest.raises(ValueError, match="need 3 encoding weights"):
        daruan_parameters(3, weights=[1.0])
