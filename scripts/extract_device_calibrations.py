"""Extract per-qubit calibration figures of IBM devices from the fake backends of the pinned
``qiskit-ibm-runtime`` wheel into qkan_lib/data/files/device_calibrations.json.

Run once, offline, on a downloaded wheel (qiskit is not a dependency of the book):

    pip download --no-deps qiskit-ibm-runtime==0.51.0 -d /tmp/wheel
    python scripts/extract_device_calibrations.py \
        /tmp/wheel/qiskit_ibm_runtime-0.51.0-py3-none-any.whl

The file records, per device, the wheel's package, version and SHA-256, the property file's
path inside it, the backend name and version and the snapshot date, and per qubit: sx gate
error and length, readout error and its two asymmetric parts, readout length, T1 and T2; and
from the configuration file the processor, the default repetition delay (microseconds between
shots), and the largest shots and circuits per job.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

PACKAGE, VERSION = "qiskit-ibm-runtime", "0.51.0"
# Heron (fez, marrakesh, kingston, aachen, torino) and Eagle (sherbrooke, brisbane) devices
DEVICES = ("fez", "marrakesh", "kingston", "aachen", "torino", "sherbrooke", "brisbane")
OUT = Path(__file__).resolve().parent.parent / "qkan_lib/data/files/device_calibrations.json"
QUBIT_FIELDS = {  # property name in the file -> (our name, unit expected)
    "T1": ("t1_us", "us"),
    "T2": ("t2_us", "us"),
    "readout_error": ("readout_error", ""),
    "prob_meas1_prep0": ("readout_error_0", ""),
    "prob_meas0_prep1": ("readout_error_1", ""),
    "readout_length": ("readout_length_ns", "ns"),
}


def _round(value):
    return None if value is None else float(f"{value:.6g}")


def extract(wheel: Path) -> dict:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    devices = {}
    with zipfile.ZipFile(wheel) as zf:
        for name in DEVICES:
            path = f"qiskit_ibm_runtime/fake_provider/backends/{name}/props_{name}.json"
            props = json.loads(zf.read(path))
            n = len(props["qubits"])
            columns = {field: [None] * n for field, _ in QUBIT_FIELDS.values()}
            columns.update(sx_error=[None] * n, sx_length_ns=[None] * n)
            for q, entries in enumerate(props["qubits"]):
                for e in entries:
                    if e["name"] in QUBIT_FIELDS:
                        field, unit = QUBIT_FIELDS[e["name"]]
                        if e.get("unit", "") != unit:
                            raise ValueError(f"{path}: qubit {q} {e['name']} in {e['unit']!r}")
                        columns[field][q] = _round(e["value"])
            for gate in props["gates"]:
                if gate["gate"] == "sx" and len(gate["qubits"]) == 1:
                    q = gate["qubits"][0]
                    for p in gate["parameters"]:
                        if p["name"] == "gate_error":
                            columns["sx_error"][q] = _round(p["value"])
                        elif p["name"] == "gate_length":
                            if p["unit"] != "ns":
                                raise ValueError(f"{path}: sx length in {p['unit']!r}")
                            columns["sx_length_ns"][q] = _round(p["value"])
            conf_path = f"qiskit_ibm_runtime/fake_provider/backends/{name}/conf_{name}.json"
            conf = json.loads(zf.read(conf_path))
            processor = conf.get("processor_type") or {}
            devices[name] = {
                "file": path,
                "conf_file": conf_path,
                "processor": f"{processor.get('family', '?')} r{processor.get('revision', '?')}",
                "default_rep_delay_us": conf["default_rep_delay"],
                "max_shots": conf["max_shots"],
                "max_experiments": conf["max_experiments"],
                "backend_name": props["backend_name"],
                "backend_version": props["backend_version"],
                "snapshot": props["last_update_date"],
                "qubits": n,
                "columns": columns,
            }
    return {
        "package": PACKAGE,
        "version": VERSION,
        "wheel": wheel.name,
        "wheel_sha256": digest,
        "devices": devices,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    wheel = Path(argv[0])
    if f"{PACKAGE.replace('-', '_')}-{VERSION}-" not in wheel.name:
        raise SystemExit(f"expected the {PACKAGE} {VERSION} wheel, got {wheel.name}")
    data = extract(wheel)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(data['devices'])} devices)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
