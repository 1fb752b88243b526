import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import qkan_lib as ql  # noqa: E402
from qkan_lib.book import plots, tables  # noqa: E402
from qkan_lib.core.noise import NoiseModel  # noqa: E402
from qkan_lib.data import devices  # noqa: E402
from qkan_lib.evidence import display  # noqa: E402


def test_calibration_table_has_one_row_per_device_and_median_first():
    summary, sources = devices.calibration_summary(), devices.calibration_sources()
    table = tables.device_calibration_table(summary, sources)
    assert len(table) == len(devices.devices())
    fez = table.loc["Fez", "sx error ×10⁻⁴"]
    median = summary.loc["fez", ("sx_error", 0.5)] * 1e4
    assert fez.startswith(f"{median:.2f} (")
    # the second table of the same devices: the snapshot date and coherence times
    coherence = tables.device_calibration_table(summary, sources, "coherence")
    assert list(coherence.index) == list(table.index)
    assert list(coherence.columns) == ["snapshot", "T1 (µs)", "T2 (µs)"]
    assert coherence.loc["Fez", "T1 (µs)"].startswith(f"{summary.loc['fez', ('t1_us', 0.5)]:.0f} (")
    with pytest.raises(ValueError, match="part"):
        tables.device_calibration_table(summary, sources, "both")


def test_deployment_table_keeps_the_order_of_budgets_and_devices():
    summary = pd.DataFrame(
        {
            "readout": ["expectation"] * 4,
            "device": ["b", "b", "a", "a"],
            "shots": ["100", "exact", "100", "exact"],
            "median": [0.5, 0.001, 0.4, -0.002],
        }
    )
    table = tables.deployment_table(summary, "expectation")
    assert list(table.index) == ["b", "a"] and list(table.columns) == ["100", "exact"]
    assert table.loc["a", "exact"] == "−0.002"  # the minus sign, U+2212


def test_captions_come_from_the_style_mappings():
    assert "dashed" in plots.noisy_daruan_caption() and "dots" in plots.noisy_daruan_caption()
    for style in plots.DEPLOYMENT_STYLES.values():
        assert style["word"] in plots.deployment_caption()


@pytest.mark.parametrize("shots", [None, 100])
def test_noisy_daruan_figure_text_is_readable(shots):
    theta, _, bias = plots.daruan_parameters(2)
    fig = plots.plot_noisy_daruan(theta, bias, NoiseModel(depolarizing=0.01), shots=shots)
    sizes = [t.get_fontsize() for ax in fig.axes for t in ax.get_xticklabels()]
    assert min(sizes) >= 9
    assert len(fig.axes[0].lines) == (2 if shots is None else 3)
    plt.close(fig)


def test_device_training_table_compares_each_budget_with_exact_training():
    """Each budget against exact training of the same seeds: the paired signed-rank p of
    SciPy, Holm-adjusted by statsmodels over both models' budgets (one family)."""
    from scipy.stats import wilcoxon
    from statsmodels.stats.multitest import multipletests

    from qkan_lib.evidence import noisy_deployment as nd

    r2 = {
        ("qkan_lstm", "100"): [0.1, 0.2, 0.15, 0.3, 0.12, 0.22],
        ("qkan_lstm", "1,000"): [0.8, 0.85, 0.9, 0.97, 0.84, 0.88],
        ("qkan_lstm", "exact"): [0.95, 0.96, 0.97, 0.93, 0.94, 0.91],
        ("hqkan_lstm", "100"): [0.5, 0.52, 0.55, 0.6, 0.45, 0.51],
        ("hqkan_lstm", "exact"): [0.9, 0.91, 0.92, 0.93, 0.94, 0.95],
    }
    scores = pd.DataFrame(
        [
            {"model": m, "dataset": "bessel", "seed": k, "shots": shots, "test_r2": v}
            for (m, shots), values in r2.items()
            for k, v in enumerate(values)
        ]
    )
    comparisons = nd.shot_comparisons(scores)
    table = tables.device_training_table(scores, comparisons)
    # six seeds in every row: the caption says it (device_training_seeds), no column does
    assert tables.device_training_seeds(scores) == 6 and "n" not in table.columns
    uneven = scores.iloc[1:]
    assert tables.device_training_seeds(uneven) is None
    assert tables.device_training_table(uneven, nd.shot_comparisons(uneven))["n"].iloc[0] == 5
    assert list(table.index.get_level_values("shots")) == ["100", "1,000", "exact"] + [
        "100",
        "exact",
    ]
    keys = [("qkan_lstm", "100"), ("qkan_lstm", "1,000"), ("hqkan_lstm", "100")]
    raw = [wilcoxon(r2[key], r2[(key[0], "exact")]).pvalue for key in keys]
    want = multipletests(raw, method="holm")[1]
    for key, p in zip(keys, want):
        row = table.loc[(ql.MODEL_LABELS[key[0]], "Bessel Function", key[1])]
        assert row["Holm p"] == f"{p:.2g}"
    exact_row = table.loc[("QKAN-LSTM", "Bessel Function", "exact")]
    assert exact_row["Holm p"] == "–" and exact_row["Δ vs exact"] == "–"
    assert exact_row["median"] == f"{np.median(r2[('qkan_lstm', 'exact')]):.3f}"
    # every qkan 100-shot seed is below its exact run: the rank-biserial r is -1
    assert table.loc[("QKAN-LSTM", "Bessel Function", "100"), "r"] == "−1.00"
    diff = np.median(np.subtract(r2[("qkan_lstm", "100")], r2[("qkan_lstm", "exact")]))
    shown = display.minus_sign(f"{diff:+.3f}")  # the page's minus sign, U+2212
    assert table.loc[("QKAN-LSTM", "Bessel Function", "100"), "Δ vs exact"] == shown
    assert not display.find_code_names(display.frame_text(table))


@pytest.mark.parametrize("value", [96, 9_999, 1.66e5, 9.96e6, 2.7e-4, 5e-16, -3.1e5])
def test_power_text_reads_back_as_the_value_to_its_digits(value):
    text = tables.power_text(value)
    assert "e" not in text
    if "×" in text:
        mantissa, power = text.split(" × 10")
        exponent = int(power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
        assert 1 <= abs(display.read_number(mantissa)) < 10  # "−3.1": the minus sign
        back = display.read_number(mantissa) * 10.0**exponent
    else:
        back = display.read_number(text)
    assert back == pytest.approx(value, rel=0.05)


def test_cost_table_has_one_unit_per_device_and_no_e_notation():
    from qkan_lib.evidence import quantum_cost

    workloads = quantum_cost.table_workloads()
    timings = [quantum_cost.superconducting_timing("fez"), quantum_cost.trapped_ion_timing()]
    costs = quantum_cost.cost_table(workloads, timings, shots=1000)
    table = tables.cost_display_table(workloads, costs)
    assert not table.stack().str.contains("e[+-]", regex=True).any()
    units = [c.split(" on ")[0] for c in table.columns if " on " in c]
    assert units == ["days", "years"]  # trapped ion runs past 100 000 days


def test_packing_queue_and_readout_tables():
    from qkan_lib.data import devices
    from qkan_lib.evidence import quantum_cost

    packing = quantum_cost.packing_table("damped_shm", ["qkan_lstm", "qlstm"], shots=1000)
    table = tables.packing_display_table(packing)
    assert table.index.names == ["model", "a job holds"] and len(table) == 6
    assert not table.stack().str.contains("e[+-]|nan", regex=True).any()
    workloads = quantum_cost.table_workloads(["qkan_lstm"], ["damped_shm"])
    waits = {"none": 0.0, "a minute": 60.0, "a day": 86400.0}
    queued = quantum_cost.queue_table(
        workloads, quantum_cost.superconducting_timing("fez"), waits
    )
    row = queued.iloc[0]
    assert row["none"] < row["a minute"] < row["a day"]
    assert row["a day"] - row["none"] == pytest.approx(86400.0 * workloads["training_rounds"][0])
    shown = tables.queue_display_table(queued)
    assert list(shown.columns) == list(waits) and shown.index.names == ["dataset", "model"]
    models = devices.device_noise_models()
    readout = tables.readout_cost_table(models)
    assert list(readout.index) == list(models)
    assert (readout["shots needed (×)"].astype(float) >= 1).all()


def test_device_training_figure_draws_the_styles_its_caption_names():
    scores = pd.DataFrame(
        [
            {
                "model": m,
                "dataset": d,
                "seed": k,
                "shots": n,
                "test_r2": 0.5 + 0.1 * k,
                "device_test_r2": 0.4 + 0.1 * k,
            }
            for m in ("qkan_lstm", "hqkan_lstm")
            for d in ("damped_shm", "bessel")
            for n in ("exact", "100", "1,000")
            for k in range(3)
        ]
    )
    fig = plots.plot_device_training(scores)
    assert [ax.get_title() for ax in fig.axes] == ["Damped SHM", "Bessel Function"]
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["100", "1,000", "exact"]  # fewest shots first, exact apart
    joined = [ln for ln in ax.lines if len(ln.get_xdata()) > 1 and ln.get_marker() != "None"]
    for column, style in plots.DEVICE_TRAINING_STYLES.items():
        drawn = [line for line in joined if line.get_linestyle() == style["ls"]]
        assert len(drawn) == 2 and all(line.get_marker() == style["marker"] for line in drawn)
        assert style["word"] in plots.device_training_caption()
        assert list(drawn[0].get_ydata()) == pytest.approx(
            [0.6, 0.6] if column == "test_r2" else [0.5, 0.5]
        )
    sizes = [t.get_fontsize() for a in fig.axes for t in a.get_xticklabels()]
    assert min(sizes) >= 9
    plt.close(fig)


def test_loss_against_error_puts_each_device_at_its_error_with_the_captions_markers():
    summary = pd.DataFrame(
        {
            "readout": ["expectation"] * 4,
            "device": ["a", "a", "b", "b"],
            "shots": ["exact", "10,000", "exact", "10,000"],
            "median": [0.002, 0.01, -0.001, 0.02],
        }
    )
    errors = pd.DataFrame({"device": ["b", "a"], "rms_error": [0.05, 0.001]})
    fig = plots.plot_loss_against_error(summary, errors, {"expectation": "⟨Z⟩"})
    ax = fig.axes[0]
    for shots, style in plots.ERROR_LOSS_STYLES.items():
        (line,) = [ln for ln in ax.lines if ln.get_marker() == style["marker"]]
        rows = summary[summary["shots"] == shots]
        assert list(line.get_xdata()) == [0.001, 0.05]  # a, then b, at their own errors
        assert list(line.get_ydata()) == list(rows["median"].clip(lower=plots.DEPLOYMENT_FLOOR))
        assert style["word"] in plots.loss_against_error_caption()
    assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= 9
    plt.close(fig)


def test_device_training_delta_column_has_one_style():
    """Δ vs exact in one notation (three decimals like the R² beside it): a difference of
    6 × 10⁻⁴ next to one of 0.03 prints "+0.001", not "+6.0 × 10⁻⁴" (issue 25, Table 13.9)."""
    from qkan_lib.evidence import noisy_deployment as nd

    exact = [0.90, 0.91, 0.92, 0.93, 0.94, 0.95]
    r2 = {"100": [v - 0.03 for v in exact], "1,000": [v + 6e-4 for v in exact], "exact": exact}
    scores = pd.DataFrame(
        [
            {"model": "qkan_lstm", "dataset": "bessel", "seed": k, "shots": shots, "test_r2": v}
            for shots, values in r2.items()
            for k, v in enumerate(values)
        ]
    )
    table = tables.device_training_table(scores, nd.shot_comparisons(scores))
    deltas = [d for d in table["Δ vs exact"] if d != "–"]
    assert deltas == ["−0.030", "+0.001"] or deltas == ["-0.030", "+0.001"]
    assert all("×" not in d and len(d.split(".")[1]) == 3 for d in deltas)
