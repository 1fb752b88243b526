"""The book's plan of runs (qkan_lib.evidence.book_runs) and time budgets: the plan names what
is missing without training, a budget stops starting runs, and a second call resumes."""

import pytest

import qkan_lib as ql
from qkan_lib.__main__ import main
from qkan_lib.evidence import book_runs
from qkan_lib.runs.run import BudgetSpent, time_budget


def test_the_plan_trains_nothing_and_names_each_chapters_missing_runs(tmp_path, capsys):
    assert main(["book", "--plan", "--quick", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # chapter 5's first grid: 4 models x 3 seeds of the quick Damped SHM protocol
    assert "chapter 05 Damped SHM: Table II and learning-rate tuning: 12 run(s) to train" in out
    lines = out.splitlines()[1:]
    assert len(lines) == len(book_runs.BOOK_STEPS)
    for line, step in zip(lines, book_runs.BOOK_STEPS):
        assert line.strip().startswith(f"chapter {step.chapter} {step.title}: ")
    assert not list(tmp_path.glob("*.json"))


def test_a_spent_budget_starts_no_run_and_a_second_call_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("QKAN_WORKERS", "1")
    grid = ql.experiments_for("bessel", models=("lstm", "qkan_lstm"), seeds=(0, 1), epochs=1)
    with time_budget(0), pytest.raises(BudgetSpent) as spent:
        ql.run_grid(grid, tmp_path)
    assert spent.value.left == grid and not list(tmp_path.glob("*.json"))
    with time_budget(3600):
        first = ql.run_grid(grid[:2], tmp_path)
    results = ql.run_grid(grid, tmp_path)  # resumes: the first two are read, not retrained
    assert results[:2] == first and len(list(tmp_path.glob("*.json"))) == 4
    assert not book_runs.run_book(False, tmp_path / "book", budget_s=0, log=lambda _: None)


def test_the_command_refuses_a_budget_that_is_not_positive(tmp_path):
    with pytest.raises(SystemExit):
        main(["book", "--budget", "0", "--results-dir", str(tmp_path)])


def test_the_archive_keeps_the_predictions_of_figure_3_only():
    policy = book_runs.plotted_predictions(full=True, seed=0)
    kept = {}
    for dataset in ("damped_shm", "bessel", "urban"):
        for e in ql.experiments_for(dataset, full=True):
            if policy(e):
                kept[(e.dataset, e.model, e.train.seed)] = policy(e)
    assert set(kept) == {(d, m, 0) for d in ("damped_shm", "bessel") for m in ql.MODELS}
    assert set(kept.values()) == {ql.paper.R2_EPOCHS}
