"""The parameter-matched baseline: a plain ``torch.nn.LSTM`` with as many trainable parameters
as a quantum-inspired model. If it does as well, the parameter reduction is not the gate map's
merit."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..utils import check_positive_int
from .cells import LSTMRegressor
from .parameters import count_parameters


def lstm_parameter_count(hidden_size: int, input_size: int = 1, num_layers: int = 1) -> int:
    """Trainable parameters of torch.nn.LSTM + Linear head, counted on the built modules."""
    with torch.random.fork_rng(devices=[]):  # building must not move the caller's random stream
        model = LSTMRegressor(input_size, hidden_size, num_layers, device="meta")
    return count_parameters(model)["total"]


def parameter_matched_lstm_hidden(
    target_params: int, input_size: int = 1, num_layers: int = 1
) -> int:
    """The hidden size whose torch.nn.LSTM (+ Linear head) count is nearest ``target_params``.

    Counts grow strictly with the hidden size, so the search stops at the first size whose
    count reaches the target. Ties (two sizes equally near) go to the SMALLER hidden size:
    the baseline then never has more parameters than the model it is matched to when that
    is equally fair, which is the conservative side for a claimed parameter reduction.
    """
    target_params = check_positive_int(target_params, "target_params")
    input_size = check_positive_int(input_size, "input_size")
    num_layers = check_positive_int(num_layers, "num_layers")
    hidden, below = 1, None
    while True:
        count = lstm_parameter_count(hidden, input_size, num_layers)
        if count >= target_params:
            if below is not None and target_params - below <= count - target_params:
                return hidden - 1
            return hidden
        below, hidden = count, hidden + 1


def build_parameter_matched_lstm(
    dataset: str,
    match: str = "qkan_lstm",
    target_params: int | None = None,
    num_layers: int = 1,
    hidden_size: int | None = None,
    input_size: int = 1,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    match_count: Callable[[str, str, int], int] | None = None,
) -> LSTMRegressor:
    """The named "param_matched_lstm": nn.LSTM sized to the count of model ``match`` on ``dataset``.

    The target is ``match_count(match, dataset, input_size)`` (the model registry passes the
    count of ``build_model(match, dataset)``); ``target_params`` overrides it;
    ``hidden_size`` overrides the search altogether. The matched model is built under a
    forked random stream, so the LSTM's initial weights depend on the seed alone.
    """
    if hidden_size is None:
        if target_params is None:
            if match_count is None:
                raise ValueError("give target_params, hidden_size or match_count")
            target_params = match_count(match, dataset, input_size)
        hidden_size = parameter_matched_lstm_hidden(target_params, input_size, num_layers)
    return LSTMRegressor(input_size, hidden_size, num_layers, dtype=dtype, device=device)
