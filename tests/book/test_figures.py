"""The book's figure functions: each returns a real Figure that shows what its caption says."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from qkan_lib import evaluate_daruan as daruan
from qkan_lib.book.plots import (
    SPECTRUM_WEIGHTS,
    daruan_parameters,
    plot_daruan_spectrum,
    plot_r2_gap,
    plot_shift_sinusoid,
    plot_timing_spread,
)
from qkan_lib.book.timing import (
    LoadSnapshot,
    busy_warning,
    load_snapshot,
    machine_busy,
    machine_sentence,
    machine_words,
    time_samples,
    time_spread_table,
)


def _boxes_overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("angle0", [-math.pi + 0.1, 0.3, math.pi - 0.05, 2.9])
def test_shifted_points_lie_inside_the_plotted_range(angle0):
    theta = torch.tensor([[0.3, -0.7], [0.0, 0.4], [1.1, -0.2]], dtype=torch.float64)

    def phi(angle: float) -> float:
        t = theta.clone()
        t[1, 0] = angle
        return float(
            daruan(
                torch.tensor(0.4, dtype=torch.float64),
                t,
                torch.ones(2, dtype=torch.float64),
                torch.zeros(2, dtype=torch.float64),
            )
        )

    fig = plot_shift_sinusoid(phi, angle0)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    points = ax.lines[-1].get_xdata()
    assert len(points) == 2 and all(low < p < high for p in points)
    np.testing.assert_allclose(
        ax.lines[-1].get_ydata(), [phi(angle0 + math.pi / 2), phi(angle0 - math.pi / 2)]
    )
    with pytest.raises(ValueError, match="shift"):
        plot_shift_sinusoid(phi, angle0, shift=4.0)


def _r2_frame():
    rows = []
    for model, final in (("lstm", 0.999), ("qkan_lstm", 0.99)):
        for seed in range(3):
            for epoch in range(1, 31):
                rows.append(
                    {
                        "model": model,
                        "seed": seed,
                        "epoch": epoch,
                        "test_r2": 1 - (1 - final) * (1 + 0.1 * seed) * 30 / epoch,
                    }
                )
    return pd.DataFrame(rows)


def test_r2_gap_is_log_scaled_and_marks_the_paper():
    paper = {"lstm": (0.7973, 0.9690, 0.9701), "qkan_lstm": (-0.0111, 0.9569, 0.9771)}
    fig = plot_r2_gap(_r2_frame(), paper=paper, epochs=(1, 15, 30), title="t")
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and ax.get_yscale() == "log"
    marked = [line for line in ax.lines if line.get_marker() == "X"]
    assert len(marked) == 2
    np.testing.assert_allclose(marked[0].get_ydata(), [1 - 0.7973, 1 - 0.9690, 1 - 0.9701])
    means = ax.lines[0].get_ydata()
    assert means[-1] == pytest.approx(1 - np.mean([1 - 0.001 * (1 + 0.1 * s) for s in range(3)]))
    with pytest.raises(ValueError, match="both"):
        plot_r2_gap(_r2_frame(), paper=paper)


def test_timing_plot_has_spread_and_readable_ticks():
    rows = []
    for model in ("lstm", "qkan_lstm"):
        for axis, values in (("batch", (8, 64, 512, 4096)), ("seq_len", (4, 16, 64, 128))):
            for v in values:
                rows.append(
                    {
                        "model": model,
                        "axis": axis,
                        "value": v,
                        "min_s": 1e-3 * v**0.5,
                        "median_s": 1.2e-3 * v**0.5,
                        "max_s": 2e-3 * v**0.5,
                    }
                )
    fig = plot_timing_spread(pd.DataFrame(rows), title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        assert ax.containers, "no error bars"
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        assert [t.get_text() for t in labels][:2] in (["8", "64"], ["4", "16"])
        boxes = [t.get_window_extent(renderer) for t in labels]
        assert not any(_boxes_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
        # the log axis reads as plain numbers: no "6×10⁰", no mathtext
        ticks = [t.get_text() for t in ax.get_yticklabels(which="both") if t.get_text()]
        assert ticks and all("×" not in t and "$" not in t for t in ticks), ticks
        values = [float(t.replace(",", "")) for t in ticks]  # "1,000": thousands with a comma
        assert all(v > 0 for v in values) and not any("e" in t for t in ticks), ticks
        low, high = ax.get_ylim()
        assert high / low < 10 or any(v in (0.001, 0.01, 0.1, 1, 10) for v in values)
    assert fig.axes[1].get_xlabel() == "window length"  # display name, not "seq len"
    with pytest.raises(ValueError, match="columns"):
        plot_timing_spread(pd.DataFrame(rows).drop(columns="max_s"))


def test_busy_warning_compares_load_with_cpus():
    quiet, busy = LoadSnapshot(0.2, 4), LoadSnapshot(3.5, 4)
    assert busy_warning(quiet, LoadSnapshot(1.1, 4), own_threads=1) == ""
    text = busy_warning(busy, busy, own_threads=1)
    # a sentence for the reader, not the build machine's counters (issue 25, group 10)
    assert "busy" in text and "3.5" not in text and "CPUs" not in text
    assert machine_busy(busy, busy, own_threads=1) is True
    assert machine_busy(quiet, LoadSnapshot(1.1, 4), own_threads=1) is False
    assert machine_busy(None, quiet) is None
    cpu_only = {"cpu": "Some CPU Model 9000", "cpu_threads": 2}
    assert machine_words(cpu_only) == "2 CPU threads, no GPU"
    assert machine_words({**cpu_only, "cpu_threads": 1, "gpu": "NVIDIA X"}) == (
        "1 CPU thread, a GPU"
    )
    assert machine_sentence(cpu_only, busy, busy, own_threads=1) == (
        "on a machine with 2 CPU threads and no GPU that other work kept busy"
    )
    assert machine_sentence(cpu_only, quiet, quiet).endswith("that was otherwise idle")
    assert "does not report" in machine_sentence(cpu_only, None, quiet)
    assert "Model 9000" not in machine_sentence(cpu_only, quiet, quiet)
    # a load made only by the measurement's own threads is not "busy"
    assert busy_warning(quiet, LoadSnapshot(4.0, 4), own_threads=4) == ""
    assert "no load average" in busy_warning(None, quiet)
    with pytest.raises(ValueError, match="fraction"):
        busy_warning(quiet, quiet, fraction=0)
    snap = load_snapshot()
    assert snap is None or (snap.load1 >= 0 and snap.cpus >= 1)


def test_time_spread_table_orders_min_median_max():
    table, warning = time_spread_table(
        models=("lstm",), batches=(4, 8), seq_lens=(2,), reps=(), runs=3, warmup=1
    )
    assert list(table["axis"]) == ["batch", "batch", "seq_len"]
    assert (table["min_s"] <= table["median_s"]).all() and (
        table["median_s"] <= table["max_s"]
    ).all()
    assert isinstance(warning, str)
    assert len(time_samples(lambda: None, runs=4, warmup=0)) == 4
    with pytest.raises(ValueError, match="runs"):
        time_samples(lambda: None, runs=0)


def test_spectrum_axes_can_be_fixed_across_L():
    limits = set()
    for reps in (1, 3):
        theta, w, b = daruan_parameters(
            reps, weights=SPECTRUM_WEIGHTS[:reps], theta_seed=reps, bias=0.3
        )
        ax = plot_daruan_spectrum(theta, w, b, omega_limit=5.5, coeff_limit=0.6).axes[1]
        limits.add((ax.get_xlim(), ax.get_ylim()))
    assert limits == {((-5.5, 5.5), (0.0, 0.6))}


def test_diagrams_are_figures():
    pytest.importorskip("pennylane")
    from qkan_lib.book.diagrams import draw_daruan_circuit, draw_qlstm_circuit, plot_lstm_cell

    for fig in (draw_daruan_circuit(2), draw_qlstm_circuit(3, 2, 2), plot_lstm_cell()):
        assert isinstance(fig, Figure)
        fig.canvas.draw()
    texts = [t.get_text() for t in draw_daruan_circuit(3).axes[0].texts]
    assert sum(t.startswith("RZ(a") for t in texts) == 3  # one data rotation per re-upload
    assert sum(t.startswith("W(θ") for t in texts) == 4  # a trainable block around each
    assert not any('"' in t for t in texts)  # labels as written, no quotes
    texts = [t.get_text() for t in draw_qlstm_circuit(3, 2, 2).axes[0].texts]
    assert sum(t.startswith("RY\nv") for t in texts) == 3
    assert sum(t.startswith("RY\nθ") for t in texts) == 6 and not any('"' in t for t in texts)
    with pytest.raises(ValueError, match="reps"):
        draw_daruan_circuit(0)
    with pytest.raises(ValueError, match="n_measured"):
        draw_qlstm_circuit(2, 1, 3)


def test_readout_spectra_draws_both_readouts_and_the_band():
    from qkan_lib import fft_coefficients
    from qkan_lib.book.plots import plot_readout_spectra

    theta, w, b = daruan_parameters(2, theta_seed=0, bias=0.1)
    x = torch.arange(256, dtype=torch.float64) * (2 * math.pi / 256)
    freqs, z = fft_coefficients(daruan(x, theta, w, b, readout="expectation"))
    _, amp = fft_coefficients(daruan(x, theta, w, b, readout="amplitude"))
    fig = plot_readout_spectra(freqs, z, amp, reps=2, max_frequency=5)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    z_line, amp_line = ax.lines[:2]
    assert sorted(z_line.get_xdata()) == list(range(-5, 6))
    # <Z> above L is at the floor; the amplitude readout is not
    above = np.abs(z_line.get_xdata()) > 2
    assert (z_line.get_ydata()[above] < 1e-12).all() and (amp_line.get_ydata()[above] > 1e-8).all()
    with pytest.raises(ValueError, match="one shape"):
        plot_readout_spectra(freqs[:-1], z, amp, reps=2)


def test_line_style_captions_say_what_the_plots_draw():
    """The captions of the seed and closed-loop plots are generated from the styles the plots
    draw with; read the styles back from the drawn lines, in either order of the forecasters."""
    import matplotlib.pyplot as plt

    from qkan_lib.book.stats_plots import (
        STYLE_WORDS,
        line_style_caption,
        plot_horizon_scores,
        plot_seed_scores,
    )

    final = pd.DataFrame({"arm": ["a", "a"], "test_r2": [0.9, 0.8], "dataset": ["x", "x"]})
    for fixed in ({"persistence": 0.5, "AR(p)": 0.99}, {"AR(p)": 0.99, "persistence": 0.5}):
        fig = plot_seed_scores(final, ["a"], ["A"], fixed={"x": fixed}, by="dataset")
        drawn = {ln.get_label(): ln.get_linestyle() for ln in fig.axes[0].get_lines()}
        said = dict(part.split(": ")[::-1] for part in line_style_caption(fixed).split("; "))
        for label in fixed:
            assert STYLE_WORDS[drawn[label]] == said[label]
        assert said == {"AR(p)": "dashed", "persistence": "dotted"}
        plt.close(fig)
    closed = pd.DataFrame(
        {"arm": ["m", "m", "ar", "persistence"], "seed": [0, 1, -1, -1],
         "horizon": [1, 1, 1, 1], "r2": [0.5, 0.6, 0.9, 0.1]}
    )  # fmt: skip
    labels = ["M", "AR(p)", "persistence"]
    fig = plot_horizon_scores(closed, ["m", "ar", "persistence"], labels)
    drawn = {ln.get_label(): ln.get_linestyle() for ln in fig.axes[0].get_lines()}
    said = dict(part.split(": ")[::-1] for part in line_style_caption(labels[1:]).split("; "))
    assert {k: STYLE_WORDS[drawn[k]] for k in labels[1:]} == said
    assert drawn["M"] == "-"
    # every reference is in the legend, whatever its style (the dotted one was left out)
    assert [t.get_text() for legend in fig.legends for t in legend.get_texts()] == labels[1:]
    plt.close(fig)
