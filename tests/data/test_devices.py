import datetime as dt
import json
import re
import statistics
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from qkan_lib.data import devices as dv

ROOT = Path(__file__).resolve().parents[2]


def raw():
    return json.loads(
        resources.files("qkan_lib.data").joinpath("files", dv.CALIBRATION_FILE).read_text()
    )


def test_calibration_file_records_its_source():
    data = raw()
    assert data["package"] == "qiskit-ibm-runtime" and data["version"] == "0.51.0"
    assert re.fullmatch(r"[0-9a-f]{64}", data["wheel_sha256"])
    assert len(data["devices"]) >= 5
    for name, d in data["devices"].items():
        assert d["file"].endswith(f"props_{name}.json")
        assert d["backend_name"] == f"ibm_{name}"
        dt.datetime.fromisoformat(d["snapshot"])  # a real date
        assert d["default_rep_delay_us"] > 0 and d["max_shots"] > 0


def test_every_qubit_has_every_figure_in_range():
    for name, d in raw()["devices"].items():
        cols = d["columns"]
        assert set(dv.FIGURES) <= set(cols)
        for field, values in cols.items():
            assert len(values) == d["qubits"], (name, field)
            present = [v for v in values if v is not None]
            assert len(present) >= d["qubits"] - 2, (name, field)  # at most a broken qubit
            if "error" in field:
                assert all(0 <= v <= 1 for v in present), (name, field)
            else:
                assert all(v > 0 for v in present), (name, field)


def test_loader_and_summary_agree_with_the_file():
    data = raw()
    table = dv.load_calibrations()
    summary = dv.calibration_summary()
    for name, d in data["devices"].items():
        assert (table["device"] == name).sum() == d["qubits"]
        for field in ("sx_error", "readout_error", "t1_us"):
            values = [v for v in d["columns"][field] if v is not None]
            assert summary.loc[name, (field, 0.5)] == pytest.approx(statistics.median(values))
    with pytest.raises(ValueError, match="device must be one of"):
        dv.load_calibrations("nowhere")


def test_device_noise_model_reproduces_the_reported_gate_error():
    """Depolarizing plus relaxation adds up (to first order) to SX_PER_GATE sx errors."""
    for name in dv.devices():
        model = dv.device_noise_model(name)
        assert model.virtual_z
        eps_sx = float(dv.load_calibrations(name)["sx_error"].median())
        eps_gate = 1 - (1 - eps_sx) ** dv.SX_PER_GATE
        total = 2 * model.depolarizing / 3 + dv.relaxation_infidelity(
            model.gate_time, model.t1, model.t2
        )
        assert total == pytest.approx(eps_gate, rel=1e-2) or model.depolarizing == 0
    worse = dv.device_noise_model("fez", 0.9)
    assert worse.readout_error_0 > dv.device_noise_model("fez").readout_error_0


def test_relaxation_infidelity_matches_the_textbook_limit():
    # short gates: eps ~ t/(3 T1) + t/(3 T2) for the average over the Bloch sphere
    t, t1, t2 = 1e-8, 1e-4, 8e-5
    assert dv.relaxation_infidelity(t, t1, t2) == pytest.approx(
        t / (6 * t1) + t / (3 * t2), rel=1e-3
    )


def test_published_figures_are_cited_in_the_bibliography():
    bib = (ROOT / "book/references.bib").read_text()
    data = dv.published_figures()
    for entry in [*data["devices"].values(), *data["timing"].values()]:
        assert "{" + entry["source"] + "," in bib
    for name in data["devices"]:
        model = dv.published_noise_model(name)
        assert 0 < model.depolarizing < 1e-3
    assert len(dv.device_noise_models()) == len(dv.devices()) + len(data["devices"])


def test_extraction_script_reproduces_the_file(tmp_path):
    wheels = sorted(Path("/tmp").glob("**/qiskit_ibm_runtime-0.51.0-py3-none-any.whl"))
    if not wheels:
        pytest.skip("the qiskit-ibm-runtime wheel is not downloaded here")
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "extract", ROOT / "scripts/extract_device_calibrations.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.extract(wheels[0]) == raw()
    assert np.isfinite(dv.calibration_summary().to_numpy(float)).all()
