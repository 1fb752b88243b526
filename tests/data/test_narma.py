"""NARMA-n: the recursion against a plain loop, divergence handling, splits and scaling."""

import numpy as np
import pytest
import torch

from qkan_lib.data.narma import (
    NarmaDivergenceError,
    check_bounded,
    chronological_split,
    classic_narma,
    deterministic_narma,
    narma_dataset,
    narma_recursion,
)
from qkan_lib.data.registry import load_dataset


def plain_narma(u, n, y0=0.0):
    """The textbook recursion, written out term by term with explicit index checks."""
    y = [y0]
    for t in range(len(u) - 1):
        total = 0.0
        for j in range(n):
            if t - j >= 0:
                total += y[t - j]
        product = u[t - n + 1] * u[t] if t - n + 1 >= 0 else 0.0
        y.append(0.3 * y[t] + 0.05 * y[t] * total + 1.5 * product + 0.1)
    return np.array(y)


@pytest.mark.parametrize("order", [1, 2, 5, 10])
def test_recursion_matches_a_plain_loop(order):
    u = np.random.default_rng(order).uniform(0, 0.5, 400)
    np.testing.assert_allclose(
        narma_recursion(u, order), plain_narma(u, order), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(
        narma_recursion(u, order, y0=0.196), plain_narma(u, order, 0.196), rtol=1e-12
    )


def test_first_steps_by_hand():
    u = np.array([0.2, 0.4, 0.1, 0.3])
    y = narma_recursion(u, 2)
    assert y[1] == pytest.approx(0.1)  # y0 = 0 and u[-1] = 0: only delta
    assert y[2] == pytest.approx(0.3 * 0.1 + 0.05 * 0.1 * 0.1 + 1.5 * 0.2 * 0.4 + 0.1)
    assert y[3] == pytest.approx(0.3 * y[2] + 0.05 * y[2] * (y[2] + y[1]) + 1.5 * 0.4 * 0.1 + 0.1)


def test_classic_narma_is_seeded_and_in_range():
    u1, y1, info = classic_narma(10, 500, seed=3)
    u2, y2, _ = classic_narma(10, 500, seed=3)
    u3, _, _ = classic_narma(10, 500, seed=4)
    assert np.array_equal(u1, u2) and np.array_equal(y1, y2) and not np.array_equal(u1, u3)
    assert u1.shape == y1.shape == (500,) and info == {"seed": 3, "redraws": 0}
    assert u1.min() >= 0 and u1.max() <= 0.5
    assert 0 < y1.min() and y1.max() < 1.5
    # the washout is dropped: the returned series continues the full recursion
    rng = np.random.default_rng(3)
    full_u = rng.uniform(0, 0.5, 700)
    np.testing.assert_allclose(y1, plain_narma(full_u, 10)[200:], rtol=1e-12)


def test_divergence_is_detected_on_a_constructed_bad_case():
    # constant u = 0.9: 0.5 y^2 - 0.7 y + 1.315 = 0 has no real root, so NARMA-10 has no fixed point
    y = narma_recursion(np.full(300, 0.9), 10)
    assert not np.isfinite(y[-1]) or abs(y[-1]) > 1e6
    with pytest.raises(NarmaDivergenceError, match=r"NARMA-10 diverged at step \d+"):
        check_bounded(y, 10)
    with pytest.raises(NarmaDivergenceError, match="All 3 draws from seed 0 diverged"):
        classic_narma(10, 500, seed=0, input_range=(0.5, 0.9), max_redraws=2)
    check_bounded(narma_recursion(np.full(300, 0.2), 10), 10)  # a converging one passes


def test_a_rare_natural_divergence_is_redrawn():
    # find a seed whose first uniform draw diverges (about 1 in 200 for NARMA-10, 1200 steps)
    seed = next(
        s
        for s in range(2000)
        if not np.isfinite(
            narma_recursion(np.random.default_rng(s).uniform(0, 0.5, 1200), 10)
        ).all()
        or np.abs(narma_recursion(np.random.default_rng(s).uniform(0, 0.5, 1200), 10)).max() > 10
    )
    with pytest.raises(NarmaDivergenceError):
        classic_narma(10, 1000, seed=seed, max_redraws=0)
    u, y, info = classic_narma(10, 1000, seed=seed)
    assert info["redraws"] >= 1 and np.isfinite(y).all() and np.abs(y).max() < 10
    rng = np.random.default_rng(seed)
    for _ in range(info["redraws"]):
        rng.uniform(0, 0.5, 1200)
    np.testing.assert_array_equal(u, rng.uniform(0, 0.5, 1200)[200:])


def test_deterministic_variant():
    u, y = deterministic_narma(5)
    t = np.arange(300)
    expected_u = 0.1 * (
        np.sin(2 * np.pi * 2.11 * t / 300)
        * np.sin(2 * np.pi * 3.73 * t / 300)
        * np.sin(2 * np.pi * 4.11 * t / 300)
        + 1
    )
    np.testing.assert_allclose(u, expected_u, rtol=1e-14)
    np.testing.assert_allclose(y, plain_narma(expected_u, 5, 0.196), rtol=1e-12)
    assert y[0] == 0.196


def test_chronological_split():
    assert chronological_split(100, 0.67, 0.2) == (54, 67)
    assert chronological_split(100, 0.8, 0.0) == (80, 80)
    with pytest.raises(ValueError, match="train_fraction"):
        chronological_split(100, 1.0, 0.2)
    with pytest.raises(ValueError, match="too few"):
        chronological_split(1, 0.5, 0.0)


@pytest.mark.parametrize("variant", ["classic", "deterministic"])
def test_dataset_windows_splits_and_train_only_scaling(variant):
    data = narma_dataset(10, seq_len=12, variant=variant, length=600, seed=1)
    u, y = np.array(data.info["u"]), np.array(data.info["y"])
    a, b = data.info["cuts"]
    x = torch.cat([data.x_train, data.x_val, data.x_test])
    target = torch.cat([data.y_train, data.y_val, data.y_test])
    assert len(x) == len(u) - 12 - 1 and 0 < a < b < len(x)
    assert len(data.x_train) == a and len(data.x_val) == b - a
    raw_x = data.info["input_scaler"].inverse(x.numpy())
    raw_y = data.scaler.inverse(target.numpy())
    for i in (0, a, b, len(x) - 1):  # x = u[i : i + L], target y[i + L]
        np.testing.assert_allclose(raw_x[i, :, 0], u[i : i + 12], atol=1e-12)
        assert raw_y[i, 0] == pytest.approx(y[i + 12], abs=1e-12)
    # fitted on the training windows only: they span [-1, 1] exactly, the rest need not
    assert float(data.y_train.min()) == pytest.approx(-1) and float(
        data.y_train.max()
    ) == pytest.approx(1)
    assert float(data.x_train.min()) == pytest.approx(-1) and float(
        data.x_train.max()
    ) == pytest.approx(1)
    expected = -1 + 2 * (y[12 : 12 + len(x)] - y[12 : 12 + a].min()) / np.ptp(y[12 : 12 + a])
    np.testing.assert_allclose(target.numpy().ravel(), expected, atol=1e-12)


def test_unscaled_dataset_keeps_raw_values():
    data = narma_dataset(5, seq_len=5, length=300, scale=False, val_fraction=0.0)
    assert data.scaler is None and data.x_val.shape[0] == 0
    assert [name for name, _, _ in data.splits()] == ["train", "test"]
    np.testing.assert_allclose(
        data.y_train[:, 0].numpy(), np.array(data.info["y"])[5 : 5 + len(data.y_train)]
    )


def test_load_dataset_names():
    data = load_dataset("narma5", 6, length=300, seed=2)
    assert data.name == "narma5" and data.seq_len == 6 and data.info["order"] == 5
    assert (
        load_dataset("narma10", 10, dtype=torch.float32, length=300).x_train.dtype == torch.float32
    )
    with pytest.raises(ValueError, match="variant"):
        load_dataset("narma10", 10, variant="other")
    with pytest.raises(ValueError, match="narma10"):
        load_dataset("narma20", 10)
