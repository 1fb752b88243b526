"""qkan_lib.evidence.reductions: the reduction arithmetic against brute force, and its findings."""

import itertools
from pathlib import Path

import pytest

from qkan_lib.evidence.reductions import (
    CLAIMS,
    PARTS,
    POOLED,
    ReductionClaim,
    baseline_size_needed,
    claim,
    claim_report,
    claim_table,
    describe_larger,
    describe_reduction,
    every_reduction,
    explain_claim,
    larger_than_baseline,
    largest_possible_reduction,
    matches,
    nearest,
    parameter_counts,
    printed_interval,
    reduction_table,
    reductions,
    scoped_reductions,
)
from qkan_lib.paper import TABLE_I

# verbatim excerpts of the paper (its headings and the claims' sentences), shipped with the tests
EXCERPTS = Path(__file__).parent / "paper_excerpts.txt"
# the full text, where a clone has shared/paper/ beside (or, for a worktree, above) it
PAPER_TEXT = next(
    (
        folder / "shared" / "paper" / "qkan-lstm-paper.txt"
        for folder in Path(__file__).resolve().parents
        if (folder / "shared" / "paper" / "qkan-lstm-paper.txt").exists()
    ),
    None,
)
# where each claim sits: (heading it follows, heading that ends that part)
SECTIONS = {
    "abstract": ("Abstract", "I Introduction"),
    "contribution": ("I Introduction", "II Related Work"),
    "urban_quantum": ("IV-C Result Analysis", "V Conclusion"),
}


def excerpt_lines():
    lines = EXCERPTS.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if not line.startswith("#")]


def entries(table):
    """Every (dataset, model, part, count) of a Table-I-shaped dict, brute force."""
    return [
        (d, m, p, n)
        for (d, m), counts in table.items()
        for p, n in zip(PARTS, counts)
        if n is not None
    ]


def test_printed_interval():
    assert printed_interval("79%") == pytest.approx((0.785, 0.795))
    assert printed_interval("99.5%") == pytest.approx((0.9945, 0.9955))
    assert printed_interval("50–70%") == pytest.approx((0.495, 0.705))
    assert printed_interval("50-70 %") == pytest.approx((0.495, 0.705))
    for bad in ("79", "about 79%", "70–50%"):
        with pytest.raises(ValueError, match="printed"):
            printed_interval(bad)


def test_claims_are_the_papers_sentences():
    lines = excerpt_lines()
    assert set(SECTIONS) == {c.key for c in CLAIMS}
    for c in CLAIMS:
        start, end = SECTIONS[c.key]
        part = " ".join(lines[lines.index(start) + 1 : lines.index(end)])
        assert c.printed.replace(" ", "") in part.replace(" ", ""), c.key
    assert "Abstract" in claim("abstract").location
    assert "Introduction" in claim("contribution").location
    assert "IV-C" in claim("urban_quantum").location


def test_the_excerpts_are_verbatim_from_the_paper():
    if PAPER_TEXT is None:
        pytest.skip("the full paper text (shared/paper/) is not beside this clone")
    paper = PAPER_TEXT.read_text(encoding="utf-8")
    for line in excerpt_lines():
        assert line in paper, line


def test_like_for_like_reductions_equal_brute_force():
    frame = reductions()
    expected = {}
    for (d1, m1, p1, n1), (d2, m2, p2, n2) in itertools.product(entries(TABLE_I), repeat=2):
        if d1 == d2 and p1 == p2 and m1 in ("qkan_lstm", "hqkan_lstm") and m2 in ("lstm", "qlstm"):
            expected[(d1, m1, m2, p1)] = 1 - n1 / n2
    got = {
        (r.dataset_ours, r.model_ours, r.model_theirs, r.part_ours): r.reduction
        for r in frame.itertuples()
    }
    assert got.keys() == expected.keys()
    assert all(got[k] == pytest.approx(v, abs=1e-15) for k, v in expected.items())
    assert frame["like_for_like"].all()


def test_widest_search_covers_every_pair_of_entries():
    widest = every_reduction()
    single = widest[widest["dataset_ours"] != POOLED]
    all_entries = entries(TABLE_I)
    n_pairs = sum(
        1 for a, b in itertools.product(all_entries, repeat=2) if a[1] != b[1] and b[3] > 0
    )
    assert len(single) == n_pairs
    assert (widest["dataset_ours"] == POOLED).sum() > 0
    pooled = parameter_counts(pooled=True)
    lstm_total = pooled[
        (pooled["dataset"] == POOLED) & (pooled["model"] == "lstm") & (pooled["part"] == "total")
    ]["count"].item()
    assert lstm_total == sum(TABLE_I[(d, "lstm")][2] for d in ("damped_shm", "bessel", "urban"))
    assert not (
        (pooled["dataset"] == POOLED) & (pooled["part"] == "quantum") & (pooled["model"] == "lstm")
    ).any()  # LSTM has no quantum part to sum


def test_abstract_claim_is_one_of_three_datasets():
    scoped = scoped_reductions(claim("abstract"))
    assert len(scoped) == 3 and scoped["consistent"].sum() == 1
    hit = scoped[scoped["consistent"]].iloc[0]
    assert (hit.dataset_ours, hit.model_ours, hit.part_ours) == ("urban", "qkan_lstm", "total")
    like = matches(reductions(), "79%")
    assert len(like) == 1 and like.iloc[0].reduction == pytest.approx(1 - 58 / 277)


def test_contribution_claim_cannot_come_from_table_one():
    ceiling = largest_possible_reduction()
    counts = [n for *_, n in entries(TABLE_I)]
    assert ceiling == pytest.approx(1 - min(c for c in counts if c > 0) / max(counts))
    assert ceiling < printed_interval(claim("contribution").printed)[0]
    assert matches(every_reduction(), "99.5%").empty
    assert (every_reduction()["reduction"] <= ceiling + 1e-15).all()
    report = claim_report().set_index("claim")
    assert not report.loc["contribution", "reachable"]
    assert report.loc["abstract", "reachable"] and report.loc["abstract", "named_consistent"] == 1
    near = nearest(every_reduction(), "99.5%", k=1).iloc[0]
    assert near.gap > 0 and near.reduction == pytest.approx(ceiling)
    low, high = baseline_size_needed(58, "99.5%")
    assert 1 - 58 / low == pytest.approx(0.9945) and 1 - 58 / high == pytest.approx(0.9955)


def test_a_reachable_claim_is_found_in_a_made_up_table():
    table = {("x", "lstm"): (1000, None, 1000), ("x", "qkan_lstm"): (2, 3, 5)}
    made_up = ReductionClaim("t", "99.5%", "nowhere", ("qkan_lstm",), ("lstm",), ("total",))
    report = claim_report(table, [made_up]).iloc[0]
    assert report["reachable"] and report["named_consistent"] == 1
    assert report["consistent_with"] == "QKAN-LSTM vs LSTM, total parameters, x"


def test_larger_than_baseline():
    larger = larger_than_baseline()
    assert (larger["count_ours"] > larger["count_theirs"]).all()
    brute = [
        (d, m, b, p)
        for (d, m, p, n), (d2, b, p2, n2) in itertools.product(entries(TABLE_I), repeat=2)
        if d == d2
        and p == p2
        and m in ("qkan_lstm", "hqkan_lstm")
        and b in ("lstm", "qlstm")
        and n > n2
    ]
    got = [(r.dataset_ours, r.model_ours, r.model_theirs, r.part_ours) for r in larger.itertuples()]
    assert sorted(got) == sorted(brute)
    # the Damped SHM QKAN-LSTM is larger than QLSTM in total
    assert ("damped_shm", "qkan_lstm", "qlstm", "total") in got


def test_bad_tables_and_models_are_named():
    with pytest.raises(ValueError, match="unknown model"):
        reductions(ours=("gru",))
    with pytest.raises(ValueError, match="count"):
        parameter_counts({("x", "lstm"): (1.5, None, 2)})
    with pytest.raises(ValueError, match="keys"):
        parameter_counts({"lstm": (1, None, 1)})
    with pytest.raises(ValueError, match="unknown claim"):
        claim("conclusion")
    with pytest.raises(ValueError, match="count"):
        baseline_size_needed(0, "79%")


def test_describe_reduction_says_the_arithmetic():
    row = (
        reductions()
        .query(
            "dataset_ours == 'urban' and model_ours == 'qkan_lstm' and "
            "model_theirs == 'lstm' and part_ours == 'total'"
        )
        .iloc[0]
    )
    assert describe_reduction(row) == (
        "QKAN-LSTM against LSTM, total parameters, Urban "
        "Telecommunication (58 / 277: a 79.1% reduction)"
    )
    larger = larger_than_baseline().iloc[0]
    assert describe_reduction(larger).endswith("larger)")


def test_reduction_table_holds_every_like_for_like_reduction():
    frame = reductions()
    table = reduction_table(frame)
    filled = (table != "").to_numpy().sum()
    assert filled == int(frame["like_for_like"].sum())
    assert list(table.columns) == ["vs LSTM", "vs QLSTM"]
    # the LSTM has no quantum parameters: those cells stay empty
    assert table.loc[("Damped SHM, QKAN-LSTM", "quantum"), "vs LSTM"] == ""
    assert table.loc[("Damped SHM, QKAN-LSTM", "total"), "vs QLSTM"] == "1.5× (117/78)"
    assert table.loc[("Urban, QKAN-LSTM", "total"), "vs LSTM"] == "79.1% (58/277)"
    assert "×" not in " ".join(table["vs LSTM"])
    # parts in their natural order within each model
    assert [i[1] for i in table.index[:3]] == ["classical", "quantum", "total"]


def test_claim_table_and_sentences_follow_the_report():
    table = claim_table()
    assert list(table.index) == [c.printed for c in CLAIMS]
    assert table.loc["99.5%", "reachable"].startswith("no (at most 98.2%")
    assert table.loc["79%", "named comparisons"] == "1 of 3"
    abstract = explain_claim(claim("abstract"))
    assert abstract.startswith("79% is QKAN-LSTM against LSTM, total parameters, Urban")
    assert "Damped SHM (117 / 166: a 29.5% reduction)" in abstract
    contribution = explain_claim(claim("contribution"))
    assert contribution.startswith("99.5% cannot come from Table I")
    assert "98.2%" in contribution
    # a claim inside reach that no named comparison gives: the nearest pair is named
    made_up = ReductionClaim(
        "x", "40%", "nowhere", ours=("qkan_lstm",), theirs=("lstm",), parts=("total",)
    )
    assert explain_claim(made_up).startswith("None of the comparisons the sentence names")


def test_describe_larger_names_every_larger_comparison():
    text = describe_larger()
    assert text.startswith("No quantum-inspired model is larger than the LSTM of its dataset")
    larger = larger_than_baseline()
    assert f"larger in {len(larger)} of the " in text
    assert "every classical count" in text
    for row in larger[larger["part_ours"] != "classical"].itertuples():
        assert describe_reduction(row) in text
    # a made-up table where a model is larger than the LSTM says so
    made_up = {("a", "lstm"): (10, None, 10), ("a", "qkan_lstm"): (20, 4, 24)}
    assert describe_larger(made_up).startswith(
        "Against LSTM, a quantum-inspired model is larger in 2 of the 2 comparisons"
    )
