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
from ..data.devices import device_noise_models
from ..data.windows import SequenceData
from ..kernels.paths import reference_path
from ..runs.experiment import Experiment, PathLike, experiments_for, protocol
from ..runs.metrics import regression_metrics
from ..runs.run import build_experiment_model, load_experiment_data, trained_model
from ..runs.training import predict, train
from .quantum_cost import cost_table, superconducting_timing, table_workloads
from .verdict import device_feasibility

SHOT_BUDGETS = (100, 1000, 10000, None)  # None: the exact expectation on the device model
# The quick protocol deploys on these (best and worst Heron snapshot, an Eagle, a trapped ion).
QUICK_DEVICES = ("IBM Fez", "IBM Torino", "IBM Sherbrooke", "Quantinuum Helios")


def shots_label(shots: int | None) -> str:
    """ "100", "1 000", ... or "exact"."""
    return "exact" if shots is None else f"{shots:,}".replace(",", " ")


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


def deployed_predictions(
    model: torch.nn.Module,
    x: torch.Tensor,
    noise: NoiseModel,
    shots: int | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """The model's predictions with every DARUAN run on ``noise`` with ``shots`` (seeded); the
    recurrent models take their reference path, which evaluates the layers step by step."""
    with reference_path(), on_device(noise, shots, seed):
        return predict(model, x)


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


def summarise_deployment(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (readout, device, shots): mean, std and median of the test R² lost over seeds and
    shot repeats, and the count."""
    grouped = scores.groupby(["readout", "device", "shots"], sort=False)["r2_lost"]
    return grouped.agg(["mean", "std", "median", "count"]).reset_index()


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
    classical. Trains in this process, nothing is stored. Returns ``{"test_r2",
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
    model.eval()
    exact = regression_metrics(predict(model, data.x_test), data.y_test)["r2"]
    on_dev = regression_metrics(
        deployed_predictions(model, data.x_test, noise, shots, config.seed + 1), data.y_test
    )["r2"]
    return {"test_r2": exact, "device_test_r2": on_dev, "epochs": config.epochs}


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
