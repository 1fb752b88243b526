"""The evidence of the "Testing the claims" part, computed from the experiment grid's cached runs.

Each chapter of that part has ONE function here that trains (or, when the runs are cached under
``results_dir``, reloads) everything the chapter reports and returns its findings as plain
data: a dict of pandas DataFrames with documented columns. The chapter displays them; the
verdict page calls the same function and gets the same numbers without retraining.

* :func:`baselines_evidence` (chapter 9): trivial forecasters, parameter-matched LSTMs and the
  Fourier twin against QKAN-LSTM / HQKAN-LSTM on Damped SHM and Bessel, under a fair protocol
  (learning rate tuned per model on a validation block, test on fresh evaluation seeds) and a
  second protocol with batch size 1; agreement with the paper's R^2 cells.
* :func:`ablations_and_harder_evidence` (chapter 10): ablations of QKAN-LSTM / HQKAN-LSTM, the
  harder benchmarks (NARMA-5, NARMA-10, Damped SHM with observation noise) and closed-loop
  multi-step forecasts.

The protocol, in one place:

* **Tuning** (:func:`tuned_rates`): every arm's learning rate is the one with the lowest median
  validation MSE over the protocol's seeds (:func:`qkan_lib.experiments.tune_learning_rate`),
  on a validation block carved from the end of the training period; the test part is never
  looked at.
* **Evaluation**: test scores over :func:`evaluation_seeds`, fresh seeds that tuning never used
  (quick: :data:`QUICK_EVALUATION_SEEDS`, full: :data:`FULL_EVALUATION_SEEDS`).
* **Comparisons** (:func:`compare_family`): the per-seed test R^2 after the last epoch; the
  Mann-Whitney U test for models with independent initialisations, the paired Wilcoxon
  signed-rank test where two models share seeds AND initial function (QKAN-LSTM and its
  Fourier twin), and a one-sample signed-rank test of the seeds against a deterministic
  forecaster's single value (AR(p), persistence); Holm's correction over the whole family;
  percentile-bootstrap intervals of the difference of medians and of the rank effect.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from math import comb
from pathlib import Path

import pandas as pd
import scipy.stats

from ..data.registry import HARDER_DATASETS, dataset_spec, load_dataset
from ..models.parameters import count_parameters
from ..models.registry import DATASET_LABELS, MODELS, build_model
from ..paper import R2_EPOCHS, TABLE_II_R2, TABLE_III_R2
from ..runs.experiment import PathLike, Protocol, protocol
from ..runs.grid import run_grid, tune_learning_rate
from ..runs.run import trained_model
from ..runs.store import load_result, results_frame, variant_label
from ..utils import check_positive_int
from .closed_loop import FixedForecaster, horizon_metrics
from .display import (
    FORECASTER_LABELS,
    TEST_LABELS,
    count,
    display_name,
    interval,
    listing,
    number,
    numbers,
    p_value,
    page_table,
    scientific,
    sentence,
    significant,
)
from .forecasters import LinearAutoregression, baseline_metrics, persistence_forecast
from .statistics import (
    ALPHA,
    NO_DIFFERENCE,
    compare_models,
    count_inside,
    holm_verdicts,
    paper_agreement,
    paper_cells,
    seed_summary,
)

PAPER_R2 = {"damped_shm": TABLE_II_R2, "bessel": TABLE_III_R2}
QUICK_EVALUATION_SEEDS = 10  # the fewest that let a Holm-corrected family reach significance
FULL_EVALUATION_SEEDS = 20
EVALUATION_SEED_OFFSET = 100  # evaluation seeds start here (tuning uses the protocol's seeds)
TUNING_RATES = {False: (0.003, 0.01, 0.03), True: (0.001, 0.003, 0.01, 0.03, 0.1)}
# Urban's sweep (chapter 7; its full protocol stops at 0.03, the claims' sweeps at 0.1).
URBAN_TUNING_RATES = {False: (0.003, 0.01, 0.03), True: (0.001, 0.003, 0.01, 0.03)}


def tuning_rates(dataset: str, full: bool) -> tuple[float, ...]:
    """The learning rates a chapter sweeps on the validation split of ``dataset``."""
    table = URBAN_TUNING_RATES if dataset_spec(dataset).uses_milan else TUNING_RATES
    return table[bool(full)]


FORECASTERS = FORECASTER_LABELS  # the name used before qkan_lib.evidence.display
BATCH1_QUICK_DATASETS = ("damped_shm",)  # batch 1 costs ~10x: the quick protocol runs it here only
PROTOCOL_LABELS = {"batch10": "batch 10 (reference)", "batch1": "batch 1"}
METRIC = "test_r2"


@dataclass(frozen=True)
class Arm:
    """One model of a comparison: a named configuration plus build_model options (an ablation).

    ``name`` identifies it in every table (the model name for the default configuration).
    """

    name: str
    model: str
    options: tuple[tuple[str, object], ...] = ()

    @property
    def label(self) -> str:
        return arm_label(self.name)


def arm(model: str, **options) -> Arm:
    """The arm of ``model`` with ``options``; named ``model`` or ``model (key=value, ...)``."""
    items = tuple(sorted(options.items()))
    return Arm(model if not items else f"{model} ({variant_label(items)})", model, items)


MATCHED_TO_HQKAN = arm("param_matched_lstm", match="hqkan_lstm")


def paper_arms(full: bool) -> tuple[Arm, ...]:
    """The paper's four models (``full`` is accepted for symmetry: every protocol trains all four,
    QLSTM too since its fused CPU kernel made it affordable)."""
    return tuple(arm(m) for m in MODELS)


def baseline_arms(full: bool) -> tuple[Arm, ...]:
    """The paper's models, the LSTMs matched to each quantum-inspired model's count, the twin."""
    return paper_arms(full) + (arm("param_matched_lstm"), MATCHED_TO_HQKAN, arm("fourier_lstm"))


def ablation_arms() -> tuple[Arm, ...]:
    """QKAN-LSTM and HQKAN-LSTM with one option changed at a time (defaults first)."""
    return (
        arm("qkan_lstm"),
        arm("qkan_lstm", preact_trainable=False),
        arm("qkan_lstm", reps=2),
        arm("qkan_lstm", reps=3),
        arm("qkan_lstm", base_trainable=False),
        arm("qkan_lstm", readout="amplitude"),
        arm("hqkan_lstm"),
        arm("hqkan_lstm", latent_in=1, latent_out=1),
        arm("hqkan_lstm", latent_in=3, latent_out=8),
    )


def claim_pairs(arms: Iterable[str]) -> list[tuple[str, str, str]]:
    """The comparisons that test the claims, among the arms present: (a, b, kind).

    ``kind`` is "independent" (Mann-Whitney), "paired" (Wilcoxon over shared seeds and
    initial functions) or "fixed" (one-sample signed-rank against a deterministic forecaster).
    """
    present = set(arms)
    wanted = [
        ("qkan_lstm", "lstm", "independent"),
        ("qkan_lstm", "qlstm", "independent"),
        ("qkan_lstm", "param_matched_lstm", "independent"),
        ("qkan_lstm", "fourier_lstm", "paired"),
        ("qkan_lstm", "ar", "fixed"),
        ("hqkan_lstm", "lstm", "independent"),
        ("hqkan_lstm", "qlstm", "independent"),
        ("hqkan_lstm", MATCHED_TO_HQKAN.name, "independent"),
        ("hqkan_lstm", "ar", "fixed"),
    ]
    return [p for p in wanted if p[0] in present and (p[1] in present or p[2] == "fixed")]


def evaluation_seeds(full: bool, base_seed: int = 0) -> tuple[int, ...]:
    """Fresh seeds for test scores: quick 5, full 10, starting at base_seed + 100."""
    n = FULL_EVALUATION_SEEDS if full else QUICK_EVALUATION_SEEDS
    start = base_seed + EVALUATION_SEED_OFFSET
    return tuple(range(start, start + n))


# ---------------------------------------------------------------------------------------------
# running arms


def _arm_experiments(
    spec: Protocol,
    arm_: Arm,
    seeds: Sequence[int],
    lr: float | None,
    device: str,
    **train_overrides,
):
    overrides = dict(train_overrides)
    if lr is not None:
        overrides["lr"] = lr
    return spec.experiments(
        [arm_.model], seeds=seeds, device=device, model_options=dict(arm_.options), **overrides
    )


def run_arms(
    spec: Protocol,
    arms: Sequence[Arm],
    seeds: Sequence[int],
    results_dir: PathLike,
    rates: Mapping[str, float] | None = None,
    device: str = "auto",
    progress: bool | None = None,
    **train_overrides,
) -> pd.DataFrame:
    """Train (or load) every arm over ``seeds``: a :func:`qkan_lib.reports.results_frame` with an
    ``arm`` column and the run's ``result_file`` (its name under ``results_dir``). ``rates``
    maps arm names to learning rates (default: the protocol's)."""
    per_arm = [
        _arm_experiments(spec, a, seeds, (rates or {}).get(a.name), device, **train_overrides)
        for a in arms
    ]
    results = run_grid([e for group in per_arm for e in group], results_dir, progress=progress)
    frames, start = [], 0
    for a, group in zip(arms, per_arm):
        chunk = results[start : start + len(group)]
        frame = results_frame(chunk)
        files = {r.seed: r.experiment.filename() for r in chunk}
        frames.append(frame.assign(arm=a.name, result_file=frame["seed"].map(files)))
        start += len(group)
    return pd.concat(frames, ignore_index=True)


def tuned_rates(
    spec: Protocol,
    arms: Sequence[Arm],
    rates: Sequence[float],
    seeds: Sequence[int],
    results_dir: PathLike,
    device: str = "auto",
    **train_overrides,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Each arm's learning rate tuned on the validation split (never on test).

    Returns the per-seed validation scores (columns arm, model, lr, seed, score) and
    ``{arm name: chosen rate}``. Arms with the same options are tuned in one grid.
    """
    groups: dict[tuple, list[Arm]] = {}
    for a in arms:
        groups.setdefault(a.options, []).append(a)
    scores, best = [], {}
    for options, members in groups.items():
        table, chosen = tune_learning_rate(
            spec.with_validation(),
            rates,
            [a.model for a in members],
            seeds,
            results_dir,
            device,
            model_options=dict(options),
            **train_overrides,
        )
        names = {a.model: a.name for a in members}
        scores.append(table.assign(arm=table["model"].map(names)))
        best.update({names[m]: lr for m, lr in chosen.items()})
    return pd.concat(scores, ignore_index=True), best


def final_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run: the last epoch of each (arm, dataset, seq_len, seed, batch_size)."""
    keys = ["arm", "dataset", "seq_len", "seed", "batch_size"]
    last = frame.groupby(keys)["epoch"].transform("max")
    return frame[frame["epoch"] == last].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# trivial forecasters and statistics


def trivial_forecasts(spec: Protocol, seq_len: int | None = None) -> pd.DataFrame:
    """Persistence and AR(p) (p = seq_len, least squares on the training windows) on every
    split of the protocol's data: columns dataset, forecaster, split, mse, mae, r2."""
    seq_len = seq_len or spec.seq_lens[0]
    data = load_dataset(spec.dataset, seq_len, **dict(spec.data_options))
    rows = [
        {"dataset": spec.dataset, "forecaster": name, "split": split, **scores}
        for name, splits in baseline_metrics(data).items()
        for split, scores in splits.items()
    ]
    return pd.DataFrame(rows, columns=["dataset", "forecaster", "split", "mse", "mae", "r2"])


def compare_family(
    final: pd.DataFrame,
    pairs: Sequence[tuple[str, str, str]],
    fixed: Mapping[str, float] | None = None,
    metric: str = METRIC,
    alpha: float = ALPHA,
    n_boot: int = 4000,
    rng: int = 0,
) -> pd.DataFrame:
    """Every comparison of ``pairs`` (see :func:`claim_pairs`) with ONE Holm correction.

    ``final`` holds one score per (arm, seed) row; ``fixed`` maps a deterministic forecaster's
    name to its single score (compared by a one-sample signed-rank test of the seeds against
    it). Returns the :func:`qkan_lib.statistics.compare_models` columns plus ``kind``, with
    ``p_holm`` and ``verdict`` recomputed over the whole family.
    """
    rows = []
    for a, b, kind in pairs:
        if kind == "fixed":
            if b not in (fixed or {}):
                raise ValueError(f"no fixed value for {b!r}; pass fixed={{{b!r}: score}}")
            left = final[final["arm"] == a]
            frame = pd.concat([left, left.assign(arm=b, **{metric: fixed[b]})])
            row = compare_models(
                frame, metric, [(a, b)], paired=True, model_col="arm", n_boot=n_boot, rng=rng
            )
            row["test"] = "signed-rank vs fixed value"
        else:
            row = compare_models(
                final,
                metric,
                [(a, b)],
                paired=kind == "paired",
                model_col="arm",
                n_boot=n_boot,
                rng=rng,
            )
        rows.append(row.assign(kind=kind))
    return holm_verdicts(pd.concat(rows, ignore_index=True), "rank_effect", alpha=alpha)


def arm_summary(
    final: pd.DataFrame, by: Sequence[str] = ("arm",), metric: str = METRIC
) -> pd.DataFrame:
    """n, mean, std, median, min, max of ``metric`` per group (flat columns)."""
    return seed_summary(final, metric, by=by).reset_index()


def paper_agreement_cells(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """For every paper R^2 cell (model, epoch) of the models we trained: our seed count,
    seed range and whether the paper's value lies inside it."""
    trained = frame[(frame["arm"].isin(MODELS)) & (frame["dataset"] == dataset)]
    models = [m for m in MODELS if m in set(trained["arm"])]
    cells = paper_cells({m: PAPER_R2[dataset][m] for m in models}, R2_EPOCHS)
    table = paper_agreement(
        trained.assign(model=trained["arm"]), METRIC, cells, by=("model", "epoch"), method="range"
    )
    return table.assign(dataset=dataset)


def parameter_counts(arms: Sequence[Arm], datasets: Sequence[str]) -> pd.DataFrame:
    """Trainable parameters (classical, quantum, total) of every arm on every dataset."""
    rows = []
    for dataset in datasets:
        for a in arms:
            counts = count_parameters(build_model(a.model, dataset, **dict(a.options)))
            rows.append({"dataset": dataset, "arm": a.name, "label": a.label, **counts})
    return pd.DataFrame(rows, columns=["dataset", "arm", "label", "classical", "quantum", "total"])


# ---------------------------------------------------------------------------------------------
# chapter 9


def baselines_evidence(
    results_dir: PathLike,
    full: bool = False,
    base_seed: int = 0,
    device: str = "auto",
    datasets: Sequence[str] = ("damped_shm", "bessel"),
    progress: bool | None = None,
) -> dict:
    """Chapter 9's findings (trains what is missing, else reloads). Keys of the returned dict:

    * ``"frame"``: every epoch of every run (results_frame columns + ``arm``, ``protocol``);
    * ``"summary"``: protocol, dataset, arm, n, mean, std, median, min, max, q_low, q_high of
      the last-epoch test R^2;
    * ``"comparisons"``: protocol, dataset, a, b, kind, test, n_a, n_b, medians, ``effect``
      (difference of medians a - b, paired: median of differences) with ``effect_ci_low`` /
      ``effect_ci_high``, ``rank_effect`` (+ CI), ``p_raw``, ``p_holm`` (Holm over all rows of
      one protocol), ``verdict``;
    * ``"trivial"``: dataset, forecaster, split, mse, mae, r2 of persistence and AR(p);
    * ``"agreement"``: protocol, dataset, model, epoch, n, low, high, paper, inside;
    * ``"agreement_counts"``: protocol, dataset, inside, cells, n_seeds, models;
    * ``"rates"``: protocol, dataset, arm, lr (the tuned learning rates);
    * ``"tuning"``: protocol, dataset, arm, model, lr, seed, score (validation MSE);
    * ``"parameters"``: dataset, arm, label, classical, quantum, total;
    * ``"seeds"``: {"tuning": tuple, "evaluation": tuple}; ``"wall_s"``: seconds this call took.

    Protocol "batch10" is the reference (batch 10); "batch1" has batch size 1 (about ten times
    more optimiser steps per epoch) for the paper's models only; its rates are tuned on
    validation at batch 1 in the full protocol and taken from "batch10" in the quick one,
    which also runs it on :data:`BATCH1_QUICK_DATASETS` only.
    """
    start = time.perf_counter()
    seeds = evaluation_seeds(full, base_seed)
    frames, tunings, rates, trivial, agreements = [], [], [], [], []
    for dataset in datasets:
        spec = protocol(dataset, full)
        tune_seeds = spec.seeds(base_seed)
        scores, best = tuned_rates(
            spec, baseline_arms(full), TUNING_RATES[full], tune_seeds, results_dir, device
        )
        frames.append(
            run_arms(spec, baseline_arms(full), seeds, results_dir, best, device, progress).assign(
                protocol="batch10"
            )
        )
        tunings.append(scores.assign(protocol="batch10", dataset=dataset))
        rates += [
            {"protocol": "batch10", "dataset": dataset, "arm": k, "lr": v} for k, v in best.items()
        ]
        if not full and dataset not in BATCH1_QUICK_DATASETS:
            trivial.append(trivial_forecasts(spec))
            continue
        if full:
            scores1, best1 = tuned_rates(
                spec,
                paper_arms(full),
                TUNING_RATES[full],
                tune_seeds,
                results_dir,
                device,
                batch_size=1,
            )
            tunings.append(scores1.assign(protocol="batch1", dataset=dataset))
        else:
            best1 = {a.name: best[a.name] for a in paper_arms(full)}
        frames.append(
            run_arms(
                spec, paper_arms(full), seeds, results_dir, best1, device, progress, batch_size=1
            ).assign(protocol="batch1")
        )
        rates += [
            {"protocol": "batch1", "dataset": dataset, "arm": k, "lr": v} for k, v in best1.items()
        ]
        trivial.append(trivial_forecasts(spec))
    frame = pd.concat(frames, ignore_index=True)
    trivial_table = pd.concat(trivial, ignore_index=True)
    final = final_scores(frame)
    comparisons, summaries, counts = [], [], []
    for name in PROTOCOL_LABELS:
        chosen = final[final["protocol"] == name]
        rows = []
        for dataset in [d for d in datasets if d in set(chosen["dataset"])]:
            part = chosen[chosen["dataset"] == dataset]
            fixed = _fixed_scores(trivial_table, dataset)
            table = compare_family(part, claim_pairs(set(part["arm"])), fixed)
            rows.append(table.assign(dataset=dataset))
            agreements.append(
                paper_agreement_cells(frame[frame["protocol"] == name], dataset).assign(
                    protocol=name
                )
            )
        family = pd.concat(rows, ignore_index=True)
        family = _reholm(family)
        comparisons.append(family.assign(protocol=name))
        summaries.append(arm_summary(chosen, by=("dataset", "arm")).assign(protocol=name))
        for agreement in [a for a in agreements if a["protocol"].iloc[0] == name]:
            inside, cells = count_inside(agreement)
            counts.append(
                {
                    "protocol": name,
                    "dataset": agreement["dataset"].iloc[0],
                    "inside": inside,
                    "cells": cells,
                    "n_seeds": len(seeds),
                    "models": ", ".join(sorted(set(agreement["model"]))),
                }
            )
    return {
        "frame": frame,
        "summary": pd.concat(summaries, ignore_index=True),
        "comparisons": pd.concat(comparisons, ignore_index=True),
        "trivial": trivial_table,
        "agreement": pd.concat(agreements, ignore_index=True),
        "agreement_counts": pd.DataFrame(counts),
        "rates": pd.DataFrame(rates),
        "tuning": pd.concat(tunings, ignore_index=True),
        "parameters": parameter_counts(baseline_arms(full), datasets),
        "seeds": {"tuning": protocol(datasets[0], full).seeds(base_seed), "evaluation": seeds},
        "wall_s": time.perf_counter() - start,
    }


def _fixed_scores(trivial: pd.DataFrame, dataset: str) -> dict[str, float]:
    rows = trivial[(trivial["dataset"] == dataset) & (trivial["split"] == "test")]
    return dict(zip(rows["forecaster"], rows["r2"]))


def _reholm(table: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Holm over every row of ``table`` (one family), verdicts recomputed."""
    return holm_verdicts(table, "rank_effect", alpha=alpha)


# ---------------------------------------------------------------------------------------------
# chapter 10

QUICK_NARMA_EPOCHS = 10  # NARMA has about 4x the training windows of Damped SHM


def closed_loop_scores(
    frame: pd.DataFrame, spec: Protocol, arms: Sequence[Arm], results_dir: PathLike, horizon: int
) -> pd.DataFrame:
    """Closed-loop forecasts of the test part from every stored run of ``arms`` in ``frame``
    (a :func:`run_arms` frame; models rebuilt with :func:`qkan_lib.experiments.trained_model`) and
    of persistence and
    AR(p): columns arm, seed, horizon, mse, mae, r2 (seed -1 for the deterministic ones)."""
    horizon = check_positive_int(horizon, "horizon")
    data = load_dataset(spec.dataset, spec.seq_lens[0], **dict(spec.data_options))
    rows = []
    final = final_scores(frame)
    for a in arms:
        for r in final[final["arm"] == a.name].itertuples():
            experiment = load_result(Path(results_dir) / r.result_file).experiment
            model, _ = trained_model(experiment, results_dir)
            x, y = data.x_test.to(next(model.parameters()).dtype), data.y_test
            rows += [
                {"arm": a.name, "seed": r.seed, **m}
                for m in horizon_metrics(model, x, y.to(x.dtype), horizon)
            ]
    ar = LinearAutoregression().fit(data.x_train, data.y_train)
    for name, predict in (("persistence", persistence_forecast), ("ar", ar.predict)):
        rows += [
            {"arm": name, "seed": -1, **m}
            for m in horizon_metrics(FixedForecaster(predict), data.x_test, data.y_test, horizon)
        ]
    return pd.DataFrame(rows, columns=["arm", "seed", "horizon", "mse", "mae", "r2"])


def ablations_and_harder_evidence(
    results_dir: PathLike,
    full: bool = False,
    base_seed: int = 0,
    device: str = "auto",
    horizon: int = 20,
    progress: bool | None = None,
) -> dict:
    """Chapter 10's findings (trains what is missing, else reloads). Keys of the returned dict:

    * ``"ablation_frame"`` / ``"harder_frame"``: every epoch of every run (+ ``arm``);
    * ``"ablation_summary"``: arm, n, mean, std, median, min, max of the last-epoch test R^2
      on Damped SHM; ``"ablation_comparisons"``: each variant against its default model
      (Mann-Whitney, Holm over the ablation family), compare_family columns;
    * ``"harder_summary"``: dataset, arm, n, ...; ``"harder_comparisons"``: dataset + the
      compare_family columns of :func:`claim_pairs` on each harder dataset (one Holm family);
    * ``"harder_trivial"``: dataset, forecaster, split, mse, mae, r2;
    * ``"closed_loop"``: arm, seed, horizon, mse, mae, r2 on the Damped SHM test part (the
      batch-10 runs of chapter 9); ``"closed_loop_comparisons"``: claim_pairs at the last
      horizon (metric r2, one Holm family);
    * ``"rates"``: dataset, arm, lr; ``"parameters"``: the ablation arms' counts on Damped SHM;
    * ``"seeds"``, ``"horizon"``, ``"wall_s"``.

    Rates: the ablations use their default model's rate tuned on Damped SHM (chapter 9); the
    harder datasets are tuned on their own validation split in the full protocol and take the
    Damped SHM rates in the quick one (which also trains NARMA for
    :data:`QUICK_NARMA_EPOCHS` epochs instead of 30).
    """
    start = time.perf_counter()
    seeds = evaluation_seeds(full, base_seed)
    shm = protocol("damped_shm", full)
    _, shm_best = tuned_rates(
        shm, baseline_arms(full), TUNING_RATES[full], shm.seeds(base_seed), results_dir, device
    )
    # ablations
    ablations = ablation_arms()
    ablation_rates = {a.name: shm_best[a.model] for a in ablations}
    ablation_frame = run_arms(shm, ablations, seeds, results_dir, ablation_rates, device, progress)
    ablation_final = final_scores(ablation_frame)
    pairs = [(a.name, a.model, "independent") for a in ablations if a.options]
    ablation_comparisons = compare_family(ablation_final, pairs)
    rates = [
        {"dataset": "damped_shm (ablations)", "arm": k, "lr": v} for k, v in ablation_rates.items()
    ]
    # harder tasks
    frames, trivial, summaries, comparisons = [], [], [], []
    for dataset in HARDER_DATASETS:
        spec = protocol(dataset, full)
        overrides = (
            {} if full or not dataset.startswith("narma") else {"epochs": QUICK_NARMA_EPOCHS}
        )
        if full:
            _, best = tuned_rates(
                spec,
                baseline_arms(full),
                TUNING_RATES[full],
                spec.seeds(base_seed),
                results_dir,
                device,
            )
        else:
            best = dict(shm_best)
        frame = run_arms(
            spec, baseline_arms(full), seeds, results_dir, best, device, progress, **overrides
        )
        frames.append(frame)
        trivial.append(trivial_forecasts(spec))
        final = final_scores(frame)
        table = compare_family(
            final, claim_pairs(set(final["arm"])), _fixed_scores(trivial[-1], dataset)
        )
        comparisons.append(table.assign(dataset=dataset))
        summaries.append(arm_summary(final).assign(dataset=dataset))
        rates += [{"dataset": dataset, "arm": k, "lr": v} for k, v in best.items()]
    # closed loop on Damped SHM, from chapter 9's batch-10 runs
    closed_arms = baseline_arms(full)
    shm_frame = run_arms(shm, closed_arms, seeds, results_dir, shm_best, device, progress)
    closed = closed_loop_scores(shm_frame, shm, closed_arms, results_dir, horizon)
    last = closed[closed["horizon"] == horizon]
    fixed = dict(zip(last[last["seed"] < 0]["arm"], last[last["seed"] < 0]["r2"]))
    closed_comparisons = compare_family(
        last[last["seed"] >= 0], claim_pairs(set(last["arm"])), fixed, metric="r2"
    )
    return {
        "ablation_frame": ablation_frame,
        "ablation_summary": arm_summary(ablation_final),
        "ablation_comparisons": ablation_comparisons,
        "harder_frame": pd.concat(frames, ignore_index=True),
        "harder_summary": pd.concat(summaries, ignore_index=True),
        "harder_comparisons": _reholm(pd.concat(comparisons, ignore_index=True)),
        "harder_trivial": pd.concat(trivial, ignore_index=True),
        "closed_loop": closed,
        "closed_loop_comparisons": closed_comparisons,
        "rates": pd.DataFrame(rates),
        "parameters": parameter_counts(ablations, ("damped_shm",)),
        "seeds": {"tuning": shm.seeds(base_seed), "evaluation": seeds},
        "horizon": horizon,
        "wall_s": time.perf_counter() - start,
    }


# ---------------------------------------------------------------------------------------------
# tables for display (DataFrames of formatted strings)


def arm_label(name: str) -> str:
    """The display label of an arm name (e.g. "QKAN-LSTM (L = 2)") or a forecaster name
    (:func:`qkan_lib.evidence.display.display_name`)."""
    return display_name(name)


def format_summary(summary: pd.DataFrame, by: Sequence[str] = (), digits: int = 4) -> pd.DataFrame:
    """An arm_summary table for display: 'mean ± std', 'median [min, max]' and n per arm."""
    rows = []
    for r in summary.itertuples():
        rows.append(
            {
                **{k: display_name(getattr(r, k)) for k in by},
                "model": arm_label(r.arm),
                "n seeds": r.n,
                "mean ± std": " ± ".join(numbers([r.mean, r.std], digits)),
                "median [min, max]": interval(r.median, r.min, r.max, digits),
            }
        )
    return page_table(pd.DataFrame(rows).set_index(list(by) + ["model"]))


TEST_COLUMN = "test: a − b is"  # comparison_rows' column naming the test and the effect


def comparison_rows(table: pd.DataFrame, by: Sequence[str] = (), digits: int = 3) -> pd.DataFrame:
    """A compare_family table with every field a reader may want, one row per comparison: the
    test and what its effect a − b is, n, effect [95% CI], rank effect, raw and Holm p, verdict.
    Too wide for a page (the archive report prints it); chapters show
    :func:`format_comparisons`."""
    rows = []
    for r in table.itertuples():
        rows.append(
            {
                **{k: display_name(getattr(r, k)) for k in by},
                "comparison": f"{arm_label(r.a)} vs {arm_label(r.b)}",
                TEST_COLUMN: f"{TEST_LABELS.get(r.test, r.test)}: {r.effect_statistic}",
                "n": _seed_text(r),
                "a − b [95% CI]": interval(
                    r.effect, r.effect_ci_low, r.effect_ci_high, digits, sign=True
                ),
                "rank effect": number(r.rank_effect, 2, sign=True),
                "p (raw)": p_value(r.p_raw),
                "p (Holm)": p_value(r.p_holm),
                "verdict": _verdict_text(r.verdict),
            }
        )
    return page_table(pd.DataFrame(rows).set_index(list(by) + ["comparison"]))


def _seed_text(r) -> str:
    return f"{r.n_a}/{r.n_b}" if r.kind != "fixed" else f"{r.n_a} vs 1 value"


def format_comparisons(
    table: pd.DataFrame, by: Sequence[str] = (), digits: int = 3
) -> pd.DataFrame:
    """A compare_family table for the page: a − b [95% CI], rank effect, Holm p and verdict
    per comparison, in few short columns (issue 25: nine columns wrapped word by word at 1280
    px). The test, what a − b is and the seeds are the same for many rows: they go into the
    caption, as :func:`comparison_key` says them from the same rows; a seed count that differs
    between rows stays in an "n" column. The raw p, which decides nothing once Holm has
    corrected it, stays in the archive report (:func:`comparison_rows`): on the page it
    squeezed the verdicts to one word per line."""
    full = comparison_rows(table, by, digits)
    shown = full.drop(columns=[TEST_COLUMN, "p (raw)"]).rename(columns={"p (Holm)": "Holm p"})
    shown["verdict"] = shown["verdict"].replace({NO_DIFFERENCE: NOT_SIGNIFICANT})
    if _common_seeds(table) is not None:
        shown = shown.drop(columns="n")
    return page_table(shown)


NOT_SIGNIFICANT = "not significant"  # the page's short word for NO_DIFFERENCE


def _common_seeds(table: pd.DataFrame) -> int | None:
    """The seed count of every model in ``table`` when it is one number, else None."""
    counts = set(table["n_a"]) | set(table.loc[table["kind"] != "fixed", "n_b"])
    return int(counts.pop()) if len(counts) == 1 else None


def comparison_key(table: pd.DataFrame) -> str:
    """What :func:`format_comparisons` leaves out, for its caption, from the same rows: per
    test, its name, the comparisons it decides (by their second model b) and what a − b is
    (the statistic each row's effect is), and the seeds per model when they are one number."""
    parts = []
    for test, rows in table.groupby("test", sort=False):
        against = listing(list(dict.fromkeys(arm_label(b) for b in rows["b"])))
        statistics = listing(list(dict.fromkeys(rows["effect_statistic"])))
        parts.append(
            f"{TEST_LABELS.get(test, test)} against {against} (a − b: the {statistics})"
        )
    seeds = _common_seeds(table)
    if seeds is not None:
        parts.append(f"{seeds} seeds per model")
    return "; ".join(parts)  # a fragment for a caption


def _verdict_text(verdict: str) -> str:
    if verdict == NO_DIFFERENCE:
        return verdict
    return f"{arm_label(verdict.removesuffix(' better'))} better"


def comparison_labels(table: pd.DataFrame, by: Sequence[str] = ()) -> list[str]:
    """Row labels for a forest plot of a compare_family table."""
    prefix = [
        " · ".join(DATASET_LABELS.get(str(getattr(r, k)), str(getattr(r, k))) for k in by)
        for r in table.itertuples()
    ]
    return [
        f"{p + ': ' if p else ''}{arm_label(r.a)} − {arm_label(r.b)}"
        for p, r in zip(prefix, table.itertuples())
    ]


def format_agreement(agreement: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Paper R^2 cells beside our seed range: dataset, model, epoch, n, range, paper, inside."""
    rows = [
        {
            "dataset": display_name(r.dataset),
            "model": arm_label(r.model),
            "epoch": r.epoch,
            "n seeds": r.n,
            "our seed range": "[{}, {}]".format(*numbers([r.low, r.high], digits)),
            "paper": number(r.paper, digits),
            "inside": "yes" if r.inside else "no",
        }
        for r in agreement.itertuples()
    ]
    return page_table(pd.DataFrame(rows).set_index(["dataset", "model", "epoch"]))


def format_trivial(
    trivial: pd.DataFrame, paper: Mapping[str, Mapping] | None = None, digits: int = 4
) -> pd.DataFrame:
    """Test R^2 of persistence and AR(p) per dataset beside the paper's last-epoch R^2 range."""
    paper = PAPER_R2 if paper is None else paper
    rows = []
    for r in trivial[trivial["split"] == "test"].itertuples():
        row = {
            "dataset": display_name(r.dataset),
            "forecaster": arm_label(r.forecaster),
            "test R²": number(r.r2, digits),
            "test MSE": scientific(r.mse, 3),
        }
        if r.dataset in paper:
            last = [v[-1] for v in paper[r.dataset].values() if v[-1] is not None]
            row["paper's epoch-30 R² (min – max)"] = f"{min(last):.4f} – {max(last):.4f}"
            row["reaches every paper value"] = "yes" if r.r2 >= max(last) else "no"
        rows.append(row)
    return page_table(pd.DataFrame(rows).set_index(["dataset", "forecaster"]))


def trivial_verdict(trivial: pd.DataFrame, paper: Mapping[str, Mapping] | None = None) -> str:
    """A computed statement: do the trivial forecasters reach the paper's final R^2 values?
    Per forecaster, the datasets on which it reaches every, some or none of them (the
    numbers are in :func:`format_trivial`'s table)."""
    paper = PAPER_R2 if paper is None else paper
    test = trivial[(trivial["split"] == "test") & trivial["dataset"].isin(list(paper))]
    reach: dict[str, dict[str, list[str]]] = {}
    for r in test.itertuples():
        last = [v[-1] for v in paper[r.dataset].values() if v[-1] is not None]
        beats = sum(r.r2 >= v for v in last)
        kind = "every" if beats == len(last) else "none" if beats == 0 else "some"
        where = DATASET_LABELS.get(r.dataset, r.dataset)
        reach.setdefault(arm_label(r.forecaster), {}).setdefault(kind, []).append(where)
    words = {
        "every": "reaches every epoch-30 value the paper reports on",
        "some": "reaches some of the paper's epoch-30 values on",
        "none": "reaches none of the paper's epoch-30 values on",
    }
    parts = [
        f"{name} {words[kind]} {listing(where)}"
        for name, kinds in reach.items()
        for kind, where in kinds.items()
    ]
    ar = reach.get(arm_label("ar"), {})
    conclusion = (
        " A linear autoregression fitted in closed form already reaches every value the "
        "paper reports on these tasks, so they cannot measure the expressivity of a "
        "gate map."
        if ar and set(ar) == {"every"}
        else " The trivial forecasters do not reach every value the paper reports, so the "
        "tasks leave room for a model's expressivity to show."
    )
    return sentence("; ".join(parts) + ".") + conclusion


def agreement_sentence(counts: pd.DataFrame) -> str:
    """Which protocol puts more of the paper's R^2 cells inside our seed range (computed).

    ``counts`` has one row per (protocol, dataset); the protocols are compared on the
    datasets that every protocol ran, so both counts cover the same paper cells.
    """
    protocols = list(dict.fromkeys(counts["protocol"]))
    common = [
        d
        for d in dict.fromkeys(counts["dataset"])
        if all(((counts["protocol"] == p) & (counts["dataset"] == d)).any() for p in protocols)
    ]
    shared = (
        counts[counts["dataset"].isin(common)]
        .groupby("protocol", sort=False)
        .agg(inside=("inside", "sum"), cells=("cells", "sum"), n_seeds=("n_seeds", "min"))
    )
    where = " and ".join(DATASET_LABELS.get(d, d) for d in common)
    parts = [
        f"{PROTOCOL_LABELS.get(p, p)}: {r.inside} of {r.cells} cells inside our range of "
        f"{r.n_seeds} seeds"
        for p, r in shared.iterrows()
    ]
    text = f"On {where}, " + "; ".join(parts) + "."
    # a new draw from our seeds' distribution falls inside the range of n seeds with
    # probability (n - 1) / (n + 1): the count to expect if the paper's runs were like ours
    expected = (shared["cells"] * (shared["n_seeds"] - 1) / (shared["n_seeds"] + 1)).round()
    text += (
        f" Runs like ours would put about {listing([count(e) for e in sorted(set(expected))])}"
        f" of {listing([count(c) for c in sorted(set(shared['cells']))])} inside."
    )
    if len(shared) < 2:
        return text
    share = shared["inside"] / shared["cells"]
    ranked = share.sort_values(ascending=False).index
    best, runner_up = ranked[0], ranked[1]
    # the counts of two protocols compared by Fisher's exact test: a cell or two more
    # inside is no evidence that one protocol reproduces the paper better
    table = [[int(shared.loc[k, "inside"]), int(shared.loc[k, "cells"] - shared.loc[k, "inside"])]
             for k in (best, runner_up)]  # fmt: skip
    p = float(scipy.stats.fisher_exact(table)[1])
    if share.nunique() == 1 or p >= ALPHA:
        return text + (
            " Neither protocol reproduces the paper's values clearly better than the other "
            f"(Fisher's exact test on the counts, p = {p_value(p)})."
        )
    return text + (
        f" The {PROTOCOL_LABELS.get(best, best)} protocol reproduces the paper's values better "
        f"(more of its cells lie inside our seed range; Fisher's exact test, p = {p_value(p)})."
    )


def comparison_sentence(table: pd.DataFrame) -> str:
    """What a family of comparisons says, in one or two sentences (the table enumerates them):
    how many are significant after Holm's correction and which model wins those, grouped by
    the winner; up to three significant comparisons are named one by one."""
    n = len(table)
    where = (
        (lambda r: f" on {DATASET_LABELS.get(r.dataset, r.dataset)}")
        if ("dataset" in table.columns and table["dataset"].nunique() > 1)
        else (lambda r: "")
    )
    significant = [r for r in table.itertuples() if r.verdict != NO_DIFFERENCE]
    if not significant:
        return (
            f"None of the {n} comparisons is significant after Holm's correction: with these "
            "seeds the data cannot tell these models apart."
        )
    are = "is" if len(significant) == 1 else "are"
    head = f"{len(significant)} of the {n} comparisons {are} significant after Holm's correction"
    if len(significant) <= 3:
        # "the first/second is better": a variant and its default can share a model name
        head += ": " + "; ".join(
            f"in {arm_label(r.a)} vs {arm_label(r.b)}{where(r)} the "
            f"{'first' if r.verdict == f'{r.a} better' else 'second'} is better "
            f"(Holm p {p_value(r.p_holm)})"
            for r in significant
        )
    else:
        winners: dict[str, int] = {}
        for r in significant:
            winner = _verdict_text(r.verdict).removesuffix(" better")
            winners[winner] = winners.get(winner, 0) + 1
        side = (  # which side of "a vs b" wins, when it is always the same
            "; in every one the second model is better: "
            if all(r.verdict == f"{r.b} better" for r in significant)
            else "; in every one the first model is better: "
            if all(r.verdict == f"{r.a} better" for r in significant)
            else "; the better model there is "
        )
        head += side + listing(
            f"{w} in {k}" for w, k in sorted(winners.items(), key=lambda i: -i[1])
        )
    rest = n - len(significant)
    tail = (
        "; the other one shows no significant difference."
        if rest == 1
        else f"; the other {rest} show no significant difference."
        if rest
        else "."
    )
    return sentence(head + tail)


def count_verdicts(table: pd.DataFrame, model: str) -> dict[str, int]:
    """How often ``model`` (as a) is better, worse, or not distinguishable in a family."""
    rows = table[table["a"] == model]
    better = int((rows["verdict"] == f"{model} better").sum())
    same = int((rows["verdict"] == NO_DIFFERENCE).sum())
    return {
        "better": better,
        "worse": len(rows) - better - same,
        "no difference": same,
        "comparisons": len(rows),
    }


def fixed_lines(
    trivial: pd.DataFrame,
    dataset_labels: Mapping[str, str] | None = None,
    forecasters: Iterable[str] = tuple(FORECASTERS),
) -> dict:
    """``{dataset: {forecaster label: test R^2}}`` for :func:`qkan_lib.stats_plots.plot_seed_scores`
    (only the named ``forecasters``)."""
    test = trivial[(trivial["split"] == "test") & trivial["forecaster"].isin(list(forecasters))]
    name = (lambda d: d) if dataset_labels is None else (lambda d: dataset_labels.get(d, d))
    return {
        name(d): {arm_label(f): float(r) for f, r in zip(g["forecaster"], g["r2"])}
        for d, g in test.groupby("dataset", sort=False)
    }


def smallest_p(kind: str, n_a: int, n_b: int | None = None) -> float:
    """The smallest two-sided p-value the family's exact rank tests can reach with these seeds.

    Signed-rank ("paired", "fixed"): all n differences of one sign, p = 2 / 2^n. Mann-Whitney
    ("independent"): complete separation, p = 2 / C(n_a + n_b, n_a). With few seeds this bound
    can exceed alpha: then no correction is even needed for the test to be unable to reject.
    """
    n_a = check_positive_int(n_a, "n_a")
    if kind in ("paired", "fixed"):
        return min(1.0, 2.0 / 2**n_a)
    if kind != "independent":
        raise ValueError(f"kind must be 'independent', 'paired' or 'fixed', got {kind!r}")
    n_b = check_positive_int(n_b, "n_b")
    return min(1.0, 2.0 / comb(n_a + n_b, n_a))


def _reachable(table: pd.DataFrame) -> dict:
    """(test, n_a, n_b or None) -> the smallest p its exact test reaches (:func:`smallest_p`)."""
    bounds = {}
    for r in table.itertuples():
        bounds.setdefault(
            (r.test, r.n_a, r.n_b if r.kind == "independent" else None),
            smallest_p(r.kind, r.n_a, r.n_b),
        )
    return bounds


def _listed(bounds: dict) -> str:
    return ", ".join(
        f"{p_value(p)} ({TEST_LABELS.get(test, test)}, n = {na}{f'/{nb}' if nb else ''})"
        for (test, na, nb), p in bounds.items()
    )


def families_power_sentence(families: Mapping[str, pd.DataFrame], alpha: float = ALPHA) -> str:
    """:func:`power_sentence` for several Holm families at once (``families``: words naming
    each family's place, e.g. "the baselines chapter", to its comparison table): the smallest
    p-value each test reaches with its seeds, and per family the Holm threshold α/m and
    whether some comparison of it can reach it."""
    if not families:
        raise ValueError("families must name at least one family of comparisons")
    bounds, parts, blocked = {}, [], []
    for where, table in families.items():
        mine = _reachable(table)
        bounds.update(mine)
        m = len(table)
        parts.append(f"over the {m} comparisons of {where} unless some p is below "
                     f"α/{m} = {significant(alpha / m, 3)}")  # fmt: skip
        if min(mine.values()) >= alpha / m:
            blocked.append(where)
    if not blocked:
        verdict = "so in each family a clear enough difference can be declared significant"
    else:
        verdict = (
            f"so NO comparison of {listing(blocked)} can be declared significant, whatever "
            "the scores: more seeds are needed before any verdict of 'better' or 'worse' there"
        )
    return (
        f"With these seed counts the smallest p-value each test can reach is "
        f"{_listed(bounds)}; Holm's correction rejects nothing {'; '.join(parts)}, {verdict}."
    )


def power_sentence(table: pd.DataFrame, alpha: float = ALPHA) -> str:
    """A computed sentence: can this family of tests reject anything with its seed counts?

    Holm rejects nothing unless the smallest p of the family is below alpha / m (m tests), so
    if no test can reach that with its seed count, no verdict but "no significant difference"
    is possible, whatever the scores.
    """
    m = len(table)
    threshold = alpha / m
    bounds = _reachable(table)
    listed = _listed(bounds)
    if min(bounds.values()) >= threshold:
        verdict = (
            "so NO comparison of this family can be declared significant, whatever the "
            "scores: more seeds are needed before any verdict of 'better' or 'worse'"
        )
    else:
        verdict = "so a clear enough difference can be declared significant"
    return (
        f"With these seed counts the smallest p-value each test can reach is {listed}; "
        f"Holm's correction over the {m} comparisons rejects nothing unless some p is below "
        f"α/{m} = {significant(threshold, 3)}, {verdict}."
    )
