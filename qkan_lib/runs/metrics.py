"""Regression metrics: MSE (Eq. 8), MAE and the coefficient of determination R^2."""

from __future__ import annotations

import torch


def regression_metrics(prediction: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """MSE, MAE and R^2 = 1 - SS_res / SS_tot of ``prediction`` against ``target``.

    R^2 is 1 for a perfect fit, 0 for predicting the target's mean, negative when worse.
    """
    if prediction.shape != target.shape:
        raise ValueError(
            f"prediction shape {tuple(prediction.shape)} != target shape {tuple(target.shape)}"
        )
    if target.numel() == 0:
        raise ValueError("cannot compute metrics on an empty split")
    error = prediction - target
    ss_res = (error**2).sum()
    ss_tot = ((target - target.mean()) ** 2).sum()
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else torch.tensor(float("nan"))
    return {"mse": float((error**2).mean()), "mae": float(error.abs().mean()), "r2": float(r2)}
