"""Damped SHM with observation noise: a harder version of the paper's task.

Gaussian noise, seeded, on every observed value of the scaled series (inputs and targets,
or inputs only), so a model cannot do well by nearly copying its input.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .synthetic import synthetic_dataset
from .windows import SequenceData, chronological_split, make_windows

NOISE_TARGETS = ("both", "inputs")


def noisy_damped_shm(
    seq_len: int = 4,
    noise_std: float = 0.05,
    seed: int = 0,
    noise_on: str = "both",
    train_fraction: float = 0.67,
    val_fraction: float = 0.0,
    dtype: torch.dtype = torch.float64,
    **series_options,
) -> SequenceData:
    """The damped SHM dataset with Gaussian observation noise of standard deviation ``noise_std``.

    Units: the noise is added to the series AFTER the reference [-1, 1] scaling (the
    scaler of the clean series, as in :func:`qkan_lib.data.synthetic_dataset`), so
    ``noise_std=0.05`` is 2.5% of the series' range whatever the physical units. One
    noise value per time point (``numpy.random.default_rng(seed)``), so overlapping
    windows see the same noisy observation, as a real sensor would give.

    ``noise_on``:

    * ``"both"`` (default): inputs and targets are the noisy observations. This is the
      realistic setting (no clean truth is observable); the noise is independent of the
      past, so no model can beat a test MSE of about ``noise_std**2``.
    * ``"inputs"``: windows are noisy, targets are the clean next value, so the score
      measures how well a model filters noise out.

    ``noise_std=0`` reproduces the clean dataset exactly. Split chronologically like the
    clean dataset (first ``int(0.67 N)`` windows train, the rest test); ``val_fraction``
    carves a validation block from the end of the training period.
    """
    if not (isinstance(noise_std, (int, float)) and math.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std!r}")
    if noise_on not in NOISE_TARGETS:
        raise ValueError(f"noise_on must be one of {NOISE_TARGETS}, got {noise_on!r}")
    clean = synthetic_dataset("damped_shm", seq_len, train_fraction, dtype=dtype, **series_options)
    series = np.asarray(clean.info["series"])
    noisy = series + np.random.default_rng(seed).normal(0.0, noise_std, series.size)
    x, _ = make_windows(noisy, seq_len)
    _, y = make_windows(noisy if noise_on == "both" else series, seq_len)
    a, b = chronological_split(len(x), train_fraction, val_fraction)

    def tensor(values):
        return torch.as_tensor(np.ascontiguousarray(values), dtype=dtype)

    info = {
        "series": series.tolist(),
        "noisy_series": noisy.tolist(),
        "noise_std": noise_std,
        "seed": seed,
        "noise_on": noise_on,
        "cuts": [a, b],
    }
    return SequenceData(
        "damped_shm_noisy",
        seq_len,
        tensor(x[:a]),
        tensor(y[:a]),
        tensor(x[b:]),
        tensor(y[b:]),
        tensor(x[a:b]),
        tensor(y[a:b]),
        scaler=clean.scaler,
        info=info,
    )
