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


def parameter_table(build=None):
    """Table I: classical / quantum / total for every model and dataset, beside the paper's.

    Returns a pandas DataFrame with one row per (dataset, model): our counts, the paper's
    counts and a per-cell match flag. ``build(model, dataset)`` defaults to
    :func:`qkan_lib.configs.build_model`, so the table always reflects the named configs.
    """
    import pandas as pd

    from .configs import DATASETS, MODELS, build_model
    from .paper import TABLE_I

    build = build or (lambda model, dataset: build_model(model, dataset))
    rows = []
    for dataset in DATASETS:
        for model in MODELS:
            counts = count_parameters(build(model, dataset))
            ours = (counts["classical"], counts["quantum"] or None, counts["total"])
            paper = TABLE_I[(dataset, model)]
            row = {"dataset": dataset, "model": model}
            for part, o, p in zip(("classical", "quantum", "total"), ours, paper):
                row[part] = o
                row[f"paper_{part}"] = p
                row[f"match_{part}"] = o == p
            rows.append(row)
    return pd.DataFrame(rows)


def search_configurations(model: str, dataset: str, target: tuple, top: int = 3, max_latent: int = 4):
    """Nearest configurations to a published (classical, quantum, total) count.

    Searches the options a QKAN-LSTM / HQKAN-LSTM configuration can change without
    changing the paper's stated sizes (hidden size, one DARUAN layer): reps 1..3, which
    of preacts / base / post-activation weight / post-activation bias train, and for
    HQKAN the latent widths 1..max_latent. Ranks by |d classical| + |d quantum|.
    Returns a DataFrame of the ``top`` nearest, with the options and the counts.
    """
    import itertools

    import pandas as pd

    from .configs import build_model

    if model not in ("qkan_lstm", "hqkan_lstm"):
        raise ValueError("configuration search is defined for 'qkan_lstm' and 'hqkan_lstm'")
    flags = ("preact_trainable", "base_trainable", "postact_weight_trainable", "postact_bias_trainable")
    latents = itertools.product(range(1, max_latent + 1), repeat=2) if model == "hqkan_lstm" else [None]
    rows = []
    for reps, bits, latent in itertools.product((1, 2, 3), itertools.product((False, True), repeat=4), latents):
        options = dict(zip(flags, bits), reps=reps)
        if latent is not None:
            options.update(latent_in=latent[0], latent_out=latent[1])
        counts = count_parameters(build_model(model, dataset, **options))
        distance = abs(counts["classical"] - target[0]) + abs(counts["quantum"] - target[1])
        rows.append({**options, **counts, "distance": distance})
    table = pd.DataFrame(rows).sort_values(["distance", "reps"], kind="stable")
    return table.head(top).reset_index(drop=True)


def format_parameter_table(table):
    """Table I for display: rows (dataset, model), columns (part, ours/paper), marks per cell."""
    import pandas as pd

    from .configs import DATASET_LABELS, MODEL_LABELS

    def show(value):
        return "-" if value is None or pd.isna(value) else str(int(value))

    out = {}
    for part in ("classical", "quantum", "total"):
        out[(part, "paper")] = [show(v) for v in table[f"paper_{part}"]]
        out[(part, "this book")] = [f"{show(v)} {'✓' if ok else '✗'}"
                                   for v, ok in zip(table[part], table[f"match_{part}"])]
    index = pd.MultiIndex.from_arrays([table["dataset"].map(DATASET_LABELS), table["model"].map(MODEL_LABELS)],
                                      names=["dataset", "model"])
    return pd.DataFrame(out, index=index)
