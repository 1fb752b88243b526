"""The paper's parameter-reduction claims, recomputed from its own Table I.

The paper states a reduction in trainable parameters three times (sentence locations in
the text of arXiv 2512.05049 as available, ../shared/paper/qkan-lstm-paper.txt):

* the Abstract, in the sentence that begins "Empirical evaluations on three datasets":
  QKAN-LSTM "achieves superior predictive accuracy and generalization with a [ABSTRACT]
  reduction in trainable parameters compared to classical LSTMs";
* Section I (Introduction), the list of main contributions, item 2: "We achieve a
  substantial [CONTRIBUTION] reduction in trainable parameters compared to classical LSTMs";
* Section IV-C (Result Analysis), first paragraph, second sentence: compared with QLSTM,
  both QKAN-based models reduce the quantum parameters on the Urban Telecommunication
  dataset by "approximately [SECTION IV-C] fewer".

The bracketed percentages are the strings in :data:`CLAIMS`, as printed; nothing else here
is typed in. Every reduction below is 1 - ours / theirs computed from
:data:`qkan_lib.paper.TABLE_I`, so a reader can see which comparison (if any) produces each
claim, whether a claim can come from Table I at all, and where a quantum-inspired model is
larger than the baseline it is said to shrink.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from ..models.registry import DATASET_LABELS, MODEL_LABELS
from ..paper import TABLE_I
from .display import percent

PARTS = ("classical", "quantum", "total")
REDUCTION_BASELINES = ("lstm", "qlstm")
QUANTUM_INSPIRED = ("qkan_lstm", "hqkan_lstm")
POOLED = "all datasets (summed)"


@dataclass(frozen=True)
class ReductionClaim:
    """A parameter reduction as the paper prints it, where, and which comparisons it names.

    ``ours`` / ``theirs`` / ``parts`` / ``datasets`` are the comparisons the sentence
    refers to (datasets None: the sentence names none, so every dataset).
    """

    key: str
    printed: str  # the percentage (or range) exactly as printed
    location: str
    ours: tuple[str, ...]
    theirs: tuple[str, ...]
    parts: tuple[str, ...]
    datasets: tuple[str, ...] | None = None


CLAIMS = (
    # "QKAN-LSTM achieves ... with a 79% reduction in trainable parameters compared to
    # classical LSTMs": all trainable parameters, QKAN-LSTM against LSTM
    ReductionClaim(
        "abstract",
        "79%",
        "Abstract, sentence beginning 'Empirical evaluations on three datasets'",
        ours=("qkan_lstm",),
        theirs=("lstm",),
        parts=("total",),
    ),
    # "We achieve ...": the contributions list introduces both QKAN-LSTM and HQKAN-LSTM
    ReductionClaim(
        "contribution",
        "99.5%",
        "Section I (Introduction), main contributions, item 2",
        ours=QUANTUM_INSPIRED,
        theirs=("lstm",),
        parts=("total",),
    ),
    # "both QKAN-LSTM and HQKAN-LSTM achieve a notable reduction in quantum parameters on the
    # Urban Telecommunication dataset" compared with QLSTM
    ReductionClaim(
        "urban_quantum",
        "50–70%",
        "Section IV-C (Result Analysis), paragraph 1, sentence 2",
        ours=QUANTUM_INSPIRED,
        theirs=("qlstm",),
        parts=("quantum",),
        datasets=("urban",),
    ),
)


def claim(key: str) -> ReductionClaim:
    """The claim of :data:`CLAIMS` with this key."""
    for c in CLAIMS:
        if c.key == key:
            return c
    raise ValueError(f"unknown claim {key!r}; choose from {[c.key for c in CLAIMS]}")


def printed_interval(printed: str) -> tuple[float, float]:
    """The fractions a printed percentage stands for, given its rounding.

    "79%" covers [0.785, 0.795], "99.5%" [0.9945, 0.9955]; a range "50–70%" (en dash or
    hyphen) covers [0.495, 0.705]. Half a unit of the last printed digit each side.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:[–-]\s*(\d+(?:\.\d+)?))?\s*%\s*", printed)
    if not match:
        raise ValueError(
            f"printed must be a percentage like '79%', '99.5%' or '50–70%', got {printed!r}"
        )

    def half_unit(number: str) -> float:
        decimals = len(number.split(".")[1]) if "." in number else 0
        return 0.5 * 10.0 ** (-decimals)

    low_text, high_text = match.group(1), match.group(2) or match.group(1)
    low = (float(low_text) - half_unit(low_text)) / 100
    high = (float(high_text) + half_unit(high_text)) / 100
    if low > high:
        raise ValueError(f"printed range {printed!r} runs backwards")
    return low, high


def _check_table(table: Mapping) -> tuple[list[str], list[str]]:
    datasets, models = [], []
    for key, counts in table.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"table keys must be (dataset, model), got {key!r}")
        if len(counts) != len(PARTS):
            raise ValueError(f"table[{key!r}] must hold {PARTS}, got {counts!r}")
        for part, n in zip(PARTS, counts):
            if n is not None and (not isinstance(n, int) or n < 0):
                raise ValueError(
                    f"table[{key!r}] {part} count must be a non-negative int or None, got {n!r}"
                )
        datasets += [key[0]] if key[0] not in datasets else []
        models += [key[1]] if key[1] not in models else []
    return datasets, models


def parameter_counts(table: Mapping = TABLE_I, pooled: bool = False) -> pd.DataFrame:
    """Long table (dataset, model, part, count) of Table I; None ("-") parts are left out.

    With ``pooled=True`` each model's counts summed over the datasets are added under the
    dataset name :data:`POOLED` (a part is summed only where every dataset gives it).
    """
    datasets, models = _check_table(table)
    rows = [
        {"dataset": d, "model": m, "part": part, "count": n}
        for (d, m), counts in table.items()
        for part, n in zip(PARTS, counts)
        if n is not None
    ]
    if pooled:
        for model in models:
            for k, part in enumerate(PARTS):
                values = [table[(d, model)][k] for d in datasets if (d, model) in table]
                if values and all(v is not None for v in values):
                    rows.append(
                        {"dataset": POOLED, "model": model, "part": part, "count": sum(values)}
                    )
    return pd.DataFrame(rows, columns=["dataset", "model", "part", "count"])


def reductions(
    table: Mapping = TABLE_I,
    ours: Iterable[str] | None = QUANTUM_INSPIRED,
    theirs: Iterable[str] | None = REDUCTION_BASELINES,
    cross_part: bool = False,
    cross_dataset: bool = False,
    pooled: bool = False,
) -> pd.DataFrame:
    """Every reduction 1 - count_ours / count_theirs that Table I allows.

    By default: each quantum-inspired model against each baseline, per dataset, part by
    part (classical with classical, quantum with quantum, total with total). ``ours`` /
    ``theirs`` = None means every model; ``cross_part`` also compares different parts (e.g.
    a quantum-only count against a classical-only one); ``cross_dataset`` compares across
    datasets; ``pooled`` adds counts summed over datasets. Comparisons against a zero or
    absent count are skipped. A negative reduction means "ours" is larger.
    """
    counts = parameter_counts(table, pooled=pooled)
    known = set(counts["model"])
    ours = sorted(known) if ours is None else list(ours)
    theirs = sorted(known) if theirs is None else list(theirs)
    unknown = [m for m in ours + theirs if m not in known]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; the table has {sorted(known)}")
    left = counts[counts["model"].isin(ours)]
    right = counts[counts["model"].isin(theirs) & (counts["count"] > 0)]
    rows = []
    for a, b in itertools.product(left.itertuples(index=False), right.itertuples(index=False)):
        if a.model == b.model:
            continue
        if not cross_dataset and a.dataset != b.dataset:
            continue
        if (a.dataset == POOLED) != (b.dataset == POOLED):
            continue  # a sum over datasets against one dataset compares nothing meaningful
        if not cross_part and a.part != b.part:
            continue
        rows.append(
            {
                "dataset_ours": a.dataset,
                "model_ours": a.model,
                "part_ours": a.part,
                "count_ours": a.count,
                "dataset_theirs": b.dataset,
                "model_theirs": b.model,
                "part_theirs": b.part,
                "count_theirs": b.count,
                "like_for_like": a.dataset == b.dataset and a.part == b.part,
                "reduction": 1.0 - a.count / b.count,
            }
        )
    columns = [
        "dataset_ours",
        "model_ours",
        "part_ours",
        "count_ours",
        "dataset_theirs",
        "model_theirs",
        "part_theirs",
        "count_theirs",
        "like_for_like",
        "reduction",
    ]
    return pd.DataFrame(rows, columns=columns)


def every_reduction(table: Mapping = TABLE_I) -> pd.DataFrame:
    """The widest search: all ordered model pairs, all parts, across datasets, pooled too."""
    return reductions(
        table, ours=None, theirs=None, cross_part=True, cross_dataset=True, pooled=True
    )


def matches(frame: pd.DataFrame, printed: str) -> pd.DataFrame:
    """The rows of a :func:`reductions` table whose reduction rounds to ``printed``."""
    low, high = printed_interval(printed)
    hit = frame[(frame["reduction"] >= low) & (frame["reduction"] <= high)]
    return hit.sort_values("reduction").reset_index(drop=True)


def nearest(frame: pd.DataFrame, printed: str, k: int = 5) -> pd.DataFrame:
    """The ``k`` rows whose reduction is closest to the printed claim's interval, with the gap."""
    low, high = printed_interval(printed)
    gap = (frame["reduction"] - high).clip(lower=0) + (low - frame["reduction"]).clip(lower=0)
    out = frame.assign(gap=gap).sort_values(["gap", "reduction"], ascending=[True, False])
    return out.head(int(k)).reset_index(drop=True)


def largest_possible_reduction(table: Mapping = TABLE_I) -> float:
    """1 - (smallest positive count) / (largest count) over every entry of Table I.

    No comparison of two Table I entries can exceed it, whatever the models, parts or
    datasets; a claim above it cannot come from Table I.
    """
    counts = parameter_counts(table)["count"]
    positive = counts[counts > 0]
    return 1.0 - positive.min() / counts.max()


def scoped_reductions(c: ReductionClaim, table: Mapping = TABLE_I) -> pd.DataFrame:
    """The like-for-like reductions the claim's sentence names, each marked ``consistent``
    when it rounds to the printed value."""
    low, high = printed_interval(c.printed)
    frame = reductions(table, ours=c.ours, theirs=c.theirs)
    frame = frame[frame["part_ours"].isin(c.parts)]
    if c.datasets is not None:
        frame = frame[frame["dataset_ours"].isin(c.datasets)]
    frame = frame.assign(consistent=frame["reduction"].between(low, high))
    return frame.reset_index(drop=True)


def baseline_size_needed(count: int, printed: str) -> tuple[float, float]:
    """The range of baseline sizes N for which 1 - count / N rounds to ``printed``.

    Says how large "the classical LSTM" would have to be for a model of ``count``
    parameters to show the printed reduction.
    """
    if not isinstance(count, int) or count <= 0:
        raise ValueError(f"count must be a positive int, got {count!r}")
    low, high = printed_interval(printed)
    if high >= 1:
        raise ValueError(f"a reduction of {printed!r} leaves no parameters")
    return count / (1 - low), count / (1 - high)


def claim_report(
    table: Mapping = TABLE_I, claims: Iterable[ReductionClaim] = CLAIMS
) -> pd.DataFrame:
    """Per claim: its interval; of the comparisons its sentence names, how many reproduce it
    and which; how many of all like-for-like and of all conceivable comparisons reproduce
    it; and whether any comparison of two Table I entries can reach it at all."""
    present = {m for _, m in table}
    default = reductions(
        table,
        ours=[m for m in QUANTUM_INSPIRED if m in present],
        theirs=[m for m in REDUCTION_BASELINES if m in present],
    )
    widest = every_reduction(table)
    ceiling = largest_possible_reduction(table)
    rows = []
    for c in claims:
        low, high = printed_interval(c.printed)
        scoped = scoped_reductions(c, table)
        hits = scoped[scoped["consistent"]]
        rows.append(
            {
                "claim": c.key,
                "printed": c.printed,
                "location": c.location,
                "low": low,
                "high": high,
                "named_comparisons": len(scoped),
                "named_consistent": int(scoped["consistent"].sum()),
                "consistent_with": "; ".join(  # for the page: display names
                    f"{MODEL_LABELS.get(r.model_ours, r.model_ours)} vs "
                    f"{MODEL_LABELS.get(r.model_theirs, r.model_theirs)}, "
                    f"{r.part_ours} parameters, "
                    f"{DATASET_LABELS.get(r.dataset_ours, r.dataset_ours)}"
                    for r in hits.itertuples()
                ),
                "like_for_like_matches": len(matches(default, c.printed)),
                "any_matches": len(matches(widest, c.printed)),
                "largest_possible": ceiling,
                "reachable": bool(low <= ceiling),
            }
        )
    return pd.DataFrame(rows)


def larger_than_baseline(table: Mapping = TABLE_I) -> pd.DataFrame:
    """Where a quantum-inspired model has MORE parameters than LSTM or QLSTM, part by part."""
    frame = reductions(table)
    return frame[frame["reduction"] < 0].reset_index(drop=True)


# --- for the page: chapter 3, "The claims, reconciled" ------------------------------------


def _labels() -> tuple[dict, dict]:
    return MODEL_LABELS, DATASET_LABELS


def describe_reduction(row) -> str:
    """One comparison of a :func:`reductions` table in words, with its arithmetic.

    E.g. "QKAN-LSTM against LSTM, total parameters, Urban Telecommunication (58 / 277:
    a 79.1% reduction)"; a negative reduction is said as "x% larger".
    """
    models, datasets = _labels()
    where = datasets.get(row.dataset_ours, row.dataset_ours)
    if row.dataset_theirs != row.dataset_ours:
        where += f" against {datasets.get(row.dataset_theirs, row.dataset_theirs)}"
    parts = (
        f"{row.part_ours} parameters"
        if row.part_ours == row.part_theirs
        else f"{row.part_ours} against {row.part_theirs} parameters"
    )
    change = (
        f"a {row.reduction:.1%} reduction" if row.reduction >= 0 else f"{-row.reduction:.1%} larger"
    )
    return (
        f"{models.get(row.model_ours, row.model_ours)} against "
        f"{models.get(row.model_theirs, row.model_theirs)}, {parts}, {where} "
        f"({row.count_ours} / {row.count_theirs}: {change})"
    )


SHORT_DATASET_LABELS = {"damped_shm": "Damped SHM", "bessel": "Bessel", "urban": "Urban"}


def reduction_table(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """The like-for-like reductions of :func:`reductions` as a page table.

    One row per ("dataset, quantum-inspired model", part), one column per baseline; each
    cell "reduction (ours/theirs)", or "k× (ours/theirs)" where the quantum-inspired model
    has k times the baseline's parameters (is larger). A part without a count
    (the LSTM has no quantum parameters) is left empty.
    """
    frame = reductions() if frame is None else frame
    models, datasets = _labels()
    datasets = {**datasets, **SHORT_DATASET_LABELS}  # a narrow first column: the table fits
    frame = frame[frame["like_for_like"]]
    cells: dict[str, dict[tuple, str]] = {}
    for row in frame.itertuples(index=False):
        counts = f"({row.count_ours}/{row.count_theirs})"  # compact: the table fits a page
        text = (
            f"{percent(row.reduction, 1)} {counts}"
            if row.reduction >= 0
            else f"{row.count_ours / row.count_theirs:.1f}× {counts}"
        )
        column = f"vs {models.get(row.model_theirs, row.model_theirs)}"
        index = (
            datasets.get(row.dataset_ours, row.dataset_ours),
            models.get(row.model_ours, row.model_ours),
            row.part_ours,
        )
        cells.setdefault(column, {})[index] = text
    order = [f"vs {models.get(m, m)}" for m in REDUCTION_BASELINES]
    order = [column for column in order if column in cells]
    index = list(dict.fromkeys(i for c in order for i in cells[c]))
    part_rank = {p: k for k, p in enumerate(PARTS)}
    first_seen = {}
    for d, m, _ in index:
        first_seen.setdefault((d, m), len(first_seen))
    index.sort(key=lambda i: (first_seen[i[:2]], part_rank[i[2]]))
    rows = pd.MultiIndex.from_tuples([(f"{d}, {m}", p) for d, m, p in index])  # narrow
    return pd.DataFrame({c: [cells[c].get(i, "") for i in index] for c in order}, index=rows)


def claim_table(report: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`claim_report` as a compact page table: one row per printed claim."""
    report = claim_report() if report is None else report
    rows = []
    for r in report.itertuples(index=False):
        rows.append(
            {
                "claim": r.printed,
                "named comparisons": f"{r.named_consistent} of {r.named_comparisons}",
                "like-for-like pairs": r.like_for_like_matches,
                "any two entries": r.any_matches,
                "reachable": "yes"
                if r.reachable
                else f"no (at most {100 * r.largest_possible:.1f}%)",
            }
        )
    table = pd.DataFrame(rows).set_index("claim")
    table.index.name = None
    return table


def explain_claim(c: ReductionClaim, table: Mapping = TABLE_I) -> str:
    """Where a printed reduction comes from, as a sentence computed from ``table``.

    The comparisons the claim's sentence names that reproduce it (and those that do
    not), or, when none does, whether any comparison of two entries of the table can
    reach it at all, and the nearest one.
    """
    scoped = scoped_reductions(c, table)
    hits, misses = scoped[scoped["consistent"]], scoped[~scoped["consistent"]]
    if len(hits):
        text = (
            f"{c.printed} is "
            + "; and ".join(describe_reduction(r) for r in hits.itertuples())
            + "."
        )
        if len(misses):
            text += (
                " The other comparisons the sentence names give "
                + "; ".join(describe_reduction(r) for r in misses.itertuples())
                + "."
            )
        return text
    ceiling = largest_possible_reduction(table)
    low, _ = printed_interval(c.printed)
    closest = nearest(every_reduction(table), c.printed, k=1).iloc[0]
    if low > ceiling:
        return (
            f"{c.printed} cannot come from Table I: no comparison of two of its entries, "
            f"whatever the models, parts or datasets, exceeds {ceiling:.1%}; the largest "
            f"is {describe_reduction(closest)}."
        )
    return (
        f"None of the comparisons the sentence names gives {c.printed}; the nearest of "
        f"all comparisons of two entries is {describe_reduction(closest)}."
    )


def describe_larger(table: Mapping = TABLE_I) -> str:
    """Where a quantum-inspired model of ``table`` is larger than LSTM or QLSTM, in words.

    Per baseline: none, or how many of the like-for-like comparisons, with every one that is
    not a classical count spelled out (classical counts are summarised: QLSTM's only
    classical parameters are its linear head, so any per-edge classical parameter beats it).
    """
    models, _ = _labels()
    present = {m for _, m in table}
    frame = reductions(
        table,
        ours=[m for m in QUANTUM_INSPIRED if m in present],
        theirs=[m for m in REDUCTION_BASELINES if m in present],
    )
    sentences = []
    for baseline in REDUCTION_BASELINES:
        mine = frame[frame["model_theirs"] == baseline]
        if mine.empty:
            continue
        larger = mine[mine["reduction"] < 0]
        name = models.get(baseline, baseline)
        if larger.empty:
            sentences.append(
                f"No quantum-inspired model is larger than the {name} of its "
                f"dataset, in any of the {len(mine)} comparisons."
            )
            continue
        classical = mine[mine["part_ours"] == "classical"]
        classical_larger = larger[larger["part_ours"] == "classical"]
        other = larger[larger["part_ours"] != "classical"]
        text = (
            f"Against {name}, a quantum-inspired model is larger in {len(larger)} of the "
            f"{len(mine)} comparisons"
        )
        if len(classical_larger):
            share = (
                "every"
                if len(classical_larger) == len(classical)
                else f"{len(classical_larger)} of the {len(classical)}"
            )
            text += f": {share} classical count"
            if len(other):
                text += ", and " + "; ".join(describe_reduction(r) for r in other.itertuples())
        else:
            text += ": " + "; ".join(describe_reduction(r) for r in other.itertuples())
        sentences.append(text + ".")
    return " ".join(sentences)
