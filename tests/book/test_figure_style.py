"""One figure style: every figure function draws in it, and no text is below the readable size
on the page (qkan_lib/book/style.py). The size on the page is computed here from the PNG the
inline backend would save (its pixel width), not from the style module's own arithmetic."""

import inspect
import io
import struct

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.text import Text

from qkan_lib.book import diagrams, plots, spectrum_plots, stats_plots
from qkan_lib.book.style import (
    BOOK_RC,
    COLUMN_PX,
    DESIGNED_TEXT_PX,
    DPI,
    MIN_TEXT_PX,
    book_figure,
    make_readable,
    text_sizes_px,
)

FIGURE_MODULES = (plots, spectrum_plots, stats_plots, diagrams)


def _png_width(fig) -> int:
    """Pixel width of the PNG Jupyter's inline backend saves (tight box, DPI)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return struct.unpack(">I", buffer.getvalue()[16:20])[0]


def smallest_text_on_page(fig) -> tuple[float, str]:
    """(pixels on the page, text) of the smallest visible text when the PNG is shown at most
    COLUMN_PX wide."""
    width = _png_width(fig)  # draws the figure: tick labels exist from here on
    scale = min(1.0, COLUMN_PX / width)
    sizes = [
        (t.get_fontsize() * DPI / 72 * scale, t.get_text())
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip()
    ]
    return min(sizes)


def test_every_figure_function_draws_in_the_book_style():
    functions = [
        (module.__name__, name)
        for module in FIGURE_MODULES
        for name, f in inspect.getmembers(module, inspect.isfunction)
        if name.startswith(("plot_", "draw_")) and f.__module__ == module.__name__
    ]
    assert len(functions) >= 20, functions
    undecorated = [
        (m, n)
        for m, n in functions
        if not getattr(getattr(__import__(m, fromlist=[n]), n), "book_figure", False)
    ]
    assert not undecorated, f"figure functions without @book_figure: {undecorated}"


def test_small_text_in_a_wide_figure_is_raised_to_the_readable_size():
    @book_figure
    def wide():
        fig, ax = plt.subplots(figsize=(16, 3))
        ax.plot([0, 1], [0, 1], label="a line")
        ax.legend(fontsize=5)
        ax.set_title("tiny", fontsize=4)
        ax.tick_params(labelsize=3)
        return fig

    fig = wide()
    px, text = smallest_text_on_page(fig)
    assert px >= MIN_TEXT_PX - 0.05, (px, text)
    # 16 inches is far wider than the column: the raised size is well above 9 points
    assert fig.axes[0].title.get_fontsize() > 12
    assert text_sizes_px(fig)[0][0] == pytest.approx(px, rel=0.03)
    plt.close(fig)


def test_readable_text_is_left_alone():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_title("t", fontsize=12)
    make_readable(fig)
    assert ax.title.get_fontsize() == 12
    plt.close(fig)


def _forest_table(n=6):
    rng = np.random.default_rng(0)
    effect = rng.normal(size=n)
    return pd.DataFrame(
        {
            "a": [f"model {k}" for k in range(n)],
            "b": ["LSTM"] * n,
            "effect": effect,
            "effect_ci_low": effect - 0.5,
            "effect_ci_high": effect + 0.5,
            "p_holm": rng.uniform(size=n),
            "n_a": 10,
            "n_b": 10,
            "verdict": [
                "a better",
                "no difference",
                "b better",
                "no difference",
                "no difference",
                "a better",
            ][:n],
        }
    )


def _layer():
    from qkan_lib.core.layers import QKANLayer

    torch.manual_seed(0)
    return QKANLayer(4, 6, reps=2)  # 24 edges: chapter 11's grids


DEVICES = [f"IBM {n} (2025-02-26)" for n in ("Aachen", "Brisbane", "Fez", "Kingston")] + [
    f"{n} (published)" for n in ("IonQ Forte", "Quantinuum Helios", "Oxford Ionics")
]


def _deployment():
    """Chapter 13's deployment summary: median test R² lost per readout, device and budget."""
    rows = [
        {"readout": readout, "device": device, "shots": shots, "median": lost / (k + 1)}
        for readout in ("expectation", "amplitude")
        for k, device in enumerate(DEVICES)
        for shots, lost in (("100", 0.8), ("1,000", 0.1), ("10,000", 0.01), ("exact", 1e-3))
    ]
    readouts = {"expectation": "⟨Z⟩", "amplitude": "|α| − |β|"}
    return plots.plot_deployment(pd.DataFrame(rows), readouts)


def _loss_against_error():
    """Chapter 13's Fig 13.3: each device model's loss against its RMS error on one DARUAN."""
    rows = [
        {"readout": readout, "device": device, "shots": shots, "median": lost / (k + 1)}
        for readout in ("expectation", "amplitude")
        for k, device in enumerate(DEVICES)
        for shots, lost in (("10,000", 0.01), ("exact", 1e-3))
    ]
    errors = pd.DataFrame({"device": DEVICES, "rms_error": np.geomspace(1e-4, 3e-2, len(DEVICES))})
    readouts = {"expectation": "⟨Z⟩", "amplitude": "|α| − |β|"}
    return plots.plot_loss_against_error(pd.DataFrame(rows), errors, readouts)


def _device_training():
    """Chapter 13's Fig 13.4: median test R² of models trained on a device model per budget."""
    rng = np.random.default_rng(0)
    rows = [
        {"model": model, "dataset": dataset, "seed": seed, "shots": shots,
         "test_r2": 0.99 - rng.uniform(0, 0.05), "device_test_r2": 0.98 - rng.uniform(0, 0.1)}
        for model in ("qkan_lstm", "hqkan_lstm", "qlstm")
        for dataset in ("damped_shm", "bessel")
        for shots in ("100", "1,000", "10,000", "exact")
        for seed in range(3)
    ]  # fmt: skip
    return plots.plot_device_training(pd.DataFrame(rows))


ARMS = ["LSTM", "QLSTM", "QKAN-LSTM", "HQKAN-LSTM", "Matched LSTM", "Matched LSTM (HQKAN-LSTM)",
        "Fourier twin"]  # fmt: skip


def _seed_scores():
    """Chapter 9's Fig 9.1: two datasets, seven arms, 20 seeds, two fixed forecasters."""
    rng = np.random.default_rng(0)
    final = pd.DataFrame(
        [
            {"arm": arm, "dataset": dataset, "test_r2": 1 - abs(rng.normal(0, 0.01))}
            for dataset in ("Damped SHM", "Bessel Function")
            for arm in ARMS
            for _ in range(20)
        ]
    )
    fixed = {d: {"persistence": 0.93, "AR(p)": 0.999} for d in ("Damped SHM", "Bessel Function")}
    return stats_plots.plot_seed_scores(
        final, ARMS, ARMS, fixed=fixed, by="dataset",
        title="test R² after 30 epochs, batch 10, 20 seeds",
    )  # fmt: skip


def _spectrum_usage():
    """Chapter 11's Fig 11.6: every edge of every seed, two datasets, L = 1, 2, 3, two epochs."""
    rng = np.random.default_rng(0)
    rows = [
        {
            "dataset": dataset,
            "reps": reps,
            "seed": seed,
            "epoch": epoch,
            "out": edge,
            "share_outside_dominant": rng.uniform(0, 0.6),
            "share_outside_lowest": rng.uniform(),
            "active_frequencies": int(rng.integers(1, (3**reps + 1) // 2)),
        }  # fmt: skip
        for dataset in ("damped_shm", "bessel")
        for reps in (1, 2, 3)
        for seed in range(3)
        for epoch in (0, 30)
        for edge in range(8)
    ]
    return spectrum_plots.plot_spectrum_usage(pd.DataFrame(rows))


FIGURES = {
    "deployment (Fig 13.2)": _deployment,
    "seed scores (Fig 9.1)": _seed_scores,
    "spectrum usage (Fig 11.6)": _spectrum_usage,
    "DARUAN circuit (Fig 1.1)": lambda: diagrams.draw_daruan_circuit(3),
    "QLSTM circuit (Fig 2.2)": lambda: diagrams.draw_qlstm_circuit(),
    "LSTM cell (Fig 2.1)": lambda: diagrams.plot_lstm_cell(),
    "24 edge functions (Figs 11.1, 11.4)": lambda: spectrum_plots.plot_edge_functions(
        _layer(),
        in_labels=["x", "h1", "h2", "h3"],
        out_labels=[f"{g}{k}" for g in "ifgo" for k in (1, 2)][:6],
        wide_range=(-2 * np.pi, 2 * np.pi),
        title="Damped SHM, L = 2: learned edge functions",
    ),  # fmt: skip
    "24 edge spectra (ch 11)": lambda: spectrum_plots.plot_edge_spectra(_layer()),
    "forest plot (Fig 12.1)": lambda: stats_plots.plot_forest(_forest_table()),
    "shift sinusoid": lambda: plots.plot_shift_sinusoid(np.sin, 0.3),
}


@pytest.mark.parametrize("name", FIGURES)
def test_no_text_below_the_readable_size_on_the_page(name):
    try:
        fig = FIGURES[name]()
    except (KeyError, TypeError) as error:  # a fixture that no longer fits its function
        pytest.fail(f"{name}: {error!r}")
    px, text = smallest_text_on_page(fig)
    plt.close(fig)
    assert px >= MIN_TEXT_PX - 0.05, f"{name}: {text!r} is {px:.1f} px on the page"


def _prediction_figure():
    from types import SimpleNamespace

    series = list(np.sin(np.linspace(0, 6, 40)))
    results = [
        SimpleNamespace(
            seed=0,
            experiment=SimpleNamespace(model=model),
            targets={"train": series[:30], "test": series[30:]},
            predictions={"15": {"train": series[:30], "test": series[30:]}},
        )
        for model in ("lstm", "qkan_lstm")
    ]
    return plots.plot_predictions(results, epochs=(15,), title="Damped SHM (seed 0)")


def _r2_gap_figure():
    rows = [
        {"model": m, "seed": s, "epoch": e, "test_r2": 1 - 0.1 * (1 + 0.1 * s + k) / e}
        for k, m in enumerate(("lstm", "qlstm", "qkan_lstm", "hqkan_lstm"))
        for s in range(3)
        for e in range(1, 31)
    ]
    paper = {m: (0.8, 0.97, 0.99) for m in ("lstm", "qlstm", "qkan_lstm", "hqkan_lstm")}
    return plots.plot_r2_gap(pd.DataFrame(rows), paper, (1, 15, 30), title="Damped SHM")


def _parameter_counts_figure():
    from qkan_lib.book import tables

    return plots.plot_parameter_counts(tables.parameter_table())


LEGEND_FIGURES = {
    "deployment (Fig 13.2)": _deployment,
    "loss against error (Fig 13.3)": _loss_against_error,
    "device training (Fig 13.4)": _device_training,
    "seed scores (Fig 9.1)": _seed_scores,
    "predictions (Figs 5.3, 6.3)": _prediction_figure,
    "1 - R² over epochs (Figs 5.2, 6.2)": _r2_gap_figure,
    "parameter counts (Fig 3.1)": _parameter_counts_figure,
}


@pytest.mark.parametrize("name", LEGEND_FIGURES)
def test_legends_cover_no_panel(name):
    """The legend sits outside the panels (it covered the data of Figs 5.2, 5.3 and 3.1)
    and clear of the title."""
    fig = LEGEND_FIGURES[name]()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)
    box = fig.legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent(renderer)), "the legend covers a panel"
        assert not box.overlaps(ax.title.get_window_extent(renderer)), "legend over a title"
    if fig._suptitle is not None:
        assert not box.overlaps(fig._suptitle.get_window_extent(renderer)), "over the title"
    px, text = smallest_text_on_page(fig)
    assert px >= MIN_TEXT_PX - 0.05, f"{name}: {text!r} is {px:.1f} px on the page"
    plt.close(fig)


# Figures drawn for the page (issue 25: the reader found their legends and ticks small at the
# 9 px floor): as wide as the column at most, so they are never scaled down, and every text of
# the figure as the function draws it, before make_readable raises anything, at least
# DESIGNED_TEXT_PX on the page.
DESIGNED = {
    "deployment (Fig 13.2)": (plots, "plot_deployment", _deployment),
    "loss against error (Fig 13.3)": (plots, "plot_loss_against_error", _loss_against_error),
    "device training (Fig 13.4)": (plots, "plot_device_training", _device_training),
    "seed scores (Fig 9.1)": (stats_plots, "plot_seed_scores", _seed_scores),
    "24 edge functions (Figs 11.1, 11.4)": (
        spectrum_plots,
        "plot_edge_functions",
        FIGURES["24 edge functions (Figs 11.1, 11.4)"],
    ),
    "24 edge spectra (ch 11)": (
        spectrum_plots,
        "plot_edge_spectra",
        FIGURES["24 edge spectra (ch 11)"],
    ),
    "spectrum usage (Fig 11.6)": (spectrum_plots, "plot_spectrum_usage", _spectrum_usage),
}


@pytest.mark.parametrize("name", DESIGNED)
def test_figures_drawn_for_the_page_need_no_raising(name, monkeypatch):
    module, function, make = DESIGNED[name]
    undecorated = getattr(module, function).__wrapped__

    def drawn_as_is(*args, **kwargs):  # the book's rc, without make_readable
        with plt.rc_context(BOOK_RC):
            return undecorated(*args, **kwargs)

    monkeypatch.setattr(module, function, drawn_as_is)
    fig = make()
    width = _png_width(fig)
    # the tight box pads 0.1 in a side: a figure of PAGE_WIDTH_IN may be a few pixels wider
    assert width <= COLUMN_PX + 25, f"{name}: {width} px wide, the column is {COLUMN_PX}"
    sizes = sorted(
        (t.get_fontsize() * DPI / 72 * min(1.0, COLUMN_PX / width), t.get_text())
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip()
    )
    plt.close(fig)
    small = [(round(px, 1), text) for px, text in sizes if px < DESIGNED_TEXT_PX - 0.05]
    assert not small, f"{name}: text below {DESIGNED_TEXT_PX} px on the page: {small[:5]}"
