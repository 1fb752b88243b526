"""Named model configurations: one definition per (model, dataset), shared by chapters and
experiments.

The sizes follow Section IV-B of the paper and the reference code (the book's Table I chapter
documents the sources):

* LSTM: torch.nn.LSTM hidden 5 (SHM, Bessel) or 2 layers of hidden 4 (Urban) + Linear head.
* QLSTM: hidden 5 with depth 3 on 6 qubits (SHM, Bessel); hidden 4, depth 5, 5 qubits (Urban).
* QKAN-LSTM: hidden 2 (SHM) or 1 (Bessel, Urban); one QKAN layer, reps 1, trainable
  preacts and base weights (the configuration that reproduces Table I's 26 / 32 / 58).
* HQKAN-LSTM: same hidden sizes; HQKAN with latent widths ceil(log2) and trainable
  post-activation weights (reproduces Table I's Bessel 25 / 8 / 33).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch

from ..data.registry import (  # noqa: F401  (dataset names, re-exported for callers)
    ALL_DATASETS,
    DATASET_LABELS,
    DATASETS,
    EXTRA_DATASETS,
    dataset_spec,
)
from ..utils import check_positive_int
from .cells import (
    AffineGates,
    GateMap,
    HQKANGates,
    LSTMCell,
    LSTMRegressor,
    QKANGates,
    QLSTMGates,
    RecurrentRegressor,
)
from .fourier_twin import fourier_lstm_from_qkan
from .matched_lstm import build_parameter_matched_lstm
from .parameters import count_parameters

_CONFIGS = {
    "lstm": {
        "damped_shm": {"hidden_size": 5, "num_layers": 1},
        "bessel": {"hidden_size": 5, "num_layers": 1},
        "urban": {"hidden_size": 4, "num_layers": 2},
    },
    "qlstm": {
        "damped_shm": {"hidden_size": 5, "depth": 3},
        "bessel": {"hidden_size": 5, "depth": 3},
        "urban": {"hidden_size": 4, "depth": 5},
    },
    "qkan_lstm": {
        ds: {
            "hidden_size": h,
            "reps": 1,
            "preact_trainable": True,
            "base_trainable": True,
            "postact_weight_trainable": False,
            "postact_bias_trainable": False,
            "readout": "expectation",
        }
        for ds, h in (("damped_shm", 2), ("bessel", 1), ("urban", 1))
    },
    "hqkan_lstm": {
        ds: {
            "hidden_size": h,
            "reps": 1,
            "preact_trainable": True,
            "base_trainable": True,
            "postact_weight_trainable": True,
            "postact_bias_trainable": False,
            "latent_in": None,
            "latent_out": None,
            "readout": "expectation",
        }
        for ds, h in (("damped_shm", 2), ("bessel", 1), ("urban", 1))
    },
}
# fourier_lstm: the QKAN-LSTM configuration with the DARUANs replaced by their classical twin
_CONFIGS["fourier_lstm"] = {
    ds: {k: v for k, v in c.items() if k != "readout"} for ds, c in _CONFIGS["qkan_lstm"].items()
}
# param_matched_lstm: nn.LSTM with the hidden size nearest the count of `match` (None: searched)
_CONFIGS["param_matched_lstm"] = {
    ds: {"match": "qkan_lstm", "target_params": None, "hidden_size": None, "num_layers": layers}
    for ds, layers in (("damped_shm", 1), ("bessel", 1), ("urban", 2))
}


def model_config(model: str, dataset: str, **overrides) -> dict:
    """The named configuration (a fresh dict), with optional overrides of its keys."""
    if model not in MODELS + BASELINE_MODELS:
        raise ValueError(f"unknown model {model!r}; choose from {MODELS + BASELINE_MODELS}")
    sizes = dataset_spec(dataset).model_sizes or dataset
    config = copy.deepcopy(_CONFIGS[model][sizes])
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(
            f"{model} on {dataset} has no options {sorted(unknown)}; it has {sorted(config)}"
        )
    config.update(overrides)
    return config


def build_model(
    model: str,
    dataset: str,
    *,
    input_size: int = 1,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    **overrides,
) -> torch.nn.Module:
    """Build a model from its named configuration, e.g. ``build_model("qkan_lstm", "bessel")``.

    ``dtype=None`` uses torch's default dtype; extra keyword arguments override config keys.
    """
    config = model_config(model, dataset, **overrides)
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"dtype must be a floating-point torch.dtype (or None), got {dtype!r}")
    input_size = check_positive_int(input_size, "input_size")
    for key, value in config.items():  # a string such as "no" would silently mean True
        if key.endswith("_trainable") and not isinstance(value, bool):
            raise ValueError(f"{key} must be True or False, got {value!r}")
    factory = {"dtype": dtype, "device": device}
    return MODEL_REGISTRY[model].build(dataset, config, input_size, factory)


def _recurrent(gate_map: Callable[..., GateMap]):
    """A builder of ``RecurrentRegressor(LSTMCell(gate_map(...)))``: the paper's cell, Eq. (1)."""

    def build(dataset, config, input_size, factory):
        hidden = check_positive_int(config.pop("hidden_size"), "hidden_size")
        gates = gate_map(input_size, hidden, **config, **factory)
        return RecurrentRegressor(LSTMCell(input_size, hidden, gates))

    return build


def _lstm(dataset, config, input_size, factory):
    hidden = check_positive_int(config.pop("hidden_size"), "hidden_size")
    return LSTMRegressor(input_size, hidden, config["num_layers"], **factory)


def _fourier_lstm(dataset, config, input_size, factory):
    # same random draws as build_model("qkan_lstm"): the same initial function
    qkan = build_model("qkan_lstm", dataset, input_size=input_size, **config, **factory)
    return fourier_lstm_from_qkan(qkan)


def _param_matched_lstm(dataset, config, input_size, factory):
    return build_parameter_matched_lstm(
        dataset, input_size=input_size, **config, **factory, match_count=_matched_count
    )


def _qlstm_gates(input_size, hidden, depth, dtype=None, device=None):
    return QLSTMGates(input_size, hidden, depth, dtype=dtype, device=device)


@dataclass(frozen=True)
class ModelSpec:
    """One model: its label, whether the paper has it or the claims' tests add it, how it is
    built from a configuration, and the traits the runs and the book ask about."""

    name: str
    label: str
    family: str  # "paper" (Table I) or "baseline" (the claims' baselines)
    build: Callable[[str, dict, int, dict], torch.nn.Module]  # (dataset, config, d, factory)
    seed_batchable: bool = False  # S seeds train as one batched model (runs.seed_batching)
    # batchable only where the model stacks its S copies itself (stacked_forward, CPU): no vmap
    stacked_only: bool = False
    daruan_edges: bool = False  # its gate map is DARUAN edges, so it takes `reps`


MODEL_REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        # torch.nn.LSTM has no vmap rule: S LSTMs batch only through stacked_forward (CPU)
        ModelSpec("lstm", "LSTM", "paper", _lstm, seed_batchable=True, stacked_only=True),
        ModelSpec("qlstm", "QLSTM", "paper", _recurrent(_qlstm_gates), seed_batchable=True),
        ModelSpec("qkan_lstm", "QKAN-LSTM", "paper", _recurrent(QKANGates),
                  seed_batchable=True, daruan_edges=True),
        ModelSpec("hqkan_lstm", "HQKAN-LSTM", "paper", _recurrent(HQKANGates),
                  seed_batchable=True, daruan_edges=True),
        ModelSpec("fourier_lstm", "Fourier twin", "baseline", _fourier_lstm, seed_batchable=True),
        ModelSpec("param_matched_lstm", "Matched LSTM", "baseline", _param_matched_lstm,
                  seed_batchable=True, stacked_only=True),
    )
}  # fmt: skip
MODELS = tuple(n for n, s in MODEL_REGISTRY.items() if s.family == "paper")
BASELINE_MODELS = tuple(n for n, s in MODEL_REGISTRY.items() if s.family == "baseline")
ALL_MODELS = MODELS + BASELINE_MODELS
MODEL_LABELS = {name: spec.label for name, spec in MODEL_REGISTRY.items()}


def _matched_count(match: str, dataset: str, input_size: int) -> int:
    """Total trainable parameters of ``build_model(match, dataset)``: the matched LSTM's target."""
    allowed = MODELS + tuple(m for m in BASELINE_MODELS if m != "param_matched_lstm")
    if match not in allowed:
        raise ValueError(f"match must be one of {allowed}, got {match!r}")
    with torch.random.fork_rng(devices=[]):  # building must not move the caller's random stream
        return count_parameters(build_model(match, dataset, input_size=input_size))["total"]


def affine_lstm(
    input_size: int,
    hidden_size: int,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> RecurrentRegressor:
    """The from-scratch Eq. (1) LSTM (affine gates) wrapped as a regressor."""
    gates = AffineGates(input_size, hidden_size, dtype=dtype, device=device)
    return RecurrentRegressor(LSTMCell(input_size, hidden_size, gates))


def search_configurations(
    model: str, dataset: str, target: tuple, top: int = 3, max_latent: int = 4
):
    """Nearest configurations to a published (classical, quantum, total) count.

    Searches the options a QKAN-LSTM / HQKAN-LSTM configuration can change without
    changing the paper's stated sizes (hidden size, one DARUAN layer): reps 1..3, which
    of preacts / base / post-activation weight / post-activation bias train, and for
    HQKAN the latent widths 1..max_latent. Ranks by |d classical| + |d quantum|.
    Returns a DataFrame of the ``top`` nearest, with the options and the counts.
    """
    if model not in ("qkan_lstm", "hqkan_lstm"):
        raise ValueError("configuration search is defined for 'qkan_lstm' and 'hqkan_lstm'")
    flags = (
        "preact_trainable",
        "base_trainable",
        "postact_weight_trainable",
        "postact_bias_trainable",
    )
    latents = (
        itertools.product(range(1, max_latent + 1), repeat=2) if model == "hqkan_lstm" else [None]
    )
    rows = []
    for reps, bits, latent in itertools.product(
        (1, 2, 3), itertools.product((False, True), repeat=4), latents
    ):
        options = dict(zip(flags, bits), reps=reps)
        if latent is not None:
            options.update(latent_in=latent[0], latent_out=latent[1])
        counts = count_parameters(build_model(model, dataset, **options))
        distance = abs(counts["classical"] - target[0]) + abs(counts["quantum"] - target[1])
        rows.append({**options, **counts, "distance": distance})
    table = pd.DataFrame(rows).sort_values(["distance", "reps"], kind="stable")
    return table.head(top).reset_index(drop=True)
