r"""NARMA-n: the standard benchmark for recurrent models that must remember and combine inputs.

NARMA (nonlinear autoregressive moving average; Atiya & Parlos, IEEE Trans. Neural
Networks 11(3), 2000) drives a nonlinear system of order n with an input u and asks the
model to predict the system's output from the input history alone:

.. math::
    y_{t+1} = \alpha y_t + \beta y_t \sum_{j=0}^{n-1} y_{t-j} + \gamma u_{t-n+1} u_t + \delta,
    \qquad (\alpha, \beta, \gamma, \delta) = (0.3, 0.05, 1.5, 0.1),

with u and y taken as 0 before the series starts. The model sees windows of u and
predicts the y that follows; it is never given past y (an autoregression on y would
trivialise the task). Unlike the paper's smooth series, no linear map of the last few
values predicts y well, so a model's nonlinearity and memory have to do the work.

Two variants exist; :func:`narma_dataset` offers both.

* ``"classic"`` (the reservoir-computing literature; the book's DEFAULT): u drawn
  i.i.d. uniform on [0, 0.5] from a seeded ``numpy.random.Generator``, a washout that
  drops the transient from y = 0, and as many steps as one asks for. It is the
  benchmark the literature reports, and it can be made long enough for train,
  validation and test splits with hundreds of windows each.
* ``"deterministic"`` (the code of this paper's group, S. Y.-C. Chen, Sci. Rep. 12,
  2022, as read from the public Gated-QKAN-FWP benchmark code): a fixed smooth input
  :math:`u_t = 0.1 (\sin(2\pi\, 2.11\, t/T) \sin(2\pi\, 3.73\, t/T) \sin(2\pi\, 4.11\, t/T) + 1)`,
  T = 300 and y_0 = 0.196. It is tiny (under 300 windows, no randomness across seeds)
  and its input is a band-limited sinusoid product, so it is offered for comparison
  with that group's numbers, not as the book's benchmark.

The classic recursion diverges for rare unlucky input draws (the quadratic feedback
:math:`\beta y_t \sum y` takes over once y exceeds about 1.2). A diverged draw is
detected (a non-finite value or :math:`|y| >` ``bound``) and redrawn from the same
generator, at most ``max_redraws`` times; the number of redraws is recorded in the
dataset's ``info``. With ``max_redraws=0`` the first divergence raises.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..utils import check_positive_int
from .windows import MinMaxScaler, SequenceData, chronological_split, make_windows

NARMA_COEFFICIENTS = {"alpha": 0.3, "beta": 0.05, "gamma": 1.5, "delta": 0.1}
VARIANTS = ("classic", "deterministic")


class NarmaDivergenceError(ValueError):
    """The NARMA recursion ran away (inf, NaN, or beyond the bound) for this input."""


def narma_recursion(
    u,
    order: int,
    y0: float = 0.0,
    alpha: float = 0.3,
    beta: float = 0.05,
    gamma: float = 1.5,
    delta: float = 0.1,
) -> np.ndarray:
    """y of the NARMA-``order`` system driven by ``u``: same length as u, y[0] = y0.

    y[t + 1] = alpha y[t] + beta y[t] (y[t] + ... + y[t - n + 1]) + gamma u[t - n + 1] u[t] + delta,
    with terms of negative index taken as 0. Overflow is not an error here (it gives inf
    or NaN); :func:`check_bounded` decides what counts as diverged.
    """
    order = check_positive_int(order, "order")
    u = np.asarray(u, dtype=float)
    if u.ndim != 1 or u.size < 1:
        raise ValueError(f"u must be a non-empty 1-D array, got shape {u.shape}")
    y = np.empty_like(u)
    y[0] = y0
    window_sum = y0  # y[t] + ... + y[t - order + 1], kept up to date incrementally
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(u.size - 1):
            lagged = u[t - order + 1] if t - order + 1 >= 0 else 0.0
            y[t + 1] = alpha * y[t] + beta * y[t] * window_sum + gamma * lagged * u[t] + delta
            window_sum += y[t + 1] - (y[t - order + 1] if t - order + 1 >= 0 else 0.0)
    return y


def check_bounded(y, order: int, bound: float = 10.0) -> None:
    """Raise :class:`NarmaDivergenceError` if y has a non-finite value or one beyond ``bound``.

    A converging NARMA-5/10 series with u in [0, 0.5] stays within about [0, 1]; once
    |y| passes ~1.2 the quadratic term feeds on itself, so 10 is far outside normal
    behaviour and well before overflow.
    """
    y = np.asarray(y, dtype=float)
    bad = ~np.isfinite(y) | (np.abs(np.nan_to_num(y, nan=np.inf)) > bound)
    if bad.any():
        step = int(np.argmax(bad))
        raise NarmaDivergenceError(
            f"NARMA-{order} diverged at step {step} of {y.size} (y = {y[step]:.3g}, "
            f"bound {bound}); this input draw cannot be used"
        )


def classic_narma(
    order: int,
    length: int = 1000,
    seed: int = 0,
    washout: int = 200,
    input_range: tuple[float, float] = (0.0, 0.5),
    bound: float = 10.0,
    max_redraws: int = 10,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """The classic NARMA-``order``: u i.i.d. uniform on ``input_range``, seeded, washout dropped.

    Returns ``(u, y, info)`` with ``length`` steps each after discarding ``washout`` steps;
    ``info`` records the seed and how many diverged draws were redrawn. Raises
    :class:`NarmaDivergenceError` when ``max_redraws`` redraws all diverge.
    """
    order = check_positive_int(order, "order")
    length = check_positive_int(length, "length")
    if isinstance(washout, bool) or not isinstance(washout, (int, np.integer)) or washout < 0:
        raise ValueError(f"washout must be an integer >= 0, got {washout!r}")
    low, high = input_range
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"input_range must be (low, high) with low < high, got {input_range!r}")
    if (
        isinstance(max_redraws, bool)
        or not isinstance(max_redraws, (int, np.integer))
        or max_redraws < 0
    ):
        raise ValueError(f"max_redraws must be an integer >= 0, got {max_redraws!r}")
    rng = np.random.default_rng(seed)
    for draw in range(max_redraws + 1):
        u = rng.uniform(low, high, length + washout)
        y = narma_recursion(u, order, **NARMA_COEFFICIENTS)
        try:
            check_bounded(y, order, bound)
        except NarmaDivergenceError as error:
            last_error = error
            continue
        return u[washout:], y[washout:], {"seed": seed, "redraws": draw}
    raise NarmaDivergenceError(
        f"{last_error}. All {max_redraws + 1} draws from seed {seed} diverged; "
        "narrow input_range or use another seed"
    ) from last_error


def deterministic_narma(
    order: int, steps: int = 300, y0: float = 0.196
) -> tuple[np.ndarray, np.ndarray]:
    """The paper group's NARMA: the fixed sinusoid-product input over ``steps`` = T steps."""
    steps = check_positive_int(steps, "steps")
    t = np.arange(steps)
    u = 0.1 * (
        np.sin(2 * np.pi * 2.11 * t / steps)
        * np.sin(2 * np.pi * 3.73 * t / steps)
        * np.sin(2 * np.pi * 4.11 * t / steps)
        + 1
    )
    y = narma_recursion(u, order, y0=y0, **NARMA_COEFFICIENTS)
    check_bounded(y, order)
    return u, y


def narma_dataset(
    order: int = 10,
    seq_len: int = 10,
    variant: str = "classic",
    length: int = 1000,
    seed: int = 0,
    train_fraction: float = 0.67,
    val_fraction: float = 0.2,
    scale: bool = True,
    dtype: torch.dtype = torch.float64,
    **variant_options,
) -> SequenceData:
    """NARMA windows: x = u[i : i + seq_len] (input history), target y[i + seq_len].

    Split chronologically into train / validation / test (:func:`chronological_split`).
    With ``scale`` (default) inputs and targets are each min-max scaled to [-1, 1] by a
    scaler fitted on the TRAINING windows only (validation and test may leave [-1, 1]);
    ``data.scaler`` maps predictions back to y, ``info["input_scaler"]`` is u's. The paper
    group's code does not rescale; ``scale=False`` keeps raw values.

    ``seq_len`` below ``order`` hides u[t - order + 1] from the model, so the product term
    cannot be computed from the window; that is allowed (it makes the task harder) but
    ``seq_len >= order`` is the usual choice. ``length`` and ``seed`` apply to the classic
    variant; ``variant_options`` go to :func:`classic_narma` or :func:`deterministic_narma`.
    """
    order = check_positive_int(order, "order")
    seq_len = check_positive_int(seq_len, "seq_len")
    if variant == "classic":
        u, y, info = classic_narma(order, length, seed, **variant_options)
    elif variant == "deterministic":
        u, y = deterministic_narma(order, **variant_options)
        info = {}
    else:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    x, _ = make_windows(u, seq_len)
    _, target = make_windows(y, seq_len)
    a, b = chronological_split(len(x), train_fraction, val_fraction)
    target_scaler = input_scaler = None
    if scale:
        input_scaler = MinMaxScaler.fit(x[:a])
        target_scaler = MinMaxScaler.fit(target[:a])
        x, target = input_scaler.transform(x), target_scaler.transform(target)

    def tensor(values):
        return torch.as_tensor(np.ascontiguousarray(values), dtype=dtype)

    info.update(
        {
            "variant": variant,
            "order": order,
            "cuts": [a, b],
            "u": u.tolist(),
            "y": y.tolist(),
            "input_scaler": input_scaler,
        }
    )
    return SequenceData(
        f"narma{order}",
        seq_len,
        tensor(x[:a]),
        tensor(target[:a]),
        tensor(x[b:]),
        tensor(target[b:]),
        tensor(x[a:b]),
        tensor(target[a:b]),
        scaler=target_scaler,
        info=info,
    )
