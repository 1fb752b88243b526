"""Windowing, chronological splits and scaling, shared by every dataset.

The paper's synthetic datasets: min-max scaling to [-1, 1] fitted on the whole series,
windows ``x = s[i:i+L], y = s[i+L]`` for ``i in range(len(s) - L - 1)`` and a chronological
67 / 33 train / test split (:func:`synthetic_dataset`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..utils import check_positive_int


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


def check_fraction(value, name: str) -> float:
    """A split fraction: a real number strictly between 0 and 1 (NaN and bools refused)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not 0 < value < 1
    ):
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


def to_tensor(a, dtype):
    return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype)


def chronological_split(count: int, train_fraction: float, val_fraction: float) -> tuple[int, int]:
    """Window indices [0, a) train, [a, b) validation, [b, count) test.

    The training period is the first ``int(train_fraction * count)`` windows; the
    validation block is the LAST ``int(val_fraction * period)`` of them, so validation
    lies after everything the model trains on and before the test block.
    """
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must lie in (0, 1), got {train_fraction!r}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must lie in [0, 1), got {val_fraction!r}")
    period = int(train_fraction * count)
    n_val = int(val_fraction * period)
    if period - n_val < 1 or period >= count:
        raise ValueError(
            f"{count} windows are too few for train_fraction={train_fraction}, "
            f"val_fraction={val_fraction}"
        )
    return period - n_val, period
