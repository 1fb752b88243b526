"""Multi-step closed-loop forecasts, a harder test than the paper's one-step scores.

The paper scores one-step-ahead predictions on noiseless series, where a model can do
well by nearly copying its input (the noisy series is :mod:`qkan_lib.data.noisy`).

* **Closed-loop forecasting** (:func:`closed_loop_forecast`, :func:`horizon_metrics`): the
  model's prediction is appended to its window and fed back, ``steps`` times, so errors
  compound and a model must have learned the dynamics, not the last value.
"""

from __future__ import annotations

import torch

from ..runs.metrics import regression_metrics
from ..utils import check_positive_int


class FixedForecaster:
    """A deterministic forecaster (AR(p), persistence) as a callable with the eval/train
    interface :func:`closed_loop_forecast` expects of a model."""

    def __init__(self, predict):
        self.predict, self.training = predict, False

    def __call__(self, x):
        return self.predict(x)

    def eval(self):
        return self

    def train(self, mode: bool = True):
        return self


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
