"""Counting trainable parameters as in the paper's Table I."""

from __future__ import annotations

import itertools

import pandas as pd
from torch import nn

from .configs import build_model

QUANTUM_PARAMETER_NAME = "theta"


def count_parameters(model: nn.Module) -> dict:
    """Trainable parameters split into classical / quantum / total.

    Rule: a parameter is *quantum* when it is a rotation angle of a gate in a
    circuit, i.e. a DARUAN's trainable block angles theta or a QLSTM circuit's
    variational angles; the library names all of these ``theta``. Everything else
    that trains is *classical*: encoding weights and biases (w_l, b_l, classical
    pre-processing of the data), base and post-activation weights, linear layers,
    LSTM weights and heads. Frozen tensors (buffers, requires_grad=False) are not counted.
    """
    counts = {"classical": 0, "quantum": 0}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        kind = "quantum" if name.rsplit(".", 1)[-1] == QUANTUM_PARAMETER_NAME else "classical"
        counts[kind] += param.numel()
    counts["total"] = counts["classical"] + counts["quantum"]
    return counts


def search_configurations(
    model: str, dataset: str, target: tuple, top: int = 3, max_latent: int = 4
):
    """Nearest configurations to a published (classical, quantum, total) count.

    Searches the options a QKAN-LSTM / HQKAN-LSTM configuration can change without
    changing the paper's stated sizes (hidden size, one DARUAN layer): reps 1..3, which
    of preacts / base / post-activation weight / post-activation bias train, and for
    HQKAN the latent widths 1..max_latent. Ranks by |d classical| + |d quantum|.
    Returns a DataFrame of the ``top`` nearest, with the options and the counts.
    """
    if model not in ("qkan_lstm", "hqkan_lstm"):
        raise ValueError("configuration search is defined for 'qkan_lstm' and 'hqkan_lstm'")
    flags = (
        "preact_trainable",
        "base_trainable",
        "postact_weight_trainable",
        "postact_bias_trainable",
    )
    latents = (
        itertools.product(range(1, max_latent + 1), repeat=2) if model == "hqkan_lstm" else [None]
    )
    rows = []
    for reps, bits, latent in itertools.product(
        (1, 2, 3), itertools.product((False, True), repeat=4), latents
    ):
        options = dict(zip(flags, bits), reps=reps)
        if latent is not None:
            options.update(latent_in=latent[0], latent_out=latent[1])
        counts = count_parameters(build_model(model, dataset, **options))
        distance = abs(counts["classical"] - target[0]) + abs(counts["quantum"] - target[1])
        rows.append({**options, **counts, "distance": distance})
    table = pd.DataFrame(rows).sort_values(["distance", "reps"], kind="stable")
    return table.head(top).reset_index(drop=True)
