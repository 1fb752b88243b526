"""Every dataset by name, with what the rest of the library needs to know about it.

A :class:`DatasetSpec` holds a dataset's label, its loader, whether it carries its own
validation split, which dataset's model sizes it uses, and its experimental protocol (the
quick and the full settings that :func:`qkan_lib.runs.experiment.protocol` turns into a
``Protocol``). :func:`load_dataset` is the one entry point for the data itself. A new dataset
is one entry in :data:`DATASET_REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..paper import R2_EPOCHS, SEQ_LENS
from .milan import load_milan_sms
from .narma import narma_dataset
from .noisy import noisy_damped_shm
from .real_series import REAL_SERIES, csv_series_dataset, real_series_dataset
from .synthetic import synthetic_dataset
from .urban import MILAN_SEASON, milan_series_dataset, milan_source, urban_dataset
from .windows import SequenceData


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: ``load(seq_len, dtype, milan_dir, **options)`` builds its windows;
    ``protocol(full)`` gives the keyword settings of its quick or full ``Protocol``."""

    name: str
    label: str
    family: str  # "paper" (Tables II-IV) or "harder" (the "Testing the claims" part)
    load: Callable[..., SequenceData]
    protocol: Callable[[bool], dict]
    has_validation: bool = False  # its loader always carves a validation split
    model_sizes: str = ""  # the dataset whose model configurations apply ("" = its own)
    uses_milan: bool = False  # reads the Milan files (real, or the labelled stand-in)
    frequency: str = ""  # the real series' sampling ("monthly", ...); "" for simulated data
    season: int = 1  # the seasonal period (1: none), for seasonal baselines and MASE


def _synthetic(name: str):
    def load(seq_len, dtype, milan_dir, **options):
        if milan_dir is not None:
            raise ValueError(f"milan_dir applies only to the 'urban' dataset, not {name!r}")
        return synthetic_dataset(name, seq_len, dtype=dtype, **options)

    return load


def _urban(seq_len, dtype, milan_dir, **options):
    stand_in_days = options.pop("stand_in_days", 14)
    directory, _ = milan_source(milan_dir, stand_in_days)
    return urban_dataset(load_milan_sms(directory), seq_len, dtype=dtype, **options)


def _narma(order: int):
    def load(seq_len, dtype, milan_dir, **options):
        return narma_dataset(order, seq_len, dtype=dtype, **options)

    return load


def _noisy(seq_len, dtype, milan_dir, **options):
    return noisy_damped_shm(seq_len, dtype=dtype, **options)


def _synthetic_protocol(full: bool) -> dict:
    return dict(
        n_seeds=10 if full else 3,
        seq_lens=(4,),
        epochs=30,
        batch_size=10,
        lr=0.01,
        optimizer="rmsprop",
        dtype="float64",
        record_epochs=R2_EPOCHS,
    )


def _urban_protocol(full: bool) -> dict:
    return dict(
        n_seeds=3 if full else 1,
        seq_lens=SEQ_LENS if full else (4, 16, 64),
        epochs=50 if full else 5,
        batch_size=64,
        lr=0.01,
        optimizer="adam",
        dtype="float32",
        data_options=(("cells", 3 if full else 1), ("stand_in_days", 62 if full else 14)),
        lr_overrides=(("hqkan_lstm", 0.02),),
        # Table IV reads the test split; the training split is ~70 % of each epoch's
        # evaluation at this size, so it is scored after the last epoch only.
        evaluate_train=False,
    )


def _harder_protocol(seq_lens: tuple[int, ...], data_options: tuple):
    """The harder tasks of chapter 10; NARMA: seq_len = the order (what y depends on)."""

    def settings(full: bool) -> dict:
        return dict(
            n_seeds=10 if full else 5,
            seq_lens=seq_lens,
            epochs=30,
            batch_size=10,
            lr=0.01,
            optimizer="rmsprop",
            dtype="float64",
            data_options=data_options,
        )

    return settings


def _real(name: str):
    def load(seq_len, dtype, milan_dir, **options):
        return real_series_dataset(name, seq_len, dtype=dtype, **options)

    return load


def _csv(seq_len, dtype, milan_dir, **options):
    missing = [k for k in ("path", "time_column", "value_column") if k not in options]
    if missing:
        raise ValueError(
            f"the 'csv' dataset needs the data options {missing} (the reader's file); "
            "run it with `qkan-experiments compare FILE.csv --time-column T --value-column Y`"
        )
    return csv_series_dataset(seq_len=seq_len, dtype=dtype, **options)


def _milan_series(seq_len, dtype, milan_dir, **options):
    return milan_series_dataset(milan_dir, seq_len=seq_len, dtype=dtype, **options)


def _milan_series_protocol(full: bool) -> dict:
    """The Milan series under the real series' protocol: a window of 16 slots (within the
    Urban chapter's lengths), one day ahead (144 slots, the seasonal period), the last 7 days
    (quick) or 28 days (full) of the files: the quick protocol trains on about 700 windows
    (as many as the longest bundled series), the full one on a few thousand."""
    return _real_protocol(16, MILAN_SEASON, (("days", 28 if full else 7),))(full)


def _real_protocol(seq_len: int, horizon: int, data_options: tuple = ()):
    """Real series (the "Real series" chapter): settings of chapter 9's protocol; each run
    adds its forecast ``origin`` to the data options."""

    def settings(full: bool) -> dict:
        return dict(
            n_seeds=3 if full else 2,  # tuning seeds (evaluation seeds are fresh ones)
            seq_lens=(seq_len,),
            epochs=30 if full else 8,
            batch_size=10,
            lr=0.01,
            optimizer="rmsprop",
            dtype="float64",
            data_options=(("horizon", horizon), ("val_fraction", 0.2), *data_options),
        )

    return settings


DATASET_REGISTRY: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("damped_shm", "Damped SHM", "paper", _synthetic("damped_shm"),
                    _synthetic_protocol),
        DatasetSpec("bessel", "Bessel Function", "paper", _synthetic("bessel"),
                    _synthetic_protocol),
        DatasetSpec("urban", "Urban Telecommunication", "paper", _urban, _urban_protocol,
                    has_validation=True, uses_milan=True),
        DatasetSpec("narma5", "NARMA-5", "harder", _narma(5),
                    _harder_protocol((5,), (("val_fraction", 0.2),)),
                    has_validation=True, model_sizes="damped_shm"),
        DatasetSpec("narma10", "NARMA-10", "harder", _narma(10),
                    _harder_protocol((10,), (("val_fraction", 0.2),)),
                    has_validation=True, model_sizes="damped_shm"),
        DatasetSpec("damped_shm_noisy", "Damped SHM + noise", "harder", _noisy,
                    _harder_protocol((4,), (("noise_std", 0.05), ("val_fraction", 0.2))),
                    model_sizes="damped_shm"),
        *(DatasetSpec(f"real_{s.name}", s.label, "real", _real(s.name),
                      _real_protocol(s.seq_len, s.horizon), has_validation=True,
                      model_sizes="damped_shm", frequency=s.frequency, season=s.season)
          for s in REAL_SERIES.values()),
        # the real Milan files under the forecasters' protocol; milan_dir and the files' digest
        # come as data options (qkan_lib.evidence.real_forecasts.milan_protocol), and only
        # when the real files are found: the stand-in is never scored as real data
        DatasetSpec("real_milan", "Milan SMS-in", "milan", _milan_series,
                    _milan_series_protocol, has_validation=True, model_sizes="damped_shm",
                    frequency="10-minute", season=MILAN_SEASON),
        # the reader's own CSV: path, columns, season and file digest come as data options
        DatasetSpec("csv", "Your series", "reader", _csv, _real_protocol(8, 6),
                    has_validation=True, model_sizes="damped_shm"),
    )
}  # fmt: skip
DATASETS = tuple(n for n, s in DATASET_REGISTRY.items() if s.family == "paper")  # the paper's
# Harder tasks of the "Testing the claims" part; models keep their Damped SHM sizes there.
HARDER_DATASETS = tuple(n for n, s in DATASET_REGISTRY.items() if s.family == "harder")
EXTRA_DATASETS = HARDER_DATASETS  # the name used before the registry
# The bundled real series of the "Real series" chapter, and the reader's CSV ("csv").
REAL_DATASETS = tuple(n for n, s in DATASET_REGISTRY.items() if s.family == "real")
# The Milan series under the same protocol (run only when the real files are found).
MILAN_SERIES = "real_milan"
ALL_DATASETS = DATASETS + HARDER_DATASETS + REAL_DATASETS + (MILAN_SERIES, "csv")
DATASET_LABELS = {name: spec.label for name, spec in DATASET_REGISTRY.items()}


def dataset_spec(name: str) -> DatasetSpec:
    """The registry entry of ``name``; a clear error names the known datasets."""
    if name not in DATASET_REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; choose from {ALL_DATASETS}")
    return DATASET_REGISTRY[name]


def load_dataset(
    name: str, seq_len: int = 4, dtype: torch.dtype = torch.float64, milan_dir=None, **options
) -> SequenceData:
    """One entry point: ``load_dataset("damped_shm" | "bessel" | "urban", seq_len)``; also the
    harder tasks "narma5", "narma10" (:mod:`qkan_lib.data.narma`) and "damped_shm_noisy"
    (:mod:`qkan_lib.data.noisy`). ``options`` go to the dataset's loader."""
    return dataset_spec(name).load(seq_len, dtype, milan_dir, **options)
