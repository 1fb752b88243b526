"""The numbers of a protocol in one markdown report (``qkan-experiments archive report``).

Every number comes from the chapters' own library calls on the chapters' own runs (read from
the run archive or the results folder, never typed): the test R² of every model and baseline
on every dataset, the Holm-corrected comparisons of chapters 9 and 10, Table IV's MAE and MSE,
and the verdict table of chapter 15 (:func:`book_verdict`), with the claims whose verdict
differs between the quick protocol and the full one.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext

import pandas as pd

from ..data.registry import DATASET_LABELS, milan_source
from ..models.registry import MODEL_LABELS
from ..paper import TABLE_II_R2, TABLE_III_R2
from ..runs.archive import RunsMissing, no_training, provenance_table, training_allowed
from ..runs.experiment import PathLike, protocol
from ..runs.grid import run_grid
from ..runs.store import results_frame
from .book_runs import regeneration_costs
from .display import count, mean_std_column, number, numbers, p_value, page_table
from .findings import (
    FORECASTERS,
    PROTOCOL_LABELS,
    TEST_COLUMN,
    ablations_and_harder_evidence,
    arm_label,
    baselines_evidence,
    comparison_rows,
)
from .learned_spectra import spectrum_usage_study, spectrum_usage_summary
from .noisy_deployment import deployment_study, feasibility_row
from .real_forecasts import (
    evaluation_seeds,
    model_label,
    real_data_claim,
    real_data_row,
    real_series_evidence,
    verdict_label,
    verdict_sentence,
)
from .reductions import claim_report
from .statistics import seed_summary
from .verdict import verdict_table

TABLE_DATASETS = ("damped_shm", "bessel")  # Tables II and III (chapters 5 and 6)
COMPARISON_COLUMNS = (TEST_COLUMN, "n", "a − b [95% CI]", "p (raw)", "p (Holm)", "verdict")


def book_verdict(results_dir: PathLike, full: bool, seed: int = 0, device: str = "auto") -> dict:
    """The paper's claims of the verdict chapter, from the runs of chapters 9-11: ``{"baselines",
    "harder", "spectrum",
    "table"}`` (the evidence dicts of :func:`~qkan_lib.evidence.findings.baselines_evidence`
    and :func:`~qkan_lib.evidence.findings.ablations_and_harder_evidence`, the spectrum-usage
    summary and :func:`~qkan_lib.evidence.verdict.verdict_table`)."""
    baselines = baselines_evidence(results_dir, full=full, base_seed=seed, device=device)
    harder = ablations_and_harder_evidence(results_dir, full=full, base_seed=seed, device=device)
    usage = spectrum_usage_study(
        ("damped_shm", "bessel"), (1, 2, 3), full=full, device=device, results_dir=results_dir
    )
    spectrum = spectrum_usage_summary(usage)
    paper_best = {
        "damped_shm": max(v[-1] for v in TABLE_II_R2.values()),
        "bessel": max(v[-1] for v in TABLE_III_R2.values()),
    }
    urban = protocol("urban", full)
    _, stand_in = milan_source(None, dict(urban.data_options)["stand_in_days"])
    table = verdict_table(baselines, harder, spectrum, claim_report(), paper_best, stand_in)
    return {"baselines": baselines, "harder": harder, "spectrum": spectrum, "table": table}


def table_frame(dataset: str, results_dir: PathLike, full: bool, seed: int = 0,
                device: str = "auto") -> pd.DataFrame:  # fmt: skip
    """The last epoch of every run of a table chapter's grid (Tables II-IV: chapters 5-7)."""
    spec = protocol(dataset, full)
    options = {}
    if spec.dataset == "urban":  # the chapter's source: the Milan files or the stand-in
        directory, _ = milan_source(None, dict(spec.data_options)["stand_in_days"], seed=0)
        options = {"milan_dir": str(directory)}
    frame = results_frame(
        run_grid(spec.experiments(base_seed=seed, device=device, **options), results_dir)
    )
    last = frame.groupby(["model", "seq_len", "seed"])["epoch"].transform("max")
    return frame[frame["epoch"] == last].reset_index(drop=True)


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame (index included, flat or multi-level) as a GitHub markdown table."""
    frame = frame.reset_index()
    names = [" ".join(map(str, c)).strip() if isinstance(c, tuple) else str(c) for c in frame]
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def _r2_rows(summary: pd.DataFrame, source: str, label=arm_label) -> pd.DataFrame:
    """Rows of the R² table from a seed_summary / arm_summary frame (columns dataset, arm or
    model, n, mean, std, median, min, max)."""
    name = "arm" if "arm" in summary else "model"
    return pd.DataFrame(
        {
            "runs": source,
            "dataset": [DATASET_LABELS.get(d, d) for d in summary["dataset"]],
            "model": [label(a) for a in summary[name]],
            "seeds": summary["n"].astype(int),
            "mean ± std": mean_std_column(summary["mean"], summary["std"]),
            "median": numbers(summary["median"]),
            "range": [
                f"[{number(lo)}, {number(hi)}]" for lo, hi in zip(summary["min"], summary["max"])
            ],
        }
    )


def r2_table(tables: dict, baselines: dict, harder: dict) -> pd.DataFrame:
    """Test R² (last epoch, over seeds) of every model and baseline on every dataset."""
    parts = []
    for dataset, final in tables.items():
        summary = seed_summary(final, "test_r2", by=("dataset", "model")).reset_index()
        source = "Table IV (chapter 7)" if dataset == "urban" else "Tables II-III (chapters 5-6)"
        if dataset == "urban":  # one row per window length
            summary = seed_summary(final, "test_r2", by=("dataset", "seq_len", "model"))
            summary = summary.reset_index()
            summary["model"] = [
                f"{MODEL_LABELS[m]}, sequence length {s}" for m, s in zip(summary["model"],
                                                                  summary["seq_len"])
            ]  # fmt: skip
            parts.append(_r2_rows(summary, source, label=str))
        else:
            parts.append(_r2_rows(summary, source, label=lambda m: MODEL_LABELS[m]))
    for name, label in PROTOCOL_LABELS.items():
        summary = baselines["summary"][baselines["summary"]["protocol"] == name]
        parts.append(_r2_rows(summary, f"claims, {label} (chapter 9)"))
    parts.append(_r2_rows(harder["harder_summary"], "harder tasks (chapter 10)"))
    ablations = harder["ablation_summary"].assign(dataset="damped_shm")
    parts.append(_r2_rows(ablations, "ablations (chapter 10)"))
    trivial = pd.concat([baselines["trivial"], harder["harder_trivial"]], ignore_index=True)
    test = trivial[trivial["split"] == "test"].drop_duplicates(["dataset", "forecaster"])
    parts.append(
        pd.DataFrame(
            {
                "runs": "trivial forecasters (deterministic)",
                "dataset": [DATASET_LABELS.get(d, d) for d in test["dataset"]],
                "model": [FORECASTERS.get(f, f) for f in test["forecaster"]],
                "seeds": 1,
                "mean ± std": numbers(test["r2"]),
                "median": numbers(test["r2"]),
                "range": "",
            }
        )
    )
    return pd.concat(parts, ignore_index=True).set_index(["runs", "dataset", "model"])


def comparisons_table(baselines: dict, harder: dict) -> pd.DataFrame:
    """Every Holm family of chapters 9 and 10, one row per comparison, as the chapters show it
    (:func:`~qkan_lib.evidence.findings.comparison_rows`, every column)."""
    families = []
    for name, label in PROTOCOL_LABELS.items():
        part = baselines["comparisons"][baselines["comparisons"]["protocol"] == name]
        families.append((f"claims, {label}", part))
    shm = {"dataset": "damped_shm"}
    families += [
        ("harder tasks", harder["harder_comparisons"]),
        ("ablations", harder["ablation_comparisons"].assign(**shm)),
        ("closed loop", harder["closed_loop_comparisons"].assign(**shm)),
    ]
    parts = []
    for family, table in families:
        shown = comparison_rows(table.reset_index(drop=True), by=("dataset",))
        shown = shown.reset_index()
        shown["dataset"] = [DATASET_LABELS.get(d, d) for d in shown["dataset"]]
        parts.append(shown.assign(family=family))
    table = pd.concat(parts, ignore_index=True)
    return table.set_index(["family", "dataset", "comparison"])[list(COMPARISON_COLUMNS)]


def table_iv(final: pd.DataFrame) -> pd.DataFrame:
    """Table IV: test MAE and MSE (mean ± std over seeds) per model and sequence length."""
    stats = {m: seed_summary(final, m, by=("model", "seq_len")) for m in ("test_mae", "test_mse")}
    mae, mse = stats["test_mae"], stats["test_mse"].loc[stats["test_mae"].index]
    rows = pd.DataFrame(
        {
            "model": [MODEL_LABELS[model] for model, _ in mae.index],
            "sequence length": [seq_len for _, seq_len in mae.index],
            "seeds": mae["n"].astype(int).to_numpy(),
            # one style per column (display.mean_std_column): never "0.0108 ± 6.9 × 10⁻⁵"
            "MAE": mean_std_column(mae["mean"], mae["std"]),
            "MSE": mean_std_column(mse["mean"], mse["std"], digits=5),
        }
    )
    return rows.set_index(["model", "sequence length"])


def verdict_changes(full: pd.DataFrame, quick: pd.DataFrame) -> pd.DataFrame:
    """The claims whose outcome or verdict differs between two verdict tables."""
    both = full.merge(quick, on="claim", how="outer", suffixes=("", " (quick)")).set_index("claim")
    changed = (both["outcome"] != both["outcome (quick)"]) | (
        both["verdict"] != both["verdict (quick)"]
    )
    return both.loc[changed, ["outcome (quick)", "outcome", "verdict (quick)", "verdict"]].rename(
        columns={"outcome": "outcome (full)", "verdict": "verdict (full)"}
    )


def archive_report(
    results_dir: PathLike,
    seed: int = 0,
    device: str = "auto",
    quick: str = "stored",
    sections: Sequence[str] = (
        "regeneration",
        "r2",
        "comparisons",
        "table_iv",
        "real",
        "verdict",
        "changes",
    ),
) -> str:
    """The full protocol's numbers as markdown, read without training (a run that is neither
    stored nor archived raises :class:`~qkan_lib.runs.archive.RunsMissing`).

    ``quick``: how to get the quick protocol's verdict for the list of changed verdicts:
    "stored" (read the runs in ``results_dir``; if some are missing the report says how many),
    "train" (train what is missing: the quick protocol's claims chapters) or "skip"."""
    if quick not in ("stored", "train", "skip"):
        raise ValueError(f"quick must be 'stored', 'train' or 'skip', got {quick!r}")
    out = ["# The full protocol, read from the run archive", ""]
    if "regeneration" in sections:
        out += ["## What regenerating the archive costs, per chapter", ""]
        out += [markdown_table(regeneration_table(regeneration_costs(True, device, seed))), ""]
    with no_training():
        full = book_verdict(results_dir, True, seed, device)
        tables = {d: table_frame(d, results_dir, True, seed, device) for d in TABLE_DATASETS}
        tables["urban"] = table_frame("urban", results_dir, True, seed, device)
    if "r2" in sections:
        out += ["## Test R² of every model and baseline (last epoch, over seeds)", ""]
        out += [markdown_table(r2_table(tables, full["baselines"], full["harder"])), ""]
    if "comparisons" in sections:
        out += ["## Key comparisons, Holm-corrected within each family", ""]
        out += [markdown_table(comparisons_table(full["baselines"], full["harder"])), ""]
    if "table_iv" in sections:
        stand_in = bool(tables["urban"]["stand_in"].all())
        source = "synthetic stand-in of the Milan data" if stand_in else "the Milan data"
        out += [f"## Table IV: test MAE and MSE per model and sequence length ({source})", ""]
        out += [markdown_table(table_iv(tables["urban"])), ""]
    if "real" in sections:
        out += ["## Real series (chapter 12)", ""]
        try:
            with no_training():
                real = real_series_evidence(results_dir, full=True, base_seed=seed,
                                            device=device)  # fmt: skip
        except RunsMissing as missing:
            out += [f"Not in the archive yet: {len(missing.experiments)} run(s) of the first "
                    "missing grid (and those after it).", ""]  # fmt: skip
        else:
            out += real_series_markdown(real)
    if "verdict" in sections:
        out += ["## The verdict table (full protocol)", ""]
        shown = full["table"].set_index("claim")[
            ["outcome", "verdict", "strength of the evidence", "what this book measured"]
        ]
        out += [markdown_table(shown), ""]
    if "changes" in sections and quick != "skip":
        out += ["## Verdicts that differ between the quick protocol and the full one", ""]
        try:
            with no_training() if quick == "stored" else nullcontext():
                fast = book_verdict(results_dir, False, seed, device)
        except RunsMissing as missing:
            out += [
                f"Not computed: {len(missing.experiments)} run(s) of the quick protocol (the "
                "first missing grid) are not stored; report again with the quick runs trained "
                "(`--train-quick`).",
                "",
            ]
        else:
            changes = verdict_changes(full["table"], fast["table"])
            out += [markdown_table(changes) if len(changes) else "None: every claim has the "
                    "same outcome and verdict under both protocols.", ""]  # fmt: skip
    return "\n".join(out)


def regeneration_table(rows: Sequence[dict], workers: int = 2) -> pd.DataFrame:
    """:func:`~qkan_lib.evidence.book_runs.regeneration_costs` as a table with totals: runs,
    recorded training CPU time and the wall time it needs at least with ``workers`` workers
    (CPU time / workers: perfect packing, no start-up; a lower bound)."""
    frame = pd.DataFrame(rows)
    total = {"chapter": "all", "title": "", "runs": frame["runs"].sum(),
             "training_s": frame["training_s"].sum(),
             "complete": frame["complete"].all()}  # fmt: skip
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    return pd.DataFrame(
        {
            "chapter": frame["chapter"],
            "what is trained": frame["title"],
            "archived runs": [count(n) for n in frame["runs"]],
            "training CPU (min)": numbers(frame["training_s"] / 60, 1),
            f"wall at {workers} workers, at least (min)": numbers(
                frame["training_s"] / 60 / workers, 1
            ),
            "archive complete": ["yes" if c else "no" for c in frame["complete"]],
        }
    ).set_index("chapter")


def real_series_markdown(evidence: dict) -> list[str]:
    """The real-series numbers of the report: every model's and baseline's MASE and sMAPE per
    series (mean ± std over seeds), the Diebold-Mariano comparisons with Holm's p, the mean
    ranks and the claim's verdict."""
    summary = evidence["summary"]
    multi = summary[summary["kind"] == "multi-step"]
    rows = {"series": [DATASET_LABELS.get(d, d) for d in multi["dataset"]],
            "model": [model_label(m) for m in multi["model"]],
            "seeds": multi["n_seeds"].astype(int).to_numpy()}  # fmt: skip
    for metric, name in (("mase", "multi-step MASE"), ("smape", "multi-step sMAPE")):
        # one style per column; a baseline (one deterministic forecast) prints its value alone
        rows[name] = mean_std_column(multi[f"{metric}_mean"], multi[f"{metric}_std"], digits=3)
    c = evidence["comparisons"]
    comparisons = pd.DataFrame(
        {
            "series": [DATASET_LABELS.get(d, d) for d in c["dataset"]],
            "model": [model_label(a) for a in c["a"]],
            "best baseline": [model_label(b) for b in c["b"]],
            "MAE ratio": numbers(c["mae_ratio"], 3),
            "DM (HLN)": numbers(c["statistic"], 2, sign=True),
            "Holm p": c["p_holm"].map(p_value),
            "verdict": c["verdict"].map(verdict_label),
        }  # fmt: skip
    )
    ranks = evidence["ranks"]
    rank_frame = pd.DataFrame({"model": [model_label(m) for m in ranks.index],
                               "mean rank": numbers(ranks, 2)})  # fmt: skip
    claim = real_data_claim(c)
    return [
        "Multi-step MASE and sMAPE (%) per series, mean over the origins; mean ± std over the "
        "evaluation seeds for the neural models.", "",
        markdown_table(pd.DataFrame(rows).set_index("series")), "",
        "Diebold-Mariano (HLN) against the best baseline per series, Holm over all:", "",
        markdown_table(comparisons.set_index("series")), "",
        "Mean ranks by multi-step MASE (critical difference "
        f"{number(evidence['rank_summary']['cd'], 2)}):",
        "", markdown_table(rank_frame.set_index("model")), "",
        f"Verdict: {verdict_sentence(claim)}", "",
    ]  # fmt: skip


QUICK_FALLBACK_NOTE = (
    " (quick protocol: the run archive does not hold this claim's full-protocol runs yet)"
)


def _real_data_row(results_dir: PathLike, full: bool, seed: int, device: str) -> tuple:
    evidence = real_series_evidence(results_dir, full=full, base_seed=seed, device=device)
    comparisons = evidence["comparisons"]
    basis = {"seeds": len(evaluation_seeds(full, seed)),
             "series": int(comparisons["dataset"].nunique())}  # fmt: skip
    return real_data_row(comparisons), basis


def _feasibility_row(results_dir: PathLike, full: bool, seed: int, device: str) -> tuple:
    study = deployment_study(results_dir, full=full)
    # the device study deploys one trained QKAN-LSTM per seed
    basis = {"seeds": study["n_seeds"], "unit": "trained QKAN-LSTMs (one per seed)"}
    return feasibility_row(study["deployment"], study["n_seeds"]), basis


def later_evidence(results_dir: PathLike, full: bool, seed: int = 0, device: str = "auto"):
    """The verdict rows of the claims tested after the paper's own experiments (QKAN-LSTM on
    real series, :func:`~qkan_lib.evidence.real_forecasts.real_data_row`; QKANs on current
    devices, :func:`~qkan_lib.evidence.noisy_deployment.feasibility_row`) and what each rests
    on. With ``full`` and training forbidden, a claim whose full-protocol runs the archive does
    not hold yet is decided with the quick protocol (trained now) and its row says so.

    Returns ``{"rows": [...], "bases": [...]}``: per row ``{"claim", "protocol"}`` ("full" or
    "quick"), ``"fallback"`` (the quick protocol stood in for the full one), ``"seeds"``
    (evaluation seeds per model, or what ``"unit"`` names) and, for the real series,
    ``"series"``."""
    rows, bases = [], []
    for compute in (_real_data_row, _feasibility_row):
        used, fallback = bool(full), False
        try:
            row, basis = compute(results_dir, full, seed, device)
        except RunsMissing:
            if not full:
                raise
            with training_allowed():
                row, basis = compute(results_dir, False, seed, device)
            row["what this book measured"] += QUICK_FALLBACK_NOTE
            used, fallback = False, True
        rows.append(row)
        bases.append({"claim": row["claim"], "protocol": "full" if used else "quick",
                      "fallback": fallback, **basis})  # fmt: skip
    return {"rows": rows, "bases": bases}


def later_claims(results_dir: PathLike, full: bool, seed: int = 0, device: str = "auto"):
    """The rows of :func:`later_evidence` alone."""
    return later_evidence(results_dir, full, seed, device)["rows"]


def protocol_sentence(
    protocol_name: str, n_eval: int, families: dict[str, int], bases: Sequence[dict]
) -> str:
    """Which protocol decides which verdicts: the paper's accuracy claims rest on
    ``protocol_name`` with ``n_eval`` seeds and one Holm family of batch-10 comparisons per
    chapter (``families``: chapter words to family size); each later claim (``bases`` of
    :func:`later_evidence`) on its own chapter's protocol, with its seeds."""
    sizes = " and ".join(f"{n} in {where}" for where, n in families.items())
    head = (
        f"The verdicts on the paper's own claims come from the {protocol_name} protocol: "
        f"{n_eval} evaluation seeds per model, fresh seeds that the learning-rate tuning (on "
        f"validation, never on test) did not use, and, for the accuracy claims, one "
        f"Holm-corrected family of batch-10 comparisons per chapter ({sizes})."
    )
    parts = []
    for b in bases:
        what = f"{b['protocol']} protocol"
        if b["fallback"]:
            what += " (its full-protocol runs are not archived yet)"
        what += f", {b['seeds']} {b.get('unit', 'evaluation seeds per model')}"
        if "series" in b:
            what += f" on {b['series']} series"
        parts.append(f"“{b['claim']}”: {what}")
    if not parts:
        return head
    later = "; ".join(parts)
    return f"{head} The later claims rest on their own chapters' protocols: {later}."


def archive_provenance(archive_dir: PathLike | None = None) -> dict | None:
    """The run archive's provenance for the verdict page
    (:func:`~qkan_lib.runs.archive.provenance_table`) in the page's number style (the run
    count "5,971", :func:`~qkan_lib.evidence.display.count`), and one sentence on how many
    runs it holds and whether they still match their checksums; None without an archive.
    Returns ``{"table", "runs", "sentence"}``."""
    table = provenance_table(archive_dir)
    if table is None:
        return None
    runs = int(table.loc["runs", "recorded"])
    table.loc["runs", "recorded"] = count(runs)
    state = table.loc["checked now", "recorded"]
    return {
        "table": page_table(table),
        "runs": runs,
        "sentence": f"The archive holds {count(runs)} runs; checked against its checksums "
        f"while this page was built, it is {state}.",
    }
