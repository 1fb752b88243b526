"""qkan_lib: the library behind the QKAN-LSTM interactive book.

Chapters use this one namespace (``import qkan_lib as ql``): the names below, and the modules
of the wings as ``ql.plots``, ``ql.tables``, ``ql.findings``, ... (see ``_SUBMODULES``; loaded
on first use, so ``import qkan_lib`` does not pay for matplotlib).

The wings, from the bottom up (each imports only from those before it):

* ``utils``, ``paper``: checks, seeding, devices; the numbers the paper printed.
* ``core``: circuit math and the reference implementations (DARUAN, QKAN layers, spectra,
  parameter shift, QLSTM circuits, PennyLane oracles).
* ``kernels``: compiled execution paths, registered by role; ``reference_path()``.
* ``models``: gate maps, cells, baselines' models, parameter counts, the model registry.
* ``data``: windows and splits, every dataset, the dataset registry.
* ``runs``: training, protocols, the result store, the run path, grids, Dask workers.
* ``evidence``: statistics, forecasters, findings, claims, learned spectra, the verdict.
* ``book``: figures, tables, timings.
"""

import importlib

from .core.circuits import circuit_expectations, expectations, variational_unitaries
from .core.daruan import DARUAN, amplitude_readout, bloch_vector, evaluate_daruan
from .core.layers import HQKAN, QKANLayer, latent_width
from .core.shift import circuit_evaluations, daruan_shift_gradients, qlstm_shift_gradients
from .core.spectrum import (
    evaluate_series,
    exact_fourier_series,
    fft_coefficients,
    fit_coefficients,
    predicted_frequencies,
    sign_patterns,
)
from .data.registry import load_dataset, milan_source, urban_dataset
from .data.synthetic import bessel_j, bessel_series, damped_pendulum
from .kernels.paths import reference_path
from .models import (  # the models wing's public names
    AffineGates,
    GateMap,
    HQKANGates,
    LSTMCell,
    LSTMRegressor,
    ModuleGates,
    QKANGates,
    QLSTMGates,
    RecurrentRegressor,
    count_parameters,
)
from .models.registry import (
    DATASET_LABELS,
    DATASETS,
    MODEL_LABELS,
    MODELS,
    affine_lstm,
    build_model,
    model_config,
    search_configurations,
)
from .runs.experiment import Experiment, Protocol, experiments_for, protocol
from .runs.grid import run_grid, tune_learning_rate
from .runs.run import run_experiment
from .runs.seed_batching import train_seeds
from .runs.store import RunResult
from .runs.training import TrainConfig, predict, train
from .utils import __version__, environment_info, resolve_device, seed_everything

# Modules a chapter reaches as ``ql.<name>``, loaded on first use (so ``import qkan_lib`` does
# not pay for matplotlib, PennyLane or Numba). The wings' modules by their own names, plus the
# names chapters used before the library had wings.
_SUBMODULES = {
    "plots": "book.plots",
    "spectrum_plots": "book.spectrum_plots",
    "stats_plots": "book.stats_plots",
    "diagrams": "book.diagrams",
    "tables": "book.tables",
    "timing": "book.timing",
    "statistics": "evidence.statistics",
    "findings": "evidence.findings",
    "display": "evidence.display",
    "forecasters": "evidence.forecasters",
    "closed_loop": "evidence.closed_loop",
    "reductions": "evidence.reductions",
    "learned_spectra": "evidence.learned_spectra",
    "book_runs": "evidence.book_runs",
    "verdict": "evidence.verdict",
    "series_accuracy": "evidence.series_accuracy",
    "real_forecasts": "evidence.real_forecasts",
    "real_series": "data.real_series",
    "milan": "data.milan",
    "narma": "data.narma",
    "pennylane_circuits": "core.pennylane_circuits",
    "noise": "core.noise",
    "qiskit_circuits": "core.qiskit_circuits",
    "spectrum": "core.spectrum",
    "devices": "data.devices",
    "noisy_deployment": "evidence.noisy_deployment",
    "report": "evidence.report",
    "quantum_cost": "evidence.quantum_cost",
    "fourier_twin": "models.fourier_twin",
    "matched_lstm": "models.matched_lstm",
    "registry": "models.registry",
    "experiment": "runs.experiment",
    "store": "runs.store",
    "archive": "runs.archive",
    "run": "runs.run",
    "grid": "runs.grid",
    "paths": "kernels.paths",
    "paper": "paper",
    "utils": "utils",
    # names from before the wings
    "reports": "book.tables",
    "machine": "book.timing",
    "edge_plots": "book.spectrum_plots",
    "edge_analysis": "evidence.learned_spectra",
    "claims": "evidence.reductions",
    "baselines": "evidence.forecasters",
    "forecasting": "evidence.closed_loop",
    "experiments": "runs.experiment",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{_SUBMODULES[name]}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "__version__",
    "reference_path",
    "DARUAN",
    "DATASETS",
    "DATASET_LABELS",
    "HQKAN",
    "MODELS",
    "MODEL_LABELS",
    "AffineGates",
    "Experiment",
    "GateMap",
    "HQKANGates",
    "LSTMCell",
    "LSTMRegressor",
    "ModuleGates",
    "Protocol",
    "QKANGates",
    "QKANLayer",
    "QLSTMGates",
    "RecurrentRegressor",
    "RunResult",
    "TrainConfig",
    "affine_lstm",
    "amplitude_readout",
    "bessel_j",
    "bessel_series",
    "bloch_vector",
    "build_model",
    "circuit_evaluations",
    "circuit_expectations",
    "count_parameters",
    "damped_pendulum",
    "daruan_shift_gradients",
    "environment_info",
    "evaluate_daruan",
    "evaluate_series",
    "exact_fourier_series",
    "expectations",
    "experiments_for",
    "fft_coefficients",
    "fit_coefficients",
    "latent_width",
    "tune_learning_rate",
    "load_dataset",
    "milan_source",
    "model_config",
    "predict",
    "predicted_frequencies",
    "protocol",
    "qlstm_shift_gradients",
    "resolve_device",
    "run_experiment",
    "run_grid",
    "search_configurations",
    "seed_everything",
    "sign_patterns",
    "train",
    "train_seeds",
    "urban_dataset",
    "variational_unitaries",
]
