"""A noiselessly trained model deployed on a device model: every DARUAN of every QKAN layer is
evaluated by :func:`qkan_lib.core.noise.noisy_daruan` (channels, readout error, shots), and the
test R² is compared with the exact one, without retraining.

Also the error of a single DARUAN per device, and the readout the reference library uses by
default, |alpha| - |beta|: on a device it can only come from the estimated probabilities,
sqrt(P0) - sqrt(P1) with P0 = (1 + <Z>)/2, which is what the layers compute from the noisy <Z>.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import torch

from ..core.daruan import evaluate_daruan
from ..core.noise import NoiseModel, check_shots, noisy_daruan, on_device
from ..data.devices import device_model_names, device_noise_models
from ..data.windows import SequenceData
from ..kernels.paths import reference_path
from ..models.registry import DATASET_LABELS, MODEL_LABELS
from ..runs.experiment import Experiment, PathLike, experiments_for, protocol
from ..runs.grid import run_grid
from ..runs.metrics import regression_metrics
from ..runs.run import (
    build_experiment_model,
    device_predictions,
    device_test_metrics,
    load_experiment_data,
    trained_model,
)
from ..runs.training import predict, train
from .display import count, listing, p_value, plural, sentence, significant
from .quantum_cost import cost_table, superconducting_timing, table_workloads
from .statistics import ALPHA, NO_DIFFERENCE, compare_models, holm_verdicts, median_interval
from .verdict import R2_TOLERANCE, device_feasibility

SHOT_BUDGETS = (100, 1000, 10000, None)  # None: the exact expectation on the device model
# The quick protocol deploys on these (best and worst Heron snapshot, an Eagle, a trapped ion).
QUICK_DEVICES = ("IBM Fez", "IBM Torino", "IBM Sherbrooke", "Quantinuum Helios")


def shots_label(shots: int | None) -> str:
    """ "100", "1,000", ... (:func:`~qkan_lib.evidence.display.count`) or "exact"."""
    return "exact" if shots is None else count(shots)


def deployment_experiments(full: bool = False) -> dict[str, list[Experiment]]:
    """The trained models chapter 13 deploys, by readout: the QKAN-LSTM of Table II (Damped
    SHM, <Z>) and the same model trained with the |alpha| - |beta| readout."""
    return {
        "expectation": experiments_for("damped_shm", ["qkan_lstm"], full=full),
        "amplitude": protocol("damped_shm", full).experiments(
            ["qkan_lstm"], model_options={"readout": "amplitude"}
        ),
    }


def deployment_devices(noise_models: Mapping[str, NoiseModel], full: bool = False) -> dict:
    """The device models a protocol deploys on: all of them (full) or :data:`QUICK_DEVICES`."""
    if full:
        return dict(noise_models)
    return {k: v for k, v in noise_models.items() if k.split(" (")[0] in QUICK_DEVICES}


# The deployed model's predictions: one home, the run path's (:mod:`qkan_lib.runs.run`).
deployed_predictions = device_predictions


def deployment_scores(
    models: Mapping[tuple[str, int], torch.nn.Module],
    data: SequenceData,
    noise_models: Mapping[str, NoiseModel],
    shots: Iterable[int | None] = SHOT_BUDGETS,
    repeats: int = 3,
) -> pd.DataFrame:
    """Test R² of each trained model (keyed ``(readout, seed)``) on each device model and shot
    budget, ``repeats`` shot seeds each, beside its exact (noiseless) test R².

    Columns: readout, seed, device, shots (:func:`shots_label`), repeat, test_r2, exact_r2,
    r2_lost.
    """
    shots = [check_shots(s) for s in shots]
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    rows = []
    for (readout, seed), model in models.items():
        exact = regression_metrics(predict(model, data.x_test), data.y_test)["r2"]
        n_test = data.x_test.shape[0]
        for device, noise in noise_models.items():
            for n in shots:
                count = repeats if n is not None else 1
                # the repeats are independent shot draws: one call on the test set stacked
                stacked = data.x_test.repeat(count, *(1,) * (data.x_test.dim() - 1))
                pred = deployed_predictions(model, stacked, noise, n, 1000 * seed + 17)
                for rep in range(count):
                    part = pred[rep * n_test : (rep + 1) * n_test]
                    r2 = regression_metrics(part, data.y_test)["r2"]
                    rows.append(
                        {
                            "readout": readout,
                            "seed": seed,
                            "device": device,
                            "shots": shots_label(n),
                            "repeat": rep,
                            "test_r2": r2,
                            "exact_r2": exact,
                            "r2_lost": exact - r2,
                        }
                    )
    return pd.DataFrame(rows)


def summarise_deployment(scores: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per (readout, device, shots), the test R² lost over the trained models: each seed's
    model is one draw (its shot repeats are averaged first, so they do not pass for more
    models), and mean, std, median and the median's distribution-free ``level`` interval
    ``low``, ``high`` (:func:`~qkan_lib.evidence.statistics.median_interval`; NaN with too few
    seeds) are taken over those per-seed losses; ``seeds`` counts them and ``count`` the
    scores (seeds times shot repeats)."""
    keys = ["readout", "device", "shots"]
    per_seed = scores.groupby(keys + ["seed"], sort=False)["r2_lost"].mean()
    rows = []
    for key, losses in per_seed.groupby(level=keys, sort=False):
        median, low, high = median_interval(losses.to_numpy(), level)
        rows.append(
            {
                **dict(zip(keys, key)),
                "mean": float(losses.mean()),
                "std": float(losses.std()),
                "median": median,
                "low": low,
                "high": high,
                "seeds": len(losses),
            }
        )
    counts = scores.groupby(keys, sort=False).size().rename("count").reset_index()
    return pd.DataFrame(rows).merge(counts, on=keys)


def daruan_device_errors(
    noise_models: Mapping[str, NoiseModel],
    reps: int = 2,
    circuits: int = 256,
    inputs: int = 64,
    seed: int = 0,
) -> pd.DataFrame:
    """How far a DARUAN's measured <Z> is from the exact value on each device model: random
    angles (uniform), encoding weights and biases (standard normal) and inputs (uniform in
    [-pi, pi]); the exact-expectation error (RMS and largest) and the shot standard error
    sqrt((1 - <Z>^2) / N) at N = 1000 (RMS), for comparison."""
    gen = torch.Generator().manual_seed(int(seed))
    theta = (
        torch.rand(circuits, reps + 1, 2, generator=gen, dtype=torch.float64) * 2 - 1
    ) * math.pi
    w = torch.randn(circuits, reps, generator=gen, dtype=torch.float64)
    b = torch.randn(circuits, reps, generator=gen, dtype=torch.float64)
    x = (torch.rand(inputs, 1, generator=gen, dtype=torch.float64) * 2 - 1) * math.pi
    exact = evaluate_daruan(x, theta, w, b)
    rows = []
    for device, noise in noise_models.items():
        noisy = noisy_daruan(x, theta, w, b, noise)
        err = (noisy - exact).numpy()
        shot_se = np.sqrt(np.mean((1 - noisy.numpy() ** 2) / 1000))
        rows.append(
            {
                "device": device,
                "rms_error": float(np.sqrt(np.mean(err**2))),
                "max_error": float(np.max(np.abs(err))),
                "shot_se_1000": float(shot_se),
            }
        )
    return pd.DataFrame(rows)


def train_on_device(
    experiment: Experiment,
    noise: NoiseModel,
    shots: int | None,
    epochs: int | None = None,
) -> dict:
    """Train ``experiment``'s model with every DARUAN run on ``noise`` with ``shots`` and every
    gradient from the parameter-shift rule on the same device model (fresh shots per shifted
    circuit, seeded by the experiment's seed); score it on the test split afterwards, noiselessly
    and on the device model with the same shots.

    Only the DARUANs are on the device (QKAN-LSTM, HQKAN-LSTM); the rest of the model is
    classical. Trains in this process, nothing is stored, and takes any noise model (the
    stored runs of :func:`device_training_experiments` take a named one). Returns ``{"test_r2",
    "device_test_r2", "epochs"}``: the test R² of the noiseless exact DARUAN and on the device
    model at the same shots."""
    config = experiment.train
    if epochs is not None:
        config = dataclasses.replace(config, epochs=epochs, record_epochs=(epochs,))
    config = dataclasses.replace(config, device="cpu", evaluate_train=False)
    data = load_experiment_data(experiment)
    torch.manual_seed(config.seed)
    model = build_experiment_model(experiment)
    with reference_path(), on_device(noise, shots, seed=config.seed):
        train(model, data, config, progress=False)
    scores = device_test_metrics(model, data, noise, shots, config.seed)
    return {
        "test_r2": scores["test_r2"],
        "device_test_r2": scores["device_test_r2"],
        "epochs": config.epochs,
    }


def device_training_scores(
    experiments: Iterable[Experiment],
    noise: NoiseModel,
    shots: Iterable[int | None],
    epochs: int | None = None,
) -> pd.DataFrame:
    """:func:`train_on_device` for every experiment and shot budget: columns model, seed,
    shots (:func:`shots_label`), test_r2 (noiseless exact evaluation), device_test_r2 (on the
    device model, same shots), epochs."""
    rows = []
    for experiment in experiments:
        for n in shots:
            out = train_on_device(experiment, noise, check_shots(n), epochs)
            rows.append(
                {"model": experiment.model, "seed": experiment.train.seed,
                 "shots": shots_label(n), **out}
            )  # fmt: skip
    return pd.DataFrame(rows)


# Training on a device model, stored like every run (TrainConfig.noise_device and shots): the
# models and datasets, the device model and the quick protocol's shortened training.
DEVICE_TRAINING_MODELS = ("qkan_lstm", "hqkan_lstm")
# For comparison, in the full protocol only (a QLSTM run on the device's per-step path costs
# several times a QKAN-LSTM's): its circuits' <Z_i> from shots, no gate or readout noise
# (:class:`qkan_lib.core.noise.ShiftRuleCircuit`).
SHOT_ONLY_MODELS = ("qlstm",)
DEVICE_TRAINING_DATASETS = ("damped_shm", "bessel")
TRAINING_DEVICE = "IBM Fez"
QUICK_TRAINING_SHOTS = (1000, None)
QUICK_TRAINING_EPOCHS = 5


def training_device_name(device: str = TRAINING_DEVICE) -> str:
    """The full device-model name (with its snapshot date) of a device's display name."""
    names = [n for n in device_model_names() if n.split(" (")[0] == device]
    if len(names) != 1:
        raise ValueError(f"device must name one device model, got {device!r}")
    return names[0]


def device_training_experiments(
    full: bool = False, base_seed: int = 0, device: str = "auto"
) -> list[Experiment]:
    """The runs trained on :data:`TRAINING_DEVICE`: each model of
    :data:`DEVICE_TRAINING_MODELS` (full: and :data:`SHOT_ONLY_MODELS`) on each dataset of
    :data:`DEVICE_TRAINING_DATASETS`, with
    the protocol's seeds and learning rate, at each shot budget (full: :data:`SHOT_BUDGETS`
    and the protocol's epochs; quick: :data:`QUICK_TRAINING_SHOTS` and
    :data:`QUICK_TRAINING_EPOCHS` epochs). The training split is scored after the last epoch
    only (its shots would cost as much again as the test's), and no predictions are kept
    (no figure draws them)."""
    noise_device = training_device_name()
    budgets = SHOT_BUDGETS if full else QUICK_TRAINING_SHOTS
    epochs = {} if full else {"epochs": QUICK_TRAINING_EPOCHS}
    models = DEVICE_TRAINING_MODELS + (SHOT_ONLY_MODELS if full else ())
    return [
        e
        for dataset in DEVICE_TRAINING_DATASETS
        for shots in budgets
        for e in protocol(dataset, full).experiments(
            models,
            base_seed,
            device=device,
            noise_device=noise_device,
            shots=shots,
            evaluate_train=False,
            record_epochs=(),
            **epochs,
        )
    ]


def device_training_frame(results) -> pd.DataFrame:
    """One row per stored run on a device model: model, dataset, seed, shots
    (:func:`shots_label`), test_r2 (scored noiselessly), device_test_r2 (on the device model
    with the run's shots), epochs."""
    rows = []
    for result in results:
        e = result.experiment
        if result.device_metrics is None:
            raise ValueError(f"{e.filename()} is not a run on a device model")
        rows.append(
            {
                "model": e.model,
                "dataset": e.dataset,
                "seed": e.train.seed,
                "shots": shots_label(e.train.shots),
                "test_r2": result.device_metrics["test_r2"],
                "device_test_r2": result.device_metrics["device_test_r2"],
                "epochs": e.train.epochs,
            }
        )
    return pd.DataFrame(rows)


def shot_comparisons(scores: pd.DataFrame, column: str = "test_r2") -> pd.DataFrame:
    """Each shot budget against training with exact expectations, per model and dataset, in
    ``column``: the paired Wilcoxon signed-rank test (a budget's run and the exact run of one
    seed start from the same initial model), the median of the per-seed differences and the
    matched-pairs rank-biserial correlation with bootstrap intervals
    (:func:`qkan_lib.evidence.statistics.compare_models`); Holm's correction over every
    comparison of the frame as one family (:func:`holm_verdicts`). Columns: model, dataset and
    those of ``compare_models`` (``a``: the budget, ``b``: "exact")."""
    parts = []
    for (model, dataset), group in scores.groupby(["model", "dataset"], sort=False):
        budgets = [s for s in dict.fromkeys(group["shots"]) if s != "exact"]
        if not budgets or "exact" not in set(group["shots"]):
            continue
        table = compare_models(
            group,
            column,
            [(b, "exact") for b in budgets],
            paired=True,
            model_col="shots",
        )
        parts.append(table.assign(model=model, dataset=dataset))
    if not parts:
        raise ValueError("scores need runs with exact expectations and with shots to compare")
    family = pd.concat(parts, ignore_index=True).drop(columns=["p_holm", "verdict"])
    return holm_verdicts(family, "rank_effect")


def smallest_signed_rank_p(n: int) -> float:
    """The smallest two-sided p-value the exact Wilcoxon signed-rank test can give with ``n``
    pairs (every difference of one sign): 2 / 2^n, capped at 1."""
    return min(1.0, 2.0 / 2**n)


def shot_comparison_sentence(comparisons: pd.DataFrame) -> str:
    """What a family of :func:`shot_comparisons` says: how many budgets differ from exact
    training after Holm's correction, and which way; when none can, why (the fewest seeds of a
    comparison cannot give a p-value below the level)."""
    n = len(comparisons)
    significant = comparisons[comparisons["verdict"] != NO_DIFFERENCE]
    if significant.empty:
        pairs = int(comparisons[["n_a", "n_b"]].min(axis=1).min())
        floor = smallest_signed_rank_p(pairs)
        why = (
            f"; with {plural(pairs, 'seed')} a paired signed-rank test cannot give p below "
            f"{p_value(floor)}"
            if floor >= ALPHA
            else ""
        )
        return sentence(
            f"none of the {n} comparisons of a shot budget with exact training is significant "
            f"after Holm's correction{why}."
        )
    are = "is" if len(significant) == 1 else "are"
    head = (
        f"{len(significant)} of the {n} comparisons of a shot budget with exact training {are} "
        "significant after Holm's correction"
    )
    below = significant["verdict"] == significant["b"].map("{} better".format)
    if len(significant) > 3:  # more than three is the table's job; the sentence counts
        counts = significant["a"].value_counts()
        totals = comparisons["a"].value_counts()
        per_budget = [
            f"{counts[budget]} of {totals[budget]} at {shots_text(budget)}"
            for budget in shot_order(comparisons["a"])
            if budget in counts
        ]
        direction = (
            "every one below exact training"
            if below.all()
            else f"{int(below.sum())} below and {int((~below).sum())} above exact training"
        )
        return sentence(f"{head} ({listing(per_budget)}), {direction}; the table lists them.")
    parts = [
        f"{shots_text(r.a)} {'below' if is_below else 'above'} exact "
        f"training for {MODEL_LABELS[r.model]} on {DATASET_LABELS[r.dataset]} "
        f"(Holm p {p_value(r.p_holm)})"
        for r, is_below in zip(significant.itertuples(), below)
    ]
    return sentence(f"{head}: {listing(parts)}.")


def shot_order(labels) -> list[str]:
    """Shot-budget labels (:func:`shots_label`) from the fewest shots to "exact"."""
    labels = list(dict.fromkeys(labels))
    return sorted(labels, key=lambda s: math.inf if s == "exact" else int(s.replace(",", "")))


def shots_text(label: str) -> str:
    """ "1,000 shots" from a :func:`shots_label`, "exact expectations" for "exact"."""
    return "exact expectations" if label == "exact" else f"{label} shots"


def budget_reaching_exact(
    scores: pd.DataFrame, column: str = "test_r2", tolerance: float = R2_TOLERANCE
) -> pd.DataFrame:
    """Per model and dataset, the smallest shot budget whose median ``column`` over seeds is
    at most ``tolerance`` below training with exact expectations (None: no budget is), with
    both medians. Columns: model, dataset, budget, median_exact, median_budget."""
    rows = []
    for (model, dataset), group in scores.groupby(["model", "dataset"], sort=False):
        medians = group.groupby("shots", sort=False)[column].median()
        exact = float(medians["exact"])
        budgets = shot_order(s for s in medians.index if s != "exact")
        reached = next((b for b in budgets if exact - medians[b] <= tolerance), None)
        rows.append(
            {
                "model": model,
                "dataset": dataset,
                "budget": reached,
                "median_exact": exact,
                "median_budget": None if reached is None else float(medians[reached]),
            }
        )
    return pd.DataFrame(rows)


def budget_sentence(reached: pd.DataFrame, tolerance: float = R2_TOLERANCE) -> str:
    """One sentence from :func:`budget_reaching_exact`: which model and dataset reach the exact
    training's median test R² (within ``tolerance``) at which budget, and which at none."""
    where = lambda r: f"{MODEL_LABELS[r.model]} on {DATASET_LABELS[r.dataset]}"  # noqa: E731
    hit = [
        f"{where(r)} from {shots_text(r.budget)}"
        for r in reached.itertuples()
        if not pd.isna(r.budget)
    ]
    miss = [where(r) for r in reached.itertuples() if pd.isna(r.budget)]
    within = significant(tolerance, 3)
    if not miss:
        return sentence(
            f"the median test R² comes within {within} of exact training's for {listing(hit)}."
        )
    if not hit:
        return sentence(
            f"for {listing(miss)} no shot budget brings the median test R² within "
            f"{within} of exact training's."
        )
    return sentence(
        f"the median test R² comes within {within} of exact training's for {listing(hit)}; "
        f"for {listing(miss)} no shot budget does."
    )


def device_training_study(
    results_dir: PathLike, full: bool = False, base_seed: int = 0, device: str = "auto"
) -> dict:
    """The runs of :func:`device_training_experiments`, read from the store (or the run
    archive; trained and stored when missing). Returns ``{"scores"``
    (:func:`device_training_frame`), ``"comparisons"`` (:func:`shot_comparisons` of the test R²
    scored noiselessly), ``"device_comparisons"`` (the same, scored on the device model),
    ``"noise_device"``, ``"experiments"}``."""
    experiments = device_training_experiments(full, base_seed, device)
    scores = device_training_frame(run_grid(experiments, results_dir))
    return {
        "scores": scores,
        "comparisons": shot_comparisons(scores, "test_r2"),
        "device_comparisons": shot_comparisons(scores, "device_test_r2"),
        "noise_device": training_device_name(),
        "experiments": experiments,
    }


def deployment_study(
    results_dir: PathLike,
    full: bool = False,
    noise_models: Mapping[str, NoiseModel] | None = None,
    shot_draws: int | None = None,
) -> dict:
    """The deployment study of the noisy-device chapter: the trained models of
    :func:`deployment_experiments` (read from the store, trained when missing) run on the device
    models of :func:`deployment_devices`. Returns ``{"scores", "deployment", "n_seeds",
    "devices", "data"}`` (:func:`deployment_scores`, :func:`summarise_deployment`)."""
    noise_models = device_noise_models() if noise_models is None else noise_models
    shot_draws = (10 if full else 3) if shot_draws is None else shot_draws
    groups = deployment_experiments(full)
    data = load_experiment_data(groups["expectation"][0])
    models = {
        (readout, experiment.train.seed): trained_model(experiment, results_dir, progress=False)[0]
        for readout, group in groups.items()
        for experiment in group
    }
    devices = deployment_devices(noise_models, full)
    scores = deployment_scores(models, data, devices, repeats=shot_draws)
    return {
        "scores": scores,
        "deployment": summarise_deployment(scores),
        "n_seeds": len(groups["expectation"]),
        "devices": devices,
        "data": data,
    }


def feasibility_row(deployment: pd.DataFrame, n_seeds: int, device: str = "fez") -> dict:
    """The feasibility claim's verdict row (:func:`qkan_lib.evidence.verdict.device_feasibility`)
    from the ⟨Z⟩ models' deployment summary and the device time of Table II's full training on
    ``device`` at each shot budget (:mod:`qkan_lib.evidence.quantum_cost`)."""
    workload = table_workloads(models=["qkan_lstm"], datasets=["damped_shm"])
    timing = superconducting_timing(device)
    training_seconds = {
        n: float(cost_table(workload, [timing], shots=n)["training_s"].iloc[0])
        for n in SHOT_BUDGETS
        if n is not None
    }
    return device_feasibility(
        deployment[deployment["readout"] == "expectation"], training_seconds, seeds=n_seeds
    )
