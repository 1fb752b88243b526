"""Spectrum use of trained QKAN-LSTMs: cached training with snapshots, usage tables, verdict."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

import qkan_lib.runs.training
from qkan_lib import protocol, run_experiment
from qkan_lib.book.spectrum_plots import plot_edge_detail, plot_edge_spectra, plot_spectrum_usage
from qkan_lib.core.layers import QKANLayer
from qkan_lib.evidence.learned_spectra import (
    USAGE_COLUMNS,
    edge_spectrum,
    edges_path,
    max_positive_frequencies,
    qkan_layers,
    qkan_lstm_experiment,
    spectrum_usage,
    spectrum_usage_key,
    spectrum_usage_summary,
    spectrum_usage_table,
    spectrum_verdict,
    train_qkan_lstm_edges,
)

SHORT = {"epochs": 2}  # two epochs of the Bessel protocol: seconds, not minutes


def one_edge_layer(weights, seed=0):
    torch.manual_seed(seed)
    layer = QKANLayer(1, 1, len(weights), dtype=torch.float64)
    with torch.no_grad():
        layer.theta.uniform_(-math.pi, math.pi)
        layer.preact_weight[0, 0] = torch.tensor(weights, dtype=torch.float64)
        layer.preact_bias.normal_()
    return layer


def test_coarse_merge_around_zero_is_the_constant():
    # Omega = {0, +-0.06, +-0.07, +-0.13, +-0.19}: one chain of gaps < 0.1 through 0, whose
    # representative (its smallest member, -0.19) lies below -tol; it is the constant term.
    layer = one_edge_layer([0.06, 0.13])
    s = edge_spectrum(layer, 0, 0, tol=0.1)
    assert s.frequencies.size == 0 and s.oscillating_energy == 0.0
    with torch.no_grad():
        phi0 = layer.edge_functions(torch.zeros(1, 1, dtype=torch.float64))[0, 0, 0].item()
    assert s.dc == pytest.approx(phi0, abs=1e-12)  # the sum of every coefficient is phi(0)
    assert math.isnan(s.share_outside_dominant) and s.active_frequencies() == 0


def test_coarse_merge_pairs_mirror_clusters():
    # w = (1, 1.05), tol 0.1: clusters {-0.05, 0, 0.05}, {1, 1.05}, {2.05} and mirrors.
    layer = one_edge_layer([1.0, 1.05], seed=3)
    exact = edge_spectrum(layer, 0, 0)
    merged = edge_spectrum(layer, 0, 0, tol=0.1)
    # a merged cluster stands at its mean (qkan_lib.core.spectrum.distinct_frequencies)
    np.testing.assert_allclose(merged.frequencies, [1.025, 2.05])

    def cluster(lo, hi):
        inside = (exact.omegas >= lo) & (exact.omegas <= hi)
        return exact.coeffs[inside].sum()

    expected = [
        abs(cluster(0.9, 1.1)) ** 2 + abs(cluster(-1.1, -0.9)) ** 2,
        abs(cluster(2.0, 2.1)) ** 2 + abs(cluster(-2.1, -2.0)) ** 2,
    ]
    np.testing.assert_allclose(merged.energies, expected, rtol=1e-12)
    assert merged.dc == pytest.approx(cluster(-0.1, 0.1).real, abs=1e-14)


def test_reps_one_experiment_is_the_grids():
    grid = protocol("bessel").experiments(["qkan_lstm"], seeds=[4])[0]
    assert qkan_lstm_experiment("bessel", 1, 4) == grid
    assert dict(qkan_lstm_experiment("bessel", 2, 4).model_options) == {"reps": 2}
    assert qkan_lstm_experiment("bessel", 1, 4, train_overrides=SHORT).train.epochs == 2
    assert [max_positive_frequencies(r) for r in (1, 2, 3)] == [1, 4, 13]


def test_training_with_snapshots_is_the_grids_run_and_is_cached(tmp_path, monkeypatch):
    trained = train_qkan_lstm_edges(
        "bessel", 2, 1, results_dir=tmp_path / "a", train_overrides=SHORT
    )
    assert trained.recorder.recorded_epochs() == [0, 1, 2] and trained.reps == 2
    assert np.all(trained.initial.weight == 1.0) and not np.allclose(trained.trained.weight, 1.0)
    layer = next(iter(qkan_layers(trained.model).values()))
    np.testing.assert_array_equal(trained.trained.theta, layer.theta.detach().numpy())
    # the hook does not change training: the grid's own run gives the same history
    alone = run_experiment(trained.experiment, tmp_path / "b")
    assert alone.history == trained.result.history
    path = edges_path(trained.experiment, tmp_path / "a")
    assert path.exists() and path.name.endswith(".edges.pt")

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although the cache holds the run")

    monkeypatch.setattr(qkan_lib.runs.training, "train", no_training)
    again = train_qkan_lstm_edges("bessel", 2, 1, results_dir=tmp_path / "a", train_overrides=SHORT)
    for epoch in (0, 1, 2):
        np.testing.assert_array_equal(
            again.recorder.at(epoch).weight, trained.recorder.at(epoch).weight
        )
    x = torch.linspace(-1, 1, 7, dtype=torch.float64).reshape(1, 7, 1)
    torch.testing.assert_close(again.model(x), trained.model(x), rtol=0, atol=0)
    monkeypatch.undo()
    path.write_bytes(b"damaged")  # a damaged cache is retrained, never trusted
    healed = train_qkan_lstm_edges(
        "bessel", 2, 1, results_dir=tmp_path / "a", train_overrides=SHORT
    )
    np.testing.assert_allclose(healed.trained.weight, trained.trained.weight, rtol=0, atol=1e-12)


def test_spectrum_usage_rows_and_summary(tmp_path):
    usage = spectrum_usage(
        "bessel", (1, 2), seeds=(0, 1), results_dir=tmp_path, epochs=(0, 2), train_overrides=SHORT
    )
    assert list(usage.columns) == USAGE_COLUMNS
    assert len(usage) == 2 * 2 * 2 * 8  # reps x seeds x epochs x (2 inputs -> 4 gates)
    assert set(usage["gate"]) == {"i", "f", "g", "o"} and set(usage["input"]) == {"x", "h"}
    one = usage[usage["reps"] == 1]
    assert (one["share_outside_dominant"] == 0).all() and (one["active_frequencies"] == 1).all()
    assert (one["max_frequencies"] == 1).all() and (
        usage[usage["reps"] == 2]["max_frequencies"] == 4
    ).all()
    shares = usage[["share_outside_dominant", "share_outside_lowest", "share_combination"]]
    assert ((shares >= 0) & (shares <= 1)).all().all()
    assert (usage["share_outside_dominant"] <= usage["share_outside_lowest"] + 1e-12).all()
    assert usage[usage["epoch"] == 0]["test_r2"].isna().all()
    last = usage[usage["epoch"] == 2]
    assert last["test_r2"].notna().all()
    default = spectrum_usage(
        "bessel", (2,), seeds=(1,), results_dir=tmp_path, train_overrides=SHORT
    )
    assert list(default["epoch"].unique()) == [2]  # the last epoch only, by default
    pd.testing.assert_frame_equal(
        default.reset_index(drop=True),
        last[(last["reps"] == 2) & (last["seed"] == 1)].reset_index(drop=True),
    )

    summary = spectrum_usage_summary(usage)
    assert len(summary) == 4  # (reps, epoch) pairs
    row = summary[(summary["reps"] == 2) & (summary["epoch"] == 2)].iloc[0]
    group = last[last["reps"] == 2]
    assert row["models"] == 2 and row["edges"] == 16
    assert row["share_outside_dominant_median"] == group["share_outside_dominant"].median()
    assert row["active_frequencies_max"] == group["active_frequencies"].max()
    assert row["single_frequency"] == (group["share_outside_dominant"] <= 0.01).mean()
    table = spectrum_usage_table(summary, "frequencies")
    assert len(table) == 4 and all(isinstance(v, str) for v in table.iloc[0])
    assert table.index.names == ["dataset", "L", "epoch"]  # no bare row numbers
    # models × edges, the same in every row of a dataset: in the caption, from the summary
    assert "models × edges" not in table.columns
    assert spectrum_usage_key(summary) == "2 models × 8 edges for Bessel Function"
    energy = spectrum_usage_table(summary, "energy")
    assert energy.index.equals(table.index) and not set(energy.columns) & set(table.columns)
    median = 100 * row["share_outside_dominant_median"]
    assert energy.loc[("Bessel Function", 2, 2), "outside dominant"].startswith(f"{median:.1f} [")
    with pytest.raises(ValueError, match="part"):
        spectrum_usage_table(summary, "both")
    with pytest.raises(ValueError, match="epochs"):
        spectrum_usage(
            "bessel", (1,), seeds=(0,), results_dir=tmp_path, epochs=(5,), train_overrides=SHORT
        )


def usage_frame(shares_by_reps):
    """A hand-made usage frame: one model, edges with the given shares outside the dominant."""
    rows = []
    for reps, shares in shares_by_reps.items():
        for k, share in enumerate(shares):
            row = {c: 0 for c in USAGE_COLUMNS}
            row.update(
                dataset="bessel",
                reps=reps,
                seed=0,
                epoch=30,
                out=k,
                max_frequencies=(3**reps - 1) // 2,
                share_outside_dominant=share,
                share_outside_lowest=share,
                share_combination=0.0,
                active_frequencies=1 if share == 0 else 2,
                dominant_is_combination=k == 0,
                test_r2=0.9,
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=USAGE_COLUMNS)


def test_verdict_is_computed_from_the_numbers():
    single = spectrum_usage_summary(usage_frame({1: [0, 0], 2: [0.001, 0.002, 0.3]}))
    assert "effectively one frequency per edge" in spectrum_verdict(single)
    assert single.set_index("reps").loc[2, "single_frequency"] == pytest.approx(2 / 3)
    assert single.set_index("reps").loc[2, "dominant_combination"] == pytest.approx(1 / 3)
    several = spectrum_usage_summary(usage_frame({2: [0.2, 0.3, 0.001], 3: [0.5, 0.4, 0.3]}))
    assert "several frequencies per edge" in spectrum_verdict(several)
    short = spectrum_verdict(several, detail=False)
    assert short.endswith("use several frequencies per edge.") and "%" not in short
    mixed = spectrum_usage_summary(usage_frame({2: [0, 0, 0.3], 3: [0.5, 0.4, 0.3]}))
    assert "at some L" in spectrum_verdict(mixed)
    assert "not tested" in spectrum_verdict(spectrum_usage_summary(usage_frame({1: [0, 0]})))
    # a stricter threshold turns the same numbers into "several"
    strict = spectrum_usage_summary(usage_frame({2: [0.001, 0.002, 0.3]}), single_threshold=1e-4)
    assert "several" in spectrum_verdict(strict, single_threshold=1e-4)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="reps"):
        qkan_lstm_experiment("bessel", 0)
    with pytest.raises(ValueError, match="reps_values"):
        spectrum_usage("bessel", ())
    with pytest.raises(ValueError, match="seeds"):
        spectrum_usage("bessel", (1,), seeds=())
    with pytest.raises(ValueError, match="lacks columns"):
        spectrum_usage_summary(pd.DataFrame({"reps": [1]}))
    with pytest.raises(ValueError, match="single_threshold"):
        spectrum_usage_summary(usage_frame({1: [0]}), single_threshold=1.5)
    with pytest.raises(ValueError, match="empty"):
        spectrum_verdict(pd.DataFrame())


def test_usage_and_detail_plots_return_figures():
    usage = usage_frame({1: [0, 0], 2: [0.1, 0.3]})
    usage = pd.concat([usage, usage.assign(epoch=0)], ignore_index=True)
    fig = plot_spectrum_usage(usage)
    panels = [ax for ax in fig.axes if ax.axison]  # three panels; the fourth cell: the legend
    assert len(panels) == 3 and len(fig.axes) == 4 and fig.axes[3].get_legend() is not None
    plt.close(fig)
    with pytest.raises(ValueError, match="measures"):
        plot_spectrum_usage(usage, measures=("energy",))
    layer = one_edge_layer([1.3, 0.7])
    fig = plot_edge_detail(layer, 0, 0, in_labels=["x"], out_labels=["i"])
    assert len(fig.axes) == 2 and "outside dominant" in fig.axes[1].get_title()
    plt.close(fig)
    fig = plot_edge_spectra(layer, share="share_outside_dominant")
    plt.close(fig)
    with pytest.raises(ValueError, match="share"):
        plot_edge_spectra(layer, share="energy")
