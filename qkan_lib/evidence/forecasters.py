"""Trivial forecasters that could falsify the paper's claims: persistence and AR(p).

If a forecaster with no trainable state (persistence) or a linear model fitted in closed
form (AR(p)) reaches the R^2 the paper reports, the task cannot measure the expressivity
of a gate map (the parameter-matched LSTM baseline is :mod:`qkan_lib.models.matched_lstm`).

Both forecasters are scored with :func:`qkan_lib.metrics.regression_metrics` on the same
scaled windows as the neural models, so their numbers sit beside the models' unchanged.
"""

from __future__ import annotations

import torch

from ..runs.metrics import regression_metrics
from ..utils import check_positive_int

TRIVIAL_FORECASTERS = ("persistence", "ar")


def _check_windows(x: torch.Tensor, name: str = "x") -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[1] < 1:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be windows of shape (batch, seq_len, features), got {shape}")


def persistence_forecast(x: torch.Tensor, output_size: int = 1) -> torch.Tensor:
    """Predict the next value as the last one seen: ``x[:, -1, :output_size]``.

    Meaningful only when the target is the next value of the windowed series itself
    (the paper's synthetic datasets and Urban); on NARMA the input is u and the target y,
    so persistence there is a deliberately poor reference, not a forecaster.
    """
    _check_windows(x)
    output_size = check_positive_int(output_size, "output_size")
    if output_size > x.shape[-1]:
        raise ValueError(f"output_size {output_size} exceeds the window's {x.shape[-1]} features")
    return x[:, -1, :output_size].clone()


class LinearAutoregression:
    """AR(p) with intercept: y = c + sum_{k<p} sum_f a_{k,f} x_{t-p+1+k, f}, by least squares.

    ``order`` p defaults to the window length; a smaller p uses the last p steps of each
    window. The fit is the minimum-norm least-squares solution (LAPACK ``gelsd`` through
    torch, in float64), so a rank-deficient design (a constant series, say) still gets
    the unique shortest solution instead of an error.
    """

    def __init__(self, order: int | None = None):
        self.order = None if order is None else check_positive_int(order, "order")
        self.intercept: torch.Tensor | None = None  # (outputs,)
        self.coefficients: torch.Tensor | None = None  # (order, features, outputs)

    @staticmethod
    def design_matrix(x: torch.Tensor, order: int) -> torch.Tensor:
        """[1, x_{t-p+1}, ..., x_t] per window (features of a step side by side), float64."""
        _check_windows(x)
        if order > x.shape[1]:
            raise ValueError(f"order {order} exceeds the window length {x.shape[1]}")
        lags = x[:, -order:, :].reshape(len(x), -1).to(torch.float64)
        return torch.cat([torch.ones(len(x), 1, dtype=torch.float64, device=x.device), lags], dim=1)

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> "LinearAutoregression":
        _check_windows(x)
        if not isinstance(y, torch.Tensor) or y.dim() != 2 or len(y) != len(x):
            raise ValueError(
                f"y must have shape ({len(x)}, outputs), got "
                f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}"
            )
        if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
            raise ValueError("AR(p) training windows contain NaN or infinite values")
        order = self.order or x.shape[1]
        design = self.design_matrix(x, order).cpu()
        solution = torch.linalg.lstsq(design, y.to(torch.float64).cpu(), driver="gelsd").solution
        self.order = order
        self.intercept = solution[0]
        self.coefficients = solution[1:].reshape(order, x.shape[-1], y.shape[1])
        return self

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        if self.coefficients is None:
            raise ValueError("fit the AR(p) model before predicting")
        if x.shape[-1] != self.coefficients.shape[1]:
            raise ValueError(
                f"x has {x.shape[-1]} features, the AR(p) fit {self.coefficients.shape[1]}"
            )
        weights = torch.cat(
            [self.intercept[None], self.coefficients.reshape(-1, self.intercept.numel())]
        )
        design = self.design_matrix(x, self.order)
        return (design @ weights.to(design.device)).to(x.dtype)


def baseline_metrics(data, order: int | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """Persistence and AR(p) on every split of a :class:`qkan_lib.data.SequenceData`.

    AR(p) is fitted on the training windows only (validation and test never touch the
    fit). Returns ``{"persistence" | "ar": {split: {"mse", "mae", "r2"}}}``.
    """
    output_size = data.y_train.shape[1]
    ar = LinearAutoregression(order).fit(data.x_train, data.y_train)
    out: dict = {name: {} for name in TRIVIAL_FORECASTERS}
    for split, x, y in data.splits():
        out["persistence"][split] = regression_metrics(persistence_forecast(x, output_size), y)
        out["ar"][split] = regression_metrics(ar.predict(x), y)
    return out
