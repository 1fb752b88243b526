"""The closed-form counts of quantum_cost against a brute-force count: loops over batches,
windows, steps and circuits that call the book's own parameter-shift code
(qkan_lib.core.shift) and count every circuit it evaluates."""

import pytest
import torch

import qkan_lib.core.shift as shift
from qkan_lib import build_model
from qkan_lib.core.layers import QKANLayer
from qkan_lib.evidence import quantum_cost as qc
from qkan_lib.models.cells import QLSTMGates


@pytest.fixture
def counter(monkeypatch):
    count = {"circuits": 0}
    daruan, circuits = shift.evaluate_daruan, shift.circuit_expectations

    def counted_daruan(*args, **kwargs):
        out = daruan(*args, **kwargs)
        count["circuits"] += out.numel()
        return out

    def counted_circuits(v, theta, n_measured):
        out = circuits(v, theta, n_measured)
        count["circuits"] += out.numel() // n_measured
        return out

    monkeypatch.setattr(shift, "evaluate_daruan", counted_daruan)
    monkeypatch.setattr(shift, "circuit_expectations", counted_circuits)
    return count


def brute_force_epoch(model, seq_len, n_train, batch_size, counter):
    forward = 0
    for start in range(0, n_train, batch_size):
        for _window in range(min(batch_size, n_train - start)):
            for _step in range(seq_len):
                for module in model.modules():
                    if isinstance(module, QKANLayer):
                        for o in range(module.out_features):
                            for i in range(module.in_features):
                                forward += 1
                                shift.daruan_shift_gradients(
                                    torch.randn(1, dtype=torch.float64),
                                    module.theta[o, i].detach(),
                                    module.preact_weight[o, i].detach(),
                                    module.preact_bias[o, i].detach(),
                                )
                    elif isinstance(module, QLSTMGates):
                        for gate in range(4):
                            forward += 1
                            shift.qlstm_shift_gradients(
                                torch.randn(1, module.n_qubits, dtype=torch.float64),
                                module.theta[gate].detach(),
                                module.hidden_size,
                            )
    return forward + counter["circuits"]


@pytest.mark.parametrize(
    "name, options",
    [
        ("qkan_lstm", {"reps": 2}),
        ("hqkan_lstm", {"reps": 3}),
        ("qlstm", {"depth": 2}),
    ],
)
def test_epoch_counts_match_a_brute_force_count(name, options, counter):
    torch.manual_seed(0)
    model = build_model(name, "bessel", dtype=torch.float64, **options)
    seq_len, n_train, batch = 3, 7, 3
    got = qc.epoch_workload(model, seq_len, n_train, batch)
    assert got.circuits == brute_force_epoch(model, seq_len, n_train, batch, counter)
    assert got.rounds == 3 * (seq_len + 1)  # three batches: seq_len forward rounds + 1 each
    assert qc.forecast_workload(model, seq_len).rounds == seq_len


def test_jobs_split_rounds_at_the_circuit_limit():
    model = build_model("qkan_lstm", "damped_shm", dtype=torch.float64)  # 24 edges
    one = qc.epoch_workload(model, 4, 10, 10, max_circuits=10**9)
    assert one.jobs == one.rounds  # one job per round when everything fits
    small = qc.epoch_workload(model, 4, 10, 10, max_circuits=100)
    # forward rounds: 240 circuits -> 3 jobs each; shifted: 240 * 4 steps * 10 -> 96 jobs
    assert small.jobs == 4 * 3 + 96


def test_device_seconds_adds_shots_and_jobs():
    timing = qc.DeviceTiming("t", seconds_per_shot=1e-3, seconds_per_job=2.0)
    assert qc.device_seconds(10, 3, 100, timing) == pytest.approx(10 * 100 * 1e-3 + 6.0)
    with pytest.raises(ValueError, match="shots"):
        qc.device_seconds(10, 3, None, timing)


def test_table_workloads_covers_the_tables():
    table = qc.table_workloads(datasets=["bessel"])
    assert list(table["model"]) == list(qc.QUANTUM_MODELS)
    assert (table["training_circuits"] == table["epoch_circuits"] * 30 * 10).all()
