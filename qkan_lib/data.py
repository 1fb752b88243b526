"""The synthetic datasets of the paper, windowing, splits and scaling.

Damped SHM and Bessel J2 follow the reference code of the QLSTM papers (see
REFERENCE-SETUP in the book): grid, constants, min-max scaling to [-1, 1] fitted on the
whole series, windows ``x = s[i:i+L], y = s[i+L]`` for ``i in range(len(s) - L - 1)``
and a chronological 67 / 33 train / test split. The numerics are this library's own
(an RK4 integrator, the trapezoidal Bessel integral); the tests compare them with SciPy.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from .milan import ENV_VAR, MilanSeries, fill_gaps, load_milan_sms, select_cells
from .utils import check_positive_int


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


@dataclass
class MinMaxScaler:
    """Affine map of [data_min, data_max] onto [low, high]; invertible."""

    data_min: float
    data_max: float
    low: float = -1.0
    high: float = 1.0

    @classmethod
    def fit(cls, values, low: float = -1.0, high: float = 1.0) -> "MinMaxScaler":
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise ValueError("cannot fit a scaler on an empty or all-missing series")
        lo, hi = float(values.min()), float(values.max())
        if hi == lo:
            raise ValueError("cannot scale a constant series")
        return cls(lo, hi, low, high)

    def transform(self, values):
        values = np.asarray(values, dtype=float)
        return self.low + (values - self.data_min) * (self.high - self.low) / (
            self.data_max - self.data_min
        )

    def inverse(self, values):
        values = np.asarray(values, dtype=float)
        return self.data_min + (values - self.low) * (self.data_max - self.data_min) / (
            self.high - self.low
        )


def make_windows(series, seq_len: int):
    """Windows as in the reference: x = s[i:i+L], y = s[i+L] for i in range(len(s) - L - 1).

    (The reference drops the last possible window; so does this function.) Returns
    numpy arrays x of shape (N, L, 1) and y of shape (N, 1).
    """
    seq_len = check_positive_int(seq_len, "seq_len")
    series = np.asarray(series, dtype=float)
    if series.ndim != 1:
        raise ValueError(f"series must be one-dimensional, got shape {series.shape}")
    count = len(series) - seq_len - 1
    if count < 1:
        raise ValueError(
            f"seq_len={seq_len}: a series of length {len(series)} has no windows "
            "of that length (a window needs seq_len + 2 points)"
        )
    index = np.arange(count)[:, None] + np.arange(seq_len)[None, :]
    return series[index][..., None], series[seq_len : seq_len + count, None]


@dataclass
class SequenceData:
    """Windows of one dataset, split chronologically, as tensors ready for training."""

    name: str
    seq_len: int
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    scaler: MinMaxScaler | None = None
    stand_in: bool = False
    info: dict = field(default_factory=dict)

    def splits(self):
        """(name, x, y) for every split present, in the order train, val, test."""
        out = [("train", self.x_train, self.y_train)]
        if self.x_val is not None and len(self.x_val):
            out.append(("val", self.x_val, self.y_val))
        out.append(("test", self.x_test, self.y_test))
        return out

    def to(self, dtype=None, device=None) -> "SequenceData":
        moved = {
            k: (v.to(dtype=dtype, device=device) if isinstance(v, torch.Tensor) else v)
            for k, v in self.__dict__.items()
        }
        return SequenceData(**moved)

    def __len__(self) -> int:
        return sum(len(x) for _, x, _ in self.splits())


def _check_fraction(value, name: str) -> float:
    """A split fraction: a real number strictly between 0 and 1 (NaN and bools refused)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not 0 < value < 1
    ):
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


def _tensor(a, dtype):
    return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype)


def synthetic_dataset(
    name: str,
    seq_len: int = 4,
    train_fraction: float = 0.67,
    dtype: torch.dtype = torch.float64,
    val_fraction: float = 0.0,
    **series_options,
) -> SequenceData:
    """Damped SHM (angular velocity) or Bessel J2, scaled to [-1, 1] on the whole series,
    windowed, and split chronologically (first ``int(0.67 N)`` windows train, rest test).

    ``val_fraction > 0`` carves a validation block of ``round(val_fraction * n_train)`` windows
    from the END of the training period (for tuning without looking at the test part); the test
    windows stay the paper protocol's.
    """
    train_fraction = _check_fraction(train_fraction, "train_fraction")
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
        _tensor(x[:n_fit], dtype),
        _tensor(y[:n_fit], dtype),
        _tensor(x[n_train:], dtype),
        _tensor(y[n_train:], dtype),
        _tensor(x[n_fit:n_train], dtype),
        _tensor(y[n_fit:n_train], dtype),
        scaler=scaler,
        info={"series": scaler.transform(series).tolist(), "n_train": n_train, "n_fit": n_fit},
    )


def cache_dir():
    """Where the library caches generated data: $QKAN_CACHE, default ~/.cache/qkan_lib."""
    from pathlib import Path

    return Path(os.environ.get("QKAN_CACHE", Path.home() / ".cache" / "qkan_lib"))


def display_path(path) -> str:
    """``path`` as a page may print it, without the absolute path of the machine that ran it.

    Relative to the first root that contains it: the Milan folder ("$QKAN_MILAN_DIR/..."),
    the library cache ("$QKAN_CACHE/..."), the working directory ("./..."), the home
    directory ("~/..."); otherwise only its last component ("<...>/name").
    """
    from pathlib import Path

    target = Path(path).expanduser().resolve()
    roots = [
        (f"${ENV_VAR}", os.environ.get(ENV_VAR)),
        ("$QKAN_CACHE", cache_dir()),
        (".", Path.cwd()),
        ("~", Path.home()),
    ]
    for name, root in roots:
        if not root:
            continue
        try:
            relative = target.relative_to(Path(root).expanduser().resolve())
        except ValueError:
            continue
        return name if relative == Path(".") else f"{name}/{relative.as_posix()}"
    return f"<...>/{target.name}"


def milan_source(milan_dir=None, stand_in_days: int = 14, seed: int = 0):
    """Where the Urban data comes from: ``milan_dir``, else $QKAN_MILAN_DIR, else a stand-in.

    Returns ``(directory, is_stand_in)``. The stand-in is written once (raw format, with a
    STAND_IN.txt marker) under $QKAN_CACHE (default ~/.cache/qkan_lib).
    """
    from pathlib import Path

    from . import milan

    chosen = milan_dir or os.environ.get(milan.ENV_VAR)
    if chosen:
        given = "milan_dir" if milan_dir else f"${milan.ENV_VAR}"
        if isinstance(chosen, bytes) or not isinstance(chosen, (str, os.PathLike)):
            raise ValueError(
                f"{given} must be a folder path (str or Path), got {type(chosen).__name__}"
            )
        directory = Path(chosen)
        if directory.is_file():  # a single day file
            return directory, (directory.parent / milan.STAND_IN_MARKER).exists()
        try:
            with warnings.catch_warnings():  # the loader warns about skipped files once, later
                warnings.simplefilter("ignore")
                milan.milan_files(directory)  # a clear error if the directory holds no data files
        except milan.MilanPathError as exc:
            raise milan.MilanPathError(f"{given}={str(chosen)!r}: {exc}") from exc
        return directory, (directory / milan.STAND_IN_MARKER).exists()
    directory = cache_dir() / f"milan_stand_in_{stand_in_days}d_seed{seed}"
    if not (directory / milan.STAND_IN_MARKER).exists():
        milan.write_stand_in(directory, days=stand_in_days, seed=seed)
    return directory, True


def urban_dataset(
    series,
    seq_len: int = 4,
    cells: int = 1,
    fractions=(0.7, 0.15, 0.15),
    min_coverage: float = 0.98,
    max_gap: int = 6,
    dtype: torch.dtype = torch.float64,
) -> SequenceData:
    """Urban telecommunication windows from a :class:`qkan_lib.milan.MilanSeries`.

    The ``cells`` most active squares passing :func:`qkan_lib.milan.select_cells` are
    gap-filled by linear interpolation; each square's series is split in time 70 / 15 / 15;
    the min-max scaler is fitted on the training parts only (validation and test values
    may fall outside [-1, 1]); windows never cross a split or a square.
    """
    if not isinstance(series, MilanSeries):
        raise ValueError(
            f"series must be a MilanSeries (from qkan_lib.milan.load_milan_sms), "
            f"got {type(series).__name__}"
        )
    seq_len = check_positive_int(seq_len, "seq_len")
    cells = check_positive_int(cells, "cells")
    try:
        fractions = tuple(fractions)
    except TypeError:
        raise ValueError(
            f"fractions must be three numbers (train, val, test), got {fractions!r}"
        ) from None
    if len(fractions) != 3:
        raise ValueError(f"fractions must be three numbers (train, val, test), got {fractions!r}")
    for label, value in zip(("train", "val", "test"), fractions):
        _check_fraction(value, f"fractions ({label})")
    if abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    if (
        isinstance(min_coverage, bool)
        or not isinstance(min_coverage, (int, float))
        or not 0 <= min_coverage <= 1
    ):
        raise ValueError(f"min_coverage must be a number from 0 to 1, got {min_coverage!r}")
    if isinstance(max_gap, bool) or not isinstance(max_gap, (int, np.integer)) or max_gap < 0:
        raise ValueError(f"max_gap must be a non-negative integer (slots), got {max_gap!r}")
    n = len(series.values)
    cut1, cut2 = int(fractions[0] * n), int((fractions[0] + fractions[1]) * n)
    for label, length in (("train", cut1), ("val", cut2 - cut1), ("test", n - cut2)):
        if length - seq_len - 1 < 1:  # refused now, not deep inside training
            raise ValueError(
                f"seq_len={seq_len} with fractions={fractions} leaves the {label} "
                f"split without windows: it gets {length} of the {n} slots and a "
                "window needs seq_len + 2"
            )
    columns = select_cells(series, cells, min_coverage, max_gap)
    filled = np.stack([fill_gaps(series.values[:, c]) for c in columns], 1)
    parts = {"train": filled[:cut1], "val": filled[cut1:cut2], "test": filled[cut2:]}
    scaler = MinMaxScaler.fit(parts["train"])
    tensors = {}
    for name, values in parts.items():
        xs, ys = zip(
            *(make_windows(scaler.transform(values[:, j]), seq_len) for j in range(len(columns)))
        )
        tensors[name] = (_tensor(np.concatenate(xs), dtype), _tensor(np.concatenate(ys), dtype))
    return SequenceData(
        "urban",
        seq_len,
        *tensors["train"],
        *tensors["test"],
        *tensors["val"],
        scaler=scaler,
        stand_in=series.stand_in,
        info={
            "squares": series.squares[columns].tolist(),
            "cuts": [cut1, cut2],
            "source": series.source,
        },
    )


def load_dataset(
    name: str, seq_len: int = 4, dtype: torch.dtype = torch.float64, milan_dir=None, **options
) -> SequenceData:
    """One entry point: ``load_dataset("damped_shm" | "bessel" | "urban", seq_len)``.

    Also the harder benchmarks: "narma5" / "narma10" (:func:`qkan_lib.narma.narma_dataset`)
    and "damped_shm_noisy" (:func:`qkan_lib.forecasting.noisy_damped_shm`).
    """
    if name in ("narma5", "narma10"):
        from .narma import narma_dataset

        return narma_dataset(int(name[5:]), seq_len, dtype=dtype, **options)
    if name == "damped_shm_noisy":
        from .forecasting import noisy_damped_shm

        return noisy_damped_shm(seq_len, dtype=dtype, **options)
    if name in ("damped_shm", "bessel"):
        if milan_dir is not None:
            raise ValueError(f"milan_dir applies only to the 'urban' dataset, not {name!r}")
        return synthetic_dataset(name, seq_len, dtype=dtype, **options)
    if name == "urban":
        stand_in_days = options.pop("stand_in_days", 14)
        directory, _ = milan_source(milan_dir, stand_in_days)
        return urban_dataset(load_milan_sms(directory), seq_len, dtype=dtype, **options)
    raise ValueError(
        f"unknown dataset {name!r}; choose 'damped_shm', 'bessel', 'urban', 'narma5', "
        "'narma10' or 'damped_shm_noisy'"
    )
