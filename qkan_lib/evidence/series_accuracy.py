r"""Why the power series of :math:`J_n` is useless at large x: truncation and cancellation apart.

The series :math:`J_n(x)=\sum_k (-1)^k (x/2)^{2k+n} / (k!\,(k+n)!)` converges for every x,
but at x = 100 its terms grow to about 1e41 (near k = x/2) before they shrink, and their
alternating sum is about 0.02. Two different things can then go wrong, and they are told
apart by summing the same terms twice:

* in float64 (each term from the previous one by the ratio
  :math:`-(x/2)^2 / ((k+1)(k+1+n))`, so no factorial overflows), and
* in exact rational arithmetic (:class:`fractions.Fraction`; x is converted exactly).

If too few terms are summed, both sums are wrong by the same amount: **truncation**. If
enough terms are summed, the exact sum is right and the float64 one is still off by about
(largest term) x (machine epsilon): **cancellation** (rounding of huge terms that cancel).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import pandas as pd

from ..utils import check_positive_int


def _order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be an integer >= 0, got {order!r}")
    return order


def _x(x: float) -> float:
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"x must be finite, got {x!r}")
    return value


def bessel_power_series(order: int, x: float, terms: int, exact: bool = False) -> float:
    """The first ``terms`` terms of the power series of :math:`J_{order}(x)`, summed.

    ``exact=False`` sums in float64 (terms by their ratio recurrence); ``exact=True`` sums
    the same terms as exact rationals and rounds once at the end, so its only error is the
    truncation after ``terms`` terms.
    """
    order, x, terms = _order(order), _x(x), check_positive_int(terms, "terms")
    if exact:
        half = Fraction(x) / 2
        total = sum(
            Fraction((-1) ** k, math.factorial(k) * math.factorial(k + order))
            * half ** (2 * k + order)
            for k in range(terms)
        )
        return float(total)
    term, total = (x / 2) ** order / math.factorial(order), 0.0
    for k in range(terms):
        total += term
        term *= -((x / 2) ** 2) / ((k + 1) * (k + 1 + order))
    return total


def largest_series_term(order: int, x: float) -> float:
    """The largest magnitude of any term of the series at ``x`` (float64, log-space exact)."""
    order, x = _order(order), abs(_x(x))
    if x == 0:
        return 1.0 if order == 0 else 0.0
    # terms grow while (x/2)^2 > (k+1)(k+1+order): the peak is at the first k where they stop
    k = 0
    while (x / 2) ** 2 > (k + 1) * (k + 1 + order):
        k += 1
    log_term = (2 * k + order) * math.log(x / 2) - math.lgamma(k + 1) - math.lgamma(k + order + 1)
    return math.exp(log_term)


def terms_needed(order: int, x: float, tolerance: float = 1e-15) -> int:
    """Smallest n whose first omitted term is below ``tolerance`` with the terms decreasing
    from there on: the alternating tail is then below ``tolerance`` (Leibniz), so n terms
    make the truncation error smaller than it."""
    order, x = _order(order), abs(_x(x))
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance!r}")
    n = 0
    while True:
        decreasing = (x / 2) ** 2 <= (n + 1) * (n + 1 + order)
        log_term = (
            -math.inf
            if x == 0 and 2 * n + order > 0
            else (2 * n + order) * math.log(x / 2)
            if x > 0
            else 0.0
        )
        log_term -= math.lgamma(n + 1) + math.lgamma(n + order + 1)
        if decreasing and log_term < math.log(tolerance):
            return n
        n += 1


def series_error_table(
    order: int, x: float, term_counts: Sequence[int], reference: float
) -> pd.DataFrame:
    """Error of the series against ``reference`` (e.g. ``scipy.special.jv``) for each number of
    terms, summed in float64 and in exact arithmetic: one row per count, columns ``terms``,
    ``float64 error``, ``exact-arithmetic error`` (absolute values)."""
    reference = _x(reference)
    rows = []
    for terms in term_counts:
        rows.append(
            {
                "terms": check_positive_int(terms, "term_counts"),
                "float64 error": abs(bessel_power_series(order, x, terms) - reference),
                "exact-arithmetic error": abs(
                    bessel_power_series(order, x, terms, exact=True) - reference
                ),
            }
        )
    return pd.DataFrame(rows, columns=["terms", "float64 error", "exact-arithmetic error"])
