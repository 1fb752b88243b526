"""Counting the frequencies of a DARUAN: rounding must not create frequencies.

Oracle: exact rational arithmetic (fractions.Fraction of the decimal weights), which has
no rounding, so its set of sums s . w is the true Omega.
"""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from qkan_lib import evaluate_daruan as daruan
from qkan_lib.book.plots import SPECTRUM_WEIGHTS, daruan_parameters, plot_daruan_spectrum
from qkan_lib.core.spectrum import (
    distinct_frequencies,
    exact_fourier_series,
    fit_coefficients,
    predicted_frequencies,
)


def exact_omega(decimal_weights: list[str]) -> list[Fraction]:
    weights = [Fraction(w) for w in decimal_weights]
    sums = {
        sum(s * w for s, w in zip(signs, weights))
        for signs in itertools.product((-1, 0, 1), repeat=len(weights))
    }
    return sorted(sums)


ISSUE_WEIGHTS = ["1.0", "1.7", "0.4", "1.0"]  # the old widget default at L = 4: w4 == w1


def test_rounding_duplicates_are_merged_at_L4():
    truth = exact_omega(ISSUE_WEIGHTS)
    assert len(truth) == 41 and sum(f >= 0 for f in truth) == 21
    w = np.array([float(v) for v in ISSUE_WEIGHTS])
    # the bug: exact uniqueness of |s . w| sees 28 non-negative "frequencies"
    assert np.unique(np.abs(np.array(list(itertools.product((-1, 0, 1), repeat=4))) @ w)).size == 28
    omegas = predicted_frequencies(w)
    np.testing.assert_allclose(omegas, [float(f) for f in truth], atol=1e-12)
    np.testing.assert_array_equal(omegas, -omegas[::-1])  # exactly symmetric


def test_fit_counts_and_coefficients_use_the_merged_set():
    theta, w, b = daruan_parameters(
        4, weights=[float(v) for v in ISSUE_WEIGHTS], theta_seed=1, bias=0.3
    )
    x = torch.linspace(-20, 20, 4001, dtype=torch.float64)
    y = daruan(x, theta, w, b)
    freqs, coeffs, residual = fit_coefficients(x, y, predicted_frequencies(w))
    assert np.sum(freqs >= 0) == 21 and residual < 1e-8
    exact_freqs, exact_coeffs = exact_fourier_series(theta, w, b)
    np.testing.assert_allclose(freqs, exact_freqs, atol=1e-12)
    np.testing.assert_allclose(coeffs, exact_coeffs, atol=1e-8)  # heights are not split


def test_spectrum_panel_reports_the_true_count():
    theta, w, b = daruan_parameters(
        4, weights=[float(v) for v in ISSUE_WEIGHTS], theta_seed=0, bias=0.3
    )
    fig = plot_daruan_spectrum(theta, w, b)
    assert fig.axes[1].get_title().startswith("21 frequencies")


@pytest.mark.parametrize("reps", [1, 2, 3, 4])
def test_widget_defaults_reach_three_to_the_L(reps):
    decimal = [repr(v) for v in SPECTRUM_WEIGHTS[:reps]]
    assert len(exact_omega(decimal)) == 3**reps
    omegas = predicted_frequencies(SPECTRUM_WEIGHTS[:reps])
    assert omegas.size == 3**reps
    assert np.min(np.diff(omegas)) > 0.04  # far enough apart to be told apart in the stem plot


def test_distinct_frequencies_clusters_and_validates():
    np.testing.assert_allclose(distinct_frequencies([2.0, 1.0, 1.0 + 1e-12, 3.0]), [1.0, 2.0, 3.0])
    assert distinct_frequencies([0.1, 0.1 + 1e-6], tol=1e-9).size == 2  # a real gap stays
    assert distinct_frequencies([]).size == 0
    with pytest.raises(ValueError, match="tol"):
        distinct_frequencies([1.0], tol=-1)
    with pytest.raises(ValueError, match="tol"):
        distinct_frequencies([1.0], tol=math.nan)
