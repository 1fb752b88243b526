"""Train every seed of a configuration at once: S models as one batched model.

The S models are built exactly as separate runs would build them (``seed_everything(seed)``
then ``build_model``), their parameters are stacked on a leading seed axis
(``torch.func.stack_module_state``) and one ``torch.func.vmap``-ed forward pass evaluates all
of them; :func:`qkan_lib.training.fit` then trains them as it trains one model. The results
equal S separate runs up to floating-point reduction order.

It is not the default (``run_grid(batch_seeds=False)``): on the CPU the compiled whole-sequence
kernels of QKAN-LSTM, HQKAN-LSTM and QLSTM cannot run under vmap, and seeds one after another
on those kernels were measured faster than S seeds batched on the autograd path, for every model
and shape of the book (``benchmarks/seed_batching.py``: 1.3x to 22x; at batch 1, chapter 9's
batch-1 protocol, 1.5x to 3.1x with ``--batch-one``). One model stepping on the S batches
stacked costs 4-12 % of S fused steps there, but that is no bound for S models in one compiled
call (not built): it does each model's per-weight work once. In QLSTM the compiled circuit
kernels take about 40 % of a batch-1 step (profiled), much of it per-weight work that would stay
S-fold; in QKAN-LSTM the compiled loops take under 15 % and the rest is Python, autograd and
optimiser overhead, which such a call would pay once. On a GPU,
where the kernels do not apply and each operator costs a launch, batching may pay; it is opt-in
there, unmeasured here. :data:`BATCHABLE` lists the models that CAN be batched.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch.func import functional_call, stack_module_state, vmap

from ..core.daruan import vmap_compatible
from ..data.windows import SequenceData
from ..models.registry import MODEL_REGISTRY, build_model
from ..utils import resolve_device, seed_everything
from .training import DTYPES, TrainConfig, TrainOutcome, fit, state_to_lists

BATCHABLE = tuple(n for n, spec in MODEL_REGISTRY.items() if spec.seed_batchable)


def stacked_forward(template: torch.nn.Module, params: dict[str, torch.Tensor], x: torch.Tensor):
    """The direct path: S models shaped like ``template`` with the stacked ``params`` as one
    forward (x -> (S, batch, outputs)) in one compiled call, where the model offers one for
    input like ``x`` (``stacked_forward`` of :class:`~qkan_lib.models.cells.RecurrentRegressor`
    on a kernel with a model axis), else None."""
    method = getattr(template, "stacked_forward", None)
    return None if method is None else method(params, x)


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
    models = []
    for seed in seeds:
        seed_everything(seed)
        models.append(
            build_model(
                model_name, dataset_name, dtype=dtype, device=device, **(model_options or {})
            )
        )
    params, _ = stack_module_state(models)
    buffers = dict(models[0].named_buffers())  # frozen constants, identical for every seed
    template = copy.deepcopy(models[0])
    data = data.to(dtype=dtype, device=device)
    forward = stacked_forward(template, params, data.x_train[:1])
    if forward is None:  # no kernel with a model axis here: vmap the model's own forward
        batched = vmap(lambda p, x: functional_call(template, (p, buffers), (x,)), (0, None))
        forward = lambda x: batched(params, x)  # noqa: E731
    with vmap_compatible():
        outcomes = fit(
            forward,
            list(params.values()),
            data,
            config,
            len(seeds),
            progress,
            f"{model_name} x {len(seeds)} seeds",
        )
    for k, (model, outcome) in enumerate(zip(models, outcomes)):  # seed k's slice of the stack
        state = {
            name: params[name][k] if name in params else value
            for name, value in model.state_dict().items()
        }
        outcome["final_state"] = state_to_lists(state)
    return outcomes
