"""The paper's protocols and the experiments they are made of.

* :class:`Protocol`: what a dataset's experiments are (seeds, sequence lengths, training
  settings, data options); quick protocols keep every chapter to minutes on 2 CPU cores,
  ``full=True`` is the paper's protocol (plus several seeds where the paper reports one run).
* :class:`Experiment`: one cell of a grid; :class:`RunResult`: its stored outcome.
* :meth:`Experiment.fingerprint`: a hash of everything that enters a run and
  :data:`RESULTS_VERSION`, which names its result file (:mod:`qkan_lib.runs.store`), so a
  changed setting never reuses a stale result.

The paper's text as available gives no learning rates. The values here are documented choices:
SHM / Bessel use the reference QLSTM code's RMSprop(lr=0.01); Urban uses Adam(lr=0.01), and 0.02
for HQKAN-LSTM (the paper says its Urban rate was "slightly higher"). The chapters show the
sensitivity to these choices.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..data.registry import ALL_DATASETS, dataset_spec, milan_source
from ..data.urban import portable_source
from ..models.registry import ALL_MODELS, MODELS
from ..utils import check_positive_int
from .training import TrainConfig

# Bump when a change alters what a training run computes (models, data, training loop):
# stored results with another version are then recomputed. Documentation and plotting
# changes leave it alone, so they never retrain anything.
RESULTS_VERSION = 1

PathLike = str | os.PathLike


@dataclass(frozen=True)
class Protocol:
    """A dataset's experimental protocol. ``seeds(base_seed)`` gives the seeds to run."""

    dataset: str
    n_seeds: int
    seq_lens: tuple[int, ...]
    epochs: int
    batch_size: int
    lr: float
    optimizer: str
    dtype: str
    record_epochs: tuple[int, ...] = ()
    data_options: tuple[tuple[str, object], ...] = ()
    lr_overrides: tuple[tuple[str, float], ...] = ()  # (model, lr) where a model differs
    evaluate_train: bool = True  # score the training split every epoch (TrainConfig)

    def seeds(self, base_seed: int = 0) -> tuple[int, ...]:
        return tuple(range(base_seed, base_seed + self.n_seeds))

    def lr_for(self, model: str) -> float:
        return dict(self.lr_overrides).get(model, self.lr)

    def with_learning_rates(self, rates: dict[str, float]) -> Protocol:
        """This protocol with per-model learning rates (e.g. from :func:`tune_learning_rate`)."""
        merged = {**dict(self.lr_overrides), **rates}
        return dataclasses.replace(self, lr_overrides=tuple(sorted(merged.items())))

    def with_validation(self, fraction: float = 0.2) -> Protocol:
        """This protocol with a validation block carved from the end of the training period
        (Urban and NARMA already have one)."""
        if self.has_validation:
            return self
        merged = {**dict(self.data_options), "val_fraction": fraction}
        return dataclasses.replace(self, data_options=tuple(sorted(merged.items())))

    @property
    def has_validation(self) -> bool:
        return dataset_spec(self.dataset).has_validation or bool(
            dict(self.data_options).get("val_fraction")
        )

    def train_config(self, model: str, seed: int, device: str = "auto", **overrides) -> TrainConfig:
        """The :class:`TrainConfig` of ``model`` under this protocol, with optional overrides."""
        settings = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr_for(model),
            "optimizer": self.optimizer,
            "dtype": self.dtype,
            "device": device,
            "record_epochs": self.record_epochs,
            "evaluate_train": self.evaluate_train,
            **overrides,
        }
        if "record_epochs" not in overrides:  # keep only the epochs a shortened run reaches
            settings["record_epochs"] = tuple(
                e for e in settings["record_epochs"] if e <= settings["epochs"]
            )
        return TrainConfig(seed=seed, **settings)

    def experiments(
        self,
        models: Iterable[str] = MODELS,
        base_seed: int = 0,
        seeds: Iterable[int] | None = None,
        seq_lens: Iterable[int] | None = None,
        device: str = "auto",
        milan_dir: PathLike | None = None,
        model_options: dict | None = None,
        **train_overrides,
    ) -> list[Experiment]:
        """Every experiment of the protocol: models x seq_lens x seeds.

        ``seeds`` overrides ``self.seeds(base_seed)``; ``model_options`` go to ``build_model``
        (ablations, e.g. ``{"reps": 2}``). For Urban, the data source is resolved now
        (``milan_dir``, else $QKAN_MILAN_DIR, else the stand-in) and recorded in the experiment,
        so real and stand-in results never mix.
        """
        data_options = dict(self.data_options)
        if dataset_spec(self.dataset).uses_milan:
            directory, _ = milan_source(milan_dir, data_options["stand_in_days"])
            data_options["milan_dir"] = portable_source(directory)  # same on every machine
        chosen_seeds = tuple(self.seeds(base_seed) if seeds is None else seeds)
        out = []
        for model in models:
            if model not in ALL_MODELS:
                raise ValueError(f"unknown model {model!r}; choose from {ALL_MODELS}")
            for seq_len in seq_lens or self.seq_lens:
                for seed in chosen_seeds:
                    out.append(
                        Experiment(
                            model,
                            self.dataset,
                            seq_len,
                            self.train_config(model, seed, device, **train_overrides),
                            tuple(sorted(data_options.items())),
                            tuple(sorted((model_options or {}).items())),
                        )
                    )
        return out


def protocol(dataset: str, full: bool = False) -> Protocol:
    """The quick (default) or full protocol of a dataset (its settings live in the dataset
    registry, :data:`qkan_lib.data.registry.DATASET_REGISTRY`)."""
    return Protocol(dataset, **dataset_spec(dataset).protocol(full))


def experiments_for(
    dataset: str,
    models: Iterable[str] = MODELS,
    full: bool = False,
    seeds: Iterable[int] | None = None,
    seq_lens: Iterable[int] | None = None,
    device: str = "auto",
    milan_dir: PathLike | None = None,
    base_seed: int = 0,
    **train_overrides,
) -> list[Experiment]:
    """``protocol(dataset, full).experiments(...)``: every experiment of a dataset's protocol."""
    return protocol(dataset, full).experiments(
        models, base_seed, seeds, seq_lens, device, milan_dir, **train_overrides
    )


@dataclass(frozen=True)
class Experiment:
    """One cell of an experiment grid: a named model on a named dataset, trained one way."""

    model: str
    dataset: str
    seq_len: int = 4
    train: TrainConfig = field(default_factory=TrainConfig)
    data_options: tuple = ()  # sorted (key, value) pairs passed to load_dataset
    model_options: tuple = ()  # sorted (key, value) pairs passed to build_model

    def __post_init__(self):
        if self.model not in ALL_MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose from {ALL_MODELS}")
        if self.dataset not in ALL_DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose from {ALL_DATASETS}")
        check_positive_int(self.seq_len, "seq_len")

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "seq_len": self.seq_len,
            "train": self.train.to_dict(),
            "data_options": dict(self.data_options),
            "model_options": dict(self.model_options),
        }

    @classmethod
    def from_dict(cls, payload: dict) -> Experiment:
        settings = dict(payload["train"])
        settings["record_epochs"] = tuple(settings.get("record_epochs", ()))
        return cls(
            payload["model"],
            payload["dataset"],
            payload["seq_len"],
            TrainConfig(**settings),
            tuple(sorted(payload.get("data_options", {}).items())),
            tuple(sorted(payload.get("model_options", {}).items())),
        )

    def fingerprint(self) -> str:
        blob = json.dumps(
            {**self.to_dict(), "results_version": RESULTS_VERSION}, sort_keys=True, default=str
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def filename(self) -> str:
        return (
            f"{self.dataset}_{self.model}_L{self.seq_len}_seed{self.train.seed}_"
            f"{self.fingerprint()}.json"
        )

    def with_seed(self, seed: int) -> Experiment:
        return dataclasses.replace(self, train=dataclasses.replace(self.train, seed=seed))
