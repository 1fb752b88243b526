"""Pure plots of the seed statistics in qkan_lib.statistics (forest plot of comparisons)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .statistics import NO_DIFFERENCE

_EFFECTS = {"effect": "median difference a − b (of the per-seed differences if paired)",
            "rank_effect": "rank effect (Cliff's δ or rank-biserial r)"}


def plot_forest(table: pd.DataFrame, effect: str = "effect", labels=None, title: str | None = None,
                figsize=None):
    """Forest plot of a :func:`qkan_lib.statistics.compare_models` table.

    One row per comparison: the point estimate of ``effect`` ("effect" or "rank_effect")
    and its bootstrap interval, with the Holm-adjusted p and the seed counts at the right.
    Comparisons with a significant verdict are drawn in colour, the rest in grey; the
    dashed line is "no difference".
    """
    if effect not in _EFFECTS:
        raise ValueError(f"effect must be one of {tuple(_EFFECTS)}, got {effect!r}")
    needed = [effect, f"{effect}_ci_low", f"{effect}_ci_high", "a", "b", "p_holm", "verdict",
              "n_a", "n_b"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks column(s) {missing}: pass a compare_models() table")
    if table.empty:
        raise ValueError("table has no comparisons to plot")
    rows = table.reset_index(drop=True)
    names = list(labels) if labels is not None else [f"{r.a} vs {r.b}" for r in rows.itertuples()]
    if len(names) != len(rows):
        raise ValueError(f"labels needs {len(rows)} entries, got {len(names)}")
    y = np.arange(len(rows))[::-1]
    fig, ax = plt.subplots(figsize=figsize or (7.5, 0.45 * len(rows) + 1.3),
                           constrained_layout=True)
    ax.axvline(0, color="0.5", ls="--", lw=0.9)
    for yi, row in zip(y, rows.itertuples()):
        significant = row.verdict != NO_DIFFERENCE
        color = "C3" if significant else "0.55"
        mid, low, high = (getattr(row, effect), getattr(row, f"{effect}_ci_low"),
                          getattr(row, f"{effect}_ci_high"))
        ax.plot([low, high], [yi, yi], color=color, lw=2)
        ax.plot([mid], [yi], "o", color=color, ms=6)
        ax.annotate(f"p_Holm = {row.p_holm:.3g}, n = {row.n_a}/{row.n_b}", (1.01, yi),
                    xycoords=("axes fraction", "data"), va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.set_xlabel(_EFFECTS[effect])
    ax.set_title(title or "differences between models over seeds (percentile bootstrap intervals)",
                 fontsize=10)
    return fig
