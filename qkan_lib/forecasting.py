"""Harder versions of the damped SHM task: observation noise and multi-step closed-loop forecasts.

The paper scores one-step-ahead predictions on noiseless series, where a model can do
well by nearly copying its input. Two changes make the task tell models apart:

* **Observation noise** (:func:`noisy_damped_shm`): Gaussian noise, seeded, on every
  observed value of the scaled series.
* **Closed-loop forecasting** (:func:`closed_loop_forecast`, :func:`horizon_metrics`): the
  model's prediction is appended to its window and fed back, ``steps`` times, so errors
  compound and a model must have learned the dynamics, not the last value.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .data import SequenceData, make_windows, synthetic_dataset
from .metrics import regression_metrics
from .narma import chronological_split
from .utils import check_positive_int

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


@torch.no_grad()
def closed_loop_forecast(model: torch.nn.Module, window: torch.Tensor, steps: int) -> torch.Tensor:
    """Forecast ``steps`` values ahead by feeding each prediction back into the window.

    ``window`` has shape (batch, seq_len, features) and the model must predict all
    ``features`` (an autonomous series). Step k predicts from the last seq_len values,
    of which the newest k are the model's own predictions. Returns (batch, steps,
    features). The model runs in eval mode; its previous mode is restored.
    """
    steps = check_positive_int(steps, "steps")
    if not isinstance(window, torch.Tensor) or window.dim() != 3:
        raise ValueError(
            f"window must have shape (batch, seq_len, features), got "
            f"{tuple(window.shape) if isinstance(window, torch.Tensor) else type(window).__name__}"
        )
    was_training = model.training
    model.eval()
    try:
        outputs = []
        for _ in range(steps):
            prediction = model(window)
            if prediction.shape != (window.shape[0], window.shape[2]):
                raise ValueError(
                    f"closed-loop forecasting needs a model that predicts every input feature: "
                    f"window {tuple(window.shape)}, prediction {tuple(prediction.shape)}"
                )
            outputs.append(prediction)
            window = torch.cat([window[:, 1:], prediction[:, None]], dim=1)
    finally:
        model.train(was_training)
    return torch.stack(outputs, dim=1)


def horizon_targets(
    x: torch.Tensor, y: torch.Tensor, steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Start windows and their next ``steps`` true values from consecutive one-step windows.

    For stride-1 windows (x[k + 1] is x[k] shifted by one step) the value h steps after
    window k is y[k + h - 1]. Returns ``(windows, truth)`` with shapes (N - steps + 1,
    seq_len, features) and (N - steps + 1, steps, outputs). Raises ValueError if the
    windows are not consecutive (several squares of Urban, say).
    """
    steps = check_positive_int(steps, "steps")
    if len(x) < steps:
        raise ValueError(f"{len(x)} windows are too few for a {steps}-step horizon")
    if len(x) > 1 and not torch.equal(x[1:, :-1], x[:-1, 1:]):
        raise ValueError(
            "the windows are not consecutive (stride 1), so the future of a window "
            "cannot be read from the following targets"
        )
    starts = len(x) - steps + 1
    truth = torch.stack([y[h : h + starts] for h in range(steps)], dim=1)
    return x[:starts], truth


def horizon_metrics(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int
) -> list[dict]:
    """MSE / MAE / R^2 of closed-loop forecasts at every horizon 1..``steps``.

    Every consecutive window of the split starts a forecast (see :func:`horizon_targets`);
    horizon 1 is the ordinary one-step score. Returns one dict per horizon.
    """
    windows, truth = horizon_targets(x, y, steps)
    forecast = closed_loop_forecast(model, windows, steps)
    return [
        {"horizon": h + 1, **regression_metrics(forecast[:, h], truth[:, h])} for h in range(steps)
    ]
