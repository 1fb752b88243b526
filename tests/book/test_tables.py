"""Report tables (qkan_lib.book.tables): the book's headline sentences come from these."""

import math

import pandas as pd
import pytest

import qkan_lib as ql
from qkan_lib.book import tables as reports
from qkan_lib.evidence import noisy_deployment
from qkan_lib.runs.store import RunResult


def fake_result(model, seed, r2_by_epoch, dataset="bessel", seq_len=4, mae=0.1, wall=2.0, lr=0.01):
    history = [
        {"epoch": e, "train_loss": 1.0 / e, "test_mse": 1 - r2, "test_mae": mae, "test_r2": r2}
        for e, r2 in enumerate(r2_by_epoch, start=1)
    ]
    experiment = ql.Experiment(
        model, dataset, seq_len, ql.TrainConfig(epochs=len(history), seed=seed, lr=lr)
    )
    return RunResult(experiment, {"total": 1}, False, {"test": [0.0]}, {}, "now", history, {}, wall)


@pytest.fixture
def frame():
    results = [fake_result("lstm", s, [0.5, 0.9, 0.8 + 0.01 * s]) for s in range(3)]
    results += [fake_result("qkan_lstm", s, [0.1, 0.7, 0.9 + 0.02 * s]) for s in range(3)]
    return reports.results_frame(results)


def test_results_frame_has_one_row_per_epoch(frame):
    assert len(frame) == 18 and set(frame["model"]) == {"lstm", "qkan_lstm"}
    assert set(frame.columns) >= {
        "seed",
        "epoch",
        "test_r2",
        "wall_time_s",
        "lr",
        "stand_in",
        "variant",
    }
    assert set(frame["variant"]) == {"default"}
    assert (
        reports.variant_label((("reps", 2), ("readout", "amplitude")))
        == "reps=2, readout=amplitude"
    )


def test_mean_std_formats_and_handles_one_seed():
    assert reports.mean_std(0.123456, 0.01) == "0.1235 ± 0.0100"
    assert reports.mean_std(1.0, float("nan")) == "1.0000"
    assert reports.mean_std(2.0, 0.5, digits=1) == "2.0 ± 0.5"
    assert reports.mean_std(3.2e-5, 1.1e-5) == "3.20 × 10⁻⁵ ± 1.10 × 10⁻⁵"
    assert reports.mean_std(0.5, 0.0) == "0.5000 ± 0.0000"


def test_summary_takes_the_last_epoch_or_the_given_ones(frame):
    last = reports.summary(frame, ["test_r2"])
    assert last.loc["qkan_lstm", ("test_r2", "mean")] == pytest.approx(0.92)
    assert last.loc["lstm", ("test_r2", "count")] == 3
    by_epoch = reports.summary(frame, ["test_r2"], epochs=(1, 2))
    assert by_epoch.loc[("lstm", 2), ("test_r2", "mean")] == pytest.approx(0.9)
    text = reports.mean_std_text(last, "test_r2")
    assert text["qkan_lstm"] == "0.9200 ± 0.0200 (3)"


def test_training_time_counts_each_run_once(frame):
    assert reports.training_time(frame) == pytest.approx(6 * 2.0)
    variant = frame[frame["model"] == "lstm"].assign(variant="reps=2")
    assert reports.training_time(pd.concat([frame, variant])) == pytest.approx(9 * 2.0)
    # the runs a time covers, counted the same way (a page says "the 9 runs took 18 s")
    assert reports.training_runs(frame) == 6
    assert reports.training_runs(pd.concat([frame, variant])) == 9


def test_synthetic_table_marks_the_paper_inside_or_outside_our_seed_range(frame):
    # our seeds: LSTM epoch 3 R^2 = 0.80, 0.81, 0.82; QKAN-LSTM epoch 2 = 0.7 three times
    paper = {"lstm": (0.5, 0.9, 0.81), "qkan_lstm": (0.1, 0.0, 0.5)}
    table = reports.synthetic_table(frame, paper, epochs=(1, 2, 3))
    # the epoch keeps its word, so a phone's card of the row reads "epoch 1", not a bare "1"
    assert list(table.index) == [
        (m, f"epoch {e}") for m in ("LSTM", "QKAN-LSTM") for e in (1, 2, 3)
    ]
    assert table.loc[("LSTM", "epoch 3"), "R² mean ± std"] == "0.8100 ± 0.0100"
    assert table.loc[("LSTM", "epoch 3"), "R² median [min, max]"] == "0.8100 [0.8000, 0.8200]"
    assert table.loc[("LSTM", "epoch 3"), "R² (paper), n = 3"] == "0.8100 ∈"
    assert table.loc[("QKAN-LSTM", "epoch 3"), "R² (paper), n = 3"] == "0.5000 ∉"
    assert table.loc[("QKAN-LSTM", "epoch 1"), "train loss"] == "1.0000 ± 0.0000"


def test_seed_range_fails_where_two_standard_deviations_would_pass(frame):
    # 0.825 is outside 0.80..0.82 but within mean 0.81 +- 2 std (0.79..0.83): the range test
    # can fail where the old "within 2 std" test could not.
    paper = {"lstm": (0.5, 0.9, 0.825), "qkan_lstm": (0.1, 0.7, 0.94)}
    agreement = reports.r2_agreement(frame, paper, epochs=(1, 2, 3))
    cell = agreement.set_index(["model", "epoch"]).loc[("lstm", 3)]
    assert not cell["inside"] and cell["n"] == 3
    assert (cell["low"], cell["median"], cell["high"]) == pytest.approx((0.80, 0.81, 0.82))
    assert list(agreement.columns) == [
        "model",
        "epoch",
        "n",
        "mean",
        "std",
        "median",
        "low",
        "high",
        "paper",
        "inside",
    ]
    # the boundary counts as inside (the paper's value equals our best seed)
    assert agreement.set_index(["model", "epoch"]).loc[("qkan_lstm", 3), "inside"]
    assert ql.statistics.count_inside(agreement) == (5, 6)


def test_agreement_counts_a_missing_paper_value_as_not_inside(frame):
    paper = {"lstm": (0.5, None, 0.81), "qkan_lstm": (0.1, 0.7, 0.5)}
    agreement = reports.r2_agreement(frame, paper, epochs=(1, 2, 3)).set_index(["model", "epoch"])
    assert math.isnan(agreement.loc[("lstm", 2), "paper"])
    assert not agreement.loc[("lstm", 2), "inside"]
    table = reports.synthetic_table(frame, paper, epochs=(1, 2, 3))
    assert table.loc[("LSTM", "epoch 2"), "R² (paper), n = 3"] == "no value"


def test_urban_table_and_ranking_against_the_paper():
    results = [
        fake_result(m, s, [0.5], dataset="urban", seq_len=4, mae=mae + 0.01 * s)
        for m, mae in (("lstm", 1.0), ("qlstm", 0.9), ("qkan_lstm", 1.1), ("hqkan_lstm", 0.8))
        for s in range(2)
    ]
    frame = reports.results_frame(results)
    table = reports.urban_table(frame)
    assert table.loc[(4, "LSTM"), "MAE"] == "1.0050 ± 0.0071"
    ratio_book, ratio_paper = table.loc[(4, "QKAN-LSTM"), "MAE / LSTM book | paper"].split(" | ")
    assert float(ratio_book) == pytest.approx(1.105 / 1.005, abs=1e-3)
    paper = ql.paper.TABLE_IV
    assert float(ratio_paper) == pytest.approx(
        paper["qkan_lstm"][0][0] / paper["lstm"][0][0], abs=1e-3
    )
    ranking = reports.ranking_agreement(frame).set_index("metric")
    assert ranking.loc["MAE", "this book (best first)"].startswith("HQKAN-LSTM < QLSTM < LSTM")
    assert -1 <= ranking.loc["MAE", "kendall_tau"] <= 1


def test_urban_table_on_the_stand_in_drops_the_paper():
    results = [
        fake_result(m, s, [0.5], dataset="urban", seq_len=4, mae=mae + 0.01 * s)
        for m, mae in (("lstm", 1.0), ("qkan_lstm", 1.1))
        for s in range(2)
    ]
    table = reports.urban_table(reports.results_frame(results), stand_in=True)
    assert not [h for h in table.columns if "paper" in h], list(table.columns)
    assert float(table.loc[(4, "QKAN-LSTM"), "MAE / LSTM"]) == pytest.approx(
        1.105 / 1.005, abs=1e-3
    )
    assert table.loc[(4, "LSTM"), "MAE"] == "1.0050 ± 0.0071"  # two seeds: a std
    real = reports.urban_table(reports.results_frame(results))
    assert any("paper" in c for c in real.columns)


def test_urban_table_prints_no_std_from_one_seed():
    results = [
        fake_result(m, 0, [0.5], dataset="urban", seq_len=4, mae=mae)
        for m, mae in (("lstm", 1.0), ("qkan_lstm", 1.1))
    ]
    for stand_in in (False, True):
        table = reports.urban_table(reports.results_frame(results), stand_in=stand_in)
        assert "±" not in " ".join(table.to_numpy().ravel())
        assert table.loc[(4, "LSTM"), "MAE"] == "1.0000"


def test_shift_cost_table_counts_the_built_models():
    table = reports.shift_cost_table(("qlstm", "qkan_lstm"), ("bessel",))
    # Table I's quantum counts on Bessel, which the built models reproduce (see below)
    for model, label in (("qlstm", "QLSTM"), ("qkan_lstm", "QKAN-LSTM")):
        angles = ql.paper.TABLE_I[("bessel", model)][1]
        row = table.loc[(label, "Bessel Function")]
        assert row["angles"] == angles
        assert row["shift-rule runs"] == 1 + 2 * angles and row["backprop sweeps"] == 2
    # by default every dataset of Table I, Damped SHM included
    datasets = set(reports.shift_cost_table().index.get_level_values("dataset"))
    assert datasets == {ql.DATASET_LABELS[d] for d in ql.DATASETS}


def test_data_label_marks_the_stand_in():
    assert "STAND-IN" in reports.data_label(True) and "STAND-IN" not in reports.data_label(False)


REPRODUCIBLE = [
    ("damped_shm", "lstm"),
    ("damped_shm", "qlstm"),
    ("bessel", "lstm"),
    ("bessel", "qlstm"),
    ("bessel", "qkan_lstm"),
    ("bessel", "hqkan_lstm"),
    ("urban", "lstm"),
    ("urban", "qlstm"),
    ("urban", "qkan_lstm"),
]


def test_table_one_reproducible_cells_match_exactly():
    table = reports.parameter_table().set_index(["dataset", "model"])
    for key in REPRODUCIBLE:
        row = table.loc[key]
        assert row["match_classical"] and row["match_quantum"] and row["match_total"], (
            key,
            row.to_dict(),
        )
    # The quantum part of QKAN-LSTM on SHM matches too (24 edges x 4 angles).
    assert table.loc[("damped_shm", "qkan_lstm")]["quantum"] == 96
    shown = reports.format_parameter_table(reports.parameter_table())
    assert isinstance(shown, pd.DataFrame) and shown.shape == (12, 6)
    assert shown.loc[("Bessel Function", "QKAN-LSTM"), ("total", "this book")] == "58 ✓"
    assert shown.loc[("Damped SHM", "LSTM"), ("quantum", "paper")] == "–"  # never "-" or NaN
    assert not math.isnan(table["total"].sum())


def test_tuning_table_marks_the_chosen_rate():
    scores = pd.DataFrame(
        {
            "model": ["lstm"] * 4 + ["qkan_lstm"] * 2,
            "lr": [0.01, 0.01, 0.1, 0.1, 0.01, 0.01],
            "seed": [0, 1, 0, 1, 0, 1],
            "score": [0.2, 0.4, 0.1, 0.5, 0.3, 0.3],
        }
    )
    table = reports.tuning_table(scores, {"lstm": 0.01, "qkan_lstm": 0.01})
    assert list(table.index) == ["LSTM", "QKAN-LSTM"] and list(table.columns) == [
        "rate 0.01",
        "rate 0.1",
    ]
    assert table.loc["LSTM", "rate 0.01"] == "0.300 [0.20, 0.40] *"  # trailing zeros kept
    assert table.loc["LSTM", "rate 0.1"] == "0.300 [0.10, 0.50]"
    assert "2 seeds" in table.columns.name  # the header's corner, one header row
    one = reports.tuning_table(scores[scores["seed"] == 0], {"lstm": 0.1})
    assert one.loc["LSTM", "rate 0.1"] == "0.1 *" and "1 seed" in one.columns.name


def test_training_time_of_arm_frames_matches_one_row_per_dataset_arm_seed():
    # chapter 10's former rule: one run per (dataset, arm, seed); two arms may train the same
    # configuration (same model, variant and rate) and each counts
    results = [fake_result("lstm", s, [0.5, 0.9], wall=1.0 + 0.1 * s) for s in range(3)]
    twin = [fake_result("lstm", s, [0.5, 0.9], wall=3.0 + 0.7 * s) for s in range(3)]
    other = [
        fake_result("qkan_lstm", s, [0.5], dataset="damped_shm", wall=0.3 * s + 1 / 3)
        for s in range(3)
    ]
    frame = pd.concat(
        [
            reports.results_frame(results).assign(arm="lstm"),
            reports.results_frame(twin).assign(arm="lstm_again"),
            reports.results_frame(other).assign(arm="qkan"),
        ],
        ignore_index=True,
    )
    former = frame.groupby(["dataset", "arm", "seed"])["wall_time_s"].first().sum()
    assert reports.training_time(frame) == former  # bit for bit: the same order of summation
    assert reports.training_time(frame) == pytest.approx(3.3 + 11.1 + 1.9)


def test_configuration_table_has_no_code_names_and_no_missing_cells():
    from qkan_lib.evidence.display import find_code_names, frame_text
    from qkan_lib.models.registry import search_configurations
    from qkan_lib.paper import TABLE_I

    searches = {
        f"row {k}": search_configurations(m, d, TABLE_I[(d, m)], top=2, max_latent=3)
        for k, (d, m) in enumerate((("damped_shm", "qkan_lstm"), ("urban", "hqkan_lstm")))
    }
    table = reports.configuration_table(searches)
    assert list(table.index) == [("row 0", 1), ("row 0", 2), ("row 1", 1), ("row 1", 2)]
    assert not table.isna().any().any() and "nan" not in table.to_string()
    assert find_code_names(frame_text(table)) == []
    assert "_trainable" not in table.to_string() and "True" not in table.to_string()
    first = searches["row 1"].iloc[0]
    assert table.loc[("row 1", 1), "latent"] == f"{first.latent_in} → {first.latent_out}"
    assert table.loc[("row 0", 1), "latent"] == "–"  # QKAN-LSTM has no latent layer
    assert table.loc[("row 1", 1), "classical / quantum / total"] == (
        f"{first.classical} / {first.quantum} / {first.total}"
    )


def test_tuning_table_tells_small_scores_apart():
    # validation MSEs of 1e-5..2e-4: fixed four decimals would print 0.0000 [0.0000, 0.0002]
    scores = pd.DataFrame(
        {"model": "lstm", "lr": 0.01, "seed": [0, 1, 2], "score": [3.1e-5, 1.2e-5, 2.1e-4]}
    )
    cell = reports.tuning_table(scores, {"lstm": 0.01}).iloc[0, 0]
    assert cell == "3.10 [1.2, 21] × 10⁻⁵ *"


def header_rows(table: pd.DataFrame) -> int:
    """How many header rows a page shows for ``table`` (the HTML a notebook renders)."""
    return table._repr_html_().split("</thead>")[0].count("<tr")


def test_tables_with_named_row_levels_show_one_header_row_per_column_level(frame):
    # issue 25: pandas adds a header row holding only the index names; page tables put the
    # names into the header's corner instead (qkan_lib.evidence.display.page_table)
    urban = [
        fake_result(m, s, [0.5], dataset="urban", seq_len=4, mae=1.0 + 0.01 * s)
        for m in ("lstm", "qkan_lstm")
        for s in range(2)
    ]
    scores = pd.DataFrame(
        {"model": ["lstm", "lstm"], "lr": [0.01, 0.1], "seed": [0, 0], "score": [0.2, 0.1]}
    )
    device = pd.DataFrame(
        {
            "model": ["qkan_lstm"] * 6,
            "dataset": ["damped_shm"] * 6,
            "seed": [0, 1, 2] * 2,
            "shots": ["exact"] * 3 + ["1,000"] * 3,
            "test_r2": [0.9, 0.8, 0.85, 0.7, 0.6, 0.65],
        }
    )
    tables = {
        "synthetic": reports.synthetic_table(
            frame, {"lstm": (0.5,) * 3, "qkan_lstm": (0.5,) * 3}, epochs=(1, 2, 3)
        ),
        "urban": reports.urban_table(reports.results_frame(urban)),
        "device training": reports.device_training_table(
            device, noisy_deployment.shot_comparisons(device)
        ),
        "shift cost": reports.shift_cost_table(("qlstm",), ("bessel",)),
        "tuning": reports.tuning_table(scores, {"lstm": 0.1}),
        "Table I": reports.format_parameter_table(reports.parameter_table()),
        "DARUAN error": reports.daruan_error_table(
            pd.DataFrame(
                {"device": ["a"], "rms_error": [1e-3], "max_error": [2e-3], "shot_se_1000": [0.03]}
            )
        ),
        "real series": reports.forecast_table(
            pd.DataFrame(
                {
                    "dataset": "real_nile",
                    "kind": ["one-step", "multi-step"],
                    "model": "qkan_lstm",
                    "mase_mean": [0.9, 1.1],
                    "mase_std": [0.1, 0.2],
                    "smape_mean": [10.0, 12.0],
                    "smape_std": [1.0, 2.0],
                    "n_seeds": 3,
                }
            ),
            "real_nile",
        ),
    }
    for name, table in tables.items():
        assert header_rows(table) == table.columns.nlevels, name
        html = table._repr_html_()
        names = [n for n in table.index.names if n] or [table.columns.name]
        for level in names:  # what the rows are stays named, in the header
            assert f"<th>{level}</th>" in html, (name, level)
    assert tables["device training"].loc[("QKAN-LSTM", "Damped SHM", "1,000"), "median"] == "0.650"


def test_tuning_table_puts_each_cell_over_one_power_of_ten():
    # validation errors spanning decades: "0.000045 [0.000012, 0.000156]" beside
    # "3.57 × 10⁻⁴ [...]" made Table 5.2 wider than the page and mixed two notations
    scores = pd.DataFrame(
        {
            "model": ["lstm"] * 6 + ["qkan_lstm"] * 6,
            "lr": [0.01] * 3 + [0.1] * 3 + [0.01] * 3 + [0.1] * 3,
            "seed": [0, 1, 2] * 4,
            "score": [4.52e-5, 1.2e-5, 1.56e-4, 0.3, 0.2, 0.5,
                      3.57e-4, 1.39e-4, 4.91e-3, 0.41231, 0.31, 0.5],
        }
    )  # fmt: skip
    table = reports.tuning_table(scores, {"lstm": 0.01, "qkan_lstm": 0.01})
    assert table.loc["LSTM", "rate 0.01"] == "4.52 [1.2, 16] × 10⁻⁵ *"
    assert table.loc["QKAN-LSTM", "rate 0.01"] == "3.57 [1.3, 50] × 10⁻⁴ *"
    assert table.loc["QKAN-LSTM", "rate 0.1"] == "0.412 [0.31, 0.50]"
    assert max(len(c) for c in table.to_numpy().ravel()) <= 24  # five rates fit the page
    one = reports.tuning_table(scores[scores.seed == 0], {"lstm": 0.1})
    assert one.loc["LSTM", "rate 0.01"] == "4.52 × 10⁻⁵"  # one seed: no range


def test_agreement_statement_says_what_the_cells_show(frame):
    # our seeds at epoch 3: LSTM 0.80..0.82, QKAN-LSTM 0.90..0.94; the paper's QKAN-LSTM
    # value at epoch 3 (0.7) is the one outside; three seeds: 2/4 of 6 cells expected inside
    inside_most = {"lstm": (0.5, 0.9, 0.81), "qkan_lstm": (0.1, 0.7, 0.7)}
    agreement = reports.r2_agreement(frame, inside_most, epochs=(1, 2, 3))
    assert ql.statistics.count_inside(agreement) == (5, 6)
    text = reports.agreement_statement(agreement)
    assert text.startswith("5 of the paper's 6 values") and "more than the 3 that runs" in text
    assert "epoch 3 QKAN-LSTM leads by median here and LSTM in the paper" in text
    outside_all = {"lstm": (9.0, 9.0, 9.0), "qkan_lstm": (9.0, 9.0, 9.5)}
    text = reports.agreement_statement(reports.r2_agreement(frame, outside_all, (1, 2, 3)))
    assert text.startswith("0 of the paper's 6 values") and "fewer than the 3" in text
    assert "QKAN-LSTM in the paper" in text


def test_tuning_statement_names_the_models_whose_rate_validation_would_move():
    used = {"lstm": 0.01, "qkan_lstm": 0.01, "hqkan_lstm": 0.02}
    assert reports.tuning_statement(dict(used), used) == (
        "Validation chooses the rate the table was trained at for all 3 models."
    )
    text = reports.tuning_statement({"lstm": 0.01, "qkan_lstm": 0.1, "hqkan_lstm": 0.01}, used)
    assert text == (
        "Validation chooses the rate the table was trained at for 1 of 3 models; it would "
        "move QKAN-LSTM 0.01 → 0.1 and HQKAN-LSTM 0.02 → 0.01."
    )


def test_urban_statement_names_the_best_model_per_window_length():
    results = [
        fake_result(m, s, [0.5], dataset="urban", seq_len=L, mae=mae[L])
        for m, mae in (("lstm", {4: 1.0, 8: 0.5}), ("qkan_lstm", {4: 0.9, 8: 0.6}))
        for L in (4, 8)
        for s in range(2)
    ]
    text = reports.urban_statement(reports.results_frame(results))
    assert text == (
        "The lowest mean test MAE goes to QKAN-LSTM at window length 4 and LSTM at window "
        "length 8: no model is best throughout."
    )
    one = [r for r in results if r.experiment.model == "lstm"]
    assert reports.urban_statement(reports.results_frame(one)) == (
        "LSTM has the lowest mean test MAE at every window length (4 and 8)."
    )


def test_tuning_table_writes_a_column_spanning_magnitudes_in_scientific_notation():
    # chapter 5's lr 0.01 column: validation MSEs from 1e-5 (LSTM) to 9e-3 (QLSTM); fixed
    # decimals would print the LSTM's as "0.00002", one significant digit
    scores = pd.DataFrame(
        {
            "model": ["lstm"] * 3 + ["qlstm"] * 3,
            "lr": 0.01,
            "seed": [0, 1, 2] * 2,
            "score": [2.07e-5, 1.1e-5, 4.2e-5, 4.8e-4, 3.8e-4, 8.97e-3],
        }
    )
    cells = list(reports.tuning_table(scores, {"lstm": 0.01})["rate 0.01"])
    assert cells == ["2.07 [1.1, 4.2] × 10⁻⁵ *", "4.80 [3.8, 90] × 10⁻⁴"]


def test_comparison_tables_split_by_dataset_and_name_the_matched_lstm_once():
    # issue 25: Tables 9.7/9.8 wrapped verdicts and intervals at 1280 px; one narrow table
    # per dataset, and "HQKAN-LSTM vs Matched LSTM (HQKAN-LSTM)" says its model once
    index = pd.MultiIndex.from_tuples(
        [
            ("Damped SHM", "HQKAN-LSTM vs Matched LSTM (HQKAN-LSTM)"),
            ("Damped SHM", "QKAN-LSTM vs LSTM"),
            ("Bessel Function", "QKAN-LSTM vs Matched LSTM (HQKAN-LSTM)"),  # not its own
        ],
        names=["dataset", "comparison"],
    )
    shown = pd.DataFrame(
        {"verdict": ["Matched LSTM (HQKAN-LSTM) better", "LSTM better", "not significant"]},
        index=index,
    )
    parts = reports.comparison_tables(shown)
    assert list(parts) == ["Damped SHM", "Bessel Function"]  # the table's order
    shm = parts["Damped SHM"]
    assert list(shm.index) == ["HQKAN-LSTM vs Matched LSTM", "QKAN-LSTM vs LSTM"]
    assert list(shm["verdict"]) == ["Matched LSTM better", "LSTM better"]
    assert shm.columns.name == "comparison"  # the header's corner, one header row
    # another model's matched LSTM keeps its name
    assert list(parts["Bessel Function"].index) == ["QKAN-LSTM vs Matched LSTM (HQKAN-LSTM)"]
    # two datasets in one table: the dataset level stays, the labels shorten
    both = reports.narrow_comparisons(shown)
    assert both.index.nlevels == 2 and ("Damped SHM", "HQKAN-LSTM vs Matched LSTM") in both.index
    with pytest.raises(ValueError, match="dataset level"):
        reports.comparison_tables(shown.droplevel(0))


def test_loss_columns_take_a_fifth_decimal_before_a_power_of_ten(frame):
    """Train losses from 6e-4 to 0.25 (Table III): four decimals would show 6.3e-4 with one
    significant digit, so the column went over the power of ten, "(6.33 ± 3.12) × 10⁻⁴",
    and the table over the page; five decimals show every loss plainly, in one style."""
    low = frame.assign(train_loss=frame["train_loss"] * 0.001 + 0.0006)
    paper = {"lstm": (0.5, 0.9, 0.81), "qkan_lstm": (0.1, 0.7, 0.5)}
    table = reports.synthetic_table(low, paper, epochs=(1, 2, 3))
    cells = table["train loss"].tolist()
    assert not any("×" in c for c in cells), cells
    assert all(len(c.split(" ± ")[0].split(".")[1]) == 5 for c in cells), cells
