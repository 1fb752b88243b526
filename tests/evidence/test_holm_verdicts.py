"""statistics.holm_verdicts, the one home of "Holm adjust + verdict": against a hand-computed
Holm oracle, and against the three former copies of the rule (compare_models,
evidence.compare_family, evidence._reholm), copied here verbatim, on small synthetic tables."""

import numpy as np
import pandas as pd
import pytest

from qkan_lib.evidence import findings as evidence
from qkan_lib.evidence.statistics import ALPHA, NO_DIFFERENCE, compare_models, holm, holm_verdicts


def holm_by_hand(p):
    """Holm's adjusted p, written from its definition with no vectorisation: for the i-th
    smallest p (i = 1..m), max over j <= i of min(1, (m - j + 1) p_(j))."""
    p = [float(v) for v in p]
    m = len(p)
    order = sorted(range(m), key=lambda k: (p[k], k))
    out = [0.0] * m
    for i in range(m):
        out[order[i]] = max(min(1.0, (m - j) * p[order[j]]) for j in range(i + 1))
    return out


# ---- the former copies, verbatim but for the holm import


def former_compare_models_rule(table, alpha, higher_is_better):
    table = table.copy()
    table["p_holm"] = holm(table["p_raw"].to_numpy())

    def verdict(row) -> str:
        if row["p_holm"] >= alpha or row["_direction"] == 0:
            return NO_DIFFERENCE
        a_higher = row["_direction"] > 0
        return f"{row['a'] if a_higher == higher_is_better else row['b']} better"

    table["verdict"] = table.apply(verdict, axis=1)
    return table.drop(columns="_direction")


def former_compare_family_rule(table, alpha):
    table = table.copy()
    table["p_holm"] = holm(table["p_raw"].to_numpy())

    def verdict(row) -> str:
        if row["p_holm"] >= alpha or row["rank_effect"] == 0:
            return NO_DIFFERENCE
        return f"{row['a'] if row['rank_effect'] > 0 else row['b']} better"

    table["verdict"] = table.apply(verdict, axis=1)
    return table


def former_reholm(table, alpha=ALPHA):
    table = table.copy()
    table["p_holm"] = holm(table["p_raw"].to_numpy())
    significant = (table["p_holm"] < alpha) & (table["rank_effect"] != 0)
    winner = np.where(table["rank_effect"] > 0, table["a"], table["b"])
    table["verdict"] = np.where(significant, pd.Series(winner) + " better", NO_DIFFERENCE)
    return table


def synthetic_family(seed, m=None):
    rng = np.random.default_rng(seed)
    m = m or int(rng.integers(1, 9))
    p = rng.uniform(0, 0.03, m) ** rng.uniform(0.7, 1.5)
    p[rng.integers(0, m)] = p[0]  # a tie
    effect = rng.normal(size=m)
    effect[rng.integers(0, m)] = 0.0  # no direction
    if m > 2:
        effect[1] = np.nan
    return pd.DataFrame(
        {
            "a": [f"a{i}" for i in range(m)],
            "b": [f"b{i}" for i in range(m)],
            "p_raw": p,
            "rank_effect": effect,
            "kind": "independent",
        }
    )


@pytest.mark.parametrize("seed", range(8))
def test_holm_adjusted_p_equals_the_hand_computation(seed):
    table = synthetic_family(seed)
    out = holm_verdicts(table)
    np.testing.assert_allclose(out["p_holm"], holm_by_hand(table["p_raw"]), rtol=0, atol=1e-15)


def test_holm_by_hand_on_a_textbook_case():
    # m = 4: 0.01*4 = 0.04, 0.02*3 = 0.06, 0.03*2 = 0.06, 0.04*1 -> running max 0.06
    p = [0.03, 0.01, 0.04, 0.02]
    assert holm_by_hand(p) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    np.testing.assert_allclose(holm(p), [0.06, 0.04, 0.06, 0.06])


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_the_three_former_rules_give_unchanged_tables(seed, alpha):
    table = synthetic_family(seed)
    # alpha exactly on one adjusted p: "not below alpha" means no difference, in every copy
    new = holm_verdicts(table, alpha=alpha)
    pd.testing.assert_frame_equal(new, former_compare_family_rule(table, alpha))
    pd.testing.assert_frame_equal(new, former_reholm(table, alpha))
    pd.testing.assert_frame_equal(new, evidence._reholm(table, alpha))
    for higher in (True, False):
        directed = table.rename(columns={"rank_effect": "_direction"})
        pd.testing.assert_frame_equal(
            holm_verdicts(directed, "_direction", alpha=alpha, higher_is_better=higher).drop(
                columns="_direction"
            ),
            former_compare_models_rule(directed, alpha, higher),
        )


def test_alpha_on_the_boundary_and_direction_zero():
    table = pd.DataFrame(
        {
            "a": ["x", "x", "x"],
            "b": ["y", "z", "w"],
            "p_raw": [0.025, 0.001, 0.001],
            "rank_effect": [0.5, -0.2, 0.0],
        }
    )
    out = holm_verdicts(table, alpha=0.025)  # p_holm = 0.025 (not below alpha), 0.003, 0.003
    assert list(out["verdict"]) == [NO_DIFFERENCE, "z better", NO_DIFFERENCE]
    assert list(holm_verdicts(table, alpha=0.025, higher_is_better=False)["verdict"]) == [
        NO_DIFFERENCE,
        "x better",
        NO_DIFFERENCE,
    ]
    with pytest.raises(ValueError, match="p_raw"):
        holm_verdicts(table.drop(columns="p_raw"))


def _scores(rng):
    return pd.DataFrame(
        [
            {"model": m, "seed": s, "r2": 0.9 + shift + 0.02 * rng.standard_normal()}
            for m, shift in (("q", 0.0), ("l", 0.04), ("f", 0.005))
            for s in range(8)
        ]
    )


@pytest.mark.parametrize("seed", range(3))
def test_compare_models_unchanged(seed):
    frame = _scores(np.random.default_rng(seed))
    pairs = [("q", "l"), ("q", "f"), ("f", "l")]
    for higher in (True, False):
        table = compare_models(frame, "r2", pairs, n_boot=100, higher_is_better=higher)
        # mann-whitney: the direction is the rank effect (Cliff's delta)
        former = former_compare_models_rule(
            table.drop(columns=["p_holm", "verdict"]).assign(_direction=table["rank_effect"]),
            ALPHA,
            higher,
        )
        pd.testing.assert_frame_equal(table, former)


@pytest.mark.parametrize("seed", range(3))
def test_compare_family_unchanged(seed):
    final = _scores(np.random.default_rng(seed)).rename(columns={"model": "arm"})
    pairs = [("q", "l", "independent"), ("q", "f", "paired"), ("q", "ar", "fixed")]
    table = evidence.compare_family(final, pairs, fixed={"ar": 0.91}, metric="r2", n_boot=100)
    former = former_compare_family_rule(table.drop(columns=["p_holm", "verdict"]), ALPHA)
    pd.testing.assert_frame_equal(table, former[table.columns])
    pd.testing.assert_frame_equal(evidence._reholm(table), former_reholm(table))
