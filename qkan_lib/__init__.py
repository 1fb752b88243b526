"""qkan_lib: the library behind the QKAN-LSTM interactive book."""
__version__ = "0.1.0"

from .daruan import DARUAN, amplitude_readout, bloch_vector, daruan
from .layers import HQKAN, QKANLayer, latent_width
from .params import count_parameters
from .spectrum import (exact_fourier_series, evaluate_series, fft_coefficients, fit_coefficients,
                       predicted_frequencies, sign_patterns)
from .utils import environment_info, resolve_device, seed_everything

__all__ = [
    "DARUAN", "HQKAN", "QKANLayer", "amplitude_readout", "bloch_vector", "count_parameters", "daruan",
    "environment_info", "evaluate_series", "exact_fourier_series", "fft_coefficients", "fit_coefficients",
    "latent_width", "predicted_frequencies", "resolve_device", "seed_everything", "sign_patterns",
]

from .circuits import circuit_expectations, variational_unitaries
from .configs import DATASETS, MODELS, build_model, model_config
from .models import (AffineGates, HQKANGates, LSTMCell, LSTMRegressor, QKANGates, QLSTMGates,
                     RecurrentRegressor)
from .params import parameter_table
from .shift import daruan_shift_gradients, qlstm_shift_gradients

__all__ += [
    "AffineGates", "DATASETS", "HQKANGates", "LSTMCell", "LSTMRegressor", "MODELS", "QKANGates", "QLSTMGates",
    "RecurrentRegressor", "build_model", "circuit_expectations", "daruan_shift_gradients", "model_config",
    "parameter_table", "qlstm_shift_gradients", "variational_unitaries",
]
