"""The forecasters' protocol: M4 scores by hand, the statsmodels baselines, DM tables, the claim."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.holtwinters import SimpleExpSmoothing

from qkan_lib.data.real_series import REAL_SERIES, load_real_series, origin_windows
from qkan_lib.evidence import real_forecasts as rf
from qkan_lib.evidence.verdict import CONTRADICTED, HOLDS, NOT_SUPPORTED


def test_smape_and_mase_by_hand():
    actual, forecast = np.array([10.0, 20.0, 30.0]), np.array([12.0, 18.0, 30.0])
    # sMAPE = 200/3 * (2/22 + 2/38 + 0)
    assert rf.smape(actual, forecast) == pytest.approx(200 / 3 * (2 / 22 + 2 / 38))
    assert rf.smape([0.0, 1.0], [0.0, 1.0]) == 0.0
    insample = np.array([1.0, 3.0, 2.0, 6.0, 4.0])
    # season 1: mean |diff| = (2 + 1 + 4 + 2) / 4 = 2.25; MAE = 4/3
    assert rf.mase(actual, forecast, insample, 1) == pytest.approx((4 / 3) / 2.25)
    # season 2: |2-1|, |6-3|, |4-2| -> 2
    assert rf.mase(actual, forecast, insample, 2) == pytest.approx((4 / 3) / 2)
    scores = rf.forecast_scores(actual, forecast, insample, 1)
    assert scores["mse"] == pytest.approx(8 / 3) and scores["mae"] == pytest.approx(4 / 3)
    with pytest.raises(ValueError, match="seasonal-naive error is zero"):
        rf.mase(actual, forecast, [5.0, 5.0, 5.0], 1)
    with pytest.raises(ValueError, match="one length"):
        rf.smape([1.0, 2.0], [1.0])


def test_statistical_baselines_against_their_definitions():
    history = load_real_series("elnino").to_numpy()[:240]
    out = rf.statistical_forecasts(history, 14, season=12)
    assert set(out) == set(rf.STATISTICAL)
    assert np.allclose(out["naive"], history[-1])  # naive: the last value
    # seasonal naive: the value one season back, repeated
    assert np.allclose(out["seasonal_naive"][:12], history[-12:])
    assert np.allclose(out["seasonal_naive"][12:], history[-12:-10])
    for forecast in out.values():
        assert forecast.shape == (14,) and np.isfinite(forecast).all()
    # the ETS forecast of a seasonal series varies with the season; Theta stays near the level
    assert out["ets"].std() > 0.3
    yearly = rf.statistical_forecasts(load_real_series("nile").to_numpy()[:80], 5, season=1)
    assert np.array_equal(yearly["seasonal_naive"], yearly["naive"])
    # Theta without drift nor season is simple exponential smoothing (its forecasts are flat
    # plus half the trend slope): it lies within the data's range
    assert 400 < yearly["theta"].mean() < 1400
    ses = (
        SimpleExpSmoothing(
            load_real_series("nile").to_numpy()[:80], initialization_method="estimated"
        )
        .fit()
        .forecast(1)
    )
    assert abs(yearly["ets"][0] - ses[0]) < 150  # ETS picks a model near SES on a level series
    with pytest.raises(ValueError, match="two seasons of 12"):
        rf.statistical_forecasts(history[:20], 3, season=12)


def test_ar_and_model_forecasts_on_the_original_scale():
    values = 100 + 10 * np.sin(np.arange(120) * 2 * np.pi / 12)  # exactly AR(2)
    data = origin_windows(values, 12, 96, 12)
    assert np.allclose(rf.ar_forecast(data), values[96:108], atol=1e-6)


def _toy_forecasts():
    rng = np.random.default_rng(0)
    rows = []
    for dataset in ("real_nile", "real_us_gdp"):
        for origin in (80, 86):
            truth = rng.normal(size=6)
            arms = (("naive", 1.0, [-1]), ("ets", 0.5, [-1]),
                    ("qkan_lstm", 0.1, [100, 101]), ("lstm", 0.5, [100]))  # fmt: skip
            for model, noise, seeds in arms:
                for seed in seeds:
                    for h in range(6):
                        rows.append({"dataset": dataset, "model": model, "seed": seed,
                                     "origin": origin, "h": h + 1, "actual": truth[h],
                                     "forecast": truth[h] + noise * (1 + h % 2)})  # fmt: skip
    return pd.DataFrame(rows)


def test_dm_table_best_baseline_and_claim():
    forecasts = _toy_forecasts()
    errors = forecasts.assign(e=(forecasts.actual - forecasts.forecast).abs())
    best = {"real_nile": "ets", "real_us_gdp": "ets"}
    table = rf.dm_comparisons(forecasts, best, {"real_nile": 1, "real_us_gdp": 1})
    assert set(table["a"]) == {"qkan_lstm", "lstm"} and set(table["b"]) == {"ets"}
    row = table[(table.a == "qkan_lstm") & (table.dataset == "real_nile")].iloc[0]
    nile = errors[errors.dataset == "real_nile"]
    expected = nile[nile.model == "qkan_lstm"].e.mean() - nile[nile.model == "ets"].e.mean()
    assert row.mean_loss_difference == pytest.approx(expected)
    assert row.verdict == "qkan_lstm better"  # 0.1 vs 0.5 error at every point
    lstm = table[table.a == "lstm"]
    assert (lstm.verdict == "no significant difference").all()  # identical errors to ETS
    assert rf.real_data_claim(table)["verdict"] == HOLDS
    flipped = table.assign(verdict=np.where(table.dataset == "real_nile", "ets better",
                                            table.verdict))  # fmt: skip
    assert rf.real_data_claim(flipped)["verdict"] == CONTRADICTED
    neutral = table.assign(verdict="no significant difference")
    claim = rf.real_data_claim(neutral)
    assert claim["verdict"] == NOT_SUPPORTED
    assert "Nile flow: no significant difference from ETS" in claim["measured"]
    from qkan_lib.evidence.verdict import COLUMNS, OUTCOMES

    row = rf.real_data_row(table)
    assert tuple(row) == COLUMNS and row["outcome"] in OUTCOMES
    assert row["claim"] == "QKAN-LSTM is more accurate on real data"


def test_summary_ranks_and_best_baseline():
    forecasts = _toy_forecasts()
    histories = {(d, o): list(np.arange(o, dtype=float) % 7)
                 for d in ("real_nile", "real_us_gdp") for o in (80, 86)}  # fmt: skip
    scores = rf.score_forecasts(forecasts, histories, {"real_nile": 1, "real_us_gdp": 4})
    summary = rf.summarize_scores(scores)
    qkan = summary[(summary.model == "qkan_lstm") & (summary.kind == "multi-step")]
    assert (qkan.n_seeds == 2).all()
    assert rf.best_baselines(summary) == {"real_nile": "ets", "real_us_gdp": "ets"}
    ranks, cd = rf.rank_table(summary)
    assert ranks.index[0] == "qkan_lstm" and ranks.iloc[0] == 1.0
    assert cd["n_series"] == 2 and cd["k"] == 4


def test_arms_and_the_matched_lstm_at_these_sizes():
    from qkan_lib.models.parameters import count_parameters
    from qkan_lib.models.registry import build_model

    def count(model, **options):
        return count_parameters(build_model(model, "real_nile", **options))["total"]

    # the LSTM matched to QKAN-LSTM is the LSTM: training it again would duplicate the row
    assert count("param_matched_lstm") == count("lstm")
    names = [a.name for a in rf.real_arms()]
    assert names[:4] == ["lstm", "qlstm", "qkan_lstm", "hqkan_lstm"] and "fourier_lstm" in names
    matched = next(a for a in rf.real_arms() if a.model == "param_matched_lstm")
    assert count("param_matched_lstm", **dict(matched.options)) < count("lstm")


def test_tables_figures_and_sentences_from_the_evidence():
    import matplotlib

    matplotlib.use("Agg")
    from qkan_lib.book import stats_plots, tables

    forecasts = _toy_forecasts()
    histories = {(d, o): list(np.arange(o, dtype=float) % 7)
                 for d in ("real_nile", "real_us_gdp") for o in (80, 86)}  # fmt: skip
    summary = rf.summarize_scores(
        rf.score_forecasts(forecasts, histories, {"real_nile": 1, "real_us_gdp": 4})
    )
    table = tables.forecast_table(summary, "real_nile")
    assert list(table.index)[0] == "QKAN-LSTM" and "±" in table.loc["QKAN-LSTM", "MASE multi-step"]
    assert "±" not in table.loc["ETS", "MASE multi-step"]  # one value: no spread
    overview = tables.real_series_overview(summary)
    assert list(overview.columns) == ["Nile flow", "US real GDP"]
    assert overview.index[0] == "QKAN-LSTM"
    # every table of the chapter lists the models in one order (the MASE ranking)
    assert list(tables.real_series_overview(summary, "smape", "one-step").index) == list(
        overview.index
    )
    comparisons = rf.dm_comparisons(forecasts, rf.best_baselines(summary),
                                    {"real_nile": 1, "real_us_gdp": 1})  # fmt: skip
    shown = tables.dm_table(comparisons)
    assert set(shown["verdict"]) == {"QKAN-LSTM better", "no significant difference"}
    assert "significantly more accurate in 2" in rf.dm_sentence(comparisons)
    ranks, cd = rf.rank_table(summary)
    few = rf.rank_sentence(ranks, cd)
    assert few.startswith("Across 2 series, QKAN-LSTM has the best")
    # two series cannot separate four models: the sentence says so instead of a finding
    assert "no power" in few and "cannot be told apart" not in few
    many = rf.rank_sentence(ranks, {**cd, "n_series": rf.MIN_SERIES_FOR_RANKS})
    assert "cannot be told apart" in many and "no power" not in many
    assert "ranks 1 of 4" in rf.accuracy_sentence(summary)
    fig = stats_plots.plot_mean_ranks(ranks, cd["cd"])
    assert len(fig.axes[0].get_yticklabels()) == 4
    # the bar is named where it is drawn: no legend box over the lowest ranks' points
    assert fig.axes[0].get_legend() is None
    assert [t.get_text() for t in fig.axes[0].texts] == [f"critical difference {cd['cd']:.2f}"]
    fig = stats_plots.plot_origin_forecasts(
        forecasts, np.zeros(92), "real_nile", ["ets", "qkan_lstm"]
    )
    assert len(fig.axes[0].get_legend().get_texts()) == 3  # series + two models
    styles = {line.get_label(): line.get_linestyle() for line in fig.axes[0].lines}
    assert styles["ets"] == "--" and styles["qkan_lstm"] == "-"
    assert stats_plots.forecast_styles_note().startswith("dashed: baselines")
    catalogue = tables.series_catalogue({n: 1 for n in REAL_SERIES})
    assert (catalogue["licence"] == "public domain").all()


def test_book_plans_the_chapter_runs():
    from qkan_lib.evidence.book_runs import BOOK_STEPS

    assert "12" in [s.chapter for s in BOOK_STEPS]


def test_smallest_holm_says_when_every_p_is_one():
    assert rf.smallest_holm(1.0) == "all Holm-adjusted p = 1"
    assert rf.smallest_holm(0.2) == "smallest Holm-adjusted p 0.2"


def test_a_verdict_names_the_winner_by_its_display_name():
    from qkan_lib.evidence.real_forecasts import verdict_label

    assert verdict_label("theta better") == "Theta better"
    assert verdict_label("qkan_lstm better") == "QKAN-LSTM better"
    assert verdict_label("ar better") == "AR(p) better"
    assert verdict_label("no significant difference") == "no significant difference"


def test_selection_blocks_end_where_the_test_blocks_begin():
    from qkan_lib.data.real_series import selection_origins

    assert selection_origins(70, 6, 5, 16) == (40, 46, 52, 58, 64)  # Nile, full protocol
    assert selection_origins(30, 6, 5, 16) == (18, 24)  # too short for five: the ones that fit
    assert selection_origins(20, 6, 2, 16) == ()
    with pytest.raises(ValueError, match="horizon"):
        selection_origins(70, 0, 5, 16)


def test_the_best_baseline_is_chosen_on_the_selection_blocks_never_on_the_test():
    origins = {"selection": (76, 82), "test": (88, 94)}  # real_nile, quick protocol
    # Theta is best on the selection blocks, ETS on the test blocks
    error = {("selection", "theta"): 0.1, ("selection", "ets"): 1.0,
             ("test", "theta"): 1.0, ("test", "ets"): 0.1, ("test", "lstm"): 0.5}  # fmt: skip
    rows = [
        {"dataset": "real_nile", "model": model, "seed": 0 if model == "lstm" else -1,
         "origin": origin, "h": h, "actual": 0.0, "forecast": e, "block": block}
        for (block, model), e in error.items() for origin in origins[block] for h in range(1, 7)
    ]  # fmt: skip
    forecasts = pd.DataFrame(rows)
    evidence = rf.evidence_from_forecasts(forecasts, False, {})
    assert evidence["best"] == {"real_nile": "theta"}
    assert evidence["selection"] == {"real_nile": "selection blocks"}
    assert set(evidence["forecasts"]["origin"]) == {88, 94}  # scored on the test blocks only
    assert set(evidence["comparisons"]["b"]) == {"theta"}
    # a series without selection blocks (a short CSV): chosen on the test, and said so
    test_only = rf.evidence_from_forecasts(forecasts[forecasts.block == "test"], False, {})
    assert test_only["best"] == {"real_nile": "ets"}
    assert test_only["selection"] == {"real_nile": "test blocks"}
    assert "chosen on the test blocks themselves" in rf.selection_sentence(test_only)
    assert rf.selection_sentence(test_only).startswith("Nile flow is too short")
    assert "every series was chosen on its selection blocks" in rf.selection_sentence(evidence)
