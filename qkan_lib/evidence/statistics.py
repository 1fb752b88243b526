"""Statistics over seeds: summaries, two-model comparisons, effect sizes, Holm, paper agreement.

A single training run of a small recurrent model is one draw from a heavy-tailed
distribution (a bad initialisation can cost a whole R^2 unit), so every claim of the form
"model A beats model B" is a claim about two distributions of per-seed scores. This module
gives the pieces a reviewer expects for such a claim:

* per-group seed summaries (n, mean, std, median, min, max and a quantile interval);
* two-sample tests: Mann-Whitney U and Welch's t for independent seeds, the Wilcoxon
  signed-rank test when both models were trained from the same seeds (and therefore from
  the same data order and, where the architecture allows, the same initial functions);
* effect sizes (difference of medians, difference of means, Cliff's delta, the
  common-language effect size, the paired rank-biserial correlation) with percentile
  bootstrap confidence intervals (SciPy's) drawn from a seeded :class:`numpy.random.Generator`;
* Holm-Bonferroni adjustment of a family of p-values and the verdicts it allows
  (:func:`holm_verdicts`, the one home of that rule);
* :func:`compare_models`, a tidy table with one row per comparison and a plain verdict;
* agreement with a published value that can fail: "the paper's value lies inside our seed
  range" (or inside a central quantile interval), always reported with the seed count.

* forecast comparisons: the Diebold-Mariano test with the Harvey-Leybourne-Newbold
  small-sample correction (:func:`diebold_mariano`), mean ranks across series with Friedman's
  test and the Nemenyi critical difference (:func:`mean_ranks`).

numpy, scipy (the bootstrap: ``scipy.stats.bootstrap``), pandas and statsmodels (Holm's
correction: ``multipletests``) are used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

ALPHA = 0.05
INDEPENDENT_TESTS = ("mannwhitney", "welch")
NO_DIFFERENCE = "no significant difference"
# What `effect` is, by pairing: its name travels with the number (column `effect_statistic`).
EFFECT_STATISTICS = {False: "difference of medians", True: "median of per-seed differences"}


# ---------------------------------------------------------------------------------------------
# input checks


def _sample(values, name: str, minimum: int = 1) -> np.ndarray:
    """A finite 1-D float array with at least ``minimum`` entries, or a ValueError naming it."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one score per seed), got shape {array.shape}")
    if array.size < minimum:
        raise ValueError(f"{name} needs at least {minimum} values, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values: {array[~np.isfinite(array)]}")
    return array


def _level(level: float, name: str = "level") -> float:
    if not 0 < float(level) < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {level}")
    return float(level)


def _columns(frame: pd.DataFrame, columns: Iterable[str], name: str = "frame") -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(frame.columns)}")


# ---------------------------------------------------------------------------------------------
# summaries


def quantile_interval(values, level: float = 0.9) -> tuple[float, float]:
    """The central ``level`` interval of the seed scores: quantiles (1 - level)/2 and (1 + level)/2.

    Linear interpolation between order statistics (numpy's default), so with few seeds the
    interval is narrower than the range and can exclude a value the range includes.
    """
    x = _sample(values, "values")
    level = _level(level)
    low, high = np.quantile(x, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def median_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """The median and its distribution-free confidence interval: the order statistics
    x_(k) and x_(n+1-k) with the largest k whose coverage 1 - 2 P(Bin(n, 1/2) < k) is at
    least ``level`` (the sign-test interval; no assumption on the shape of the
    distribution, so a few seeds of a skewed loss are judged honestly). With too few values
    for ``level`` (fewer than 6 at 95 %) the bounds are NaN: no interval has that coverage.
    Returns ``(median, low, high)``; tested against ``scipy.stats.quantile_test``."""
    x = np.sort(_sample(values, "values"))
    level = _level(level)
    n = x.size
    # coverage of [x_(k), x_(n+1-k)] for k = 1 .. n//2; the widest (k = 1) is the range
    ks = np.arange(1, n // 2 + 1)
    coverage = 1 - 2 * sps.binom.cdf(ks - 1, n, 0.5)
    enough = ks[coverage >= level - 1e-12]
    median = float(np.median(x))
    if enough.size == 0:
        return median, math.nan, math.nan
    k = int(enough.max())
    return median, float(x[k - 1]), float(x[n - k])


def summarize(values, level: float = 0.9) -> dict[str, float]:
    """n, mean, std (ddof 1; NaN for one seed), median, min, max, central quantile interval."""
    x = _sample(values, "values")
    low, high = quantile_interval(x, level)
    return {
        "n": int(x.size),
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)) if x.size > 1 else math.nan,
        "median": float(np.median(x)),
        "min": float(x.min()),
        "max": float(x.max()),
        "q_low": low,
        "q_high": high,
    }


def seed_summary(
    frame: pd.DataFrame, metric: str, by: Sequence[str] = ("model",), level: float = 0.9
) -> pd.DataFrame:
    """:func:`summarize` of ``metric`` for every group of ``by``: one row per group.

    Rows with a missing ``metric`` are dropped before counting, so ``n`` is the number of
    seeds that actually contributed.
    """
    by = list(by)
    _columns(frame, by + [metric])
    _level(level)
    rows = []
    for key, group in frame.dropna(subset=[metric]).groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), **summarize(group[metric].to_numpy(), level)})
    columns = by + ["n", "mean", "std", "median", "min", "max", "q_low", "q_high"]
    return pd.DataFrame(rows, columns=columns).set_index(by)


# ---------------------------------------------------------------------------------------------
# effect sizes


def median_difference(a, b) -> float:
    """median(a) - median(b)."""
    return float(np.median(_sample(a, "a")) - np.median(_sample(b, "b")))


def mean_difference(a, b) -> float:
    """mean(a) - mean(b)."""
    return float(np.mean(_sample(a, "a")) - np.mean(_sample(b, "b")))


def cliffs_delta(a, b) -> float:
    """Cliff's delta = P(A > B) - P(A < B) over all pairs of one draw from each sample.

    Lies in [-1, 1]; 0 means neither sample tends to be larger. It is the effect size that
    the Mann-Whitney U test tests: delta = 2 U_a / (n_a n_b) - 1.
    """
    x, y = _sample(a, "a"), _sample(b, "b")
    signs = np.sign(np.subtract.outer(x, y))
    return float(signs.mean())


def common_language_effect(a, b) -> float:
    """P(A > B) + P(A = B) / 2: the chance that a random seed of A scores above one of B.

    Equals (1 + Cliff's delta) / 2; 0.5 means no tendency.
    """
    return (1.0 + cliffs_delta(a, b)) / 2.0


def rank_biserial_paired(a, b) -> float:
    """Matched-pairs rank-biserial correlation (W+ - W-) / (W+ + W-) of the differences a - b.

    The paired analogue of Cliff's delta and the effect the Wilcoxon signed-rank test
    tests: +1 when every nonzero difference favours a, -1 when every one favours b. Zero
    differences are dropped (Wilcoxon's convention); all-zero differences give 0.
    """
    d = _sample(a, "a") - _paired_partner(a, b)
    d = d[d != 0]
    if d.size == 0:
        return 0.0
    ranks = sps.rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


def _paired_partner(a, b) -> np.ndarray:
    x, y = _sample(a, "a"), _sample(b, "b")
    if x.size != y.size:
        raise ValueError(f"paired samples need equal lengths, got a: {x.size} and b: {y.size}")
    return y


EFFECTS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "median_difference": median_difference,
    "mean_difference": mean_difference,
    "cliffs_delta": cliffs_delta,
    "common_language": common_language_effect,
}


def paired_median_difference(a, b) -> float:
    """median(a - b) over matched pairs (the paired analogue of the difference of medians)."""
    return float(np.median(_sample(a, "a") - _paired_partner(a, b)))


PAIRED_EFFECTS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "median_difference": paired_median_difference,
    "mean_difference": mean_difference,
    "rank_biserial": rank_biserial_paired,
}


def _rank_biserial_rows(d: np.ndarray) -> np.ndarray:
    """:func:`rank_biserial_paired` of every row of differences (zeros dropped per row)."""
    magnitude = np.where(d == 0, np.nan, np.abs(d))
    ranks = sps.rankdata(magnitude, axis=1, nan_policy="omit")
    total = np.nansum(ranks, axis=1)
    signed = np.nansum(np.where(d > 0, ranks, 0.0), axis=1) - np.nansum(
        np.where(d < 0, ranks, 0.0), axis=1
    )
    return np.divide(signed, total, out=np.zeros_like(total), where=total > 0)


# Row-wise versions over a stack of resamples (rows), for the bootstrap's inner loop; each
# must equal the scalar statistic applied row by row (tested).
_ROWWISE: dict[Callable, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    median_difference: lambda X, Y: np.median(X, axis=1) - np.median(Y, axis=1),
    mean_difference: lambda X, Y: X.mean(axis=1) - Y.mean(axis=1),
    cliffs_delta: lambda X, Y: np.sign(X[:, :, None] - Y[:, None, :]).mean(axis=(1, 2)),
    paired_median_difference: lambda X, Y: np.median(X - Y, axis=1),
    rank_biserial_paired: lambda X, Y: _rank_biserial_rows(X - Y),
}
_ROWWISE_BLOCK = 2_000_000  # elements per block of the pairwise (Cliff's delta) array


def bootstrap_ci(
    a,
    b,
    statistic: Callable[[np.ndarray, np.ndarray], float],
    *,
    paired: bool = False,
    n_boot: int = 4000,
    level: float = 0.95,
    rng: np.random.Generator | int | None = 0,
) -> tuple[float, float, float]:
    """Point estimate and percentile bootstrap interval of ``statistic(a, b)``.

    SciPy's :func:`scipy.stats.bootstrap` (``method="percentile"``) draws and reads the
    interval: independent samples are resampled separately (each with its own size); paired
    samples are resampled by pair, which keeps the seed pairing. ``rng`` is a Generator or a
    seed, so the interval is reproducible (SciPy draws the resample indices of ``a`` and then
    of ``b`` in one call each, so the interval equals a plain loop over those draws; tested).
    Returns ``(estimate, low, high)``. The percentile interval normally contains the estimate;
    for a skewed statistic of very few seeds it need not, which is itself a sign that the seed
    count is too small.
    """
    x, y = _sample(a, "a", 2), _sample(b, "b", 2)
    if paired:
        _paired_partner(x, y)
    if int(n_boot) < 100:
        raise ValueError(f"n_boot must be at least 100 for a percentile interval, got {n_boot}")
    level = _level(level)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    estimate = float(statistic(x, y))
    rowwise = _ROWWISE.get(statistic)
    if rowwise is not None:  # the registered statistics run a block of resamples at a time

        def vectorised(xs, ys, axis=-1):
            xs, ys = np.moveaxis(xs, axis, -1), np.moveaxis(ys, axis, -1)
            if xs.ndim == 1:
                return rowwise(xs[None], ys[None])[0]
            block = max(1, _ROWWISE_BLOCK // (xs.shape[-1] * ys.shape[-1]))
            return np.concatenate(
                [rowwise(xs[k : k + block], ys[k : k + block]) for k in range(0, len(xs), block)]
            )

        chosen, is_vectorised = vectorised, True
    else:
        chosen, is_vectorised = statistic, False
    # batch=None: all resamples in one draw per sample (the block loop above bounds memory),
    # so the draws do not depend on a batch size
    result = sps.bootstrap(
        (x, y), chosen, n_resamples=int(n_boot), vectorized=is_vectorised, paired=paired,
        confidence_level=level, method="percentile", rng=gen,
    )  # fmt: skip
    interval = result.confidence_interval
    return estimate, float(interval.low), float(interval.high)


# ---------------------------------------------------------------------------------------------
# tests


def mann_whitney(a, b) -> float:
    """Two-sided Mann-Whitney U p-value (scipy's automatic exact / asymptotic choice)."""
    x, y = _sample(a, "a"), _sample(b, "b")
    if np.ptp(np.concatenate([x, y])) == 0:
        return 1.0  # every score equal: no evidence of any difference
    return float(sps.mannwhitneyu(x, y, alternative="two-sided").pvalue)


def welch_t(a, b) -> float:
    """Two-sided Welch t-test p-value (unequal variances).

    Two constant samples have no variance to scale by: equal constants give p = 1, unequal
    ones p = 0 (the difference is certain given the data).
    """
    x, y = _sample(a, "a", 2), _sample(b, "b", 2)
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return 1.0 if x[0] == y[0] else 0.0
    return float(sps.ttest_ind(x, y, equal_var=False).pvalue)


def paired_wilcoxon(a, b) -> float:
    """Two-sided Wilcoxon signed-rank p-value of the per-seed differences a - b.

    Zero differences are dropped (Wilcoxon's convention); if all are zero there is no
    evidence of a difference and p = 1.
    """
    x = _sample(a, "a")
    y = _paired_partner(x, b)
    if np.all(x == y):
        return 1.0
    return float(sps.wilcoxon(x, y, alternative="two-sided", zero_method="wilcox").pvalue)


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values, in the input order.

    Sort ascending, multiply the i-th smallest (i = 0..m-1) by m - i, take the running
    maximum so the order is kept, and cap at 1. Rejecting every adjusted p below alpha
    controls the family-wise error rate at alpha under any dependence.
    """
    p = np.asarray(pvalues, dtype=float).reshape(-1)
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"pvalues must be finite and in [0, 1], got {p}")
    if p.size == 0:
        return p.copy()
    # statsmodels' implementation (tests/evidence/test_statistics.py checks it against a
    # brute-force step-down by hand)
    return multipletests(p, method="holm")[1]


def holm_verdicts(
    table: pd.DataFrame,
    direction: str = "rank_effect",
    *,
    alpha: float = ALPHA,
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """Holm's correction over every row of ``table`` (one family) and each row's verdict.

    ``table`` has columns ``a``, ``b``, ``p_raw`` and ``direction`` (an effect whose sign says
    which arm scored higher: positive, ``a``). Returns a copy with ``p_holm`` (:func:`holm` of
    ``p_raw``) and ``verdict``: "no significant difference" (:data:`NO_DIFFERENCE`) when
    ``p_holm`` is not below ``alpha`` or the direction is exactly 0, otherwise "<winner> better",
    the winner being the arm the direction favours (``higher_is_better`` says which way the
    metric points). The one home of this rule: :func:`compare_models` and the evidence
    families of :mod:`qkan_lib.evidence` all call it.
    """
    _columns(table, ["a", "b", "p_raw", direction], "table")
    table = table.copy()
    table["p_holm"] = holm(table["p_raw"].to_numpy())
    verdicts = []
    for a, b, p, d in zip(table["a"], table["b"], table["p_holm"], table[direction]):
        if p >= alpha or d == 0:
            verdicts.append(NO_DIFFERENCE)
        else:  # a NaN direction favours neither a nor "higher", so b (as every former copy)
            verdicts.append(f"{a if (d > 0) == higher_is_better else b} better")
    table["verdict"] = verdicts
    return table


# ---------------------------------------------------------------------------------------------
# the tidy comparison table


def _scores(
    frame: pd.DataFrame, model_col: str, model: str, metric: str, seed_col: str, paired: bool
) -> pd.Series:
    rows = frame[frame[model_col] == model].dropna(subset=[metric])
    if rows.empty:
        raise ValueError(f"no rows with {model_col} == {model!r} and a value of {metric!r}")
    if paired:
        duplicated = rows[seed_col][rows[seed_col].duplicated()].unique()
        if duplicated.size:
            raise ValueError(
                f"paired comparison needs one row per {seed_col} for {model!r}; "
                f"{seed_col}s {list(duplicated)} repeat (filter the frame first, "
                "e.g. to one epoch and one dataset)"
            )
        return rows.set_index(seed_col)[metric]
    return rows[metric].reset_index(drop=True)


def compare_models(
    frame: pd.DataFrame,
    metric: str,
    pairs: Sequence[tuple[str, str]],
    *,
    paired: bool = False,
    test: str = "mannwhitney",
    higher_is_better: bool = True,
    alpha: float = ALPHA,
    model_col: str = "model",
    seed_col: str = "seed",
    n_boot: int = 4000,
    level: float = 0.95,
    rng: np.random.Generator | int | None = 0,
) -> pd.DataFrame:
    """One row per pair (a, b): n, medians, effects with bootstrap CIs, raw and Holm p, verdict.

    ``frame`` holds one score per row (filter it to one dataset and epoch first);
    ``pairs`` lists the comparisons that make up the family Holm corrects over. With
    ``paired=True`` scores are matched by ``seed_col`` (seeds present in both models) and
    compared by the Wilcoxon signed-rank test; otherwise ``test`` is ``"mannwhitney"`` or
    ``"welch"``. ``effect`` is the difference of medians a - b (median of the per-seed
    differences when paired), ``effect_ci_*`` its bootstrap interval; ``rank_effect`` is
    Cliff's delta (independent) or the matched-pairs rank-biserial correlation (paired),
    the effect the rank tests test, so it gives the verdict's direction. The verdict is
    "<a> better", "<b> better" (``higher_is_better`` says which way ``metric`` points) or
    "no significant difference" when the Holm-adjusted p is not below ``alpha``.
    """
    _columns(frame, [model_col, metric] + ([seed_col] if paired else []))
    if not paired and test not in INDEPENDENT_TESTS:
        raise ValueError(
            f"test must be one of {INDEPENDENT_TESTS} for independent samples, got {test!r}"
        )
    alpha = _level(alpha, "alpha")
    pairs = [tuple(p) for p in pairs]
    if not pairs or any(len(p) != 2 or p[0] == p[1] for p in pairs):
        raise ValueError(
            f"pairs must be a non-empty list of (model_a, model_b) with a != b, got {pairs}"
        )
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    rows = []
    for a, b in pairs:
        sa = _scores(frame, model_col, a, metric, seed_col, paired)
        sb = _scores(frame, model_col, b, metric, seed_col, paired)
        if paired:
            common = sa.index.intersection(sb.index).sort_values()
            if common.size < 2:
                raise ValueError(
                    f"paired comparison {a} vs {b} needs at least 2 shared "
                    f"{seed_col}s, got {list(common)}"
                )
            x, y = sa.loc[common].to_numpy(float), sb.loc[common].to_numpy(float)
            p = paired_wilcoxon(x, y)
            effect = bootstrap_ci(
                x, y, paired_median_difference, paired=True, n_boot=n_boot, level=level, rng=gen
            )
            rank = bootstrap_ci(
                x, y, rank_biserial_paired, paired=True, n_boot=n_boot, level=level, rng=gen
            )
            test_name = "wilcoxon"
        else:
            x, y = sa.to_numpy(float), sb.to_numpy(float)
            p = mann_whitney(x, y) if test == "mannwhitney" else welch_t(x, y)
            effect = bootstrap_ci(x, y, median_difference, n_boot=n_boot, level=level, rng=gen)
            rank = bootstrap_ci(x, y, cliffs_delta, n_boot=n_boot, level=level, rng=gen)
            test_name = test
        direction = rank[0] if test_name != "welch" else mean_difference(x, y)
        rows.append(
            {
                "a": a,
                "b": b,
                "n_a": x.size,
                "n_b": y.size,
                "median_a": float(np.median(x)),
                "median_b": float(np.median(y)),
                "mean_a": float(x.mean()),
                "mean_b": float(y.mean()),
                "effect": effect[0],
                "effect_statistic": EFFECT_STATISTICS[paired],
                "effect_ci_low": effect[1],
                "effect_ci_high": effect[2],
                "rank_effect": rank[0],
                "rank_effect_ci_low": rank[1],
                "rank_effect_ci_high": rank[2],
                "test": test_name,
                "p_raw": p,
                "_direction": direction,
            }
        )
    table = holm_verdicts(
        pd.DataFrame(rows), "_direction", alpha=alpha, higher_is_better=higher_is_better
    )
    return table.drop(columns="_direction")


# ---------------------------------------------------------------------------------------------
# agreement with a published value


def inside_seed_range(values, paper_value: float) -> dict[str, float | int | bool]:
    """Does the paper's value lie inside [min, max] of our seed scores? With the seed count.

    Unlike "within 2 std of the mean" this can fail for a heavy-tailed score: the range
    of n seeds covers a new draw with probability (n - 1) / (n + 1) only, and an
    off-distribution value falls outside it. Report ``n`` beside it: with 3 seeds the
    range is a 50% interval, with 19 a 90% one.
    """
    x = _sample(values, "values")
    low, high = float(x.min()), float(x.max())
    return {
        "n": int(x.size),
        "low": low,
        "high": high,
        "paper": float(paper_value),
        "inside": bool(low <= float(paper_value) <= high),
    }


def inside_quantile_interval(
    values, paper_value: float, level: float = 0.9
) -> dict[str, float | int | bool]:
    """Does the paper's value lie in the central ``level`` quantile interval of our seeds?"""
    x = _sample(values, "values")
    low, high = quantile_interval(x, level)
    return {
        "n": int(x.size),
        "low": low,
        "high": high,
        "paper": float(paper_value),
        "inside": bool(low <= float(paper_value) <= high),
    }


def paper_cells(
    table: Mapping[str, Sequence[float | None]], epochs: Sequence[int]
) -> dict[tuple, float]:
    """Flatten a paper table {model: (value per epoch)} into {(model, epoch): value}.

    Cells the paper's text gives no value for (None) are left out, so they are never counted.
    """
    cells = {}
    for model, values in table.items():
        if len(values) != len(epochs):
            raise ValueError(
                f"paper row {model!r} has {len(values)} values for {len(epochs)} epochs"
            )
        for epoch, value in zip(epochs, values):
            if value is not None:
                cells[(model, int(epoch))] = float(value)
    return cells


def paper_agreement(
    frame: pd.DataFrame,
    metric: str,
    paper: Mapping,
    by: Sequence[str] = ("model", "epoch"),
    method: str = "range",
    level: float = 0.9,
) -> pd.DataFrame:
    """For every paper cell: our seed count, our interval and whether the paper's value is inside.

    ``paper`` maps a key of the ``by`` columns (a tuple, or a scalar for one column) to the
    published value. ``method`` is ``"range"`` (min..max of the seeds) or ``"quantile"``
    (the central ``level`` interval). Cells without any of our runs get n = 0 and
    ``inside`` = False, so they count against agreement rather than vanish.
    """
    by = list(by)
    _columns(frame, by + [metric])
    if method not in ("range", "quantile"):
        raise ValueError(f"method must be 'range' or 'quantile', got {method!r}")
    rows = []
    groups = {
        (k if isinstance(k, tuple) else (k,)): g[metric].dropna().to_numpy()
        for k, g in frame.groupby(by, sort=True)
    }
    for key, value in paper.items():
        key_t = key if isinstance(key, tuple) else (key,)
        if len(key_t) != len(by):
            raise ValueError(f"paper key {key!r} does not match the columns {by}")
        scores = groups.get(key_t, np.empty(0))
        if scores.size == 0:
            result = {
                "n": 0,
                "low": math.nan,
                "high": math.nan,
                "paper": float(value),
                "inside": False,
            }
        elif method == "range":
            result = inside_seed_range(scores, value)
        else:
            result = inside_quantile_interval(scores, value, level)
        rows.append({**dict(zip(by, key_t)), **result})
    return pd.DataFrame(rows, columns=by + ["n", "low", "high", "paper", "inside"])


def count_inside(agreement: pd.DataFrame) -> tuple[int, int]:
    """(cells whose paper value is inside our interval, cells compared) in an agreement table."""
    _columns(agreement, ["inside"], "agreement")
    return int(agreement["inside"].sum()), int(len(agreement))


# ---------------------------------------------------------------------------------------------
# forecast comparisons


def diebold_mariano(loss_a, loss_b, horizon: int = 1) -> dict[str, float]:
    """Diebold-Mariano test of equal expected loss, with the Harvey-Leybourne-Newbold (1997)
    small-sample correction.

    ``d_t = loss_a[t] - loss_b[t]``; the long-run variance of its mean is
    ``(gamma_0 + 2 sum_{k=1}^{h-1} gamma_k) / n`` (autocovariances with divisor n, truncated at
    the forecast horizon h, as DM propose for h-step forecasts); if that estimate is not
    positive, gamma_0 alone is used. The statistic is multiplied by
    ``sqrt((n + 1 - 2h + h(h-1)/n) / n)`` and referred to Student's t with n - 1 degrees of
    freedom (two-sided). Returns ``{"statistic", "p", "mean_difference", "n"}``; a negative
    statistic means ``a`` has the smaller loss. With h = 1 it is the one-sample t test of d.
    """
    a, b = _sample(loss_a, "loss_a", 2), _sample(loss_b, "loss_b", 2)
    if a.size != b.size:
        raise ValueError(f"loss_a and loss_b must pair up: {a.size} vs {b.size} values")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
    d = a - b
    n, h = d.size, int(horizon)
    if h >= n:
        raise ValueError(f"horizon {h} needs more than {n} loss differences")
    centred = d - d.mean()
    gamma = [float(centred[k:] @ centred[: n - k]) / n for k in range(h)]
    variance = gamma[0] + 2 * sum(gamma[1:])
    if variance <= 0:
        variance = gamma[0]
    if variance == 0:  # identical losses everywhere, or a constant difference
        stat = 0.0 if d.mean() == 0 else math.copysign(math.inf, d.mean())
        return {"statistic": stat, "p": 1.0 if stat == 0 else 0.0,
                "mean_difference": float(d.mean()), "n": n}  # fmt: skip
    dm = d.mean() / math.sqrt(variance / n)
    correction = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    stat = float(dm * correction)
    p = float(2 * sps.t.sf(abs(stat), df=n - 1))
    return {"statistic": stat, "p": p, "mean_difference": float(d.mean()), "n": n}


def mean_ranks(scores: pd.DataFrame, alpha: float = ALPHA) -> tuple[pd.Series, dict[str, float]]:
    """Mean rank of each column of ``scores`` (rows: series, lower score = better = rank 1,
    ties get the mean rank) and the critical-difference summary: Friedman's test across the
    series (``friedman_p``, NaN with fewer than 3 models or 2 series) and the Nemenyi
    critical difference ``q_alpha sqrt(k (k + 1) / (6 N))`` (``q_alpha`` from the studentised
    range distribution over sqrt 2): two mean ranks further apart than ``cd`` differ at
    ``alpha``."""
    _level(1 - alpha, "alpha")
    if scores.empty or scores.isna().any().any():
        raise ValueError("scores must be a complete table (series x models) without NaN")
    ranks = scores.rank(axis=1, method="average")
    n, k = scores.shape
    friedman = (
        float(sps.friedmanchisquare(*scores.to_numpy().T).pvalue) if k >= 3 and n >= 2 else math.nan
    )
    q = (
        float(sps.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
        if k >= 2
        else math.nan
    )
    cd = q * math.sqrt(k * (k + 1) / (6 * n))
    return ranks.mean().sort_values(), {"friedman_p": friedman, "cd": cd, "n_series": n, "k": k}
