"""One training engine for all four models, with results that are atomic, resumable and self-describing."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .metrics import regression_metrics
from .utils import check_positive_int, environment_info, resolve_device, seed_everything

OPTIMIZERS = ("rmsprop", "adam")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run besides the model and the data.

    Defaults are the reference protocol of the QLSTM code for SHM / Bessel: RMSprop
    (lr 0.01, alpha 0.99, eps 1e-8), batch 10 in order without shuffling, float64.
    """

    epochs: int = 30
    batch_size: int = 10
    lr: float = 0.01
    optimizer: str = "rmsprop"
    seed: int = 0
    device: str = "auto"
    dtype: str = "float64"
    shuffle: bool = False
    record_epochs: tuple = ()  # store predictions on every split at these epochs

    def __post_init__(self):
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.batch_size, "batch_size")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {tuple(DTYPES)}, got {self.dtype!r}")
        bad = [e for e in self.record_epochs if not 1 <= e <= self.epochs]
        if bad:
            raise ValueError(f"record_epochs {bad} are outside 1..{self.epochs}")

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["record_epochs"] = list(self.record_epochs)
        return out


def make_optimizer(parameters, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=config.lr, alpha=0.99, eps=1e-8)
    return torch.optim.Adam(parameters, lr=config.lr)


def _batches(n: int, batch_size: int, generator: torch.Generator | None):
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    model.eval()
    out = torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]) if len(x) else x[:, 0]
    model.train()
    return out


def _progress(total: int, enabled: bool | None, description: str):
    from tqdm.auto import tqdm

    if enabled is None:  # quiet in papermill, tests and logs; visible in a terminal
        enabled = sys.stderr.isatty()
    return tqdm(total=total, desc=description, disable=not enabled, leave=False)


def train(model: torch.nn.Module, data, config: TrainConfig, progress: bool | None = None) -> dict:
    """Train with MSE on the prediction after the last step; evaluate every split after each epoch.

    Returns ``{"history": [...], "predictions": {epoch: {split: [...]}}, "wall_time_s": ...}``
    where each history entry has the epoch's mean batch loss and MSE / MAE / R^2 per split.
    Raises RuntimeError if the loss becomes NaN or infinite.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError("config must be a TrainConfig")
    device = resolve_device(config.device)
    dtype = DTYPES[config.dtype]
    model = model.to(device=device, dtype=dtype)
    data = data.to(dtype=dtype, device=device)
    generator = seed_everything(config.seed) if config.shuffle else None
    optimizer = make_optimizer(model.parameters(), config)
    loss_fn = torch.nn.MSELoss()
    history, predictions = [], {}
    start = time.perf_counter()
    bar = _progress(config.epochs, progress, f"{type(model).__name__}")
    for epoch in range(1, config.epochs + 1):
        batch_losses = []
        for index in _batches(len(data.x_train), config.batch_size, generator):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(data.x_train[index]), data.y_train[index])
            if not torch.isfinite(loss):
                raise RuntimeError(f"the training loss became {loss.item()} at epoch {epoch}; lower the learning rate")
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.detach())
        entry = {"epoch": epoch, "train_loss": float(torch.stack(batch_losses).mean())}
        for name, x, y in data.splits():
            y_hat = predict(model, x)
            for metric, value in regression_metrics(y_hat, y).items():
                entry[f"{name}_{metric}"] = value
            if epoch in config.record_epochs:
                predictions.setdefault(str(epoch), {})[name] = y_hat.squeeze(-1).cpu().tolist()
        history.append(entry)
        bar.set_postfix(loss=f"{entry['train_loss']:.4g}")
        bar.update()
    bar.close()
    return {"history": history, "predictions": predictions, "wall_time_s": time.perf_counter() - start}


# ----------------------------------------------------------------------------- experiments

@dataclass(frozen=True)
class Experiment:
    """One cell of an experiment grid: a named model on a named dataset, trained one way."""

    model: str
    dataset: str
    seq_len: int = 4
    train: TrainConfig = field(default_factory=TrainConfig)
    data_options: tuple = ()  # sorted (key, value) pairs passed to load_dataset
    model_options: tuple = ()  # sorted (key, value) pairs passed to build_model

    def to_dict(self) -> dict:
        return {"model": self.model, "dataset": self.dataset, "seq_len": self.seq_len,
                "train": self.train.to_dict(), "data_options": dict(self.data_options),
                "model_options": dict(self.model_options)}

    def fingerprint(self) -> str:
        blob = json.dumps({**self.to_dict(), "qkan_lib_source": library_source_hash()}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def filename(self) -> str:
        return (f"{self.dataset}_{self.model}_L{self.seq_len}_seed{self.train.seed}_"
                f"{self.fingerprint()}.json")


def library_source_hash() -> str:
    """Hash of qkan_lib's source: any change to the library invalidates stored results."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def write_json_atomic(path, payload: dict) -> Path:
    """Write JSON to a temporary file in the same folder, then rename: never a half-written result."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(payload, out, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_result(path) -> dict:
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not a valid result file ({exc}); delete it to recompute") from exc
    if "history" not in payload or "experiment" not in payload:
        raise ValueError(f"{path} is not a qkan_lib result file; delete it to recompute")
    return payload


def run_experiment(experiment: Experiment, results_dir, force: bool = False, progress: bool | None = None,
                   data=None) -> dict:
    """Train one experiment, or load its finished result from ``results_dir``.

    The result file name contains a fingerprint of the full configuration, so a changed
    setting never reuses a stale result; ``force=True`` retrains anyway.
    """
    from .configs import build_model
    from .data import load_dataset
    from .params import count_parameters

    path = Path(results_dir) / experiment.filename()
    if path.exists() and not force:
        return load_result(path)
    seed_everything(experiment.train.seed)
    if data is None:
        data = load_dataset(experiment.dataset, experiment.seq_len, **dict(experiment.data_options))
    dtype = DTYPES[experiment.train.dtype]
    model = build_model(experiment.model, experiment.dataset, dtype=dtype, **dict(experiment.model_options))
    outcome = train(model, data, experiment.train, progress)
    return save_result(experiment, results_dir, count_parameters(model), data, outcome)


def save_result(experiment: Experiment, results_dir, parameters: dict, data, outcome: dict) -> dict:
    """Write one finished run (atomically) with everything needed to reproduce and report it."""
    device = resolve_device(experiment.train.device)
    payload = {
        "experiment": experiment.to_dict(), "fingerprint": experiment.fingerprint(),
        "parameters": parameters, "stand_in": bool(getattr(data, "stand_in", False)),
        "targets": {name: y.squeeze(-1).tolist() for name, _, y in data.splits()},
        "environment": environment_info(device), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **outcome,
    }
    write_json_atomic(Path(results_dir) / experiment.filename(), payload)
    return payload
