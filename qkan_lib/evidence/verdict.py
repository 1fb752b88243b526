"""The verdict: each claim of the paper beside what this book measured, decided by rules.

Every row of :func:`verdict_table` is computed from the evidence functions of the "Testing the
claims" chapters (:mod:`qkan_lib.evidence`, :func:`qkan_lib.edge_analysis.spectrum_usage`,
:func:`qkan_lib.claims.claim_report`); nothing here is typed in but the claims' wording and the
rules. The rules, stated once:

* A claim that model A is MORE ACCURATE than model B holds when A is significantly better
  (Holm-adjusted p < alpha over the chapter's family of comparisons) on every dataset tested; it
  is CONTRADICTED when B is significantly better on at least one dataset; otherwise it is NOT
  SUPPORTED (no significant difference: the data cannot tell the two apart).
* A printed parameter reduction holds when at least one comparison its sentence names
  reproduces it to the printed rounding; it CANNOT come from Table I when no comparison of two
  Table I entries reaches it.
* The strength of the evidence is the number of seeds per model and the largest Holm-adjusted
  p-value behind the verdict (for "holds") or the smallest (for "contradicted").
* QKANs are FEASIBLE on current devices by :data:`FEASIBILITY_RULE`: each device model is
  within, beyond or undecided against a tolerance of test R² lost by the 95 % interval of its
  median over the trained models (:func:`device_sides`), never by a median alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..models.registry import DATASET_LABELS
from .display import (
    MISSING,
    NO_BREAK,
    count,
    display_name,
    interval,
    listing,
    number,
    numbers,
    p_value,
    page_table,
    sentence,
    significant,
)
from .learned_spectra import SEVERAL_FREQUENCIES, last_epoch_settings
from .statistics import median_interval

HOLDS = "holds"
CONTRADICTED = "does not hold (contradicted)"
NOT_SUPPORTED = "not supported (no significant difference)"
UNTESTABLE = "cannot be tested here"
# The outcome of every row is one of these words (the verdict column says it in a sentence).
OUTCOMES = ("holds", "holds in part", "does not hold", "not supported", "cannot be tested")
COLUMNS = (
    "claim",
    "the paper",
    "what this book measured",
    "verdict",
    "outcome",
    "strength of the evidence",
)


def _label(arm: str) -> str:
    return display_name(arm)


# The accuracy claims: (claim, where the paper makes it, arm a, arm b, evidence key), in the
# order of the verdict table; ``accuracy_table`` lists the comparisons behind them.
ACCURACY_CLAIMS = (
    ("QKAN-LSTM more accurate than LSTM", "abstract; Tables II-III", "qkan_lstm", "lstm",
     "comparisons"),
    ("QKAN-LSTM more accurate than QLSTM", "abstract; Tables II-III", "qkan_lstm", "qlstm",
     "comparisons"),
    ("HQKAN-LSTM more accurate than LSTM", "Tables II-III", "hqkan_lstm", "lstm",
     "comparisons"),
    ("QKAN-LSTM beats an LSTM of its size",
     'implied by "superior accuracy with fewer parameters"', "qkan_lstm", "param_matched_lstm",
     "comparisons"),
    ("QKAN-LSTM beats its Fourier twin", '"quantum-inspired" (title, Sec. III)', "qkan_lstm",
     "fourier_lstm", "comparisons"),
    ("QKAN-LSTM beats LSTM on harder tasks", 'abstract ("generalization")', "qkan_lstm", "lstm",
     "harder_comparisons"),
)  # fmt: skip


def superiority_rule(a_better: pd.Series, b_better: pd.Series, p_holm: pd.Series):
    """The one rule for "A is more accurate than B" over a family of comparisons: holds when A
    is significantly better on every one, contradicted when B is on at least one, otherwise
    not supported. Returns (verdict, outcome, the Holm p that decides it)."""
    if a_better.all():
        return HOLDS, "holds", p_holm.max()
    if b_better.any():
        return CONTRADICTED, "does not hold", p_holm[b_better].min()
    return NOT_SUPPORTED, "not supported", p_holm.min()


def superiority(
    comparisons: pd.DataFrame,
    a: str,
    b: str,
    protocol: str = "batch10",
    datasets: Sequence[str] | None = None,
) -> dict:
    """Is arm ``a`` more accurate than arm ``b``? Reads the rows (a, b) of an evidence
    ``comparisons`` table (one per dataset) and applies the module's rule.

    Returns ``{"verdict", "measured", "strength", "rows"}``; ``rows`` is the subset used.
    """
    rows = comparisons[(comparisons["a"] == a) & (comparisons["b"] == b)]
    if "protocol" in rows:
        rows = rows[rows["protocol"] == protocol]
    if datasets is not None:
        rows = rows[rows["dataset"].isin(datasets)]
    if rows.empty:
        return {
            "verdict": UNTESTABLE,
            "outcome": "cannot be tested",
            "measured": f"no comparison of {_label(a)} with {_label(b)}",
            "strength": "",
            "rows": rows,
        }
    a_better = rows["verdict"] == f"{a} better"
    b_better = rows["verdict"] == f"{b} better"
    parts = []
    for row in rows.itertuples():
        outcome = (
            "better"
            if row.verdict == f"{a} better"
            else "worse"
            if row.verdict == f"{b} better"
            else "no significant difference"
        )
        # the numbers behind each outcome (medians, the effect and its interval) are in
        # accuracy_table; the sentence says what they mean
        parts.append(
            f"{DATASET_LABELS.get(row.dataset, row.dataset)}: {outcome} "
            f"(Holm p {p_value(row.p_holm)})"
        )
    n = int(min(rows["n_a"].min(), rows["n_b"].min()))
    verdict, outcome, p = superiority_rule(a_better, b_better, rows["p_holm"])
    if outcome == "holds":
        strength = f"{n} seeds per model, largest Holm p {p_value(p)}"
    elif outcome == "does not hold":
        strength = f"{n} seeds per model, Holm p {p_value(p)} where {_label(b)} wins"
    else:
        strength = f"{n} seeds per model, " + (
            "all Holm-adjusted p = 1" if p >= 1 else f"smallest Holm p {p_value(p)}"
        )
    measured = f"{_label(a)} against {_label(b)}, " + "; ".join(parts)
    return {
        "verdict": verdict,
        "outcome": outcome,
        "measured": measured,
        "strength": strength,
        "rows": rows,
    }


def trivial_forecasters_reach(trivial: pd.DataFrame, paper_best: dict[str, float]) -> dict:
    """Do persistence or AR(p) reach the paper's best test R² on each dataset? ``paper_best``
    maps dataset -> the best R² the paper prints for it (any model, last epoch)."""
    test = trivial[trivial["split"] == "test"]
    parts, reached = [], []
    for dataset, best in paper_best.items():
        rows = test[test["dataset"] == dataset]
        if rows.empty:
            continue
        top = rows.loc[rows["r2"].idxmax()]
        reached.append(bool(top["r2"] >= best))
        shown = numbers([top["r2"], best])
        parts.append(
            f"{DATASET_LABELS.get(dataset, dataset)}: {_label(top['forecaster'])} reaches "
            f"test R² {shown[0]} (paper's best model {shown[1]})"
        )
    if not reached:
        return {
            "verdict": UNTESTABLE,
            "outcome": "cannot be tested",
            "measured": "no trivial forecasts",
            "strength": "",
        }
    if all(reached):
        verdict, outcome = (
            ("no: a linear or trivial forecaster reaches the paper's best R² on every dataset"),
            "does not hold",
        )
    elif any(reached):
        verdict, outcome = (
            ("partly: a linear or trivial forecaster reaches the paper's best R² on some datasets"),
            "holds in part",
        )
    else:
        verdict, outcome = "yes: no trivial forecaster reaches the paper's best R²", "holds"
    return {
        "verdict": verdict,
        "outcome": outcome,
        "measured": "; ".join(parts),
        "strength": "deterministic forecasters vs the paper's single runs",
    }


def reduction_claims(report: pd.DataFrame) -> list[dict]:
    """One verdict row per printed parameter-reduction claim of
    :func:`qkan_lib.claims.claim_report`."""
    out = []
    for row in report.itertuples():
        if not row.reachable:
            verdict, outcome = "cannot come from Table I", "does not hold"
            measured = (
                f"the largest reduction any two Table I entries allow is "
                f"{row.largest_possible:.1%}, below {row.printed}"
            )
        elif row.named_consistent < row.named_comparisons:
            verdict, outcome = (
                "holds for some of the comparisons its sentence names",
                "holds in part",
            )
            measured = (
                f"{row.named_consistent} of the {row.named_comparisons} comparisons its "
                f"sentence names reproduce {row.printed}: {row.consistent_with}"
            )
        elif row.named_consistent:
            verdict, outcome = HOLDS, "holds"
            measured = (
                f"all {row.named_comparisons} comparisons its sentence names reproduce "
                f"{row.printed}: {row.consistent_with}"
            )
        else:
            verdict, outcome = (
                "does not hold for the comparisons its sentence names",
                "does not hold",
            )
            measured = (
                f"none of the {row.named_comparisons} named comparisons reproduces "
                f"{row.printed}; {row.any_matches} comparison(s) of any two entries do"
            )
        out.append(
            {
                "claim": f"{row.printed} fewer parameters",
                "the paper": row.location,
                "what this book measured": measured,
                "verdict": verdict,
                "outcome": outcome,
                "strength of the evidence": "exact arithmetic on Table I",
            }
        )
    return out


# The verdict list reaches the page as a Markdown output, which the book renders as CommonMark
# (no $...$ math, and MathJax there reads only \( \)): symbols are *L*, ≥ and <sup>, which
# render the same on the page and in JupyterLab.


def spectrum_claim(summary: pd.DataFrame, paper_reps: int = 1) -> dict:
    """Does a trained QKAN-LSTM use the enriched spectrum? From
    :func:`qkan_lib.edge_analysis.spectrum_usage_summary` at the last epoch, each setting
    judged by :func:`qkan_lib.edge_analysis.last_epoch_settings` (the rule chapter 11's
    :func:`~qkan_lib.edge_analysis.spectrum_verdict` reads too)."""
    last = last_epoch_settings(summary)

    def span(values, fmt):  # one value, or the range over the datasets
        low, high = fmt(min(values)), fmt(max(values))
        return low if low == high else f"{low}–{high}"

    parts = []  # one clause per L, the datasets pooled into ranges
    for reps, group in last.groupby("reps"):
        names = listing(DATASET_LABELS.get(d, d) for d in group["dataset"])
        active = span(group["active_frequencies_median"], lambda v: f"{v:.0f}")
        single = span(group["single_frequency"], lambda v: f"{v:.0%}")
        parts.append(
            f"*L* = {reps} ({names}): median {active} of "
            f"{int(group['max_frequencies'].max())} positive frequencies active, "
            f"{single} of edges effectively one frequency"
        )
    paper = last[last["reps"] == paper_reps]
    richer = last[last["reps"] > paper_reps]
    one_in_paper = bool((paper["max_frequencies"] <= 1).all()) if len(paper) else False
    several_beyond = (
        bool((richer["frequencies_per_edge"] == SEVERAL_FREQUENCIES).all())
        if len(richer)
        else False
    )
    if one_in_paper and several_beyond:
        verdict = (
            "holds only beyond the paper's configuration: with *L* = 1 every edge is one "
            "sinusoid; with *L* ≥ 2 trained edges do use several frequencies"
        )
        outcome = "holds in part"
    elif one_in_paper:
        verdict = "does not hold in the paper's configuration (*L* = 1: one frequency per edge)"
        outcome = "does not hold"
    else:
        verdict, outcome = "holds (trained edges use several frequencies)", "holds"
    models = int(last["models"].min()) if len(last) else 0
    return {
        "verdict": verdict,
        "outcome": outcome,
        "measured": "; ".join(parts),
        "strength": f"{models} models per setting, exact spectra",
    }


def verdict_table(
    baselines: dict,
    harder: dict,
    spectrum_summary: pd.DataFrame,
    reductions: pd.DataFrame,
    paper_best: dict[str, float],
    stand_in: bool = True,
) -> pd.DataFrame:
    """The claims-vs-evidence table of the verdict page (columns :data:`COLUMNS`)."""
    rows = []

    def add(claim: str, where: str, outcome: dict) -> None:
        rows.append(
            {
                "claim": claim,
                "the paper": where,
                "what this book measured": outcome["measured"],
                "verdict": outcome["verdict"],
                "outcome": outcome["outcome"],
                "strength of the evidence": outcome["strength"],
            }
        )

    sources = {**baselines, **harder}
    harder_datasets = sorted(set(harder["harder_comparisons"]["dataset"]))
    for claim, where, a, b, key in ACCURACY_CLAIMS:
        if claim == "QKAN-LSTM beats LSTM on harder tasks":
            add(
                "The tasks measure expressivity",
                "Sec. IV (choice of tasks)",
                trivial_forecasters_reach(baselines["trivial"], paper_best),
            )
        datasets = harder_datasets if key == "harder_comparisons" else None
        add(claim, where, superiority(sources[key], a, b, datasets=datasets))
    rows.extend(reduction_claims(reductions))
    add(
        "The enriched spectrum is used",
        "Sec. III (DARUAN: 3<sup>*L*</sup> frequencies)",
        spectrum_claim(spectrum_summary),
    )
    add(
        "The learned edges are interpretable",
        "abstract, Sec. V",
        {
            "measured": "every trained edge is a one-dimensional function with an exact finite "
            "Fourier series, plotted and measured in the chapter on learned spectra",
            "verdict": "holds in this narrow sense (no study of what the functions mean)",
            "outcome": "holds in part",
            "strength": "exact spectra of every trained edge",
        },
    )
    real = "see the Urban chapter (real data)"
    add(
        "Table IV: better on the Milan data",
        "Table IV",
        {
            "measured": "the Urban chapter ran on a synthetic stand-in: the Milan files are not "
            "available here"
            if stand_in
            else real,
            "verdict": UNTESTABLE if stand_in else real,
            "outcome": "cannot be tested" if stand_in else "holds in part",
            "strength": "none on the real data" if stand_in else "",
        },
    )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def with_rows(table: pd.DataFrame, rows: Sequence[dict]) -> pd.DataFrame:
    """``table`` (:func:`verdict_table`) with further claims' rows appended; each row must
    have exactly the keys of :data:`COLUMNS`."""
    for row in rows:
        if set(row) != set(COLUMNS):
            raise ValueError(f"a verdict row needs the keys {list(COLUMNS)}, got {list(row)}")
    extra = pd.DataFrame(list(rows), columns=list(COLUMNS))
    return pd.concat([table, extra], ignore_index=True)


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many claims fall in each outcome of :data:`OUTCOMES`, and how many claims in all."""
    counts = {outcome: int((table["outcome"] == outcome).sum()) for outcome in OUTCOMES}
    return {**counts, "claims": len(table)}


def claim_comparisons(
    baselines: dict, harder: dict | None = None, protocol: str = "batch10"
) -> pd.DataFrame:
    """The rows of the comparison tables behind the accuracy claims (those of
    :func:`accuracy_table`, in its order), with a ``claim`` column: e.g. the rows a forest
    plot of the verdict shows. Without ``harder``, only the claims read from ``baselines``."""
    sources = {**baselines, **(harder or {})}
    parts = []
    for claim, _, a, b, key in ACCURACY_CLAIMS:
        if key not in sources:
            continue
        table = sources[key]
        picked = table[(table["a"] == a) & (table["b"] == b)]
        if "protocol" in picked:
            picked = picked[picked["protocol"] == protocol]
        parts.append(picked.assign(claim=claim))
    if not parts:
        raise ValueError(f"no comparison table for the accuracy claims in {sorted(sources)}")
    return pd.concat(parts, ignore_index=True)


def accuracy_table(baselines: dict, harder: dict, protocol: str = "batch10") -> pd.DataFrame:
    """The comparisons behind the accuracy claims of :func:`verdict_table`, one row per
    (claim, dataset): the two medians, a − b with its unadjusted 95 % bootstrap interval, the
    Holm-adjusted p and the outcome. What each row's a − b is (the statistic) is said once,
    for the caption, by :func:`accuracy_key` from the same rows: as a column it repeated the
    same words in every row and squeezed the table (issue 25)."""
    rows = []
    picked = claim_comparisons(baselines, harder, protocol)
    for claim, a, b, r in zip(picked["claim"], picked["a"], picked["b"], picked.itertuples()):
        outcome = (
            "better" if r.verdict == f"{a} better"
            else "worse" if r.verdict == f"{b} better"
            else "no difference"
        )  # fmt: skip
        rows.append(
            {
                "claim": claim,
                "dataset": DATASET_LABELS.get(r.dataset, r.dataset),
                "medians a | b": " | ".join(numbers([r.median_a, r.median_b])),
                # three decimals, as the baselines chapter shows the same comparisons
                "a − b [95% CI]": interval(
                    r.effect, r.effect_ci_low, r.effect_ci_high, 3, sign=True
                ),
                "Holm p": p_value(r.p_holm),
                "outcome": outcome.replace(" ", NO_BREAK),  # one unit: no "no / difference"
            }
        )
    return page_table(pd.DataFrame(rows).set_index(["claim", "dataset"]))


def accuracy_key(baselines: dict, harder: dict, protocol: str = "batch10") -> str:
    """What a − b is in each row of :func:`accuracy_table`, from the statistic each row's
    effect is: the statistic of most rows, and the claims whose rows are another one (the
    paired Fourier twin: the median of the per-seed differences)."""
    picked = claim_comparisons(baselines, harder, protocol)
    claims = {
        stat: list(dict.fromkeys(rows["claim"]))
        for stat, rows in picked.groupby("effect_statistic", sort=False)
    }
    common = max(claims, key=lambda stat: (picked["effect_statistic"] == stat).sum())
    others = [
        f"for “{listing(names)}” the {stat}" for stat, names in claims.items() if stat != common
    ]
    # a fragment for a caption (it starts with the symbol a, never capitalised)
    return f"a − b is the {common}" + ("; " + "; ".join(others) if others else "")


def verdict_summary(table: pd.DataFrame) -> str:
    """Markdown bullets, one per outcome that occurs: how many claims it has and which."""
    lines = []
    for outcome in OUTCOMES:
        claims = table.loc[table["outcome"] == outcome, "claim"].tolist()
        if claims:
            names = "; ".join(f"“{c}”" for c in claims)  # claims, each a title in itself
            lines.append(f"* **{sentence(outcome)}** ({len(claims)} of {len(table)}): {names}.")
    return "\n".join(lines)


def verdict_display(table: pd.DataFrame) -> pd.DataFrame:
    """The short form for the page: claim, outcome and strength (the long columns go to
    :func:`verdict_details`), so the table fits the page; long evidence wraps, never cut.
    An outcome is one unit: its words are joined by no-break spaces, so that the evidence
    beside it cannot squeeze "does not hold" onto two lines."""
    shown = table.set_index("claim")[["outcome", "strength of the evidence"]].rename(
        columns={"strength of the evidence": "evidence"}
    )
    shown["outcome"] = shown["outcome"].str.replace(" ", NO_BREAK)
    return page_table(shown)


def verdict_details(table: pd.DataFrame) -> str:
    """Markdown: one numbered item per claim with where the paper makes it, what was
    measured and the verdict in words."""
    return "\n".join(
        f"{k}. **{r['claim']}** ({r['the paper']}). {sentence(r['what this book measured'])}. "
        f"Verdict: *{r['verdict']}*"
        + (f" ({r['strength of the evidence']})." if r["strength of the evidence"] else ".")
        for k, r in enumerate(table.to_dict("records"), start=1)
    )


# The rule for "QKANs remain feasible for current real quantum devices". Its R2_TOLERANCE was
# set after a first look at the deployment runs (the noisy-device chapter says so), so the rule
# judges each device model by the 95 % interval of its median test R² lost (over the trained
# models, :func:`~qkan_lib.evidence.noisy_deployment.summarise_deployment`), not by a median
# whose third decimal decides: a device model is WITHIN the tolerance when the whole interval is
# at most R2_TOLERANCE at some shot budget, BEYOND it when the whole interval lies above it at
# every budget, and UNDECIDED otherwise. The claim's outcome follows from the counts
# (:data:`FEASIBILITY_RULE`); TRAINABLE means the full training of Table II at the budget the
# within device models need takes at most TRAINING_BUDGET_S of device time.
R2_TOLERANCE = 0.01
TRAINING_BUDGET_S = 7 * 24 * 3600.0
WITHIN, BEYOND, UNDECIDED = "within", "beyond", "undecided"
TOLERANCE_SIDES = {
    WITHIN: "the whole 95 % interval of the median test R² lost is at most the tolerance at "
    "some shot budget",
    BEYOND: "the whole interval lies above the tolerance at every shot budget tried",
    UNDECIDED: "neither: at the budgets tried the interval reaches both sides of the "
    "tolerance, or the seeds are too few for an interval",
}
FEASIBILITY_RULE = {
    "holds": "every device model is within the tolerance and the training fits the "
    "device-time limit",
    "holds in part": "every device model is within the tolerance but the training does not "
    "fit the limit, or only some device models are within",
    "does not hold": "no device model is within the tolerance and at least one is beyond it",
    "not supported": "no device model is within the tolerance or beyond it: all are undecided",
}


def tolerance_side(low: float, high: float, tolerance: float = R2_TOLERANCE) -> str:
    """:data:`WITHIN` when the interval [low, high] is at most ``tolerance``,
    :data:`BEYOND` when it lies above it, else (or without an interval) :data:`UNDECIDED`."""
    if pd.isna(low) or pd.isna(high):
        return UNDECIDED
    if high <= tolerance:
        return WITHIN
    return BEYOND if low > tolerance else UNDECIDED


def _budgets(deployment: pd.DataFrame) -> pd.DataFrame:
    missing = {"device", "shots", "median", "low", "high"} - set(deployment)
    if missing:
        raise ValueError(
            f"deployment needs the columns of summarise_deployment, missing {sorted(missing)}"
        )
    finite = deployment[deployment["shots"] != "exact"].copy()
    if finite.empty:
        raise ValueError("deployment has no finite shot budget")
    finite["n"] = finite["shots"].str.replace(",", "").astype(int)
    return finite.sort_values("n", kind="stable")


def device_sides(deployment: pd.DataFrame, tolerance: float = R2_TOLERANCE) -> pd.DataFrame:
    """Each device model's side of ``tolerance`` (:func:`tolerance_side` at each finite shot
    budget of a deployment summary): within when some budget is within, beyond when every
    budget is beyond, else undecided. One row per device model (in the summary's order) with
    the budget that decides (within: the smallest within; otherwise the largest budget of
    that side) and its median, low, high; columns device, shots, n, median, low, high, side."""
    finite = _budgets(deployment)
    finite["side"] = [tolerance_side(lo, hi, tolerance)
                      for lo, hi in zip(finite["low"], finite["high"])]  # fmt: skip
    rows = []
    for device in dict.fromkeys(deployment["device"]):
        mine = finite[finite["device"] == device]
        sides = set(mine["side"])
        side = WITHIN if WITHIN in sides else BEYOND if sides == {BEYOND} else UNDECIDED
        pick = mine[mine["side"] == side]
        rows.append((pick.iloc[0] if side == WITHIN else pick.iloc[-1]).to_dict())
    columns = ["device", "shots", "n", "median", "low", "high", "side"]
    return pd.DataFrame(rows)[columns].reset_index(drop=True)


def feasibility_outcome(sides: Sequence[str], trainable: bool) -> str:
    """The claim's outcome from the device models' sides (:func:`device_sides`) by
    :data:`FEASIBILITY_RULE`; ``trainable`` counts only when some device model is within."""
    sides = list(sides)
    if not sides:
        return "cannot be tested"
    within, beyond = sides.count(WITHIN), sides.count(BEYOND)
    if within == len(sides):
        return "holds" if trainable else "holds in part"
    if within:
        return "holds in part"
    return "does not hold" if beyond else "not supported"


def tolerance_table(deployment: pd.DataFrame, tolerance: float = R2_TOLERANCE) -> pd.DataFrame:
    """The page's view of :func:`device_sides`: per device model the deciding shot budget,
    the median test R² lost with its 95 % interval (digits enough to show the side of
    ``tolerance``) and the side."""
    sides = device_sides(deployment, tolerance)
    rows = [
        {
            "device model": r.device,
            "shots": r.shots,
            # without an interval (too few models) the median alone, its bounds a dash
            "R² lost [95% CI]": interval(r.median, r.low, r.high, sign=True)
            if not pd.isna(r.low)
            else f"{number(r.median, 4, sign=True)} [{MISSING}, {MISSING}]",
            "side": r.side,
        }
        for r in sides.itertuples()
    ]  # fmt: skip
    return page_table(pd.DataFrame(rows).set_index("device model"))


def fewest_models(level: float = 0.95) -> int:
    """The fewest trained models whose median has a distribution-free ``level`` interval
    (:func:`~qkan_lib.evidence.statistics.median_interval`): 6 at 95 %."""
    n = 1
    while pd.isna(median_interval(range(n), level)[1]):
        n += 1
    return n


def device_feasibility(
    deployment: pd.DataFrame,
    training_seconds: dict[int, float],
    seeds: int,
    r2_tolerance: float = R2_TOLERANCE,
    training_budget_s: float = TRAINING_BUDGET_S,
) -> dict:
    """The verdict row of the feasibility claim from a deployment summary
    (:func:`qkan_lib.evidence.noisy_deployment.summarise_deployment` of the ⟨Z⟩ models:
    columns device, shots, median, low, high) and the device time of the full training of
    Table II at each shot budget (``{shots: seconds}``), by :data:`FEASIBILITY_RULE`.
    Returns a row with the keys of :data:`COLUMNS`."""
    sides = device_sides(deployment, r2_tolerance)
    n = len(sides)
    tally = {side: int((sides["side"] == side).sum()) for side in TOLERANCE_SIDES}
    within = sides[sides["side"] == WITHIN]
    tol = significant(r2_tolerance, 3)
    days = lambda s: s / 86400  # noqa: E731
    trainable, training = False, ""
    if len(within):
        budget = int(within["n"].max())
        seconds = training_seconds[budget]
        trainable = seconds <= training_budget_s
        training = (
            f"; the full training of Table II at {count(budget)} shots per circuit needs "
            f"{number(days(seconds), 0)} days of device time "
            f"(limit {number(days(training_budget_s), 0)})"
        )
    outcome = feasibility_outcome(sides["side"], trainable)

    def named(side: str) -> str:  # the device models of a side, by name when few
        rows = sides[sides["side"] == side]
        if rows.empty:
            return f"{side} on none"
        if len(rows) > 3:  # more is the chapter's table's job
            return f"{side} on {len(rows)}"
        parts = [
            f"{r.device.split(' (')[0]} ({interval(r.median, r.low, r.high, sign=True)} "
            f"at {r.shots} shots)" if not pd.isna(r.low)
            else f"{r.device.split(' (')[0]} (too few seeds for an interval)"
            for r in rows.itertuples()
        ]  # fmt: skip
        return f"{side} on {len(rows)}: {listing(parts)}"

    by_side = "; ".join(map(named, TOLERANCE_SIDES))
    measured = (
        f"median test R² lost over the trained models with its 95 % interval, per device "
        f"model against the tolerance {tol}: {by_side}{training}"
    )
    counted = (
        f"{tally[WITHIN]} of {n} device models within the tolerance, {tally[BEYOND]} beyond "
        f"it, {tally[UNDECIDED]} undecided"
    )
    verdict = {
        "holds": "holds: usable within the tolerance and trainable on every device model",
        "holds in part": (
            "holds in part: a trained QKAN-LSTM runs within the tolerance on every device "
            "model, but training it there with parameter-shift gradients takes longer than "
            "the limit"
            if tally[WITHIN] == n
            else f"holds in part: {counted}"
        ),
        "does not hold": f"does not hold: {counted}",
        "not supported": f"not supported: {counted}",
        "cannot be tested": "cannot be tested: no device model",
    }[outcome]
    return {
        "claim": "QKANs remain feasible for current real quantum devices",
        "the paper": "Conclusion",
        "what this book measured": measured,
        "verdict": verdict,
        "outcome": outcome,
        "strength of the evidence": (
            f"{seeds} trained models, {n} device models (calibration snapshots and published "
            f"figures), 95 % intervals of the median; device time from published figures"
        ),
    }
