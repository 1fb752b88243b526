"""evidence.series_accuracy: the power series of J_n, truncation and cancellation told apart."""

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.special

from qkan_lib.evidence import series_accuracy as sa


@pytest.mark.parametrize("order", [0, 1, 2, 5])
def test_series_matches_scipy_where_it_is_usable(order):
    for x in (0.0, 0.5, 3.0, 11.0):
        value = scipy.special.jv(order, x)
        assert sa.bessel_power_series(order, x, 60) == pytest.approx(value, abs=1e-12)
        assert sa.bessel_power_series(order, x, 60, exact=True) == pytest.approx(value, abs=1e-14)


def test_at_x_100_sixty_terms_truncate_and_float64_cancels():
    reference = scipy.special.jv(2, 100.0)
    # 60 terms: exact arithmetic is as wrong as float64, so the error is truncation
    short = sa.series_error_table(2, 100.0, [60], reference).iloc[0]
    assert short["exact-arithmetic error"] > 1e30
    assert short["float64 error"] == pytest.approx(short["exact-arithmetic error"], rel=1e-6)
    # enough terms: exact arithmetic is right, float64 is off by ~ largest term * eps
    n = sa.terms_needed(2, 100.0, 1e-15)
    long = sa.series_error_table(2, 100.0, [n], reference).iloc[0]
    assert long["exact-arithmetic error"] < 1e-12
    largest = sa.largest_series_term(2, 100.0)
    assert 1e40 < largest < 1e42
    assert 1e-3 * largest * np.finfo(float).eps < long["float64 error"] < 1e3 * largest


def test_largest_term_and_terms_needed_agree_with_explicit_terms():
    x, order = 37.0, 3
    terms = [
        float(
            Fraction(int(x), 2) ** (2 * k + order) / (math.factorial(k) * math.factorial(k + order))
        )
        for k in range(120)
    ]
    assert sa.largest_series_term(order, x) == pytest.approx(max(terms), rel=1e-10)
    n = sa.terms_needed(order, x, 1e-10)
    assert terms[n] < 1e-10 <= terms[n - 1]
    assert abs(sa.bessel_power_series(order, x, n, exact=True) - scipy.special.jv(order, x)) < 1e-10


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="order"):
        sa.bessel_power_series(-1, 1.0, 10)
    with pytest.raises(ValueError, match="terms"):
        sa.bessel_power_series(2, 1.0, 0)
    with pytest.raises(ValueError, match="x must be finite"):
        sa.bessel_power_series(2, float("nan"), 10)
    with pytest.raises(ValueError, match="tolerance"):
        sa.terms_needed(2, 1.0, 0.0)
