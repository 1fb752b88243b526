"""statistics.holm_verdicts, the one home of "Holm adjust + verdict", against a hand-computed
Holm oracle on small synthetic tables. (When the three former copies of the rule were merged
into it they were checked to give unchanged tables; the copies are not kept.)"""

import numpy as np
import pandas as pd
import pytest

from qkan_lib.evidence.statistics import NO_DIFFERENCE, holm, holm_verdicts


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
