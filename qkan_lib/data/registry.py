"""Every dataset by name: :func:`load_dataset` is the one entry point."""

from __future__ import annotations

import torch

from .milan import load_milan_sms
from .narma import narma_dataset
from .noisy import noisy_damped_shm
from .synthetic import synthetic_dataset
from .urban import milan_source, urban_dataset
from .windows import SequenceData


def load_dataset(
    name: str, seq_len: int = 4, dtype: torch.dtype = torch.float64, milan_dir=None, **options
) -> SequenceData:
    """One entry point: ``load_dataset("damped_shm" | "bessel" | "urban", seq_len)``.

    Also the harder benchmarks: "narma5" / "narma10" (:func:`qkan_lib.narma.narma_dataset`)
    and "damped_shm_noisy" (:func:`qkan_lib.forecasting.noisy_damped_shm`).
    """
    if name in ("narma5", "narma10"):
        return narma_dataset(int(name[5:]), seq_len, dtype=dtype, **options)
    if name == "damped_shm_noisy":
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
