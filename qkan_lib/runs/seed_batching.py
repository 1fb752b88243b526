"""Train every seed of a configuration at once: S models as one batched model.

The S models are built exactly as separate runs would build them (``seed_everything(seed)``
then ``build_model``) and their parameters stacked on a leading seed axis
(``torch.func.stack_module_state``); :func:`qkan_lib.training.fit` then trains them as it
trains one model, with ONE flat optimiser state for all S (one optimiser call per step). Two
paths evaluate the stack (:func:`stack_seeds`):

* stacked (QKAN-LSTM, HQKAN-LSTM, QLSTM on the CPU): the compiled whole-sequence kernel
  (:mod:`qkan_lib.kernels.qkan_sequence`) has a leading model axis, so the S models run in
  ONE compiled call per step (QLSTM's kernel, :mod:`qkan_lib.kernels.qlstm_sequence`: one
  autograd node, its compiled loops model after model) and the output layer is one batched
  product (:meth:`~qkan_lib.models.cells.RecurrentRegressor.stacked_forward`);
* stacked (LSTM, matched LSTM on the CPU): the S models' ``torch.nn.LSTM`` replaced by one
  recurrence with batched products (:meth:`~qkan_lib.models.cells.LSTMRegressor.
  stacked_forward`);
* vmap (every other batchable model, or where no kernel runs): one ``torch.func.vmap``-ed
  forward pass of the model. Under one vmap level the QKAN kernel still runs, through its vmap
  rule (``FusedRecurrence.vmap``), but vmap's own per-operator cost eats much of the gain.

Why it pays: at batch 1 the compiled loops are about 2 % of an optimiser step of these tiny
models; Python, autograd and the optimiser are the rest (profiled), and the stacked path pays
them once for S models. Measured (``benchmarks/seed_batching.py``, one thread, float64, one
optimiser step of all S models, interleaved rounds of 5-10 steps on a loaded 2-core CPU;
batched / seed by seed, median ratio [interquartile range]) at S = 3, 10, 20:

* QKAN-LSTM, batch 1 x 4 steps: 0.31 [0.26, 0.34], 0.12 [0.10, 0.15], 0.05 [0.05, 0.09];
  batch 10 x 4: 0.43, 0.23, 0.11; batch 10 x 12: 0.48, 0.34, 0.26.
* HQKAN-LSTM, 1 x 4: 0.35 [0.26, 0.42], 0.11, 0.03; 10 x 4: 0.33, 0.13, 0.08; 10 x 12: 0.41,
  0.19, 0.17.
* QLSTM (stacked), 1 x 4: 0.75 [0.71, 0.85], 0.73, 0.74; 10 x 4: 0.77 [0.64, 0.90], 0.74,
  0.71; 10 x 12: 0.95 [0.77, 1.06], 0.80, 0.80. Through vmap (its autograd path): 3.1-4.8,
  slower.
* Fourier twin (vmap), 1 x 4: 0.55 [0.48, 0.87], 0.20, 0.06; 10 x 4: 0.63, 0.21, 0.09;
  10 x 12: 0.61, 0.19, 0.13.
* LSTM (stacked recurrence against torch.nn.LSTM), 1 x 4: 0.33 [0.29, 0.39], 0.11, 0.05;
  10 x 4: 0.36 [0.35, 0.60], 0.11, 0.06; 10 x 12: 0.44 [0.35, 0.52], 0.13, 0.10. Matched
  LSTM: 1 x 4: 0.28 [0.18, 0.37], 0.11, 0.05; 10 x 4: 0.36, 0.13, 0.08; 10 x 12: 0.36, 0.15,
  0.10.
* The vmap path with the QKAN kernel's rule: 0.43-0.86 at S = 3, 0.09-0.56 at S = 10 and 20:
  vmap's own per-operator cost eats much of what the stacked path saves.

So grids batch by default exactly the measured-faster cases (:data:`BATCHED_FASTER`,
:func:`batching_faster`); :data:`BATCHABLE` lists the models that CAN be batched (the LSTMs
only on the CPU: ``torch.nn.LSTM`` has no vmap rule to fall back on).

Results: equal to S separate runs up to the rounding of the output layer's batched product
(and, on the vmap path, of vmap's batched operators): QKAN-LSTM and HQKAN-LSTM bitwise at
batch 10 here, a few units in the last place at batch 1 (at most 5e-16 relative on any metric
after 30 epochs); ``tests/runs/test_seed_batching.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch.func import functional_call, stack_module_state, vmap

from ..core.daruan import vmap_compatible
from ..data.windows import SequenceData
from ..models.registry import MODEL_REGISTRY, build_model
from ..utils import resolve_device, seed_everything
from .experiment import Experiment
from .training import DTYPES, TrainConfig, TrainOutcome, fit, state_to_lists

BATCHABLE = tuple(n for n, spec in MODEL_REGISTRY.items() if spec.seed_batchable)

# Where S seeds batched were measured faster than S runs one after another on the CPU
# (benchmarks/seed_batching.py, the module docstring): model -> the largest (batch size,
# sequence length) measured, every measured shape up to it being faster (S = 3, 10, 20).
# QKAN-LSTM, HQKAN-LSTM, QLSTM and the LSTMs take the stacked path (QLSTM only up to 4 steps:
# at 12 steps and S = 3 its gain was within the spread, its circuit matrices being per-model
# work; the LSTMs' torch.nn.LSTM, which has no vmap rule, is replaced by one recurrence of the
# S models, LSTMRegressor.stacked_forward); the Fourier twin has no compiled kernel, so both
# ways run its autograd path and vmap pays the per-step costs once. Urban's batch 64 was not
# measured.
BATCHED_FASTER = {
    "qkan_lstm": (10, 12),
    "hqkan_lstm": (10, 12),
    "fourier_lstm": (10, 12),
    "qlstm": (10, 4),
    "lstm": (10, 12),
    "param_matched_lstm": (10, 12),
}


def batching_faster(experiment: Experiment) -> bool:
    """Whether the seeds of ``experiment``'s configuration train faster batched than one after
    another (:data:`BATCHED_FASTER`): on the CPU (where it was measured), without shuffling or
    a device model, at a shape within what was measured faster."""
    limit = BATCHED_FASTER.get(experiment.model)
    config = experiment.train
    if limit is None or config.shuffle or config.noise_device is not None:
        return False
    if not on_cpu(experiment):  # the kernels do not run there; batching is unmeasured
        return False
    return config.batch_size <= limit[0] and experiment.seq_len <= limit[1]


def on_cpu(experiment: Experiment) -> bool:
    """Whether the experiment trains on the CPU (without asking for a GPU that is not there)."""
    device = experiment.train.device
    return device == "cpu" or (device == "auto" and not torch.cuda.is_available())


def stacked_forward(template: torch.nn.Module, params: dict[str, torch.Tensor], x: torch.Tensor):
    """The direct path: S models shaped like ``template`` with the stacked ``params`` as one
    forward (x -> (S, batch, outputs)) in one compiled call, where the model offers one for
    input like ``x`` (``stacked_forward`` of :class:`~qkan_lib.models.cells.RecurrentRegressor`
    on a kernel with a model axis), else None."""
    method = getattr(template, "stacked_forward", None)
    return None if method is None else method(params, x)


@dataclass
class SeedStack:
    """S seeds' models of one configuration as one batched model: ``models`` as built (the
    separate runs' initial weights), ``params`` their trainable tensors stacked on a leading
    seed axis, ``forward`` x -> (S, batch, outputs), and ``path``: "stacked" (one compiled call
    with a model axis, :func:`stacked_forward`) or "vmap" (``torch.func.vmap`` of the model's
    forward; run it inside :func:`~qkan_lib.core.daruan.vmap_compatible`)."""

    models: list[torch.nn.Module]
    params: dict[str, torch.Tensor]
    forward: Callable[[torch.Tensor], torch.Tensor]
    path: str


def stack_seeds(
    model_name: str,
    dataset_name: str,
    seeds: Iterable[int],
    dtype: torch.dtype,
    device: torch.device | str,
    x: torch.Tensor,
    model_options: dict | None = None,
    path: str = "auto",
) -> SeedStack:
    """Build each seed's model exactly as a separate run does (``seed_everything(seed)`` then
    ``build_model``) and stack them (:class:`SeedStack`) for inputs like ``x``: on the
    stacked path where the model has one, else vmapped (``path="vmap"`` forces vmap, for the
    benchmark that compares the two)."""
    if path not in ("auto", "vmap"):
        raise ValueError(f"path must be 'auto' or 'vmap', got {path!r}")
    models = []
    for seed in seeds:
        seed_everything(seed)
        models.append(
            build_model(
                model_name, dataset_name, dtype=dtype, device=device, **(model_options or {})
            )
        )
    params, _ = stack_module_state(models)
    template = copy.deepcopy(models[0])
    forward = None if path == "vmap" else stacked_forward(template, params, x)
    if forward is not None:
        return SeedStack(models, params, forward, "stacked")
    if MODEL_REGISTRY[model_name].stacked_only:
        raise ValueError(
            f"{model_name} batches its seeds only on the CPU (torch.nn.LSTM has no vmap rule); "
            "train it seed by seed here"
        )
    buffers = dict(models[0].named_buffers())  # frozen constants, identical for every seed
    batched = vmap(lambda p, rows: functional_call(template, (p, buffers), (rows,)), (0, None))
    return SeedStack(models, params, lambda rows: batched(params, rows), "vmap")


def train_seeds(
    model_name: str,
    dataset_name: str,
    data: SequenceData,
    config: TrainConfig,
    seeds: Iterable[int],
    model_options: dict | None = None,
    progress: bool | None = None,
) -> list[TrainOutcome]:
    """Like :func:`qkan_lib.training.train` for ``config`` with each seed in ``seeds``, in one pass.

    Returns one :class:`~qkan_lib.training.TrainOutcome` per seed; ``wall_time_s`` is the
    batched run's time divided by the number of seeds, ``final_state`` is that seed's slice
    of the trained stack.
    """
    if model_name not in BATCHABLE:
        raise ValueError(f"seed batching supports {BATCHABLE}; train {model_name!r} seed by seed")
    if config.shuffle:
        raise ValueError("seed batching needs the same batch order for every seed (shuffle=False)")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("no seeds given")

    device, dtype = resolve_device(config.device), DTYPES[config.dtype]
    data = data.to(dtype=dtype, device=device)
    stack = stack_seeds(
        model_name, dataset_name, seeds, dtype, device, data.x_train[:1], model_options
    )
    params = stack.params
    with vmap_compatible():
        outcomes = fit(
            stack.forward,
            list(params.values()),
            data,
            config,
            len(seeds),
            progress,
            f"{model_name} x {len(seeds)} seeds",
        )
    for k, (model, outcome) in enumerate(
        zip(stack.models, outcomes)
    ):  # seed k's slice of the stack
        state = {
            name: params[name][k] if name in params else value
            for name, value in model.state_dict().items()
        }
        outcome["final_state"] = state_to_lists(state)
    return outcomes
