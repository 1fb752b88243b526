"""Train every seed of a configuration at once: S models as one batched model.

The S models are built exactly as separate runs would build them (``seed_everything(seed)``
then ``build_model``), their parameters are stacked on a leading seed axis
(``torch.func.stack_module_state``) and one ``torch.func.vmap``-ed forward pass evaluates
all of them. RMSprop and Adam act elementwise, so one optimizer over the stacked tensors
equals S independent optimizers, and the sum of the per-seed losses gives each seed exactly
its own gradient: the results equal S separate runs up to floating-point reduction order,
while small recurrent models (latency-bound) cost about as much as one.
"""
from __future__ import annotations

import copy
import time

import torch

from .configs import build_model
from .fast import vmap_compatible
from .metrics import regression_metrics
from .training import DTYPES, TrainConfig, _batches, _progress, make_optimizer
from .utils import resolve_device, seed_everything

BATCHABLE = ("qlstm", "qkan_lstm", "hqkan_lstm")  # torch.nn.LSTM's fused kernel has no vmap rule


def train_seeds(model_name: str, dataset_name: str, data, config: TrainConfig, seeds, model_options=None,
                progress: bool | None = None) -> list[dict]:
    """Like :func:`qkan_lib.training.train` for ``config`` with each seed in ``seeds``, in one pass.

    Returns one ``{"history", "predictions", "wall_time_s"}`` per seed; ``wall_time_s`` is the
    batched run's time divided by the number of seeds.
    """
    if model_name not in BATCHABLE:
        raise ValueError(f"seed batching supports {BATCHABLE}; train {model_name!r} seed by seed")
    if config.shuffle:
        raise ValueError("seed batching needs the same batch order for every seed (shuffle=False)")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("no seeds given")
    from torch.func import functional_call, stack_module_state, vmap

    device, dtype = resolve_device(config.device), DTYPES[config.dtype]
    models = []
    for seed in seeds:
        seed_everything(seed)
        models.append(build_model(model_name, dataset_name, dtype=dtype, device=device, **(model_options or {})))
    params, _ = stack_module_state(models)
    buffers = dict(models[0].named_buffers())  # frozen constants, identical for every seed
    template = copy.deepcopy(models[0])

    def one(p, x):
        return functional_call(template, (p, buffers), (x,))

    forward = vmap(one, in_dims=(0, None))
    data = data.to(dtype=dtype, device=device)
    optimizer = make_optimizer(params.values(), config)
    histories = [[] for _ in seeds]
    predictions = [{} for _ in seeds]
    start = time.perf_counter()
    bar = _progress(config.epochs, progress, f"{model_name} x {len(seeds)} seeds")
    with vmap_compatible():
        _train_loop(config, data, params, forward, optimizer, histories, predictions, bar, len(seeds))
    bar.close()
    per_seed = (time.perf_counter() - start) / len(seeds)
    return [{"history": h, "predictions": p, "wall_time_s": per_seed, "seed_batched": len(seeds)}
            for h, p in zip(histories, predictions)]


def _train_loop(config, data, params, forward, optimizer, histories, predictions, bar, n_seeds):
    for epoch in range(1, config.epochs + 1):
        batch_losses = []
        for index in _batches(len(data.x_train), config.batch_size, None):
            optimizer.zero_grad(set_to_none=True)
            error = forward(params, data.x_train[index]) - data.y_train[index]
            losses = (error**2).mean(dim=(1, 2))  # one MSE per seed
            if not torch.isfinite(losses).all():
                raise RuntimeError(f"the training loss became non-finite at epoch {epoch}; lower the learning rate")
            losses.sum().backward()
            optimizer.step()
            batch_losses.append(losses.detach())
        mean_losses = torch.stack(batch_losses).mean(0)
        entries = [{"epoch": epoch, "train_loss": float(mean_losses[k])} for k in range(n_seeds)]
        with torch.no_grad():
            for name, x, y in data.splits():
                y_hat = forward(params, x)
                for k in range(n_seeds):
                    for metric, value in regression_metrics(y_hat[k], y).items():
                        entries[k][f"{name}_{metric}"] = value
                    if epoch in config.record_epochs:
                        predictions[k].setdefault(str(epoch), {})[name] = y_hat[k].squeeze(-1).cpu().tolist()
        for k, entry in enumerate(entries):
            histories[k].append(entry)
        bar.update()
