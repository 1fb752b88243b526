"""The training loop: one loop for one model or for S models trained side by side.

Every trainer here runs :func:`fit`, whose forward function returns predictions with a leading
MODEL axis, shape (S, batch, outputs). One model is the case S = 1 (:func:`train`); S seeds of a
configuration stacked into one batched model is :func:`qkan_lib.seed_batching.train_seeds`.
Each model's loss is the MSE of its prediction after the last time step, and the loop
back-propagates the SUM of the per-model losses, so every model gets exactly its own gradient.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import torch
from tqdm.auto import tqdm

from ..data.devices import device_model_names
from ..data.registry import SequenceData
from ..utils import check_positive_int, intra_op_threads, resolve_device, seed_everything
from .metrics import regression_metrics
from .progress import progress_enabled

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
    record_epochs: tuple[int, ...] = ()  # store predictions on every split at these epochs
    # False: score the training split only after the last epoch and at record_epochs (the mean
    # batch loss ``train_loss`` is kept every epoch). At the Urban size the training split is
    # most of each epoch's evaluation, and only its final scores are read.
    evaluate_train: bool = True
    # Train on a device model (:mod:`qkan_lib.core.noise`): every DARUAN run on the noise model
    # of this name (a key of :func:`qkan_lib.data.devices.device_noise_models`) and estimated
    # from ``shots`` shots (None: the device model's exact expectation), every gradient by the
    # parameter-shift rule on the same device model (:func:`qkan_lib.runs.run.train_run`).
    noise_device: str | None = None
    shots: int | None = None

    def __post_init__(self):
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.batch_size, "batch_size")
        if isinstance(self.lr, bool) or not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {tuple(DTYPES)}, got {self.dtype!r}")
        bad = [e for e in self.record_epochs if not 1 <= e <= self.epochs]
        if bad:
            raise ValueError(f"record_epochs {bad} are outside 1..{self.epochs}")
        if not isinstance(self.evaluate_train, bool):
            raise ValueError(f"evaluate_train must be True or False, got {self.evaluate_train!r}")
        if self.noise_device is not None:
            names = device_model_names()
            if not isinstance(self.noise_device, str) or self.noise_device not in names:
                raise ValueError(
                    f"noise_device must be None or a device model name, one of {names}; "
                    f"got {self.noise_device!r}"
                )
        if self.shots is not None:
            if isinstance(self.shots, bool) or not isinstance(self.shots, int) or self.shots < 1:
                raise ValueError(f"shots must be None or an int >= 1, got {self.shots!r}")
            if self.noise_device is None:
                raise ValueError(
                    f"shots={self.shots!r} needs a noise_device (shots are drawn on a device "
                    "model); set noise_device or leave shots None"
                )

    def to_dict(self) -> dict:
        """The settings as JSON-ready values. Settings added after the first stored results
        appear only when they differ from their default, so older runs keep their fingerprint."""
        out = dataclasses.asdict(self)
        out["record_epochs"] = list(self.record_epochs)
        for name, default in LATER_SETTINGS.items():
            if out[name] == default:
                del out[name]
        return out


# Added after results were stored: name -> default (left out of to_dict at the default, so
# the stored runs keep their fingerprints).
LATER_SETTINGS = {"evaluate_train": True, "noise_device": None, "shots": None}


class TrainOutcome(TypedDict):
    """What a training run returns (and a result file stores beside its experiment)."""

    history: list[dict]  # per epoch: train_loss and {split}_{mse,mae,r2}
    predictions: dict[str, dict[str, list[float]]]  # {epoch: {split: predictions}}
    wall_time_s: float
    seed_batched: int  # how many models trained side by side (1: alone)
    final_state: NotRequired[dict[str, list]]  # the model's state_dict after training, as lists
    # runs on a device model: test scores noiseless (test_*) and on the device (device_test_*)
    device_metrics: NotRequired[dict[str, float]]


def state_to_lists(state: dict[str, torch.Tensor]) -> dict[str, list | float]:
    """A state_dict as nested lists (JSON-ready; float64 values round-trip exactly)."""
    return {name: tensor.detach().cpu().tolist() for name, tensor in state.items()}


def make_optimizer(
    parameters: Iterable[torch.Tensor], config: TrainConfig
) -> torch.optim.Optimizer:
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=config.lr, alpha=0.99, eps=1e-8)
    return torch.optim.Adam(parameters, lr=config.lr)


class FlatParameters:
    """Every trainable tensor as a view of ONE flat buffer, every gradient as a view of another.

    The models here have a handful of tiny tensors, so a training step's optimiser update was
    ~6 operator calls per tensor, each costing more dispatch than arithmetic. With the tensors
    laid out in one buffer the optimiser updates one tensor (:meth:`optimizer`), and zeroing
    the gradients is one call. The update is elementwise, so it computes what per-tensor
    updates compute (``tests/test_training.py`` checks the loop against a plain one).
    """

    def __init__(self, parameters: list[torch.Tensor]):
        if not parameters:
            raise ValueError("there are no trainable parameters to optimise")
        first = parameters[0]
        if any(p.dtype != first.dtype or p.device != first.device for p in parameters):
            raise ValueError("all trainable parameters must share one dtype and device")
        with torch.no_grad():
            self.values = torch.cat([p.detach().reshape(-1) for p in parameters])
        self.values.grad = torch.zeros_like(self.values)
        self.parameters = list(parameters)
        start = 0
        for p in parameters:
            size = p.numel()
            # .data swaps the storage only: the Parameter objects stay the module's own.
            p.data = self.values[start : start + size].view_as(p)
            p.grad = self.values.grad[start : start + size].view_as(p)  # backward adds in place
            start += size

    def optimizer(self, config: TrainConfig) -> torch.optim.Optimizer:
        return make_optimizer([self.values], config)

    def zero_grad(self) -> None:
        self.values.grad.zero_()

    def release(self) -> None:
        """Drop the gradient views after training (the values stay in the shared buffer)."""
        for p in self.parameters:
            p.grad = None


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    """Mini-batches of row indices: in order, or shuffled by ``generator``."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def progress_bar(total: int, enabled: bool | None, description: str) -> tqdm:
    """A tqdm bar: a widget in Jupyter, text in a terminal (see :mod:`qkan_lib.progress` for
    when it shows; the book's build hides it)."""
    return tqdm(total=total, desc=description, disable=not progress_enabled(enabled), leave=False)


Forward = Callable[[torch.Tensor], torch.Tensor]


@torch.no_grad()
def evaluate(forward: Forward, x: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """``forward`` over ``x`` in chunks of rows, without gradients: (S, len(x), outputs)."""
    if len(x) == 0:
        return forward(x)
    return torch.cat([forward(x[i : i + chunk]) for i in range(0, len(x), chunk)], dim=1)


def fit(
    forward: Forward,
    parameters: list[torch.Tensor],
    data: SequenceData,
    config: TrainConfig,
    n_models: int,
    progress: bool | None = None,
    description: str = "training",
    on_epoch_end: Callable[[int], None] | None = None,
    threads: int | None = 1,
) -> list[TrainOutcome]:
    """Train ``n_models`` models at once and evaluate every split after each epoch (the
    training split only after the last and the recorded epochs if not ``config.evaluate_train``).

    ``forward(x)`` returns (n_models, batch, outputs); ``parameters`` are all trainable tensors
    (stacked on a leading model axis when n_models > 1). Optimisers act elementwise, so one
    optimiser over stacked tensors equals one per model. ``on_epoch_end(epoch)`` is called after
    each epoch's evaluation (e.g. to snapshot spectra). ``threads`` PyTorch intra-op threads
    run the loop (default one: see :func:`qkan_lib.utils.intra_op_threads`; ``None`` leaves the
    setting alone). Raises RuntimeError if any model's loss becomes NaN or infinite.
    """
    with intra_op_threads(threads):
        return _fit(
            forward, parameters, data, config, n_models, progress, description, on_epoch_end
        )


class _EvaluationPass:
    """Some splits' inputs stacked once, scored in one forward pass and cut apart again."""

    def __init__(self, splits: list[tuple[str, torch.Tensor, torch.Tensor]]):
        self.splits = splits
        self.x = torch.cat([x for _, x, _ in splits]) if len(splits) > 1 else splits[0][1]
        self.bounds = list(itertools.accumulate((len(x) for _, x, _ in splits), initial=0))

    def run(self, forward: Forward):
        """(name, targets, predictions (S, rows, outputs)) per split."""
        y_hat = evaluate(forward, self.x)
        for (name, _, y), lo, hi in zip(self.splits, self.bounds[:-1], self.bounds[1:]):
            yield name, y, y_hat[:, lo:hi]


def training_step(
    forward: Forward,
    flat: FlatParameters,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
) -> torch.Tensor:
    """One optimiser step of :func:`fit` for every model at once: the loss of model k is the
    MSE of its predictions ``forward(x)[k]``; the sum of the losses is back-propagated (each
    model gets exactly its own gradient) and ONE optimiser call updates the flat buffer of
    all models' parameters. Returns the per-model losses (S,), detached."""
    flat.zero_grad()
    losses = (forward(x) - y).square().mean(dim=(1, 2))  # one MSE per model
    losses.sum().backward()
    optimizer.step()
    return losses.detach()


def _fit(forward, parameters, data, config, n_models, progress, description, on_epoch_end):
    generator = seed_everything(config.seed) if config.shuffle else None
    flat = FlatParameters(parameters)
    optimizer = flat.optimizer(config)
    histories: list[list[dict]] = [[] for _ in range(n_models)]
    predictions: list[dict] = [{} for _ in range(n_models)]
    # The scored splits go through ONE forward pass (rows are independent), then are cut apart.
    all_splits = _EvaluationPass(data.splits())
    each_epoch = all_splits if config.evaluate_train else _EvaluationPass(data.splits()[1:])
    all_splits_epochs = set(config.record_epochs) | {config.epochs}

    def epoch_batches():
        return [
            (data.x_train[index], data.y_train[index])
            for index in batch_indices(len(data.x_train), config.batch_size, generator)
        ]

    in_order = epoch_batches() if generator is None else None  # the same batches every epoch
    start = time.perf_counter()
    bar = progress_bar(config.epochs, progress, description)
    for epoch in range(1, config.epochs + 1):
        batch_losses = []
        for x, y in in_order if in_order is not None else epoch_batches():
            batch_losses.append(training_step(forward, flat, optimizer, x, y))
        stacked = torch.stack(batch_losses)
        # Checked once per epoch: a non-finite loss stays non-finite in the stack.
        if not torch.isfinite(stacked).all():
            bad = stacked[~torch.isfinite(stacked).all(dim=1)][0]
            raise RuntimeError(
                f"the training loss became {bad.tolist()} at epoch {epoch}; lower the learning rate"
            )
        mean_losses = stacked.mean(0)
        entries = [{"epoch": epoch, "train_loss": float(mean_losses[k])} for k in range(n_models)]
        scored = all_splits if epoch in all_splits_epochs else each_epoch
        for name, y, y_hat in scored.run(forward):
            for k in range(n_models):
                for metric, value in regression_metrics(y_hat[k], y).items():
                    entries[k][f"{name}_{metric}"] = value
                if epoch in config.record_epochs:
                    recorded = predictions[k].setdefault(str(epoch), {})
                    recorded[name] = y_hat[k].squeeze(-1).cpu().tolist()
        for history, entry in zip(histories, entries):
            history.append(entry)
        if on_epoch_end is not None:
            on_epoch_end(epoch)
        bar.set_postfix(loss=f"{float(mean_losses.mean()):.4g}")
        bar.update()
    bar.close()
    flat.release()
    per_model = (time.perf_counter() - start) / n_models
    return [
        TrainOutcome(history=h, predictions=p, wall_time_s=per_model, seed_batched=n_models)
        for h, p in zip(histories, predictions)
    ]


def train(
    model: torch.nn.Module,
    data: SequenceData,
    config: TrainConfig,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, torch.nn.Module], None] | None = None,
) -> TrainOutcome:
    """Train one model (the loop of :func:`fit` with S = 1) on ``config``'s device and dtype.

    Returns its :class:`TrainOutcome`: per-epoch history (mean batch loss and MSE / MAE / R^2
    per split), predictions at ``config.record_epochs``, the wall time and the final weights
    (``final_state``, so a stored run can be rebuilt: :func:`qkan_lib.experiments.trained_model`).
    ``on_epoch_end(epoch, model)`` is called after each epoch.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    device, dtype = resolve_device(config.device), DTYPES[config.dtype]
    model = model.to(device=device, dtype=dtype)
    data = data.to(dtype=dtype, device=device)
    parameters = [p for p in model.parameters() if p.requires_grad]
    callback = None if on_epoch_end is None else (lambda epoch: on_epoch_end(epoch, model))
    outcome = fit(
        lambda x: model(x).unsqueeze(0),
        parameters,
        data,
        config,
        1,
        progress,
        type(model).__name__,
        callback,
    )[0]
    outcome["final_state"] = state_to_lists(model.state_dict())
    return outcome


def predict(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One model's predictions for ``x`` without gradients."""
    return evaluate(lambda rows: model(rows).unsqueeze(0), x)[0]
