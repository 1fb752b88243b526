"""qkan_lib.evidence.learned_spectra and edge_plots: exact edge spectra of trained QKAN layers."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from qkan_lib import build_model
from qkan_lib.book.spectrum_plots import (
    gate_labels,
    plot_edge_functions,
    plot_edge_spectra,
    plot_weight_trajectories,
)
from qkan_lib.core.layers import QKANLayer
from qkan_lib.core.spectrum import fft_coefficients
from qkan_lib.evidence.learned_spectra import (
    EdgeParameters,
    SpectrumRecorder,
    edge_spectrum,
    edge_values,
    layer_spectra,
    qkan_layers,
    reconstruct,
    spectral_summary,
)


def trained_like_layer(in_features=3, out_features=4, reps=2, seed=0, unit_weights=False):
    """A float64 layer whose w and b are moved away from their initial 1 and 0, as training does."""
    torch.manual_seed(seed)
    layer = QKANLayer(in_features, out_features, reps, dtype=torch.float64)
    with torch.no_grad():
        if not unit_weights:
            layer.preact_weight.uniform_(0.3, 2.5)
            layer.preact_weight[0, 0, 0] *= -1  # negative weights occur in training too
        layer.preact_bias.normal_()
        layer.theta.uniform_(-math.pi, math.pi)
    return layer


@pytest.mark.parametrize("reps", [1, 2, 3])
def test_spectrum_rebuilds_the_layers_edge_functions(reps):
    layer = trained_like_layer(reps=reps, seed=reps)
    x = np.linspace(-6, 6, 1201)
    rebuilt = reconstruct(layer_spectra(layer), x, layer.out_features, layer.in_features)
    with torch.no_grad():
        direct = layer.edge_functions(torch.tensor(x)[:, None].expand(-1, layer.in_features))
    assert np.max(np.abs(rebuilt - direct.numpy())) < 1e-10
    assert np.max(np.abs(edge_values(layer, x) - direct.numpy())) == 0.0
    assert np.max(np.abs(EdgeParameters.from_layer(layer).values(x) - direct.numpy())) < 1e-14


def test_generic_weights_give_all_predicted_frequencies():
    s = edge_spectrum(trained_like_layer(reps=3), 1, 2)
    assert s.frequencies.size == (3**3 - 1) // 2  # 13 distinct positive frequencies
    np.testing.assert_allclose(np.sort(s.frequencies), s.frequencies)


def test_zero_second_weight_collapses_the_spectrum():
    layer = trained_like_layer(reps=2)
    generic = edge_spectrum(layer, 1, 1)
    with torch.no_grad():
        layer.preact_weight[1, 1, 1] = 0.0
    collapsed = edge_spectrum(layer, 1, 1)
    assert generic.frequencies.size == 4
    assert collapsed.frequencies.size == 1
    assert collapsed.frequencies[0] == pytest.approx(abs(layer.preact_weight[1, 1, 0].item()))
    assert collapsed.share_outside_lowest == pytest.approx(0.0, abs=1e-15)
    x = np.linspace(-5, 5, 301)
    with torch.no_grad():
        direct = layer.edge_functions(torch.tensor(x)[:, None].expand(-1, 3))[:, 1, 1].numpy()
    assert np.max(np.abs(collapsed(x) - direct)) < 1e-10


def test_single_reupload_edges_have_one_frequency():
    summary = spectral_summary(trained_like_layer(reps=1))
    assert (summary["predicted_frequencies"] == 1).all()
    assert (summary["share_outside_lowest"] == 0).all()
    assert (summary["share_outside_dominant"] == 0).all()
    assert (summary["share_combination"] == 0).all()
    assert (summary["active_frequencies"] <= 1).all()


def test_energies_satisfy_parseval_on_unit_weights():
    layer = trained_like_layer(reps=3, unit_weights=True)
    n = 64
    x = 2 * math.pi * np.arange(n) / n
    values = edge_values(layer, x)
    for s in layer_spectra(layer):
        phi = values[:, s.out_index, s.in_index]
        assert np.mean(phi**2) == pytest.approx(s.dc**2 + s.oscillating_energy, abs=1e-13)
        freqs, coeffs = fft_coefficients(phi)  # an independent oracle on integer frequencies
        for f, e in zip(s.frequencies, s.energies):
            plus, minus = coeffs[freqs == round(f)][0], coeffs[freqs == -round(f)][0]
            assert e == pytest.approx(abs(plus) ** 2 + abs(minus) ** 2, abs=1e-13)


def test_energy_shares_by_hand():
    s = edge_spectrum(trained_like_layer(reps=2), 2, 0)
    e = s.energies
    assert s.share_outside_lowest == pytest.approx(1 - e[0] / e.sum())
    assert s.share_outside_dominant == pytest.approx(1 - e.max() / e.sum())
    assert s.dominant_frequency == s.frequencies[np.argmax(e)]
    w = np.abs(s.weight)
    single = np.isclose(s.frequencies[:, None], w[None, :], atol=1e-9).any(axis=1)
    assert s.share_combination == pytest.approx(e[~single].sum() / e.sum())
    assert s.active_frequencies(1e-3) == np.sum(e >= 1e-3 * e.sum())
    assert 0 <= s.share_outside_dominant <= s.share_outside_lowest <= 1


def test_merging_tolerance_joins_nearby_frequencies():
    layer = trained_like_layer(reps=2)
    with torch.no_grad():
        layer.preact_weight[0, 1] = torch.tensor([1.0, 1.0 + 1e-6], dtype=torch.float64)
    exact = edge_spectrum(layer, 0, 1)
    merged = edge_spectrum(layer, 0, 1, tol=1e-4)
    assert exact.frequencies.size == 4 and merged.frequencies.size == 2
    # merged coefficients are the sums over each cluster of exact ones (coherent, not energies)
    for omega, c in zip(merged.omegas, merged.coeffs):
        cluster = np.abs(exact.omegas - omega) <= 1e-4
        assert c == pytest.approx(exact.coeffs[cluster].sum(), abs=1e-14)
    # and describe the function on any window short against 1 / 1e-6
    x = np.linspace(-5, 5, 201)
    assert np.max(np.abs(merged(x) - exact(x))) < 1e-4


def test_gate_layer_of_a_built_model_and_errors():
    model = build_model("qkan_lstm", "damped_shm", reps=2, dtype=torch.float64)
    layers = qkan_layers(model)
    assert len(layers) == 1
    layer = next(iter(layers.values()))
    assert (layer.in_features, layer.out_features) == (3, 8)
    summary = spectral_summary(layer)
    assert len(summary) == 24 and (summary["predicted_frequencies"] == 2).all()  # w = 1: {1, 2}
    with pytest.raises(ValueError, match="readout"):
        edge_spectrum(QKANLayer(1, 1, 1, readout="amplitude"), 0, 0)
    with pytest.raises(ValueError, match="outside"):
        edge_spectrum(layer, 8, 0)
    with pytest.raises(ValueError, match="theta"):
        EdgeParameters(np.zeros((2, 2)), np.zeros((1, 1, 1)), np.zeros((1, 1, 1)))
    with pytest.raises(ValueError, match="weight"):
        EdgeParameters(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2)), np.zeros((1, 1, 1)))
    with pytest.raises(ValueError, match="QKANLayer"):
        EdgeParameters.from_layer(torch.nn.Linear(1, 1))


def test_recorder_snapshots_during_training():
    torch.manual_seed(0)
    model = build_model("qkan_lstm", "bessel", reps=2, dtype=torch.float64)
    x, y = torch.randn(32, 4, 1, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    recorder = SpectrumRecorder(epochs=[0, 2, 3])
    assert recorder(0, model)
    for epoch in range(1, 4):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        assert recorder(epoch, model) == (epoch in (2, 3))
    assert recorder.recorded_epochs() == [0, 2, 3]
    layer = next(iter(qkan_layers(model).values()))
    np.testing.assert_array_equal(recorder.at(3).weight, layer.preact_weight.detach().numpy())
    assert np.all(recorder.at(0).weight == 1.0)  # a copy: training did not move the snapshot
    assert not np.allclose(recorder.at(2).weight, recorder.at(0).weight)
    weights = recorder.weights_frame()
    assert len(weights) == 3 * layer.preact_weight.numel()
    summary = recorder.summary_frame()
    assert len(summary) == 3 * 8 and list(summary["epoch"].unique()) == [0, 2, 3]
    with pytest.raises(ValueError, match="no snapshot"):
        recorder.at(1)
    with pytest.raises(ValueError, match="layer_name"):
        SpectrumRecorder(layer_name="nope")(0, model)


def test_plots_return_figures():
    layer = trained_like_layer(in_features=2, out_features=4, reps=2)
    ins, outs = gate_labels(1, 1)
    assert (ins, outs) == (["x", "h"], ["i", "f", "g", "o"])
    assert gate_labels(1, 2)[1] == ["i1", "i2", "f1", "f2", "g1", "g2", "o1", "o2"]
    fig = plot_edge_functions(layer, in_labels=ins, out_labels=outs, wide_range=(-6, 6))
    assert len(fig.axes) == 8
    plt.close(fig)
    fig = plot_edge_spectra(EdgeParameters.from_layer(layer), in_labels=ins, out_labels=outs)
    assert len(fig.axes) == 8
    plt.close(fig)
    recorder = SpectrumRecorder()
    for epoch in range(3):
        with torch.no_grad():
            layer.preact_weight.mul_(1.1)
        recorder(epoch, layer)
    fig = plot_weight_trajectories(recorder, in_labels=ins, out_labels=outs)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == layer.preact_weight.numel()
    plt.close(fig)
    fig = plot_weight_trajectories(recorder, share=None)
    assert len(fig.axes) == 1
    plt.close(fig)
    with pytest.raises(ValueError, match="share"):
        plot_weight_trajectories(recorder, share="energy")
    with pytest.raises(ValueError, match="labels"):
        plot_edge_functions(layer, in_labels=["x"])
    with pytest.raises(ValueError, match="no snapshots"):
        plot_weight_trajectories(SpectrumRecorder())
