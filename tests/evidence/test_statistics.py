"""evidence.statistics against scipy, brute-force oracles and the properties reviewers rely on."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from qkan_lib.evidence import verdict
from qkan_lib.evidence.statistics import (
    NO_DIFFERENCE,
    bootstrap_ci,
    cliffs_delta,
    common_language_effect,
    compare_models,
    count_inside,
    diebold_mariano,
    holm,
    inside_quantile_interval,
    inside_seed_range,
    mann_whitney,
    mean_difference,
    mean_ranks,
    median_difference,
    median_interval,
    paired_median_difference,
    paired_wilcoxon,
    paper_agreement,
    paper_cells,
    quantile_interval,
    rank_biserial_paired,
    seed_summary,
    summarize,
    welch_t,
)
from qkan_lib.paper import R2_EPOCHS, TABLE_II_R2

# fixed data, no ties inside or across the samples (so exact small-sample oracles apply)
A = np.array([0.971, 0.962, 0.955, 0.981, 0.944, 0.968, 0.975, 0.959])
B = np.array([0.951, 0.932, 0.947, 0.940, 0.957, 0.925, 0.938, 0.946])


# ---------------------------------------------------------------- summaries


def test_median_interval_is_scipys_quantile_test_interval():
    """The sign-test interval of the median: the order statistics scipy's quantile test
    gives (oracle), NaN where no interval reaches the level (fewer than 6 values at 95 %)."""
    rng = np.random.default_rng(3)
    for n in (3, 5, 6, 7, 10, 20, 31):
        x = rng.lognormal(size=n)
        median, low, high = median_interval(x, 0.95)
        want = sps.quantile_test(x, q=0, p=0.5).confidence_interval(0.95)
        assert median == pytest.approx(np.median(x))
        if n < 6:
            assert math.isnan(low) and math.isnan(high) and math.isnan(want.low)
        else:
            assert (low, high) == pytest.approx((want.low, want.high))
    # ten values: ranks 2 and 9, coverage 1 - 2 * 11/1024 = 97.9 % (the textbook table)
    assert median_interval(np.arange(1.0, 11.0)) == (5.5, 2.0, 9.0)
    assert median_interval(np.arange(1.0, 11.0), 0.5)[1:] == (4.0, 7.0)


def test_median_interval_covers_the_median_at_its_level():
    """Coverage by simulation: skewed losses, 10 seeds; the true median lies inside the
    interval in at least 95 % of the samples (97.9 % by the binomial)."""
    rng = np.random.default_rng(0)
    inside = [
        (lambda m, lo, hi: lo <= 1.0 <= hi)(*median_interval(rng.lognormal(size=10)))
        for _ in range(2000)
    ]
    assert np.mean(inside) == pytest.approx(0.979, abs=0.015)


def test_summarize_matches_numpy_and_pandas():
    s = summarize(A, level=0.8)
    assert s["n"] == 8
    assert s["mean"] == pytest.approx(pd.Series(A).mean(), abs=1e-15)
    assert s["std"] == pytest.approx(pd.Series(A).std(), abs=1e-15)
    assert (s["median"], s["min"], s["max"]) == (np.median(A), A.min(), A.max())
    assert (s["q_low"], s["q_high"]) == pytest.approx(tuple(np.quantile(A, [0.1, 0.9])))
    assert math.isnan(summarize([1.0])["std"])


def test_seed_summary_groups():
    frame = pd.DataFrame(
        {"model": ["a"] * 8 + ["b"] * 8, "seed": list(range(8)) * 2, "r2": np.concatenate([A, B])}
    )
    frame.loc[3, "r2"] = np.nan  # a failed run does not count as a seed
    table = seed_summary(frame, "r2")
    assert list(table.index) == ["a", "b"]
    assert table.loc["a", "n"] == 7 and table.loc["b", "n"] == 8
    assert table.loc["a", "median"] == np.median(np.delete(A, 3))
    assert table.loc["b", "std"] == pytest.approx(np.std(B, ddof=1))
    with pytest.raises(ValueError, match="lacks column"):
        seed_summary(frame, "mse")


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="NaN"):
        summarize([1.0, np.nan])
    with pytest.raises(ValueError, match="1-D"):
        summarize(np.ones((2, 2)))
    with pytest.raises(ValueError, match="level"):
        quantile_interval(A, 1.5)
    with pytest.raises(ValueError, match="equal lengths"):
        paired_wilcoxon(A, B[:5])


# ---------------------------------------------------------------- tests against oracles


def exact_mann_whitney(x, y):
    """Two-sided exact permutation p of U (no ties): enumerate every relabelling."""
    pooled, n = np.concatenate([x, y]), x.size
    u_obs = np.sum(x[:, None] > y[None, :])
    mean_u = x.size * y.size / 2
    count = total = 0
    for idx in itertools.combinations(range(pooled.size), n):
        mask = np.zeros(pooled.size, bool)
        mask[list(idx)] = True
        u = np.sum(pooled[mask][:, None] > pooled[~mask][None, :])
        count += abs(u - mean_u) >= abs(u_obs - mean_u) - 1e-12
        total += 1
    return count / total


def exact_signed_rank(d):
    """Two-sided exact p of the signed-rank statistic (no ties, no zeros): every sign flip."""
    ranks = sps.rankdata(np.abs(d))
    w_obs = ranks[d > 0].sum()
    mean_w = ranks.sum() / 2
    ws = np.array([np.dot(ranks, s) for s in itertools.product((0, 1), repeat=d.size)])
    return np.mean(np.abs(ws - mean_w) >= abs(w_obs - mean_w) - 1e-12)


def test_mann_whitney_equals_exact_permutation():
    assert mann_whitney(A, B) == pytest.approx(exact_mann_whitney(A, B), rel=1e-12)
    assert mann_whitney(A[:5], B[:4]) == pytest.approx(exact_mann_whitney(A[:5], B[:4]), rel=1e-12)


def test_welch_equals_textbook_formula():
    va, vb = A.var(ddof=1) / A.size, B.var(ddof=1) / B.size
    t = (A.mean() - B.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (A.size - 1) + vb**2 / (B.size - 1))
    assert welch_t(A, B) == pytest.approx(2 * sps.t.sf(abs(t), df), rel=1e-10)
    assert welch_t([1.0, 1.0], [2.0, 2.0]) == 0.0 and welch_t([1.0, 1.0], [1.0, 1.0]) == 1.0


def test_paired_wilcoxon_equals_exact_sign_flips():
    d = A - B
    assert paired_wilcoxon(A, B) == pytest.approx(exact_signed_rank(d), rel=1e-12)
    shuffled = B[[3, 0, 6, 1, 7, 2, 5, 4]]
    assert paired_wilcoxon(A, shuffled) == pytest.approx(exact_signed_rank(A - shuffled), rel=1e-12)


def test_effect_sizes():
    assert median_difference(A, B) == np.median(A) - np.median(B)
    assert mean_difference(A, B) == pytest.approx(A.mean() - B.mean())
    u = sps.mannwhitneyu(A, B).statistic  # U of the first sample
    assert cliffs_delta(A, B) == pytest.approx(2 * u / (A.size * B.size) - 1)
    assert common_language_effect(A, B) == pytest.approx(u / (A.size * B.size))
    assert cliffs_delta(B, A) == -cliffs_delta(A, B)
    assert cliffs_delta([1, 2], [1, 2]) == 0.0 and common_language_effect([1, 2], [1, 2]) == 0.5
    # rank-biserial: +1 when all differences favour a; its sign matches Wilcoxon's statistic
    assert rank_biserial_paired(B + 1, B) == 1.0 and rank_biserial_paired(B, B) == 0.0
    d = A - B
    ranks = sps.rankdata(np.abs(d))
    assert rank_biserial_paired(A, B) == pytest.approx(
        (ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum()
    )


# ---------------------------------------------------------------- Holm


def holm_rejections(p, alpha):
    """Holm's step-down procedure, as stated: reject while p_(i) <= alpha / (m - i)."""
    order, m = np.argsort(p, kind="stable"), len(p)
    rejected = np.zeros(m, bool)
    for i, k in enumerate(order):
        if p[k] > alpha / (m - i):
            break
        rejected[k] = True
    return rejected


@pytest.mark.parametrize("seed", range(6))
def test_holm_equals_brute_force_step_down(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 9))
    p = rng.uniform(0, 0.2, m) ** rng.uniform(0.5, 2)
    p[rng.integers(0, m)] = p[0]  # a tie
    adjusted = holm(p)
    # the adjusted p is the smallest family-wise alpha at which the hypothesis is rejected
    candidates = np.unique(np.concatenate([adjusted, np.linspace(0.0005, 1, 400)]))
    for alpha in candidates:
        for probe in (alpha * (1 - 1e-9), alpha * (1 + 1e-9)):
            assert np.array_equal(holm_rejections(p, probe), adjusted <= probe)
    assert np.all(adjusted >= p) and np.all(adjusted <= 1)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= 0)  # monotone in the raw p-values


def test_holm_is_statsmodels_and_agrees_with_the_step_down_by_hand():
    from statsmodels.stats import multitest

    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.04])
    assert np.allclose(holm(p), multitest.multipletests(p, method="holm")[1])
    # by hand: sorted 0.005 0.01 0.03 0.04 0.04 0.2 times 6..1, running maximum, cap 1
    assert np.allclose(holm(p), [0.05, 0.12, 0.12, 0.03, 0.2, 0.12])


def test_holm_small_cases_and_errors():
    assert holm([0.01])[0] == 0.01
    assert np.allclose(holm([0.01, 0.02, 0.04]), [0.03, 0.04, 0.04])
    assert holm([]).size == 0
    with pytest.raises(ValueError, match="pvalues"):
        holm([0.1, np.nan])
    with pytest.raises(ValueError, match="pvalues"):
        holm([1.2])


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_is_reproducible_and_covers_the_estimate():
    first = bootstrap_ci(A, B, median_difference, rng=3)
    assert first == bootstrap_ci(A, B, median_difference, rng=np.random.default_rng(3))
    estimate, low, high = first
    assert estimate == median_difference(A, B) and low <= estimate <= high
    for stat in (mean_difference, cliffs_delta):
        est, lo, hi = bootstrap_ci(A, B, stat, rng=1)
        assert lo <= est <= hi
    est, lo, hi = bootstrap_ci(A, B, lambda a, b: float(np.median(a - b)), paired=True, rng=1)
    assert lo <= est <= hi
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci(A, B, mean_difference, n_boot=5)


@pytest.mark.parametrize("paired", [False, True])
def test_bootstrap_fast_path_equals_the_plain_loop(paired):
    stats = (
        [median_difference, mean_difference, cliffs_delta]
        if not paired
        else [paired_median_difference, mean_difference, rank_biserial_paired]
    )
    for stat in stats:
        fast = bootstrap_ci(A, B, stat, paired=paired, n_boot=500, rng=11)
        plain = bootstrap_ci(
            A, B, lambda a, b: stat(a, b), paired=paired, n_boot=500, rng=11
        )  # a lambda is not registered: the plain loop
        assert fast == pytest.approx(plain, abs=1e-14)
    # ties and zero differences, where the rank-based statistics are most delicate
    x, y = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 5.0]), np.array([1.0, 1.0, 3.0, 3.0, 4.0, 6.0])
    for stat in stats:
        fast = bootstrap_ci(x, y, stat, paired=paired, n_boot=500, rng=2)
        plain = bootstrap_ci(x, y, lambda a, b: stat(a, b), paired=paired, n_boot=500, rng=2)
        assert fast == pytest.approx(plain, abs=1e-14)


def _plain_bootstrap(x, y, statistic, paired, n_boot, level, rng):
    """The percentile bootstrap written out: draw indices of x (then of y, or reuse them
    when paired), apply the statistic to each resample, take the two quantiles."""
    ix = rng.integers(0, x.size, size=(n_boot, x.size))
    iy = ix if paired else rng.integers(0, y.size, size=(n_boot, y.size))
    draws = np.array([statistic(x[ix[k]], y[iy[k]]) for k in range(n_boot)])
    return tuple(np.quantile(draws, [(1 - level) / 2, (1 + level) / 2]))


@pytest.mark.parametrize("paired", [False, True])
def test_scipy_bootstrap_equals_the_plain_computation_on_the_same_draws(paired):
    # bootstrap_ci is scipy.stats.bootstrap; SciPy draws each sample's indices in one call,
    # so with the same seed a plain loop over the same draws gives the same interval: the
    # tolerance 1e-12 is rounding (quantile interpolation), not Monte Carlo error
    rng = np.random.default_rng(4)
    x, y = rng.normal(1.0, 1.0, 9), rng.normal(0.5, 2.0, 9 if paired else 7)
    stats = (
        [paired_median_difference, mean_difference, rank_biserial_paired]
        if paired
        else [median_difference, mean_difference, cliffs_delta, common_language_effect]
    )
    for stat in stats:
        for level in (0.9, 0.95):
            estimate, low, high = bootstrap_ci(
                x, y, stat, paired=paired, n_boot=700, level=level, rng=8
            )
            plain = _plain_bootstrap(x, y, stat, paired, 700, level, np.random.default_rng(8))
            assert estimate == stat(x, y)
            assert (low, high) == pytest.approx(plain, abs=1e-12)


def test_bootstrap_agrees_with_the_plain_computation_on_other_draws():
    # independent draws (other seeds): the intervals agree to Monte Carlo error, here within
    # 5 % of the interval's width at 20000 resamples
    rng = np.random.default_rng(0)
    x, y = rng.normal(1.0, 1.0, 30), rng.normal(0.0, 2.0, 25)
    ours = bootstrap_ci(x, y, mean_difference, n_boot=20000, rng=5)
    plain = _plain_bootstrap(x, y, mean_difference, False, 20000, 0.95, np.random.default_rng(6))
    width = ours[2] - ours[1]
    assert ours[1] == pytest.approx(plain[0], abs=0.05 * width)
    assert ours[2] == pytest.approx(plain[1], abs=0.05 * width)


# ---------------------------------------------------------------- compare_models


def results(seed_scores: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"model": m, "seed": s, "r2": v}
            for m, vals in seed_scores.items()
            for s, v in enumerate(vals)
        ]
    )


def test_compare_models_independent():
    frame = results({"a": A, "b": B, "c": A[::-1] + 1e-4})
    pairs = [("a", "b"), ("a", "c"), ("b", "c")]
    table = compare_models(frame, "r2", pairs)
    assert list(table[["a", "b"]].itertuples(index=False, name=None)) == pairs
    assert np.allclose(
        table["p_raw"], [mann_whitney(A, B), mann_whitney(A, A + 1e-4), mann_whitney(B, A + 1e-4)]
    )
    assert np.allclose(table["p_holm"], holm(table["p_raw"]))
    assert list(table["verdict"]) == ["a better", NO_DIFFERENCE, "c better"]
    row = table.iloc[0]
    assert row["n_a"] == row["n_b"] == 8 and row["effect"] == median_difference(A, B)
    assert row["effect_ci_low"] <= row["effect"] <= row["effect_ci_high"]
    assert row["rank_effect"] == cliffs_delta(A, B)
    # a metric where lower is better flips the verdict, not the numbers
    flipped = compare_models(frame, "r2", pairs, higher_is_better=False)
    assert list(flipped["verdict"]) == ["b better", NO_DIFFERENCE, "b better"]
    assert np.allclose(flipped["p_holm"], table["p_holm"])
    welch = compare_models(frame, "r2", pairs[:1], test="welch")
    assert welch["p_raw"].iloc[0] == pytest.approx(welch_t(A, B))


def test_compare_models_paired_by_seed():
    frame = results({"a": A, "b": B})
    frame = frame.drop(index=frame.index[(frame["model"] == "b") & (frame["seed"] == 7)])
    table = compare_models(frame, "r2", [("a", "b")], paired=True)
    row = table.iloc[0]
    assert row["test"] == "wilcoxon" and row["n_a"] == row["n_b"] == 7  # seeds both models share
    assert row["p_raw"] == pytest.approx(paired_wilcoxon(A[:7], B[:7]))
    assert row["effect"] == pytest.approx(np.median(A[:7] - B[:7]))
    assert row["verdict"] == "a better"
    doubled = pd.concat([frame, frame])
    with pytest.raises(ValueError, match="one row per seed"):
        compare_models(doubled, "r2", [("a", "b")], paired=True)


def test_the_effect_is_named_for_the_statistic_it_is():
    """Paired: the median of per-seed differences, which can have the opposite sign of the
    difference of medians; the label travels with the number into the verdict text."""
    a = np.array([5.0, 6.0, 7.0, 1.0, 2.0])  # seed by seed: a wins 3 of 5 pairs
    b = np.array([4.0, 5.0, 6.0, 8.0, 9.0])
    assert np.median(a) - np.median(b) < 0 < np.median(a - b)  # opposite signs
    frame = results({"a": a, "b": b})
    paired = compare_models(frame, "r2", [("a", "b")], paired=True).iloc[0]
    assert paired["effect"] == np.median(a - b) > 0
    assert paired["effect_statistic"] == "median of per-seed differences"
    independent = compare_models(frame, "r2", [("a", "b")]).iloc[0]
    assert independent["effect"] == np.median(a) - np.median(b) < 0
    assert independent["effect_statistic"] == "difference of medians"
    # the label travels with the number into the verdict page's accuracy table
    row = paired.to_dict() | {
        "a": "qkan_lstm", "b": "fourier_lstm", "verdict": "no significant difference",
        "dataset": "bessel", "protocol": "batch10", "p_holm": 0.5,
    }  # fmt: skip
    unpaired = row | {"b": "lstm", "effect_statistic": independent["effect_statistic"]}
    sources = (
        {"comparisons": pd.DataFrame([row, unpaired])},
        {"harder_comparisons": pd.DataFrame([row]).iloc[:0]},
    )
    table = verdict.accuracy_table(*sources).loc[
        ("QKAN-LSTM beats its Fourier twin", "Bessel Function")
    ]
    assert table["a − b [95% CI]"].startswith(f"{paired['effect']:+.3f} [")  # as in ch. 9
    # the caption names the statistic of each claim's rows (a column repeated it every row)
    assert verdict.accuracy_key(*sources) == (
        "a − b is the difference of medians; for “QKAN-LSTM beats its Fourier twin” the "
        "median of per-seed differences"
    )


@pytest.mark.parametrize(
    "paired,test", [(False, "mannwhitney"), (False, "welch"), (True, "mannwhitney")]
)
def test_identical_samples_give_no_difference(paired, test):
    frame = results({"a": A, "b": A.copy()})
    row = compare_models(frame, "r2", [("a", "b")], paired=paired, test=test).iloc[0]
    assert row["p_raw"] == 1.0 and row["p_holm"] == 1.0
    assert row["effect"] == 0.0 and row["rank_effect"] == 0.0
    assert row["verdict"] == NO_DIFFERENCE


def test_compare_models_errors():
    frame = results({"a": A, "b": B})
    with pytest.raises(ValueError, match="no rows"):
        compare_models(frame, "r2", [("a", "zz")])
    with pytest.raises(ValueError, match="test must be"):
        compare_models(frame, "r2", [("a", "b")], test="anova")
    with pytest.raises(ValueError, match="pairs"):
        compare_models(frame, "r2", [("a", "a")])


# ---------------------------------------------------------------- agreement with the paper


def test_seed_range_can_fail_where_two_std_cannot():
    # three heavy-tailed seeds: one collapsed run inflates the std so "within 2 std" accepts
    # a value no seed came near; the range test rejects it
    scores = np.array([0.97, 0.96, 0.20])
    paper = 0.995
    assert abs(paper - scores.mean()) <= 2 * scores.std(ddof=1)
    result = inside_seed_range(scores, paper)
    assert result == {"n": 3, "low": 0.20, "high": 0.97, "paper": paper, "inside": False}
    assert inside_seed_range(scores, 0.5)["inside"]
    q = inside_quantile_interval(np.arange(11.0), 0.5, level=0.8)
    assert (q["low"], q["high"], q["inside"]) == (pytest.approx(1.0), pytest.approx(9.0), False)
    assert inside_seed_range(np.arange(11.0), 0.5)["inside"]


def test_paper_agreement_and_count():
    cells = paper_cells(TABLE_II_R2, R2_EPOCHS)
    assert len(cells) == 12 and cells[("qlstm", 30)] == TABLE_II_R2["qlstm"][2]
    assert ("x", 1) not in paper_cells({"x": (None, 0.5)}, (1, 2))
    rng = np.random.default_rng(0)
    rows = [
        {"model": m, "epoch": e, "seed": s, "test_r2": v + rng.normal(0, 0.01)}
        for (m, e), v in cells.items()
        if m != "hqkan_lstm"
        for s in range(10)
    ]
    frame = pd.DataFrame(rows)
    frame.loc[(frame["model"] == "lstm") & (frame["epoch"] == 30), "test_r2"] -= 0.5  # far off
    agreement = paper_agreement(frame, "test_r2", cells)
    assert len(agreement) == 12
    missing = agreement[agreement["model"] == "hqkan_lstm"]
    assert (missing["n"] == 0).all() and not missing["inside"].any()
    off = agreement[(agreement["model"] == "lstm") & (agreement["epoch"] == 30)].iloc[0]
    assert off["n"] == 10 and not off["inside"]
    assert count_inside(agreement) == (8, 12)
    narrow = paper_agreement(frame, "test_r2", cells, method="quantile", level=0.5)
    assert count_inside(narrow)[0] <= 8
    with pytest.raises(ValueError, match="method"):
        paper_agreement(frame, "test_r2", cells, method="std")


def test_forest_plot():
    import matplotlib.pyplot as plt

    from qkan_lib.book.stats_plots import plot_forest

    table = compare_models(results({"a": A, "b": B, "c": A + 1e-4}), "r2", [("a", "b"), ("a", "c")])
    fig = plot_forest(table)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a vs b", "a vs c"]
    assert len(ax.lines) == 1 + 2 * len(table)  # the zero line, then an interval and a point each
    # Every interval inside the x range; a legend names the two colours; no code names.
    low, high = ax.get_xlim()
    assert low < table["effect_ci_low"].min() and high > table["effect_ci_high"].max()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["significant after Holm", "not significant"]
    texts = [t.get_text() for t in fig.findobj(plt.Text)]
    assert "Holm-adjusted p" in fig.axes[1].get_ylabel() and not any("p_Holm" in t for t in texts)
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and all(len(t.lstrip("−").split(".")[-1]) <= 4 for t in ticks), ticks
    plt.close(fig)
    long = plot_forest(table, labels=["QKAN-LSTM vs Matched LSTM, Damped SHM", "a vs c"])
    assert long.axes[0].get_yticklabels()[0].get_text() == "QKAN-LSTM vs Matched LSTM\nDamped SHM"
    plt.close(long)
    plt.close(plot_forest(table, effect="rank_effect", labels=["A-B", "A-C"]))
    with pytest.raises(ValueError, match="effect"):
        plot_forest(table, effect="p_raw")
    with pytest.raises(ValueError, match="lacks"):
        plot_forest(table.drop(columns="verdict"))


def test_plot_seed_scores_and_horizon_scores():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qkan_lib.book.stats_plots import plot_horizon_scores, plot_seed_scores

    final = pd.DataFrame(
        {
            "arm": ["a", "a", "b", "b"],
            "test_r2": [0.9, 0.8, 0.7, 0.75],
            "dataset": ["x", "y", "x", "y"],
        }
    )
    fig = plot_seed_scores(final, ["a", "b"], ["A", "B"], fixed={"x": {"AR": 0.5}}, by="dataset")
    assert len(fig.axes) == 2
    medians = [
        line.get_ydata()[0]
        for line in fig.axes[0].lines
        if len(line.get_xdata()) == 2 and line.get_color() == "k"
    ]
    assert medians == [0.9, 0.7]  # one seed per arm in panel x: the median is that seed
    plt.close(fig)
    with pytest.raises(ValueError, match="labels needs 2"):
        plot_seed_scores(final, ["a", "b"], ["A"])
    closed = pd.DataFrame(
        {
            "arm": ["a"] * 4 + ["ar"] * 2,
            "seed": [0, 0, 1, 1, -1, -1],
            "horizon": [1, 2, 1, 2, 1, 2],
            "r2": [0.9, 0.5, 0.8, 0.3, 0.95, 0.9],
        }
    )
    fig = plot_horizon_scores(closed, ["a", "ar"])
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    np.testing.assert_allclose(lines["a"].get_ydata(), [0.85, 0.4])
    assert lines["ar"].get_linestyle() == "--"
    plt.close(fig)
    with pytest.raises(ValueError, match="closed needs columns"):
        plot_horizon_scores(closed.drop(columns="seed"), ["a"])


# ---------------------------------------------------------------------------------------------
# Diebold-Mariano (HLN) and mean ranks


def test_diebold_mariano_one_step_is_the_one_sample_t_test():
    rng = np.random.default_rng(3)
    a, b = rng.gamma(2.0, 1.0, 25), rng.gamma(2.2, 1.0, 25)
    result = diebold_mariano(a, b, horizon=1)
    t = sps.ttest_1samp(a - b, 0.0)
    assert result["statistic"] == pytest.approx(t.statistic, rel=1e-12)
    assert result["p"] == pytest.approx(t.pvalue, rel=1e-10)


def test_diebold_mariano_two_step_by_hand():
    a = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0])
    b = np.array([2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    # d = -1 1 0 3 2 4, mean 1.5, centred -2.5 -0.5 -1.5 1.5 0.5 2.5
    # gamma0 = (6.25+.25+2.25+2.25+.25+6.25)/6 = 17.5/6
    # gamma1 = (1.25+.75-2.25+.75+1.25)/6 = 1.75/6
    variance = (17.5 + 2 * 1.75) / 6
    dm = 1.5 / np.sqrt(variance / 6)
    hln = dm * np.sqrt((6 + 1 - 4 + 2 / 6) / 6)
    result = diebold_mariano(a, b, horizon=2)
    assert result["statistic"] == pytest.approx(hln, rel=1e-12)
    assert result["p"] == pytest.approx(2 * sps.t.sf(hln, 5), rel=1e-10)
    assert result["mean_difference"] == 1.5 and result["n"] == 6


@pytest.mark.parametrize("horizon", [1, 2, 3, 5])
def test_diebold_mariano_is_statsmodels_hac_regression_with_the_hln_factor(horizon):
    # independent oracle: regress d on a constant with statsmodels' HAC covariance (uniform
    # kernel truncated at lag h - 1, divisor n), then apply the HLN factor and Student's t
    import statsmodels.api as sm

    rng = np.random.default_rng(horizon)
    a, b = rng.gamma(2.0, 1.0, 40), rng.gamma(2.2, 1.0, 40)
    d = a - b
    fit = sm.OLS(d, np.ones_like(d)).fit(
        cov_type="HAC",
        cov_kwds={"maxlags": horizon - 1, "kernel": "uniform", "use_correction": False},
    )
    n, h = d.size, horizon
    expected = fit.tvalues[0] * np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    result = diebold_mariano(a, b, horizon=horizon)
    assert result["statistic"] == pytest.approx(expected, rel=1e-10)
    assert result["p"] == pytest.approx(2 * sps.t.sf(abs(expected), n - 1), rel=1e-8)


def test_diebold_mariano_edges_and_errors():
    same = np.array([1.0, 2.0, 3.0])
    assert diebold_mariano(same, same)["p"] == 1.0
    assert diebold_mariano(same, same - 1)["statistic"] == np.inf
    with pytest.raises(ValueError, match="pair up"):
        diebold_mariano(same, same[:2])
    with pytest.raises(ValueError, match="horizon 3 needs more than 3"):
        diebold_mariano(same, same + [0, 1, 0], horizon=3)


def test_mean_ranks_and_nemenyi_critical_difference():
    scores = pd.DataFrame(
        {"A": [1.0, 1.0, 2.0, 1.0], "B": [2.0, 3.0, 1.0, 2.0], "C": [3.0, 2.0, 3.0, 3.0]}
    )
    ranks, summary = mean_ranks(scores)
    assert ranks.to_dict() == {"A": 1.25, "B": 2.0, "C": 2.75}
    assert summary["friedman_p"] == pytest.approx(
        sps.friedmanchisquare(scores.A, scores.B, scores.C).pvalue
    )
    # Demsar (2006), Table 5(a): q_0.05 = 2.343 for k = 3 models
    assert summary["cd"] == pytest.approx(2.343 * np.sqrt(3 * 4 / (6 * 4)), abs=2e-3)
    with pytest.raises(ValueError, match="complete table"):
        mean_ranks(scores.assign(A=[1.0, np.nan, 1.0, 1.0]))
