"""The one display-name mapping and number format (qkan_lib.evidence.display), and that what the
book's chapters generate from the run archive carries no code name."""

import math
from pathlib import Path

import pandas as pd
import pytest

import qkan_lib as ql
from qkan_lib.data.registry import DATASET_REGISTRY
from qkan_lib.evidence import display as D
from qkan_lib.evidence import findings, verdict
from qkan_lib.models.registry import MODEL_REGISTRY

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT / "archive" / "full"


def test_numbers_show_the_precision_that_matters():
    assert D.number(2.7755575615628914e-17) == "2.78 × 10⁻¹⁷"  # never the raw float
    assert D.number(0.5) == "0.5000" and D.number(-0.0) == "0.0000"  # no "-0.0000"
    assert D.number(float("nan")) == D.MISSING and D.number(None) == D.MISSING
    assert D.number(3e-5) == "3.00 × 10⁻⁵"  # .4f would print 0.0000
    assert D.number(0.25, 2, sign=True) == "+0.25"
    assert D.number(-0.001, 2, scientific=False) == "0.00"  # no "HQKAN-LSTM -0.00"
    # values that differ never print the same: more decimals, or scientific when all tiny
    assert D.interval(1e-5, 2e-5, 3e-5) == "1.00 × 10⁻⁵ [2.00 × 10⁻⁵, 3.00 × 10⁻⁵]"
    assert D.interval(0.99671, 0.99674, 0.9968) == "0.99671 [0.99674, 0.99680]"
    assert D.interval(0.5, 0.25, 0.75) == "0.5000 [0.2500, 0.7500]"
    # one notation per group
    assert D.interval(-0.0025, -0.0083, 3.81e-05, sign=True) == "−0.0025 [−0.0083, +0.0000]"
    shown = D.numbers([0.123451, 0.123452])
    assert shown[0] != shown[1] and float(shown[0]) == pytest.approx(0.123451, abs=1e-8)
    assert D.numbers([0.1, 0.1]) == ["0.1000", "0.1000"]  # equal values may print equal
    assert D.count(3.0) == "3" and D.count(12) == "12" and D.count(math.nan) == D.MISSING
    with pytest.raises(ValueError, match="whole number"):
        D.count(2.5)
    assert D.p_value(1.0) == "1" and D.p_value(3.4e-5) == "3.4 × 10⁻⁵"


def test_scientific_notation_is_the_pages_one_look():
    # issue 25: "1.9e-06", "9.3e-03" and "3.8 × 10⁻⁴" on different pages; now only the last
    assert D.scientific(1.9e-6) == "1.9 × 10⁻⁶"
    assert D.scientific(9.3e-3) == "9.3 × 10⁻³" and D.scientific(0.0093, 3) == "9.30 × 10⁻³"
    assert D.scientific(-3.8e-4) == "−3.8 × 10⁻⁴"  # the minus sign, U+2212
    assert D.scientific(3.8e-4, sign=True) == "+3.8 × 10⁻⁴"
    assert D.scientific(1.66e5) == "1.7 × 10⁵" and D.scientific(2e12, 1) == "2 × 10¹²"
    # a mantissa that rounds up to 10 moves to the next power, never "10.0 × 10⁻⁵"
    assert D.scientific(9.96e-5) == "1.0 × 10⁻⁴" and D.scientific(-9.96e-5) == "−1.0 × 10⁻⁴"
    assert D.scientific(9.994e-5, 3) == "9.99 × 10⁻⁵"
    assert D.scientific(0.0) == "0" and D.scientific(-0.0) == "0"
    assert D.scientific(None) == D.MISSING and D.scientific(math.nan) == D.MISSING
    with pytest.raises(ValueError, match="significant"):
        D.scientific(1.0, 0)
    # the other formatters write the same look
    assert D.number(-4.2e-7) == "−4.20 × 10⁻⁷" and D.number(9.996e-5) == "1.00 × 10⁻⁴"
    assert D.number(1.5e11, 2) == "1.5 × 10¹¹"
    assert D.significant(1e-5, 3) == "1 × 10⁻⁵" and D.significant(0.001, 3) == "0.001"
    assert D.significant(0.05) == "0.05" and D.significant(-0.0) == "0"
    assert D.p_value(2.2e-4) == "2.2 × 10⁻⁴" and D.p_value(2e-5) == "2.0 × 10⁻⁵"
    assert D.p_value(9.96e-5) == "1.0 × 10⁻⁴" and D.p_value(4.4e-12) == "4.4 × 10⁻¹²"
    assert D.power_text(1.66e5) == "1.7 × 10⁵" and D.power_text(1.9e-4) == "1.9 × 10⁻⁴"
    assert D.power_text(1457) == "1,457" and D.power_text(math.inf) == D.MISSING
    assert D.power_of_ten_text(-4) == "10⁻⁴" and D.power_of_ten_text(6) == "10⁶"
    column = D.number_format([2e-5, 1e-2], significant=2)
    assert [column(v) for v in (2e-5, 1e-2)] == ["2.00 × 10⁻⁵", "1.00 × 10⁻²"]
    for shown in (D.number(3e-5), D.p_value(3e-9), column(2e-5), D.power_text(5e-7)):
        assert "e-" not in shown and not D.find_raw_numbers(shown)


def test_thousands_are_written_with_a_comma():
    assert D.count(10000) == "10,000" and D.count(999) == "999" and D.count(-1234.0) == "−1,234"
    assert D.count(1_000_000) == "1,000,000" and D.plural(1000, "shot") == "1,000 shots"
    assert D.power_text(9999) == "9,999"
    assert D.number(12345.678, 1) == "12,345.7" and D.number(-1234.5, 0) == "−1,234"
    assert D.number(999.96, 1) == "1,000.0" and D.number(0.5, 2) == "0.50"


def test_raw_number_pattern_finds_what_the_page_must_not_show():
    # the pattern the browser test runs over every page's text (outside code cells)
    bad = [
        "error 1.9e-06 here",
        "9.3e-03",
        "R² 2.7755575615628914e-17",
        "1E+05 runs",
        "10 000 shots",
        "at 1 000 shots per circuit",
        "100 000 days",
        "1 234 567",
    ]
    for text in bad:
        assert D.find_raw_numbers(text), text
    good = [
        "1.9 × 10⁻⁶",
        "10,000 shots",
        "L = 1 to 5",
        "3 seeds, 100 epochs",
        "Table 3 shows",
        "0.9893 vs 0.9972",
        "between 2 and 100 runs",
        "lr 0.001",
        "in 2024 and 2025",
    ]
    assert [D.find_raw_numbers(text) for text in good] == [[]] * len(good)


def test_display_names_come_from_the_registries():
    for name, spec in MODEL_REGISTRY.items():
        assert D.display_name(name) == spec.label
    for name, spec in DATASET_REGISTRY.items():
        assert D.display_name(name) == spec.label
    assert D.display_name("mannwhitney") == "Mann-Whitney U"
    assert D.display_name("test_r2") == "test R²" and D.display_name("ar") == "AR(p)"
    assert D.display_name("qkan_lstm (reps=2)") == "QKAN-LSTM (L = 2)"
    assert D.display_name("param_matched_lstm (match=hqkan_lstm)") == "Matched LSTM (HQKAN-LSTM)"
    assert D.display_name("something else") == "something else"
    frame = pd.DataFrame(
        {"test_r2": [1.0]},
        index=pd.MultiIndex.from_tuples([("urban", "qlstm")], names=["dataset", "model"]),
    )
    shown = D.display_frame(frame)
    assert list(shown.columns) == ["test R²"]
    assert shown.index[0] == ("Urban Telecommunication", "QLSTM")
    assert D.find_code_names(D.frame_text(frame)) and not D.find_code_names(D.frame_text(shown))


def test_arm_options_are_shown_in_words():
    # issue 25: chapter 10's arms and prose showed "preact_trainable=False", "latent_in"
    from qkan_lib.evidence.findings import ablation_arms

    assert D.display_name("qkan_lstm (base_trainable=False, reps=2)") == (
        "QKAN-LSTM (no SiLU residual, L = 2)"
    )
    assert D.display_name("qkan_lstm (preact_trainable=False)") == (
        "QKAN-LSTM (encoding fixed at w = 1)"
    )
    assert D.display_name("hqkan_lstm (latent_in=1, latent_out=3)") == (
        "HQKAN-LSTM (latent widths 1 → 3)"
    )
    assert D.display_name("qkan_lstm (readout=amplitude)") == "QKAN-LSTM (amplitude readout)"
    labels = [D.display_name(a.name) for a in ablation_arms()]
    assert len(set(labels)) == len(labels)  # every arm keeps a name of its own
    assert [D.find_code_names(label) for label in labels] == [[]] * len(labels)
    # an option without a label keeps its keyword, and the code-name check reports it
    assert D.find_code_names(D.display_name("qkan_lstm (preact_trainable=True)"))
    assert D.find_code_names("trained with noise_on=inputs") == ["noise_on"]


def test_code_names_are_found_as_whole_words_only():
    found = D.find_code_names(
        "qkan_lstm vs lstm, total, urban; mannwhitney; test_r2; ar reaches 1; mean over 1 seed(s)"
    )
    assert found == [
        "qkan_lstm",
        "lstm",
        "urban",
        "mannwhitney",
        "test_r2",
        "ar reaches",
        "seed(s)",
    ]
    clean = "QKAN-LSTM vs LSTM on Urban Telecommunication; Wilcoxon signed-rank; test R² (nn.LSTM)"
    assert D.find_code_names(clean) == []
    # module paths and file names are code, not names on the page
    assert D.find_code_names("`qkan_lib.evidence.verdict`, damped_shm_lstm_L4_seed0.json") == []
    assert "hqkan_lstm" in D.CODE_NAMES and "damped_shm" in D.CODE_NAMES


def test_sentences_start_with_a_capital_and_lists_read_as_prose():
    assert D.sentence("persistence reaches") == "Persistence reaches"
    assert D.sentence("*verdict*") == "*Verdict*" and D.sentence("AR(p)") == "AR(p)"
    assert D.sentence("6 of the 18") == "6 of the 18"
    assert D.listing(["a"]) == "a" and D.listing(["a", "b", "c"]) == "a, b and c"
    assert D.plural(1, "seed") == "1 seed" and D.plural(3.0, "seed") == "3 seeds"


@pytest.fixture
def archived(monkeypatch, tmp_path):
    """The chapters' full-protocol evidence, read from the run archive (nothing trains)."""
    if not (ARCHIVE / "MANIFEST.json").exists():
        pytest.skip("no run archive")
    monkeypatch.setenv("QKAN_ARCHIVE", str(ARCHIVE))
    monkeypatch.setenv("QKAN_NO_TRAINING", "1")
    monkeypatch.setenv("QKAN_PROGRESS", "0")
    baselines = findings.baselines_evidence(tmp_path, full=True)
    harder = findings.ablations_and_harder_evidence(tmp_path, full=True)
    return baselines, harder


@pytest.mark.slow
def test_what_the_chapters_generate_from_the_archive_has_no_code_names(archived):
    baselines, harder = archived
    main = baselines["comparisons"].query("protocol == 'batch10'")
    texts = {
        "trivial table": D.frame_text(findings.format_trivial(baselines["trivial"])),
        "trivial sentence": findings.trivial_verdict(baselines["trivial"]),
        "summary": D.frame_text(findings.format_summary(baselines["summary"], by=("dataset",))),
        "comparisons": D.frame_text(findings.format_comparisons(main, by=("dataset",))),
        "comparison sentence": findings.comparison_sentence(main),
        "comparison key (caption)": findings.comparison_key(main),
        "power": findings.power_sentence(main),
        "agreement": D.frame_text(findings.format_agreement(baselines["agreement"])),
        "agreement sentence": findings.agreement_sentence(baselines["agreement_counts"]),
        "ablations": findings.comparison_sentence(harder["ablation_comparisons"]),
        "harder": D.frame_text(
            findings.format_comparisons(harder["harder_comparisons"], by=("dataset",))
        ),
        "closed loop": findings.comparison_sentence(harder["closed_loop_comparisons"]),
    }
    spectrum = pd.DataFrame(
        [{"dataset": "bessel", "reps": 1, "epoch": 30, "models": 2, "max_frequencies": 1,
          "active_frequencies_median": 1.0, "single_frequency": 1.0,
          "frequencies_per_edge": "one"}]
    )  # fmt: skip
    paper_best = {"damped_shm": 0.9972, "bessel": 0.9863}
    table = verdict.verdict_table(
        baselines, harder, spectrum, ql.reductions.claim_report(), paper_best
    )
    texts["verdict details"] = verdict.verdict_details(table)
    texts["verdict table"] = D.frame_text(verdict.verdict_display(table))
    texts["accuracy table"] = D.frame_text(verdict.accuracy_table(baselines, harder))
    texts["accuracy key (caption)"] = verdict.accuracy_key(baselines, harder)
    found = {k: D.find_code_names(v) for k, v in texts.items()}
    assert {k: v for k, v in found.items() if v} == {}
    # more than three comparisons are summarised, never listed one by one
    assert len(main) > 3 and findings.comparison_sentence(main).count(" vs ") <= 3
    for key in ("trivial sentence", "comparison sentence", "verdict details"):
        assert texts[key][0].isupper() or texts[key][0].isdigit(), key
    # every accuracy claim of the verdict has its comparisons in the accuracy table
    accuracy = verdict.accuracy_table(baselines, harder)
    assert {c for c, *_ in verdict.ACCURACY_CLAIMS} == set(accuracy.index.get_level_values(0))


def test_page_tables_show_every_cell_in_full_with_one_header_row():
    long = "a sentence of many words, far longer than the fifty characters pandas keeps"
    frame = pd.DataFrame({"evidence": [long]}, index=pd.Index(["claim one"], name="claim"))
    assert "..." in frame._repr_html_()  # what pandas does on its own: cut with "..."
    shown = D.page_table(frame)
    html = shown._repr_html_()
    assert long in html and "..." not in html and "…" not in html and long in repr(shown)
    assert html.count("<tr") == 2  # one header row (no row holding only "claim") and one row
    assert "<th>claim</th>" in html
    assert type(shown[["evidence"]]) is D.FullTextFrame  # a slice stays full text


def test_a_page_table_with_two_index_levels_has_one_header_row():
    frame = pd.DataFrame(
        {"value": ["1", "2"]},
        index=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")], names=["claim", "dataset"]),
    )
    assert frame._repr_html_().count("<tr") == 4  # pandas: a row for the names alone
    html = D.page_table(frame)._repr_html_()
    assert html.count("<tr") == 3 and "<th>claim</th>" in html and "<th>dataset</th>" in html
    assert html.index("<th>dataset</th>") < html.index("<th>value</th>")


def test_a_scaled_interval_shares_its_values_power_of_ten():
    from qkan_lib.evidence.display import scaled_interval

    assert scaled_interval(4.52e-5, 1.2e-5, 1.56e-4) == "4.52 [1.2, 16] × 10⁻⁵"
    assert scaled_interval(0.0266, 0.0164, 0.0329) == "2.66 [1.6, 3.3] × 10⁻²"
    assert scaled_interval(0.41231, 0.31, 0.5) == "0.412 [0.31, 0.50]"  # 10⁻¹..10²: plain
    assert scaled_interval(12.34, 10.0, 16.0) == "12.3 [10, 16]"
    assert scaled_interval(0.0, 0.0, 2e-6) == "0 [0, 2.0] × 10⁻⁶"  # the power of the first nonzero
    assert scaled_interval(float("nan"), 1.0, 2.0) == "–"
    # bounds round outward: the value never prints outside them ("1.28 [1.3, 1.3]")
    assert scaled_interval(0.0128, 0.01275, 0.01285) == "1.28 [1.2, 1.3] × 10⁻²"
    assert scaled_interval(-0.5, -0.61, -0.2) == "−0.500 [−0.61, −0.20]"
    # two digits on every bound, trailing zeros kept: never "[1.8, 4]" beside "[1.6, 3.3]"
    assert scaled_interval(2.91e-4, 2.4e-4, 4e-4) == "2.91 [2.4, 4.0] × 10⁻⁴"


def test_a_p_value_never_rounds_onto_the_significance_level():
    from qkan_lib.evidence.display import p_value

    assert p_value(0.0504) == "0.0504" and p_value(0.0496) == "0.0496"  # not "0.05"
    assert p_value(0.033) == "0.033" and p_value(1.0) == "1" and p_value(0.05) == "0.05"


def test_a_number_as_the_page_writes_it_reads_back():
    from qkan_lib.evidence.display import read_number, scientific

    assert read_number("2.07 × 10⁻⁵") == pytest.approx(2.07e-5)
    assert read_number("10⁻¹⁴") == pytest.approx(1e-14)
    assert read_number("1,234.5") == 1234.5 and read_number("−3") == -3.0
    for value in (1.9e-6, -4.2e7, 0.5):
        assert read_number(scientific(value, 3)) == pytest.approx(value, rel=1e-2)
    with pytest.raises(ValueError, match="not a number as the page writes it"):
        read_number("2 × 3")


def test_a_number_is_signed_with_the_true_minus_sign():
    # issue 25: "-0.0111" with the ASCII hyphen beside "+7.21"; every number of the page
    # prints U+2212, and read_number reads it back
    for shown in (
        D.number(-0.0111),
        D.significant(-0.02),
        D.scientific(-2e-5),
        D.count(-3),
        D.power_text(-2e5),
    ):
        assert shown.startswith("−") and "-" not in shown, shown
        assert D.read_number(shown) < 0
    assert D.minus_sign("Mann-Whitney U, [-1.3, -0.2], x-5") == "Mann-Whitney U, [−1.3, −0.2], x-5"


def test_a_column_of_mean_and_std_has_one_number_style():
    # Table 5.1's test loss: "9.56 × 10⁻⁵ ± 8.93 × 10⁻⁵" beside "0.00010 ± 0.00011" and
    # "0.0002 ± 0.0001"; now every cell over its mean's power of ten
    cells = D.mean_std_column([0.0192, 8.76e-5, 2e-4, 0.0323], [0.005, 1.39e-5, 1e-4, None])
    assert cells == [
        "(1.92 ± 0.50) × 10⁻²",
        "(8.76 ± 1.39) × 10⁻⁵",
        "(2.00 ± 1.00) × 10⁻⁴",
        "3.23 × 10⁻²",  # one seed: no std
    ]
    for cell, mean in zip(cells, (0.0192, 8.76e-5, 2e-4, 0.0323)):
        body, _, power = cell.partition(" × ")
        assert D.read_number(f"{body.strip('()').split(' ± ')[0]} × {power}") == pytest.approx(
            mean, rel=5e-3
        )
    # losses whose smallest mean keeps two significant digits at four decimals stay plain
    assert D.mean_std_column([0.1781, 0.001], [0.0368, 0.0001]) == [
        "0.1781 ± 0.0368",
        "0.0010 ± 0.0001",
    ]
    # a std that four decimals would print as 0.0000 moves the column to the scaled style
    assert D.mean_std_column([0.0123, 0.5], [2e-5, 0.1]) == [
        "(1.230 ± 0.002) × 10⁻²",
        "(5.00 ± 1.00) × 10⁻¹",
    ]
    assert D.mean_std_column([math.nan], [0.1]) == [D.MISSING]
    with pytest.raises(ValueError, match="stds"):
        D.mean_std_column([1.0, 2.0], [0.1])


def test_a_percentage_has_one_style():
    # issue 25: "0.28%" beside "0.28 %", "98 %" beside "82%"; the book writes "82%"
    assert D.percent(0.82) == "82%" and D.percent(0.0028, 2) == "0.28%"
    assert D.percent(-0.05) == "−5%" and D.percent(math.nan) == D.MISSING
    assert " %" not in D.percent(1.0)
