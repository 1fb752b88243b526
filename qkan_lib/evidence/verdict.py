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
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..models.registry import DATASET_LABELS
from .display import (
    count,
    display_name,
    interval,
    listing,
    number,
    numbers,
    p_value,
    page_table,
    sentence,
)
from .learned_spectra import SEVERAL_FREQUENCIES, last_epoch_settings

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
            "Fourier series, plotted and measured in chapter 11",
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
                "a − b [95% CI]": interval(r.effect, r.effect_ci_low, r.effect_ci_high, sign=True),
                "Holm p": p_value(r.p_holm),
                "outcome": outcome,
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
            names = "; ".join(claims)
            lines.append(f"* **{sentence(outcome)}** ({len(claims)} of {len(table)}): {names}.")
    return "\n".join(lines)


def verdict_display(table: pd.DataFrame) -> pd.DataFrame:
    """The short form for the page: claim, outcome and strength (the long columns go to
    :func:`verdict_details`), so the table fits the page; long evidence wraps, never cut."""
    return page_table(
        table.set_index("claim")[["outcome", "strength of the evidence"]].rename(
            columns={"strength of the evidence": "evidence"}
        )
    )


def verdict_details(table: pd.DataFrame) -> str:
    """Markdown: one numbered item per claim with where the paper makes it, what was
    measured and the verdict in words."""
    return "\n".join(
        f"{k}. **{r['claim']}** ({r['the paper']}). {sentence(r['what this book measured'])}. "
        f"Verdict: *{r['verdict']}*"
        + (f" ({r['strength of the evidence']})." if r["strength of the evidence"] else ".")
        for k, r in enumerate(table.to_dict("records"), start=1)
    )


# The rule for "QKANs remain feasible for current real quantum devices" (its R2_TOLERANCE was
# set after a first look at the deployment runs; the noisy-device chapter says so): a trained
# QKAN-LSTM is USABLE on a device model when the median test R² lost
# (over seeds and shot draws) is at most R2_TOLERANCE at some shot budget of the chapter's;
# TRAINABLE when the full training of Table II at the smallest usable budget (on every device)
# needs at most TRAINING_BUDGET_S of device time. Holds: usable on every device and trainable;
# holds in part: usable on every device, not trainable; does not hold: not usable everywhere.
R2_TOLERANCE = 0.01
TRAINING_BUDGET_S = 7 * 24 * 3600.0


def device_feasibility(
    deployment: pd.DataFrame,
    training_seconds: dict[int, float],
    seeds: int,
    r2_tolerance: float = R2_TOLERANCE,
    training_budget_s: float = TRAINING_BUDGET_S,
) -> dict:
    """The verdict row of the feasibility claim from a deployment summary
    (:func:`qkan_lib.evidence.noisy_deployment.summarise_deployment` of the <Z> models: columns
    device, shots, median) and the device time of the full training of Table II at each shot
    budget (``{shots: seconds}``). Returns a row with the keys of :data:`COLUMNS`."""
    finite = deployment[deployment["shots"] != "exact"].copy()
    finite["n"] = finite["shots"].str.replace(",", "").astype(int)
    usable = finite[finite["median"] <= r2_tolerance]
    per_device = usable.groupby("device")["n"].min()
    devices = sorted(finite["device"].unique())
    missing = [d for d in devices if d not in per_device.index]
    days = lambda s: s / 86400  # noqa: E731
    if missing:
        outcome, verdict = (
            "does not hold",
            (
                f"does not hold: no shot budget up to {count(finite['n'].max())} keeps the "
                f"median test R² loss within {r2_tolerance} on {len(missing)} of "
                f"{len(devices)} device models"
            ),
        )
        largest = finite[finite["n"] == finite["n"].max()].set_index("device")["median"]
        measured = (
            "; ".join(
                f"{d}: median test R² lost {largest[d]:.3f} at {count(finite['n'].max())} shots"
                for d in missing
            )
            + f" (tolerance {r2_tolerance})"
        )
        budget = None
    else:
        budget = int(per_device.max())
        seconds = training_seconds[budget]
        measured = (
            f"median test R² lost within {r2_tolerance} on all {len(devices)} device models "
            f"from {count(budget)} shots per circuit; the full training of Table II at that budget "
            f"needs {number(days(seconds), 0)} days of device time "
            f"(limit {number(days(training_budget_s), 0)})"
        )
        if seconds <= training_budget_s:
            outcome, verdict = "holds", "holds: usable and trainable on every device model"
        else:
            outcome, verdict = (
                "holds in part",
                (
                    "holds in part: a trained QKAN-LSTM runs on every device model, but "
                    "training it "
                    "there with parameter-shift gradients takes far longer than the limit"
                ),
            )
    return {
        "claim": "QKANs remain feasible for current real quantum devices",
        "the paper": "Conclusion",
        "what this book measured": measured,
        "verdict": verdict,
        "outcome": outcome,
        "strength of the evidence": (
            f"{seeds} trained models, {len(devices)} device models (calibration snapshots and "
            f"published figures), shot draws per budget; device time from published figures"
        ),
    }
