"""Counting trainable parameters as in the paper's Table I."""

from __future__ import annotations

from torch import nn

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
