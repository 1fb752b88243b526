"""The recurrent models: gate maps and the LSTM cell of Eq. (1) (:mod:`.cells`), the Fourier
twin and the parameter-matched LSTM baselines, parameter counting (Table I's rule), and the
model registry (:mod:`.registry`: every model by name, its configurations and traits)."""

from .cells import (
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
from .parameters import count_parameters
from .registry import MODEL_LABELS, MODELS, build_model, model_config

__all__ = [
    "MODELS",
    "MODEL_LABELS",
    "AffineGates",
    "GateMap",
    "HQKANGates",
    "LSTMCell",
    "LSTMRegressor",
    "ModuleGates",
    "QKANGates",
    "QLSTMGates",
    "RecurrentRegressor",
    "build_model",
    "count_parameters",
    "model_config",
]
