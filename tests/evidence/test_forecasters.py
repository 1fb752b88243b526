"""Persistence, AR(p) and parameter-matched LSTMs against independent oracles."""

import numpy as np
import pytest
import torch

import qkan_lib as q
from qkan_lib.data.registry import SequenceData, load_dataset
from qkan_lib.data.windows import make_windows
from qkan_lib.evidence.forecasters import (
    LinearAutoregression,
    baseline_metrics,
    persistence_forecast,
)
from qkan_lib.models.matched_lstm import (
    build_parameter_matched_lstm,
    lstm_parameter_count,
    parameter_matched_lstm_hidden,
)


def _windows_data(series, seq_len, n_train):
    x, y = make_windows(series, seq_len)
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    return SequenceData(
        "test", seq_len, t(x[:n_train]), t(y[:n_train]), t(x[n_train:]), t(y[n_train:])
    )


def test_persistence_exact_on_constant_series():
    data = _windows_data(np.full(40, 0.7), 4, 25)
    for _, x, y in data.splits():
        assert torch.equal(persistence_forecast(x), y)


def test_persistence_exact_when_next_equals_last():
    # a staircase that holds each value for longer than the window: next == last except at steps
    series = np.repeat(np.array([0.1, -0.4, 0.9, 0.3]), 10)
    x, y = make_windows(series, 3)
    pred = persistence_forecast(torch.as_tensor(x))
    same = x[:, -1, 0] == y[:, 0]
    assert same.sum() > 20
    np.testing.assert_array_equal(pred.numpy()[same], y[same])
    assert not np.allclose(pred.numpy()[~same], y[~same])  # and wrong where the series jumps


def test_persistence_metrics_on_damped_shm_are_computed_by_regression_metrics():
    data = load_dataset("damped_shm", 4)
    out = baseline_metrics(data)
    from qkan_lib.runs.metrics import regression_metrics

    manual = regression_metrics(data.x_test[:, -1], data.y_test)
    assert out["persistence"]["test"] == manual
    assert set(out) == {"persistence", "ar"} and set(out["ar"]) == {"train", "test"}


def test_ar_equals_numpy_lstsq_on_an_independent_design_matrix():
    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(size=120)) * 0.1 + np.sin(np.arange(120) / 3)
    seq_len, n_train = 5, 80
    data = _windows_data(series, seq_len, n_train)
    # design built straight from the series, not from the windows
    rows = [np.concatenate([[1.0], series[i : i + seq_len]]) for i in range(n_train)]
    targets = series[seq_len : seq_len + n_train]
    solution, *_ = np.linalg.lstsq(np.array(rows), targets, rcond=None)
    ar = LinearAutoregression().fit(data.x_train, data.y_train)
    assert ar.order == seq_len
    np.testing.assert_allclose(ar.intercept.numpy(), solution[:1], atol=1e-10)
    np.testing.assert_allclose(ar.coefficients.numpy().ravel(), solution[1:], atol=1e-10)
    test_rows = np.array(
        [
            np.concatenate([[1.0], series[i : i + seq_len]])
            for i in range(n_train, len(series) - seq_len - 1)
        ]
    )
    np.testing.assert_allclose(
        ar.predict(data.x_test).numpy().ravel(), test_rows @ solution, atol=1e-10
    )
    metrics = baseline_metrics(data)["ar"]["test"]
    resid = test_rows @ solution - data.y_test.numpy().ravel()
    assert metrics["mse"] == pytest.approx(np.mean(resid**2), rel=1e-9)


def test_ar_recovers_a_noiseless_ar_process():
    coef = np.array(
        [0.5, -0.3, 0.2]
    )  # y_t = 0.1 + 0.5 y_{t-3} - 0.3 y_{t-2} + 0.2 y_{t-1} (stable)
    rng = np.random.default_rng(1)
    series = list(rng.normal(size=3))
    for _ in range(60):  # short enough that the transient is still far from the fixed point
        series.append(0.1 + coef @ np.array(series[-3:]))
    data = _windows_data(np.array(series), 3, 40)
    ar = LinearAutoregression().fit(data.x_train, data.y_train)
    np.testing.assert_allclose(ar.coefficients.numpy().ravel(), coef, atol=1e-9)
    assert float(ar.intercept) == pytest.approx(0.1, abs=1e-9)
    np.testing.assert_allclose(ar.predict(data.x_test).numpy(), data.y_test.numpy(), atol=1e-10)


def test_ar_recovers_an_undamped_oscillator_with_offset():
    omega, offset = 0.4, 0.3  # y_t = 2 cos(omega) y_{t-1} - y_{t-2} + offset (2 - 2 cos omega)
    series = offset + np.sin(omega * np.arange(200) + 0.2)
    data = _windows_data(series, 2, 120)
    ar = LinearAutoregression().fit(data.x_train, data.y_train)
    np.testing.assert_allclose(
        ar.coefficients.numpy().ravel(), [-1.0, 2 * np.cos(omega)], atol=1e-9
    )
    assert float(ar.intercept) == pytest.approx(offset * (2 - 2 * np.cos(omega)), abs=1e-9)
    assert baseline_metrics(data)["ar"]["test"]["r2"] == pytest.approx(1.0, abs=1e-12)


def test_ar_with_a_shorter_order_uses_the_last_steps():
    rng = np.random.default_rng(2)
    series = rng.normal(size=60)
    data = _windows_data(series, 6, 40)
    short = LinearAutoregression(order=2).fit(data.x_train, data.y_train)
    direct = LinearAutoregression().fit(data.x_train[:, -2:], data.y_train)
    torch.testing.assert_close(short.predict(data.x_test), direct.predict(data.x_test[:, -2:]))
    with pytest.raises(ValueError, match="order 7 exceeds"):
        LinearAutoregression(order=7).fit(data.x_train, data.y_train)
    with pytest.raises(ValueError, match="fit the AR"):
        LinearAutoregression().predict(data.x_test)


def test_ar_on_a_constant_series_is_exact_despite_rank_deficiency():
    data = _windows_data(np.full(30, -0.25), 4, 20)
    ar = LinearAutoregression().fit(data.x_train, data.y_train)
    torch.testing.assert_close(ar.predict(data.x_test), data.y_test)


def test_lstm_parameter_count_matches_built_regressor_and_formula():
    for hidden in range(1, 7):
        for layers in (1, 2):
            built = q.count_parameters(q.LSTMRegressor(1, hidden, layers))["total"]
            assert lstm_parameter_count(hidden, 1, layers) == built
    # torch.nn.LSTM: 4h(d + h) + 8h per layer, + h + 1 for the head
    assert lstm_parameter_count(5) == 4 * 5 * 6 + 40 + 6 == 166


@pytest.mark.parametrize("target", [18, 30, 31, 43, 58, 100, 171, 500])
def test_parameter_matched_hidden_is_nearest(target):
    hidden = parameter_matched_lstm_hidden(target)
    counts = {h: q.count_parameters(q.LSTMRegressor(1, h))["total"] for h in range(1, 20)}
    best = min(abs(c - target) for c in counts.values())
    assert abs(counts[hidden] - target) == best
    # nearest with the smaller size winning a tie
    assert hidden == min(h for h, c in counts.items() if abs(c - target) == best)


def test_parameter_matched_lstm_named_configuration():
    for dataset in q.DATASETS:
        target = q.count_parameters(q.build_model("qkan_lstm", dataset))["total"]
        model = q.build_model("param_matched_lstm", dataset)
        layers = model.lstm.num_layers
        assert model.lstm.hidden_size == parameter_matched_lstm_hidden(target, 1, layers)
    assert q.build_model("param_matched_lstm", "bessel", hidden_size=7).lstm.hidden_size == 7
    assert q.build_model("param_matched_lstm", "bessel", target_params=166).lstm.hidden_size == 5
    assert (
        q.build_model("param_matched_lstm", "damped_shm", match="qlstm").lstm.hidden_size == 3
    )  # 78 -> 76
    with pytest.raises(ValueError, match="match must be one of"):
        q.build_model("param_matched_lstm", "bessel", match="param_matched_lstm")
    with pytest.raises(ValueError, match="give target_params, hidden_size or match_count"):
        build_parameter_matched_lstm("bessel")


def test_parameter_matched_build_does_not_move_the_random_stream():
    torch.manual_seed(5)
    a = q.build_model("param_matched_lstm", "bessel")
    torch.manual_seed(5)
    b = q.LSTMRegressor(1, a.lstm.hidden_size)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="target_params"):
        parameter_matched_lstm_hidden(0)
    with pytest.raises(ValueError, match="windows of shape"):
        persistence_forecast(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="NaN"):
        LinearAutoregression().fit(torch.full((5, 3, 1), float("nan")), torch.zeros(5, 1))
