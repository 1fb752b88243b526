"""The paper's synthetic series, Damped SHM and Bessel Function (J_2), and their datasets.

Damped SHM and Bessel Function (J_2) follow the reference code of the QLSTM papers (see
REFERENCE-SETUP in the book): grid, constants, min-max scaling to [-1, 1] fitted on the
whole series, windows and a chronological 67 / 33 train / test split. The numerics are
this library's own (an RK4 integrator, the trapezoidal Bessel integral); the tests compare
them with SciPy.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..utils import check_positive_int
from .windows import MinMaxScaler, SequenceData, check_fraction, make_windows, to_tensor


def damped_pendulum(
    b: float = 0.15,
    g: float = 9.81,
    m: float = 1.0,
    angle0: float = 0.0,
    omega0: float = 3.0,
    t_end: float = 20.0,
    n_points: int = 240,
    substeps: int = 64,
):
    """The reference "damped SHM": a'' = -(b/m) a' - g sin(a) for the angle a of a pendulum of
    length 1 (called ``angle`` here: ``theta`` names circuit angles in this library).

    Returns ``(t, angle, omega)`` on ``t = linspace(0, t_end, n_points)``, integrated with
    classical RK4 and ``substeps`` steps per grid interval. The modelled series is omega.
    """
    n_points = check_positive_int(n_points, "n_points")
    if n_points < 2 or t_end <= 0 or m <= 0:
        raise ValueError("need n_points >= 2, t_end > 0 and m > 0")
    t = np.linspace(0.0, t_end, n_points)
    # Plain Python floats: a two-component state in NumPy arrays spent ~0.4 s per call in array
    # overhead. Same operations in the same order as the vector form, so bit-identical.
    damping = b / m
    h = float(t[1] - t[0]) / substeps
    half, sixth = 0.5 * h, h / 6.0
    angle, velocity = float(angle0), float(omega0)
    out = np.empty((n_points, 2))
    out[0] = angle, velocity
    sin = math.sin
    for k in range(1, n_points):
        for _ in range(substeps):
            a1, v1 = velocity, -damping * velocity - g * sin(angle)
            a, v = angle + half * a1, velocity + half * v1
            a2, v2 = v, -damping * v - g * sin(a)
            a, v = angle + half * a2, velocity + half * v2
            a3, v3 = v, -damping * v - g * sin(a)
            a, v = angle + h * a3, velocity + h * v3
            a4, v4 = v, -damping * v - g * sin(a)
            angle = angle + sixth * (a1 + 2 * a2 + 2 * a3 + a4)
            velocity = velocity + sixth * (v1 + 2 * v2 + 2 * v3 + v4)
        out[k] = angle, velocity
    return t, out[:, 0], out[:, 1]


def bessel_j(order: int, x, points: int = 1024) -> np.ndarray:
    """J_n(x) from Bessel's integral (1/pi) int_0^pi cos(n tau - x sin tau) d tau.

    The integrand is smooth and periodic, so the trapezoidal rule converges
    exponentially; ``points`` well above |x| gives machine precision.
    """
    x = np.asarray(x, dtype=float)
    if points <= 2 * np.abs(x).max(initial=0) + 32:
        raise ValueError(f"points={points} is too few for |x| up to {np.abs(x).max()}")
    tau = np.linspace(0.0, 2 * np.pi, points, endpoint=False)  # full period: trapezoid = mean
    return np.cos(order * tau[:, None] - x[None, :] * np.sin(tau[:, None])).mean(0).reshape(x.shape)


def bessel_series(order: int = 2, start: float = 2.0, stop: float = 100.0, n_points: int = 256):
    """The reference Bessel data: x = linspace(2, 100, 256), y = J_2(x)."""
    x = np.linspace(start, stop, n_points)
    return x, bessel_j(order, x)


def synthetic_dataset(
    name: str,
    seq_len: int = 4,
    train_fraction: float = 0.67,
    dtype: torch.dtype = torch.float64,
    val_fraction: float = 0.0,
    **series_options,
) -> SequenceData:
    """Damped SHM (angular velocity) or Bessel Function (J_2), scaled to [-1, 1] on the whole
    series, windowed, and split chronologically (first ``int(0.67 N)`` windows train, rest test).

    ``val_fraction > 0`` carves a validation block of ``round(val_fraction * n_train)`` windows
    from the END of the training period (for tuning without looking at the test part); the test
    windows stay the paper protocol's.
    """
    train_fraction = check_fraction(train_fraction, "train_fraction")
    seq_len = check_positive_int(seq_len, "seq_len")
    if (
        isinstance(val_fraction, bool)
        or not isinstance(val_fraction, (int, float))
        or not 0 <= val_fraction < 1
    ):
        raise ValueError(f"val_fraction must be a number in [0, 1), got {val_fraction!r}")
    if name == "damped_shm":
        _, _, series = damped_pendulum(**series_options)
    elif name == "bessel":
        _, series = bessel_series(**series_options)
    else:
        raise ValueError(f"unknown synthetic dataset {name!r}; choose 'damped_shm' or 'bessel'")
    scaler = MinMaxScaler.fit(series)
    x, y = make_windows(scaler.transform(series), seq_len)
    n_train = int(train_fraction * len(x))
    if not 1 <= n_train < len(x):  # a split without windows fails much later, deep inside training
        empty = "train" if n_train < 1 else "test"
        raise ValueError(
            f"train_fraction={train_fraction} with seq_len={seq_len} leaves the "
            f"{empty} split empty ({len(x)} windows in all)"
        )
    n_fit = n_train - round(val_fraction * n_train)
    if val_fraction and not 0 < n_fit < n_train:
        raise ValueError(
            f"val_fraction={val_fraction} leaves an empty training or validation split "
            f"of {n_train} training windows"
        )
    return SequenceData(
        name,
        seq_len,
        to_tensor(x[:n_fit], dtype),
        to_tensor(y[:n_fit], dtype),
        to_tensor(x[n_train:], dtype),
        to_tensor(y[n_train:], dtype),
        to_tensor(x[n_fit:n_train], dtype),
        to_tensor(y[n_fit:n_train], dtype),
        scaler=scaler,
        info={"series": scaler.transform(series).tolist(), "n_train": n_train, "n_fit": n_fit},
    )
