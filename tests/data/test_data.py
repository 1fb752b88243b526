import numpy as np
import pytest
import scipy.integrate
import scipy.special
import torch

from qkan_lib.data import registry, synthetic, windows


def test_bessel_matches_scipy():
    x, y = synthetic.bessel_series()
    assert len(x) == 256 and x[0] == 2 and x[-1] == 100
    np.testing.assert_allclose(y, scipy.special.jv(2, x), atol=1e-12, rtol=0)
    np.testing.assert_allclose(
        synthetic.bessel_j(0, [0.0, 1.0]), scipy.special.jv(0, [0.0, 1.0]), atol=1e-14
    )


def test_bessel_refuses_too_few_points():
    with pytest.raises(ValueError, match="too few"):
        synthetic.bessel_j(2, [100.0], points=64)


def test_damped_pendulum_matches_scipy_odeint():
    t, angle, velocity = synthetic.damped_pendulum()
    assert len(t) == 240 and velocity[0] == 3.0
    reference = scipy.integrate.odeint(
        lambda s, _: [s[1], -0.15 * s[1] - 9.81 * np.sin(s[0])],
        [0.0, 3.0],
        t,
        rtol=1e-12,
        atol=1e-12,
    )
    np.testing.assert_allclose(angle, reference[:, 0], atol=1e-8)
    np.testing.assert_allclose(velocity, reference[:, 1], atol=1e-8)


def test_windows_follow_the_reference_and_drop_the_last():
    s = np.arange(10.0)
    x, y = windows.make_windows(s, 4)
    assert x.shape == (5, 4, 1) and y.shape == (5, 1)  # range(10 - 4 - 1) = 5 windows
    np.testing.assert_array_equal(x[2, :, 0], [2, 3, 4, 5])
    assert y[2, 0] == 6 and y[-1, 0] == 8
    with pytest.raises(ValueError, match="no windows"):
        windows.make_windows(np.arange(4.0), 4)


@pytest.mark.parametrize(
    "name, n_windows, n_train", [("damped_shm", 235, 157), ("bessel", 251, 168)]
)
def test_synthetic_datasets_protocol(name, n_windows, n_train):
    data = registry.load_dataset(name, seq_len=4)
    assert len(data) == n_windows and len(data.x_train) == n_train
    series = np.array(data.info["series"])
    assert series.min() == pytest.approx(-1) and series.max() == pytest.approx(1)
    torch.testing.assert_close(
        data.x_test[0, 1:], data.x_train[-1, 2:].new_tensor(series[n_train + 1 : n_train + 4, None])
    )


def test_scaler_round_trip_and_errors():
    scaler = windows.MinMaxScaler.fit([2.0, 4.0, np.nan])
    np.testing.assert_allclose(scaler.transform([2.0, 3.0, 4.0]), [-1, 0, 1])
    np.testing.assert_allclose(scaler.inverse(scaler.transform([2.5])), [2.5])
    with pytest.raises(ValueError, match="constant"):
        windows.MinMaxScaler.fit([1.0, 1.0])


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset"):
        registry.load_dataset("mnist")
