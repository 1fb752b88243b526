"""Seed batching (qkan_lib.runs.seed_batching) equals separate runs."""

import pytest
import torch

import qkan_lib as ql


@pytest.mark.slow
@pytest.mark.parametrize(
    "model", ["qkan_lstm", "hqkan_lstm", "qlstm", "fourier_lstm", "lstm", "param_matched_lstm"]
)
def test_seed_batched_training_equals_separate_runs(model):
    data = ql.load_dataset("damped_shm")
    config = ql.TrainConfig(epochs=2, record_epochs=(2,))
    batched = ql.train_seeds(model, "damped_shm", data, config, [3, 4])
    for k, seed in enumerate([3, 4]):
        ql.seed_everything(seed)
        single = ql.train(ql.build_model(model, "damped_shm", dtype=torch.float64), data, config)
        for a, b in zip(single["history"], batched[k]["history"]):
            assert a.keys() == b.keys()
            for key in a:
                assert a[key] == pytest.approx(b[key], abs=1e-10, rel=1e-10), (seed, key)
        assert single["predictions"]["2"]["test"] == pytest.approx(
            batched[k]["predictions"]["2"]["test"], abs=1e-10
        )
        assert batched[k]["seed_batched"] == 2


@pytest.mark.parametrize("model", ["qkan_lstm", pytest.param("hqkan_lstm", marks=pytest.mark.slow)])
def test_seed_batching_at_batch_one_is_one_kernel_call_per_step_and_equals_separate_runs(
    model, monkeypatch
):
    """Chapter 9's batch-1 protocol: the S seeds take ONE compiled call per optimiser step (the
    direct stacked path) and end where S separate runs end, after 2 epochs (~250 steps), to a
    relative 1e-12 on every score and weight: the runs differ only in the rounding of the
    head's batched product (measured: a few ulp after these epochs)."""
    from qkan_lib.kernels import qkan_sequence

    calls = []
    original = qkan_sequence._run_forward

    def spy(settings, x, arrays, store):
        calls.append((settings[3], x.shape[0] if settings[3] else 1, arrays[0].shape[0]))
        return original(settings, x, arrays, store)

    data = ql.load_dataset("bessel")
    config = ql.TrainConfig(epochs=2, batch_size=1)
    seeds = [0, 7, 9]
    monkeypatch.setattr(qkan_sequence, "_run_forward", spy)
    batched = ql.train_seeds(model, "bessel", data, config, seeds)
    # one call per optimiser step and one per epoch's evaluation (every split in one pass)
    assert len(calls) == config.epochs * len(data.x_train) + config.epochs
    assert all(stacked and n_models == 3 for stacked, _, n_models in calls)
    monkeypatch.setattr(qkan_sequence, "_run_forward", original)
    for k, seed in enumerate(seeds):
        ql.seed_everything(seed)
        single = ql.train(ql.build_model(model, "bessel", dtype=torch.float64), data, config)
        for a, b in zip(single["history"], batched[k]["history"], strict=True):
            for key in a:
                assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-15), (seed, key)
        for name, values in single["final_state"].items():
            got = torch.tensor(batched[k]["final_state"][name])
            torch.testing.assert_close(got, torch.tensor(values), rtol=1e-12, atol=1e-15)


def test_seed_batching_refuses_what_it_cannot_do():
    data = ql.load_dataset("bessel")
    with pytest.raises(ValueError, match="shuffle"):
        ql.train_seeds("qkan_lstm", "bessel", data, ql.TrainConfig(shuffle=True), [0, 1])
    with pytest.raises(ValueError, match="seed by seed"):
        ql.train_seeds("no_such_model", "bessel", data, ql.TrainConfig(), [0, 1])
    x = data.x_train[:1].double()
    with pytest.raises(ValueError, match="no vmap rule"):  # off the CPU it would need vmap
        ql.runs.seed_batching.stack_seeds("lstm", "bessel", [0, 1], torch.float64, "cpu", x,
                                          path="vmap")  # fmt: skip
    with pytest.raises(ValueError, match="no seeds"):
        ql.train_seeds("qkan_lstm", "bessel", data, ql.TrainConfig(), [])
