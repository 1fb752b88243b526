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


def test_unpacked_executions_are_the_circuits():
    model = build_model("hqkan_lstm", "bessel", dtype=torch.float64)
    epoch = qc.epoch_workload(model, 3, 7, 3)
    assert epoch.executions == epoch.circuits
    forecast = qc.forecast_workload(model, 5)
    assert forecast.executions == forecast.circuits


def test_packing_runs_independent_circuits_side_by_side():
    model = build_model("qkan_lstm", "damped_shm", dtype=torch.float64)  # 24 one-qubit DARUANs
    # a forecast step: 24 DARUANs on 10 qubits -> 3 executions; on 24 or more -> 1
    assert qc.forecast_workload(model, 4, parallel_qubits=10).executions == 4 * 3
    assert qc.forecast_workload(model, 4, parallel_qubits=24).executions == 4
    # an epoch, one batch of 10 windows: each forward round 240 DARUANs -> 24 executions on
    # 10 qubits; the shifted round 240 * 4 steps * (2 per angle) circuits -> ceil(that / 10)
    angles = qc.circuit_families(model)[0].angles
    shifted = 240 * 4 * (qc.shift_circuits(angles) - 1)
    packed = qc.epoch_workload(model, 4, 10, 10, max_circuits=10**9, parallel_qubits=10)
    assert packed.executions == 4 * 24 + -(-shifted // 10)
    assert packed.circuits == qc.epoch_workload(model, 4, 10, 10).circuits
    assert packed.rounds == 5 and packed.jobs == 5


def test_multi_qubit_circuits_pack_only_whole():
    model = build_model("qlstm", "bessel", dtype=torch.float64)
    n = qc.circuit_families(model)[0].qubits
    assert n > 1
    # fewer qubits than one circuit needs: no packing, one circuit per execution
    assert qc.forecast_workload(model, 2, parallel_qubits=n - 1).executions == 2 * 4
    # two whole circuits fit on 2n + 1 qubits: the 4 gate circuits of a step in 2 executions
    assert qc.forecast_workload(model, 2, parallel_qubits=2 * n + 1).executions == 2 * 2


def test_circuits_per_job_follows_the_execution_and_time_limits():
    figures = qc.published_figures()["timing"]
    limit = figures["ibm_max_executions_per_job"]["value"]
    assert qc.circuits_per_job(1000) == limit // 1000
    assert qc.circuits_per_job(limit + 1) == 1  # never fewer than one circuit
    slow = qc.DeviceTiming("slow", seconds_per_shot=1.0, seconds_per_job=0.0)
    assert qc.circuits_per_job(1000, slow) == figures["ibm_max_job_seconds"]["value"] // 1000


def test_packing_table_reduces_jobs_and_device_time():
    table = qc.packing_table("damped_shm", ["qkan_lstm"], shots=1000)
    row = table.loc["qkan_lstm"]
    assert row["legacy_jobs"] > row["sweeps_jobs"] >= row["rounds"]
    assert row["legacy_executions"] == row["sweeps_executions"] == row["circuits"]
    assert row["packed_executions"] < row["sweeps_executions"] / 10
    assert row["packed_s"] < row["sweeps_s"] <= row["legacy_s"]
    legacy = qc.table_workloads(["qkan_lstm"], ["damped_shm"]).iloc[0]
    assert row["legacy_jobs"] == legacy["training_jobs"]  # the chapter's default counts


def test_queue_adds_one_wait_per_round():
    waits = qc.queue_waits()
    assert min(waits.values()) == 0 and max(waits.values()) > 86400
    assert qc.queued_seconds(100.0, 7, 60.0) == pytest.approx(100 + 7 * 60)


def test_readout_shot_factor_matches_the_sampled_variance():
    """The corrected estimate (z_meas - g) / f from N shots, at <Z> = 0, over many seeds: its
    variance is readout_shot_factor / N (within 5 standard errors of a sample variance)."""
    from qkan_lib.core.noise import NoiseModel, sample_expectation

    noise = NoiseModel(readout_error_0=0.03, readout_error_1=0.12)
    f, g = noise.readout_map()
    shots, seeds = 100, 20000
    gen = torch.Generator().manual_seed(3)
    est = sample_expectation(torch.full((seeds,), g, dtype=torch.float64), shots, gen)
    var = float(((est - g) / f).var())
    want = qc.readout_shot_factor(noise) / shots
    assert abs(var - want) < 5 * want * (2 / (seeds - 1)) ** 0.5
    assert qc.readout_shot_factor(NoiseModel()) == 1.0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m: qc.forecast_workload(m, 3, parallel_qubits=0), "parallel_qubits"),
        (lambda m: qc.epoch_workload(m, 3, 5, 5, max_circuits=0), "max_circuits"),
        (lambda m: qc.circuits_per_job(0), "shots"),
        (lambda m: qc.circuits_per_job(None), "shots"),
        (lambda m: qc.queued_seconds(1.0, 3, -5.0), "queue_s"),
        (lambda m: qc.queued_seconds(float("nan"), 3, 5.0), "device_s"),
        (lambda m: qc.queued_seconds(1.0, -1, 5.0), "rounds"),
        (lambda m: qc.readout_shot_factor("fez"), "noise"),
        (lambda m: qc.packing_table(shots=0), "shots"),
    ],
)
def test_bad_input_names_the_parameter(call, match):
    model = build_model("qkan_lstm", "bessel", dtype=torch.float64)
    with pytest.raises((ValueError, TypeError), match=match):
        call(model)
