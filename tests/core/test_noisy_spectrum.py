import math

import numpy as np
import pytest
import torch

from qkan_lib.core.noise import NoiseModel, noisy_daruan
from qkan_lib.core.spectrum import (
    depolarizing_shrinkage,
    exact_fourier_series,
    fft_coefficients,
    shot_noise_floor,
)

RNG = np.random.default_rng(5)
NOISES = [
    NoiseModel(depolarizing=0.03, readout_error_0=0.02, readout_error_1=0.07),
    NoiseModel(depolarizing=0.01, t1=50e-6, t2=40e-6, gate_time=2e-6, readout_error_0=0.03),
    NoiseModel(depolarizing=0.01, t1=50e-6, t2=90e-6, gate_time=4e-6, virtual_z=True),
]


def grid_values(theta, bias, noise, n=64):
    x = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    return noisy_daruan(x, torch.tensor(theta), None, torch.tensor(bias).reshape(1, -1)[0], noise)


@pytest.mark.parametrize("reps", [1, 2, 4])
@pytest.mark.parametrize("noise", NOISES)
def test_noisy_coefficients_match_the_fft_of_the_noisy_function(reps, noise):
    theta = RNG.uniform(-math.pi, math.pi, size=(reps + 1, 2))
    bias = RNG.normal(size=reps)
    omegas, coeffs = exact_fourier_series(theta, np.ones(reps), bias, noise=noise)
    freqs, fft = fft_coefficients(grid_values(theta, bias, noise).numpy())
    for om, c in zip(omegas, coeffs):
        assert abs(fft[freqs == round(om)][0] - c) < 1e-12
    assert np.all(np.abs(fft[np.abs(freqs) > reps]) < 1e-12)  # no new frequency


@pytest.mark.parametrize("reps", [1, 3, 5])
def test_depolarizing_shrinks_every_coefficient_by_the_predicted_factor(reps):
    theta = RNG.uniform(-math.pi, math.pi, size=(reps + 1, 2))
    noise = NOISES[0]
    _, exact = exact_fourier_series(theta)
    omegas, noisy = exact_fourier_series(theta, noise=noise)
    k = depolarizing_shrinkage(reps, noise)
    nonzero = omegas != 0
    np.testing.assert_allclose(noisy[nonzero], k * exact[nonzero], atol=1e-13)
    e0, e1 = noise.readout_error_0, noise.readout_error_1
    np.testing.assert_allclose(noisy[~nonzero], k * exact[~nonzero] + e1 - e0, atol=1e-13)
    with pytest.raises(ValueError, match="T1"):
        depolarizing_shrinkage(reps, NOISES[1])


def test_shot_noise_floor_matches_sampled_ffts():
    theta = RNG.uniform(-math.pi, math.pi, size=(3, 2))
    exact = grid_values(theta, np.zeros(2), NOISES[0], n=128)
    shots, draws = 100, 400
    gen = torch.Generator().manual_seed(0)
    errors = []
    for _ in range(draws):
        sampled = noisy_daruan(
            torch.arange(128, dtype=torch.float64) * 2 * math.pi / 128,
            torch.tensor(theta),
            None,
            None,
            NOISES[0],
            shots,
            gen,
        )
        errors.append(np.fft.fft(sampled.numpy() - exact.numpy()) / 128)
    rms = np.sqrt(np.mean(np.abs(np.array(errors)) ** 2))
    assert abs(rms / shot_noise_floor(exact.numpy(), shots) - 1) < 0.05
