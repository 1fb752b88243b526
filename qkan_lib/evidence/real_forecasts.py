"""Real series judged the way forecasters judge models: rolling origins, MASE and sMAPE, the
statistical baselines, Diebold-Mariano with Holm, mean ranks.

The protocol, in one place:

* **Origins** (:func:`series_origins`): an expanding window; the last ``n_origins`` forecast
  origins, ``horizon`` steps apart, each forecasting the next ``horizon`` values (one-step:
  the first of them; multi-step: all). Everything before an origin is its training period.
* **Baselines** (:func:`statistical_forecasts`), fitted by statsmodels on the original scale of
  the training period: naive (ARIMA(0,1,0)), seasonal naive (ARIMA(0,0,0)(0,1,0)_m; naive when
  m = 1), ETS (additive errors; trend none or damped additive, seasonality none or additive,
  chosen by AICc), ARIMA (d by the KPSS test, p <= 2, q <= 1, seasonal (0,1,1)_m when m > 1,
  chosen by AIC) and Theta (deseasonalised when m > 1); and the book's AR(p) on the scaled
  windows (:class:`qkan_lib.evidence.forecasters.LinearAutoregression`). A seasonal period
  longer than :data:`LONG_SEASON` (the Milan series' day of 144 slots) has ETS and ARIMA
  fitted to the STL seasonally adjusted series and the seasonal part forecast seasonal-naively
  (statsmodels' ``STLForecast``), as forecasters do for long periods (Hyndman and
  Athanasopoulos, *Forecasting: Principles and Practice*, on ``stlf``; R's ``ets`` refuses
  periods above 24): a seasonal ETS or ARIMA with 144 seasonal states takes minutes a fit.
* **Milan** (:func:`milan_evidence`): when the real Milan files are found (``milan_dir`` or
  $QKAN_MILAN_DIR, never the stand-in), the busiest continuous square's SMS-in series gets the
  same protocol with a seasonal period of one day.
* **Neural models** (:func:`real_arms`): the paper's four models, the parameter-matched LSTMs
  and the Fourier twin,
  each learning rate tuned on the validation block of the earliest origin as in chapter 9
  (:func:`qkan_lib.evidence.findings.tuned_rates`), then trained at every origin on every
  window before it (the validation block serves the tuning only; the baselines, too, fit the
  whole training period) with fresh evaluation seeds
  (:func:`qkan_lib.evidence.findings.run_arms`); multi-step forecasts are
  closed-loop (:func:`qkan_lib.evidence.closed_loop.closed_loop_forecast`), mapped back to the
  original scale by the origin's scaler.
* **Scores** (:func:`forecast_scores`): MSE, MAE, MASE and sMAPE as in the M4 competition, on
  the original scale, averaged over the origins.
* **Tests**: per series, every neural model against the best baseline (lowest multi-step MASE
  on the *selection blocks*, :func:`~qkan_lib.data.real_series.selection_origins`: as many
  blocks again just before the test blocks, so that the baseline is chosen on data the test
  never scores; a series too short for them has it chosen on the test blocks, and the evidence
  says so) by the Diebold-Mariano test with
  the HLN correction on the absolute errors of all origins and horizons (the model's error per
  point averaged over its seeds); Holm over all series and comparisons; mean ranks of every
  model across series by MASE.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.forecasting.stl import STLForecast
from statsmodels.tsa.forecasting.theta import ThetaModel
from statsmodels.tsa.seasonal import STL
from statsmodels.tsa.stattools import kpss
from threadpoolctl import threadpool_limits

from ..data.real_series import (
    SeriesFileError,
    file_digest,
    forecast_origins,
    min_training_length,
    read_series_csv,
    selection_origins,
)
from ..data.registry import MILAN_SERIES, REAL_DATASETS, dataset_spec, load_dataset
from ..data.urban import milan_listing_digest, real_milan_source
from ..models.registry import MODELS
from ..runs.experiment import PathLike, Protocol, protocol
from ..runs.run import trained_model
from ..runs.store import default_results_dir, load_result
from ..utils import check_positive_int
from .closed_loop import FixedForecaster, closed_loop_forecast
from .display import listing, number, p_value
from .findings import (
    MATCHED_TO_HQKAN,
    Arm,
    arm,
    arm_label,
    run_arms,
    tuned_rates,
    tuning_rates,
)
from .forecasters import LinearAutoregression
from .statistics import ALPHA, diebold_mariano, holm_verdicts, mean_ranks
from .verdict import UNTESTABLE, superiority_rule

BASELINES = {
    "naive": "Naive",
    "seasonal_naive": "Seasonal naive",
    "ets": "ETS",
    "arima": "ARIMA",
    "theta": "Theta",
    "ar": "AR(p)",
}
STATISTICAL = ("naive", "seasonal_naive", "ets", "arima", "theta")
QUICK_SERIES = ("real_nile", "real_us_gdp")  # the quick chapter: two short series
N_ORIGINS = {False: 2, True: 5}
N_EVALUATION_SEEDS = {False: 3, True: 10}
EVALUATION_SEED_OFFSET = 100  # as chapter 9: evaluation seeds never used for tuning
METRICS = ("mase", "smape", "mse", "mae")
METRIC_LABELS = {"mase": "MASE", "smape": "sMAPE", "mse": "MSE", "mae": "MAE"}


def model_label(name: str) -> str:
    """The display name of a model or baseline."""
    return BASELINES.get(name) or arm_label(name)


def verdict_label(verdict: str) -> str:
    """A comparison's verdict as a reader reads it: "theta better" -> "Theta better"."""
    name, better, _ = verdict.rpartition(" better")
    return f"{model_label(name)} better" if better and not _ else verdict


def real_arms() -> tuple[Arm, ...]:
    """The neural models: the paper's four, the LSTM matched to HQKAN-LSTM's parameter count,
    the Fourier twin. (At the Damped SHM sizes the real series use, the LSTM matched to
    QKAN-LSTM's count is the LSTM itself, so it is not trained twice; tested.)"""
    return tuple(arm(m) for m in MODELS) + (MATCHED_TO_HQKAN, arm("fourier_lstm"))


# ---------------------------------------------------------------------------------------------
# scores (M4 definitions)


def _pair(actual, forecast) -> tuple[np.ndarray, np.ndarray]:
    y, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    if y.shape != f.shape or y.ndim != 1 or y.size == 0:
        raise ValueError(f"actual and forecast must be 1-D of one length, got {y.shape}, {f.shape}")
    if not (np.isfinite(y).all() and np.isfinite(f).all()):
        raise ValueError("actual and forecast must be finite")
    return y, f


def smape(actual, forecast) -> float:
    """sMAPE (M4): ``200 / h * sum |y - f| / (|y| + |f|)`` in percent (a term with
    y = f = 0 counts 0)."""
    y, f = _pair(actual, forecast)
    denominator = np.abs(y) + np.abs(f)
    terms = np.divide(2 * np.abs(y - f), denominator, out=np.zeros_like(y), where=denominator > 0)
    return float(100 * terms.mean())


def mase(actual, forecast, insample, season: int = 1) -> float:
    """MASE (M4): mean |y - f| over the horizon divided by the in-sample mean absolute
    seasonal-naive error ``mean_{t > m} |x_t - x_{t-m}|`` of the training period."""
    y, f = _pair(actual, forecast)
    x = np.asarray(insample, dtype=float)
    season = check_positive_int(season, "season")
    if x.ndim != 1 or x.size <= season:
        raise ValueError(f"insample needs more than season={season} values, got {x.size}")
    scale = float(np.mean(np.abs(x[season:] - x[:-season])))
    if scale == 0:
        raise ValueError("MASE is undefined: the in-sample seasonal-naive error is zero")
    return float(np.mean(np.abs(y - f)) / scale)


def forecast_scores(actual, forecast, insample, season: int = 1) -> dict[str, float]:
    """MASE, sMAPE, MSE and MAE of one forecast, on the original scale."""
    y, f = _pair(actual, forecast)
    return {
        "mase": mase(y, f, insample, season),
        "smape": smape(y, f),
        "mse": float(np.mean((y - f) ** 2)),
        "mae": float(np.mean(np.abs(y - f))),
    }


# ---------------------------------------------------------------------------------------------
# the statistical baselines (statsmodels)


def _ets(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    best = None
    seasonal = [None, "add"] if season > 1 and history.size >= 2 * season + 2 else [None]
    for trend in (None, "add"):
        for kind in seasonal:
            model = ETSModel(
                history, error="add", trend=trend, damped_trend=trend is not None,
                seasonal=kind, seasonal_periods=season if kind else None,
            )  # fmt: skip
            fit = model.fit(disp=False)
            if np.isfinite(fit.aicc) and (best is None or fit.aicc < best.aicc):
                best = fit
    return np.asarray(best.forecast(horizon))


def _arima(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    # KPSS: stationarity around a level rejected -> one difference
    d = int(kpss(history, regression="c", nlags="auto")[1] < 0.05)
    seasonal = (0, 1, 1, season) if season > 1 and history.size >= 3 * season else (0, 0, 0, 0)
    best = None
    for p in (0, 1, 2):
        for q in (0, 1):
            trend = "t" if d == 1 and seasonal[1] == 0 else "n" if d or seasonal[1] else "c"
            fit = ARIMA(history, order=(p, d, q), seasonal_order=seasonal, trend=trend).fit()
            if np.isfinite(fit.aic) and (best is None or fit.aic < best.aic):
                best = fit
    return np.asarray(best.forecast(horizon))


# Above this seasonal period ETS and ARIMA model the STL seasonally adjusted series (R's ets
# refuses longer periods; a seasonal state per slot of a day makes a fit take minutes)
LONG_SEASON = 24


def _best_stl(history, horizon, season, model, choices, criterion, fit_kwargs=None):
    best, best_score = None, None
    for kwargs in choices:
        fit = STLForecast(history, model, model_kwargs=kwargs, period=season).fit(
            fit_kwargs=fit_kwargs or {}
        )
        score = getattr(fit.model_result, criterion)
        if np.isfinite(score) and (best is None or score < best_score):
            best, best_score = fit, score
    return np.asarray(best.forecast(horizon))


def _stl_ets(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """ETS (additive errors, trend none or damped additive by AICc) of the STL seasonally
    adjusted series; the seasonal part forecast seasonal-naively."""
    choices = [dict(error="add", trend=t, damped_trend=t is not None) for t in (None, "add")]
    return _best_stl(history, horizon, season, ETSModel, choices, "aicc", {"disp": False})


def _stl_arima(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """ARIMA (d by KPSS, p <= 2, q <= 1, by AIC) of the STL seasonally adjusted series; the
    seasonal part forecast seasonal-naively."""
    adjusted = history - STL(history, period=season).fit().seasonal
    d = int(kpss(adjusted, regression="c", nlags="auto")[1] < 0.05)
    trend = "t" if d else "c"
    choices = [dict(order=(p, d, q), trend=trend) for p in (0, 1, 2) for q in (0, 1)]
    return _best_stl(history, horizon, season, ARIMA, choices, "aic")


def statistical_forecasts(history, horizon: int, season: int = 1) -> dict[str, np.ndarray]:
    """The statsmodels baselines' ``horizon``-step forecasts from ``history`` (original
    scale): naive, seasonal naive, ETS, ARIMA, Theta (see the module's docstring; ETS and ARIMA
    of a season longer than :data:`LONG_SEASON` model the STL seasonally adjusted series)."""
    x = np.asarray(history, dtype=float)
    horizon, season = check_positive_int(horizon, "horizon"), check_positive_int(season, "season")
    if x.ndim != 1 or x.size < 2 * season + 2 or not np.isfinite(x).all():
        raise ValueError(
            f"history must be a finite 1-D series of at least {2 * season + 2} values "
            f"(two seasons of {season}), got {x.size}"
        )
    # one BLAS thread: these fits are tiny, and threads waiting on a busy machine cost ~10x
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")  # convergence and KPSS-table notes: the fits stand
        out = {"naive": np.asarray(ARIMA(x, order=(0, 1, 0)).fit().forecast(horizon))}
        out["seasonal_naive"] = (
            np.asarray(
                ARIMA(x, order=(0, 0, 0), seasonal_order=(0, 1, 0, season)).fit().forecast(horizon)
            )
            if season > 1
            else out["naive"]
        )
        if season > LONG_SEASON:
            out["ets"] = _stl_ets(x, horizon, season)
            out["arima"] = _stl_arima(x, horizon, season)
        else:
            out["ets"] = _ets(x, horizon, season)
            out["arima"] = _arima(x, horizon, season)
        theta = ThetaModel(x, period=season, deseasonalize=season > 1).fit()
        out["theta"] = np.asarray(theta.forecast(horizon))
    return out


def model_forecast(model, data) -> np.ndarray:
    """Closed-loop ``horizon``-step forecast of a trained model (or AR(p)) from the window just
    before the origin, on the original scale."""
    horizon = data.info["horizon"]
    dtype = next(model.parameters()).dtype if isinstance(model, torch.nn.Module) else torch.float64
    scaled = closed_loop_forecast(model, data.x_test[:1].to(dtype), horizon)[0, :, 0]
    return data.scaler.inverse(scaled.detach().cpu().numpy().astype(float))


def ar_forecast(data) -> np.ndarray:
    """The book's AR(p) (least squares on the training windows), closed loop."""
    ar = LinearAutoregression().fit(data.x_train, data.y_train)
    return model_forecast(FixedForecaster(ar.predict), data)


# ---------------------------------------------------------------------------------------------
# the protocol


def origin_protocol(dataset: str, origin: int, full: bool = False) -> Protocol:
    """The dataset's protocol with the forecast ``origin`` in its data options."""
    spec = protocol(dataset, full)
    options = {**dict(spec.data_options), "origin": int(origin)}
    return dataclasses.replace(spec, data_options=tuple(sorted(options.items())))


def _season(dataset: str, spec: Protocol) -> int:
    return dict(spec.data_options).get("season") or dataset_spec(dataset).season


def series_origins(
    dataset: str, full: bool = False, base: Protocol | None = None
) -> tuple[int, ...]:
    """The forecast origins of ``dataset`` (the last N_ORIGINS[full], ``horizon`` apart);
    ``base`` replaces the registry's protocol (the reader's CSV)."""
    base = base or protocol(dataset, full)
    options = dict(base.data_options)
    first = load_dataset(dataset, base.seq_lens[0], **options)
    return forecast_origins(
        len(first.info["history"]) + options["horizon"], options["horizon"],
        N_ORIGINS[bool(full)], min_training_length(base.seq_lens[0], _season(dataset, base)),
    )  # fmt: skip


def evaluation_seeds(full: bool, base_seed: int = 0) -> tuple[int, ...]:
    """Fresh seeds for the forecasts (tuning uses the protocol's seeds)."""
    start = base_seed + EVALUATION_SEED_OFFSET
    return tuple(range(start, start + N_EVALUATION_SEEDS[bool(full)]))


def series_forecasts(
    dataset: str,
    results_dir: PathLike,
    full: bool = False,
    base_seed: int = 0,
    device: str = "auto",
    progress: bool | None = None,
    base: Protocol | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Every forecast of one series: long format with columns dataset, model, seed, origin,
    h, actual, forecast and block ("test", or "selection" for the baselines' forecasts on the
    selection blocks), plus the tuned learning rates ``{arm: lr}``. ``base`` replaces the
    registry's protocol (the reader's CSV passes its file's data options). Baselines have
    seed -1."""
    base = base or protocol(dataset, full)
    options = dict(base.data_options)
    season = _season(dataset, base)
    origins = series_origins(dataset, full, base)

    def at(origin, **changes):
        merged = {**options, "origin": int(origin), **changes}
        return dataclasses.replace(base, data_options=tuple(sorted(merged.items())))

    arms = real_arms()
    _, rates = tuned_rates(
        at(origins[0]), arms, tuning_rates(dataset, full), base.seeds(base_seed), results_dir,
        device,
    )  # fmt: skip
    rows = []

    def add(model, seed, data, forecast, block="test"):
        for h, (y, f) in enumerate(zip(data.info["future"], forecast), start=1):
            rows.append({"dataset": dataset, "model": model, "seed": seed,
                         "origin": data.info["origin"], "h": h, "actual": y,
                         "forecast": float(f), "block": block})  # fmt: skip

    min_train = min_training_length(base.seq_lens[0], season)
    horizon = options["horizon"]
    for origin in selection_origins(origins[0], horizon, len(origins), min_train):
        # the baselines only: the best of them is chosen here, before any test block
        spec = at(origin, val_fraction=0.0)
        data = load_dataset(dataset, spec.seq_lens[0], **dict(spec.data_options))
        for name, forecast in statistical_forecasts(data.info["history"], horizon, season).items():
            add(name, -1, data, forecast, "selection")
        add("ar", -1, data, ar_forecast(data), "selection")
    for origin in origins:
        # after tuning, every window before the origin trains (as the baselines see the
        # whole training period): the validation block served the tuning only
        spec = at(origin, val_fraction=0.0)
        data = load_dataset(dataset, spec.seq_lens[0], **dict(spec.data_options))
        for name, forecast in statistical_forecasts(
            data.info["history"], options["horizon"], season
        ).items():
            add(name, -1, data, forecast)
        add("ar", -1, data, ar_forecast(data))
        frame = run_arms(spec, arms, evaluation_seeds(full, base_seed), results_dir, rates,
                         device, progress)  # fmt: skip
        last = frame[frame["epoch"] == frame.groupby(["arm", "seed"])["epoch"].transform("max")]
        for r in last.itertuples():
            experiment = load_result(Path(results_dir) / r.result_file).experiment
            model, _ = trained_model(experiment, results_dir)
            add(r.arm, r.seed, data, model_forecast(model, data))
    return pd.DataFrame(rows), rates


def score_forecasts(forecasts: pd.DataFrame, histories: dict, seasons: dict) -> pd.DataFrame:
    """Scores per (dataset, model, seed, origin, horizon kind): ``kind`` "one-step" (h = 1)
    or "multi-step" (h = 1..H). ``histories[(dataset, origin)]`` is the training period."""
    rows = []
    for (dataset, model, seed, origin), group in forecasts.groupby(
        ["dataset", "model", "seed", "origin"], sort=False
    ):
        group = group.sort_values("h")
        insample = histories[(dataset, origin)]
        for kind, part in (("one-step", group[group["h"] == 1]), ("multi-step", group)):
            scores = forecast_scores(part["actual"], part["forecast"], insample, seasons[dataset])
            rows.append({"dataset": dataset, "model": model, "seed": seed, "origin": origin,
                         "kind": kind, **scores})  # fmt: skip
    return pd.DataFrame(rows)


def summarize_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean over origins per seed, then mean and std over seeds: one row per (dataset, kind,
    model), columns ``<metric>_mean``, ``<metric>_std`` (std 0 for the deterministic
    baselines) and ``n_seeds``."""
    per_seed = scores.groupby(["dataset", "kind", "model", "seed"])[list(METRICS)].mean()
    grouped = per_seed.groupby(["dataset", "kind", "model"])
    spread = grouped.std(ddof=1).fillna(0.0).add_suffix("_std")
    out = grouped.mean().add_suffix("_mean").join(spread)
    return out.join(grouped.size().rename("n_seeds")).reset_index()


def best_baselines(summary: pd.DataFrame, kind: str = "multi-step") -> dict[str, str]:
    """Per dataset, the baseline (statistical or AR(p)) with the lowest mean MASE."""
    rows = summary[(summary["kind"] == kind) & summary["model"].isin(list(BASELINES))]
    return {d: g.loc[g["mase_mean"].idxmin(), "model"] for d, g in rows.groupby("dataset")}


def dm_comparisons(
    forecasts: pd.DataFrame, best: dict[str, str], horizons: dict[str, int], alpha: float = ALPHA
) -> pd.DataFrame:
    """Each neural model against its series' best baseline: the Diebold-Mariano (HLN) test
    on absolute errors over every origin and horizon (the model's per-point error averaged over
    its seeds), Holm over the whole table. Columns dataset, a, b, n, mean_loss_difference,
    mase_ratio, statistic, p_raw, p_holm, verdict ("<a> better" = a has the smaller loss)."""
    errors = forecasts.assign(loss=(forecasts["actual"] - forecasts["forecast"]).abs())
    point = errors.groupby(["dataset", "model", "origin", "h"])["loss"].mean()
    rows = []
    for dataset, baseline in best.items():
        b = point.loc[dataset].loc[baseline]
        for model in sorted(set(forecasts.loc[forecasts["dataset"] == dataset, "model"])):
            if model in BASELINES:
                continue
            a = point.loc[dataset].loc[model].reindex(b.index)
            test = diebold_mariano(a.to_numpy(), b.to_numpy(), horizons[dataset])
            rows.append({"dataset": dataset, "a": model, "b": baseline, "n": test["n"],
                         "mean_loss_difference": test["mean_difference"],
                         "mae_ratio": float(a.mean() / b.mean()),
                         "statistic": test["statistic"], "p_raw": test["p"]})  # fmt: skip
    table = pd.DataFrame(rows)
    return holm_verdicts(table, "mean_loss_difference", alpha=alpha, higher_is_better=False)


def rank_table(summary: pd.DataFrame, kind: str = "multi-step", metric: str = "mase"):
    """Mean ranks of every model across the series by mean ``metric`` and the critical
    difference (:func:`qkan_lib.evidence.statistics.mean_ranks`)."""
    wide = summary[summary["kind"] == kind].pivot(index="dataset", columns="model",
                                                  values=f"{metric}_mean")  # fmt: skip
    return mean_ranks(wide.dropna(axis=1))


def real_series_evidence(
    results_dir: PathLike,
    full: bool = False,
    base_seed: int = 0,
    device: str = "auto",
    datasets: Sequence[str] | None = None,
    progress: bool | None = None,
) -> dict:
    """The "Real series" chapter's findings: ``forecasts`` (long, test blocks), ``scores`` (per
    origin), ``summary`` (mean, std over seeds), ``best`` (best baseline per series) and
    ``selection`` (per series, the blocks it was chosen on), ``comparisons``
    (DM, Holm), ``ranks`` and ``rank_summary``, ``rates`` ({dataset: {arm: lr}}).

    Quick: the series of :data:`QUICK_SERIES`; full: all six."""
    datasets = tuple(datasets or (REAL_DATASETS if full else QUICK_SERIES))
    frames, rates = [], {}
    for dataset in datasets:
        frame, chosen = series_forecasts(dataset, results_dir, full, base_seed, device, progress)
        frames.append(frame)
        rates[dataset] = chosen
    return evidence_from_forecasts(pd.concat(frames, ignore_index=True), full, rates)


def _histories(forecasts: pd.DataFrame, full: bool, protocols: dict) -> dict:
    out = {}
    pairs = forecasts[["dataset", "origin"]].drop_duplicates()
    for dataset, origin in pairs.itertuples(index=False):
        spec = protocols[dataset]
        options = {**dict(spec.data_options), "origin": int(origin)}
        out[(dataset, origin)] = load_dataset(dataset, spec.seq_lens[0], **options).info["history"]
    return out


def evidence_from_forecasts(
    forecasts: pd.DataFrame, full: bool, rates: dict, protocols: dict | None = None
) -> dict:
    """Scores, summaries, tests and ranks from the forecasts of one or more series."""
    datasets = list(dict.fromkeys(forecasts["dataset"]))
    protocols = protocols or {d: protocol(d, full) for d in datasets}
    seasons = {d: _season(d, protocols[d]) for d in datasets}
    horizons = {d: dict(protocols[d].data_options)["horizon"] for d in datasets}
    histories = _histories(forecasts, full, protocols)
    blocks = forecasts["block"] if "block" in forecasts else pd.Series("test", forecasts.index)
    chosen_on = forecasts[blocks == "selection"]
    forecasts = forecasts[blocks == "test"].drop(columns="block", errors="ignore")
    scores = score_forecasts(forecasts, histories, seasons)
    summary = summarize_scores(scores)
    best = best_baselines(summary)  # a series without selection blocks: chosen on the test
    selection = {d: "test blocks" for d in best}
    if not chosen_on.empty:
        on_selection = best_baselines(
            summarize_scores(score_forecasts(chosen_on.drop(columns="block"), histories, seasons))
        )
        best.update(on_selection)
        selection.update({d: "selection blocks" for d in on_selection})
    comparisons = dm_comparisons(forecasts, best, horizons)
    out = {"forecasts": forecasts, "scores": scores, "summary": summary, "best": best,
           "selection": selection, "comparisons": comparisons, "rates": rates}  # fmt: skip
    if len(datasets) >= 2:
        out["ranks"], out["rank_summary"] = rank_table(summary)
    return out


# ---------------------------------------------------------------------------------------------
# the Milan series, when the real files are found

MILAN_ABSENT = (
    "The real Milan files were not found (the Urban chapter's section “Using the real data” "
    "says where to put them; its synthetic stand-in does not count), so the Milan series is "
    "not forecast here: this protocol is run on the real data only."
)


def milan_protocol(milan_dir=None, full: bool = False) -> Protocol | None:
    """The Milan series' protocol with the real folder and its files' digest in the data
    options, or None when there are no real Milan files (:func:`qkan_lib.data.urban.
    real_milan_source`: none given, or the stand-in)."""
    directory = real_milan_source(milan_dir)
    if directory is None:
        return None
    base = protocol(MILAN_SERIES, full)
    options = {**dict(base.data_options), "milan_dir": str(Path(directory).resolve()),
               "files": milan_listing_digest(directory)}  # fmt: skip
    return dataclasses.replace(base, data_options=tuple(sorted(options.items())))


def milan_evidence(
    results_dir: PathLike,
    full: bool = False,
    base_seed: int = 0,
    device: str = "auto",
    milan_dir=None,
    progress: bool | None = None,
    base: Protocol | None = None,
) -> dict | None:
    """The real series' protocol on the Milan SMS-in series (seasonal period 144 slots): the
    evidence of :func:`real_series_evidence` for that one series plus ``claim``
    (:func:`real_data_claim` on it) and ``protocol``; None when the real files are not found
    (:data:`MILAN_ABSENT` says why). ``base`` replaces :func:`milan_protocol`'s protocol (it
    must carry ``milan_dir``)."""
    spec = base or milan_protocol(milan_dir, full)
    if spec is None:
        return None
    forecasts, rates = series_forecasts(MILAN_SERIES, results_dir, full, base_seed, device,
                                        progress, base=spec)  # fmt: skip
    out = evidence_from_forecasts(forecasts, full, {MILAN_SERIES: rates},
                                  protocols={MILAN_SERIES: spec})  # fmt: skip
    out["claim"] = real_data_claim(out["comparisons"])
    out["protocol"] = spec
    return out


def milan_sentence(evidence: dict) -> str:
    """One line on the Milan series: QKAN-LSTM's rank by multi-step MASE and the verdict."""
    claim = evidence["claim"]
    ranked = accuracy_sentence(evidence["summary"])
    return f"{ranked} On this series: {claim['verdict']}; {claim['strength']}."


# ---------------------------------------------------------------------------------------------
# the verdict row


def real_data_claim(comparisons: pd.DataFrame, model: str = "qkan_lstm") -> dict:
    """ "QKAN-LSTM is more accurate on real data", by the verdict page's rule
    (:mod:`qkan_lib.evidence.verdict`): it holds when the model is significantly better (Holm)
    than the best baseline on every real series tested, is contradicted when the best baseline
    is significantly better on at least one, and is otherwise not supported. Returns the row
    dict ``{"claim", "the paper", "measured", "verdict", "outcome", "strength", "rows"}``."""
    rows = comparisons[comparisons["a"] == model]
    base = {"claim": f"{model_label(model)} is more accurate on real data",
            # Table IV is on the Milan traffic; this row tests the claim on public series
            "the paper": "Table IV's claim, tested on public series"}  # fmt: skip
    if rows.empty:
        return {**base, "verdict": UNTESTABLE, "outcome": "cannot be tested",
                "measured": f"no real-series comparison of {model_label(model)}",
                "strength": "", "rows": rows}  # fmt: skip
    a_better = rows["verdict"] == f"{model} better"
    b_better = rows["verdict"] == rows["b"] + " better"
    parts = []
    for r in rows.itertuples():
        outcome = ("significantly better than" if r.verdict == f"{model} better" else
                   "significantly worse than" if r.verdict == f"{r.b} better" else
                   "no significant difference from")  # fmt: skip
        parts.append(
            f"{dataset_spec(r.dataset).label}: {outcome} {model_label(r.b)} "
            f"(Diebold-Mariano, Holm p = {p_value(r.p_holm)}; mean absolute error ratio "
            f"{r.mae_ratio:.2f})"
        )
    n = len(rows)
    verdict, outcome, p = superiority_rule(a_better, b_better, rows["p_holm"])
    if outcome == "holds":
        strength = f"{n} series, largest Holm p {p_value(p)}"
    elif outcome == "does not hold":
        strength = f"{n} series, Holm p {p_value(p)} where the best baseline wins"
    else:
        strength = f"{n} series, " + smallest_holm(p)
    measured = f"{model_label(model)} against the best baseline per series: " + "; ".join(parts)
    return {**base, "verdict": verdict, "outcome": outcome, "measured": measured,
            "strength": strength, "rows": rows}  # fmt: skip


def smallest_holm(p: float) -> str:
    """The smallest Holm-adjusted p of a family, in words: when it is 1, every p is."""
    return "all Holm-adjusted p = 1" if p >= 1 else f"smallest Holm-adjusted p {p_value(p)}"


def real_data_row(comparisons: pd.DataFrame, model: str = "qkan_lstm") -> dict:
    """The claim as one row of the verdict page's table (the columns
    :data:`qkan_lib.evidence.verdict.COLUMNS`), ready to append to :func:`verdict_table`'s."""
    claim = real_data_claim(comparisons, model)
    return {
        "claim": claim["claim"],
        "the paper": claim["the paper"],
        "what this book measured": claim["measured"],
        "verdict": claim["verdict"],
        "outcome": claim["outcome"],
        "strength of the evidence": claim["strength"],
    }


def verdict_sentence(claim: dict) -> str:
    """One line: the claim and its verdict."""
    return f"{claim['claim']}: {claim['verdict']}; {claim['strength']}."


# ---------------------------------------------------------------------------------------------
# the reader's own series


def csv_protocol(
    path,
    time_column: str,
    value_column: str,
    season: int = 1,
    full: bool = False,
    seq_len: int | None = None,
    horizon: int | None = None,
) -> Protocol:
    """The protocol of the reader's CSV: the registry's "csv" settings with the file (path,
    columns, season and the file's digest, so an edited file never reuses old runs), the window
    length (default: the season when it is 2..48, else 8) and the horizon (default: the season
    when it is 2..48, else 6). The file is read and checked first
    (:func:`qkan_lib.data.real_series.read_series_csv`); a series too short for the windows and
    the rolling origins is refused with the file, column and sizes named."""
    season = check_positive_int(season, "season")
    series = read_series_csv(path, time_column, value_column)
    seasonal = 2 <= season <= 48
    seq_len = check_positive_int(seq_len or (season if seasonal else 8), "seq_len")
    horizon = check_positive_int(horizon or (season if seasonal else 6), "horizon")
    base = protocol("csv", full)
    options = {**dict(base.data_options), "path": str(Path(path).resolve()),
               "time_column": time_column, "value_column": value_column, "season": season,
               "sha256": file_digest(path), "horizon": horizon}  # fmt: skip
    needed = min_training_length(seq_len, season) + horizon * N_ORIGINS[bool(full)]
    if len(series) < needed:
        raise SeriesFileError(
            f"{path}: column {value_column!r}: {len(series)} rows are too short; windows of "
            f"{seq_len}, a season of {season} and {N_ORIGINS[bool(full)]} forecast origins "
            f"{horizon} steps apart need at least {needed} rows"
        )
    return dataclasses.replace(
        base, seq_lens=(seq_len,), data_options=tuple(sorted(options.items()))
    )


def compare_csv(
    path,
    time_column: str,
    value_column: str,
    season: int = 1,
    results_dir: PathLike | None = None,
    full: bool = False,
    seq_len: int | None = None,
    horizon: int | None = None,
    base_seed: int = 0,
    device: str = "auto",
    progress: bool | None = None,
) -> dict:
    """The book's comparison on the reader's own series (``qkan-experiments compare``).

    Returns the evidence of :func:`real_series_evidence` for that one series (``forecasts``,
    ``scores``, ``summary``, ``best``, ``comparisons``, ``rates``) plus ``claim``
    (:func:`real_data_claim`) and ``protocol``. Runs are stored under ``results_dir``
    (default: the results store) like every other run."""
    spec = csv_protocol(path, time_column, value_column, season, full, seq_len, horizon)
    results_dir = Path(results_dir or default_results_dir())
    forecasts, rates = series_forecasts("csv", results_dir, full, base_seed, device, progress,
                                        base=spec)  # fmt: skip
    out = evidence_from_forecasts(forecasts, full, {"csv": rates}, protocols={"csv": spec})
    out["claim"] = real_data_claim(out["comparisons"])
    out["protocol"] = spec
    return out


# ---------------------------------------------------------------------------------------------
# what the numbers say, in one line each


def selection_sentence(evidence: dict) -> str:
    """Where each series' best baseline was chosen: on its selection blocks, or (a series too
    short for them) on the test blocks, which favours the baseline."""
    on_test = [_series_label(d) for d, where in evidence["selection"].items()
               if where == "test blocks"]  # fmt: skip
    if not on_test:
        return ("The best baseline of every series was chosen on its selection blocks, before "
                "the test blocks, so the test never scores the choice it made.")  # fmt: skip
    return (f"{listing(on_test)} {'is' if len(on_test) == 1 else 'are'} too short for "
            "selection blocks before the test blocks, so the best baseline was chosen on the "
            "test blocks themselves, which favours the baseline.")  # fmt: skip


def _series_label(dataset: str) -> str:
    return dataset_spec(dataset).label


def accuracy_sentence(summary: pd.DataFrame, model: str = "qkan_lstm") -> str:
    """Per series: where ``model`` ranks by multi-step MASE among all models and baselines,
    and the best model there."""
    parts = []
    multi = summary[summary["kind"] == "multi-step"]
    for dataset, group in multi.groupby("dataset", sort=False):
        order = group.sort_values("mase_mean")["model"].tolist()
        if model not in order:
            continue
        parts.append(
            f"on {_series_label(dataset)} {model_label(model)} ranks {order.index(model) + 1} of "
            f"{len(order)} (lowest on the test blocks: {model_label(order[0])}, MASE "
            f"{number(group.set_index('model').loc[order[0], 'mase_mean'], 3)})"
        )
    # the lowest on the test blocks is a result, not the best baseline of the tests below,
    # which is chosen on the selection blocks before the test blocks are scored
    return "By multi-step MASE on the test blocks, " + "; ".join(parts) + "." if parts else ""


def dm_sentence(comparisons: pd.DataFrame) -> str:
    """How many DM comparisons the neural models win, lose and tie after Holm."""
    wins = int((comparisons["verdict"] == comparisons["a"] + " better").sum())
    losses = int((comparisons["verdict"] == comparisons["b"] + " better").sum())
    ties = len(comparisons) - wins - losses
    return (
        f"Of {len(comparisons)} Diebold-Mariano comparisons with the best baseline of each series "
        f"(Holm-corrected), the neural model is significantly more accurate in {wins}, "
        f"significantly less accurate in {losses} and indistinguishable in {ties}."
    )


# Below this many series the Friedman test and the Nemenyi critical difference cannot separate
# models (Demšar 2006 treats fewer than about five data sets as too few), so the rank sentence
# reports the ranks without reading a finding into the critical difference.
MIN_SERIES_FOR_RANKS = 5


def rank_sentence(ranks: pd.Series, summary: dict) -> str:
    """The best mean rank and which models lie within the critical difference of it; with
    fewer than :data:`MIN_SERIES_FOR_RANKS` series, says that the comparison has no power."""
    best = float(ranks.iloc[0])
    close = [model_label(m) for m, r in ranks.items() if r - best < summary["cd"]]
    n, k = summary["n_series"], summary["k"]
    head = (
        f"Across {n} series, {model_label(ranks.index[0])} has the best mean rank "
        f"({best:.2f} of {k}); the critical difference is {summary['cd']:.2f} "
        f"(Friedman p = {p_value(summary['friedman_p'])})"
    )
    if n < MIN_SERIES_FOR_RANKS:
        within = f"all {k}" if len(close) == k else f"{len(close)} of {k}"
        return (
            f"{head}. With only {n} series this test has no power to separate {k} models "
            f"(it needs at least about {MIN_SERIES_FOR_RANKS}): that {within} lie within the "
            f"critical difference of the best is no evidence that they are equally accurate."
        )
    return (
        f"{head}, so {len(close)} of {k} models cannot be told apart from the best: "
        f"{', '.join(close)}."
    )
