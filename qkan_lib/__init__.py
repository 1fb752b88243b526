"""qkan_lib: the library behind the QKAN-LSTM interactive book.

Chapters use this one namespace (``import qkan_lib as ql``): the names below, and the
submodules ``ql.plots``, ``ql.reports``, ``ql.milan``, ``ql.paper``, ``ql.edge_analysis`` and
``ql.edge_plots`` (loaded on first use,
so ``import qkan_lib`` does not pay for matplotlib).
"""

import importlib

from .circuits import circuit_expectations, expectations, variational_unitaries
from .configs import (
    DATASET_LABELS,
    DATASETS,
    MODEL_LABELS,
    MODELS,
    affine_lstm,
    build_model,
    model_config,
)
from .daruan import DARUAN, amplitude_readout, bloch_vector, evaluate_daruan
from .data import (
    bessel_j,
    bessel_series,
    damped_pendulum,
    load_dataset,
    milan_source,
    urban_dataset,
)
from .experiments import (
    Experiment,
    Protocol,
    RunResult,
    experiments_for,
    protocol,
    run_experiment,
    run_grid,
    tune_learning_rate,
)
from .layers import HQKAN, QKANLayer, latent_width
from .models import (
    AffineGates,
    GateMap,
    HQKANGates,
    LSTMCell,
    LSTMRegressor,
    ModuleGates,
    QKANGates,
    QLSTMGates,
    RecurrentRegressor,
)
from .params import count_parameters, search_configurations
from .seed_batching import train_seeds
from .shift import circuit_evaluations, daruan_shift_gradients, qlstm_shift_gradients
from .spectrum import (
    evaluate_series,
    exact_fourier_series,
    fft_coefficients,
    fit_coefficients,
    predicted_frequencies,
    sign_patterns,
)
from .training import TrainConfig, predict, train
from .utils import environment_info, resolve_device, seed_everything

__version__ = "0.1.0"

_LAZY_SUBMODULES = (
    "plots",
    "reports",
    "milan",
    "paper",
    "pennylane_circuits",
    "edge_analysis",
    "edge_plots",
    "statistics",
    "claims",
    "diagrams",
    "machine",
    "stats_plots",
    "series_accuracy",
    "evidence",
    "baselines",
    "fourier_twin",
    "forecasting",
    "verdict",
)


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
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
