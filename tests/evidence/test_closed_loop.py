"""Observation noise on the damped SHM and closed-loop multi-step forecasts."""

import numpy as np
import pytest
import torch

import qkan_lib as q
from qkan_lib.data.noisy import noisy_damped_shm
from qkan_lib.data.registry import load_dataset, synthetic_dataset
from qkan_lib.evidence.closed_loop import closed_loop_forecast, horizon_metrics, horizon_targets
from qkan_lib.runs.metrics import regression_metrics

F64 = torch.float64


def test_zero_noise_is_the_clean_dataset():
    clean = synthetic_dataset("damped_shm", 4)
    noisy = noisy_damped_shm(4, noise_std=0.0)
    for (_, xc, yc), (_, xn, yn) in zip(clean.splits(), noisy.splits()):
        assert torch.equal(xc, xn) and torch.equal(yc, yn)


def test_noise_is_seeded_and_gaussian_with_the_given_std():
    a = noisy_damped_shm(4, noise_std=0.1, seed=7)
    b = noisy_damped_shm(4, noise_std=0.1, seed=7)
    c = noisy_damped_shm(4, noise_std=0.1, seed=8)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)
    noise = np.array(a.info["noisy_series"]) - np.array(a.info["series"])
    np.testing.assert_allclose(
        noise, np.random.default_rng(7).normal(0, 0.1, noise.size), rtol=0, atol=1e-15
    )
    assert 0.08 < noise.std() < 0.12  # 240 samples


def test_noise_on_inputs_only_keeps_clean_targets():
    clean = synthetic_dataset("damped_shm", 4)
    both = noisy_damped_shm(4, noise_std=0.1, seed=1, noise_on="both")
    inputs = noisy_damped_shm(4, noise_std=0.1, seed=1, noise_on="inputs")
    assert torch.equal(inputs.x_train, both.x_train)
    assert torch.equal(inputs.y_train, clean.y_train) and not torch.equal(
        both.y_train, clean.y_train
    )
    # the same observation is noisy in the same way in every window that contains it
    assert torch.equal(both.x_train[1:, :-1], both.x_train[:-1, 1:])
    assert torch.equal(both.x_train[1:, -1], both.y_train[:-1])


def test_noisy_validation_block_and_load_dataset():
    data = load_dataset("damped_shm_noisy", 4, noise_std=0.05, seed=3, val_fraction=0.2)
    a, b = data.info["cuts"]
    assert [n for n, _, _ in data.splits()] == ["train", "val", "test"]
    assert len(data.x_train) == a and len(data.x_val) == b - a
    with pytest.raises(ValueError, match="noise_std"):
        noisy_damped_shm(4, noise_std=-1)
    with pytest.raises(ValueError, match="noise_on"):
        noisy_damped_shm(4, noise_on="targets")


def test_closed_loop_equals_feeding_by_hand():
    torch.manual_seed(0)
    model = q.build_model("qkan_lstm", "damped_shm", dtype=F64)
    window = torch.randn(3, 4, 1, dtype=F64)
    forecast = closed_loop_forecast(model, window, 5)
    values = [window[:, k, 0] for k in range(4)]
    with torch.no_grad():
        for _ in range(5):
            last = torch.stack(values[-4:], dim=1)[..., None]
            values.append(model(last)[:, 0])
    torch.testing.assert_close(forecast[..., 0], torch.stack(values[4:], dim=1), atol=0, rtol=0)
    assert model.training  # mode restored


def test_closed_loop_on_an_exact_linear_recurrence():
    # y_t = 2 cos(w) y_{t-1} - y_{t-2} is exactly a linear model: closed loop stays on the sinusoid
    omega = 0.3

    class Oscillator(torch.nn.Module):
        def forward(self, x):
            return 2 * np.cos(omega) * x[:, -1] - x[:, -2]

    series = torch.sin(omega * torch.arange(40, dtype=F64))
    forecast = closed_loop_forecast(Oscillator(), series[None, :4, None], 30)
    torch.testing.assert_close(forecast[0, :, 0], series[4:34], atol=1e-12, rtol=0)


def test_horizon_targets_and_metrics():
    data = synthetic_dataset("damped_shm", 4)
    windows, truth = horizon_targets(data.x_test, data.y_test, 3)
    series = np.array(data.info["series"])
    n_train = data.info["n_train"]
    for k in (0, 5, len(windows) - 1):  # window k of the test split starts at n_train + k
        np.testing.assert_allclose(
            truth[k, :, 0].numpy(), series[n_train + k + 4 : n_train + k + 7]
        )
    torch.manual_seed(1)
    model = q.build_model("lstm", "damped_shm", dtype=F64)
    rows = horizon_metrics(model, data.x_test, data.y_test, 3)
    assert [r["horizon"] for r in rows] == [1, 2, 3]
    one_step = regression_metrics(model(windows).detach(), truth[:, 0])
    assert rows[0]["mse"] == pytest.approx(one_step["mse"], rel=1e-12)


def test_refusals():
    model = q.build_model("lstm", "damped_shm")
    with pytest.raises(ValueError, match="steps"):
        closed_loop_forecast(model, torch.zeros(1, 4, 1), 0)
    with pytest.raises(ValueError, match="not consecutive"):
        horizon_targets(torch.randn(6, 4, 1), torch.randn(6, 1), 2)
    with pytest.raises(ValueError, match="predicts every input feature"):
        closed_loop_forecast(q.LSTMRegressor(2, 3), torch.zeros(1, 4, 2), 2)
