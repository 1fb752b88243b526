import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from qkan_lib.book import plots, tables  # noqa: E402
from qkan_lib.core.noise import NoiseModel  # noqa: E402
from qkan_lib.data import devices  # noqa: E402


def test_calibration_table_has_one_row_per_device_and_median_first():
    table = tables.device_calibration_table(
        devices.calibration_summary(), devices.calibration_sources()
    )
    assert len(table) == len(devices.devices())
    fez = table.loc["Fez", "sx error (×10⁻⁴)"]
    median = devices.calibration_summary().loc["fez", ("sx_error", 0.5)] * 1e4
    assert fez.startswith(f"{median:.2f} (")


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
    assert table.loc["a", "exact"] == "-0.002"


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
    from qkan_lib.evidence.statistics import holm, mann_whitney

    scores = pd.DataFrame(
        {
            "model": ["qkan_lstm"] * 9,
            "shots": ["100"] * 3 + ["1 000"] * 3 + ["exact"] * 3,
            "test_r2": [0.1, 0.2, 0.15, 0.8, 0.85, 0.9, 0.95, 0.96, 0.97],
        }
    )
    table = tables.device_training_table(scores)
    assert list(table.index.get_level_values("shots")) == ["100", "1 000", "exact"]
    exact = [0.95, 0.96, 0.97]
    want = holm([mann_whitney([0.1, 0.2, 0.15], exact), mann_whitney([0.8, 0.85, 0.9], exact)])
    assert table.loc[("QKAN-LSTM", "100"), "Holm p vs exact"] == f"{want[0]:.3f}"
    assert table.loc[("QKAN-LSTM", "exact"), "Holm p vs exact"] == "–"
    assert table.loc[("QKAN-LSTM", "1 000"), "median"] == "0.850"


@pytest.mark.parametrize("value", [96, 9_999, 1.66e5, 9.96e6, 2.7e-4, 5e-16, -3.1e5])
def test_power_text_reads_back_as_the_value_to_its_digits(value):
    text = tables.power_text(value)
    assert "e" not in text
    if "×" in text:
        mantissa, power = text.split(" × 10")
        exponent = int(power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
        assert 1 <= abs(float(mantissa)) < 10
        back = float(mantissa) * 10.0**exponent
    else:
        back = float(text.replace(",", ""))
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
    assert list(shown.columns) == list(waits) and shown.index.names == ["data set", "model"]
    models = devices.device_noise_models()
    readout = tables.readout_cost_table(models)
    assert list(readout.index) == list(models)
    assert (readout["shots needed (×)"].astype(float) >= 1).all()
