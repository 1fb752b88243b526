"""Seed batching (qkan_lib.runs.seed_batching) equals separate runs."""

import pytest
import torch

import qkan_lib as ql


@pytest.mark.slow
@pytest.mark.parametrize("model", ["qkan_lstm", "hqkan_lstm", "qlstm"])
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


def test_seed_batching_refuses_what_it_cannot_do():
    data = ql.load_dataset("bessel")
    with pytest.raises(ValueError, match="shuffle"):
        ql.train_seeds("qkan_lstm", "bessel", data, ql.TrainConfig(shuffle=True), [0, 1])
    with pytest.raises(ValueError, match="seed by seed"):
        ql.train_seeds("lstm", "bessel", data, ql.TrainConfig(), [0, 1])
    with pytest.raises(ValueError, match="no seeds"):
        ql.train_seeds("qkan_lstm", "bessel", data, ql.TrainConfig(), [])
