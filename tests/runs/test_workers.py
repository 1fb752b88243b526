"""An experiment grid in parallel worker processes through Dask (qkan_lib.runs.workers)."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import qkan_lib as ql
from qkan_lib.runs import run as run_path
from qkan_lib.runs import workers as parallel_grid


def _grid(models, seeds, epochs):
    return ql.experiments_for("bessel", models=models, seeds=seeds, epochs=epochs, device="cpu")


def _jobs(grid):
    return run_path.plan_jobs(grid, batch_seeds=True)


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv(parallel_grid.SCHEDULER_ENV, raising=False)
    monkeypatch.delenv(parallel_grid.WORKERS_ENV, raising=False)
    return monkeypatch


def test_small_grids_stay_serial_big_ones_use_every_core(clean_env):
    clean_env.setattr(parallel_grid, "available_cores", lambda: 2)
    small = _grid(("lstm", "qkan_lstm"), (0, 1), epochs=2)
    assert parallel_grid.choose_workers(_jobs(small)) == (1, None)
    big = ql.protocol("bessel", full=True).experiments(device="cpu")  # the full protocol
    assert parallel_grid.grid_work(big) >= parallel_grid.PARALLEL_MIN_WORK
    assert parallel_grid.choose_workers(_jobs(big)) == (2, None)
    clean_env.setattr(parallel_grid, "available_cores", lambda: 1)
    assert parallel_grid.choose_workers(_jobs(big)) == (1, None)
    clean_env.setattr(parallel_grid, "available_cores", lambda: 64)  # never more workers than jobs
    assert parallel_grid.choose_workers(_jobs(big)) == (len(_jobs(big)), None)
    assert parallel_grid.choose_workers(_jobs(big)[:1]) == (1, None)


def test_explicit_settings_win_and_bad_ones_are_named(clean_env):
    jobs = _jobs(_grid(("lstm",), (0,), epochs=1))
    assert parallel_grid.choose_workers(jobs, workers=3) == (3, None)
    assert parallel_grid.choose_workers(jobs, scheduler="tcp://h:8786") == (0, "tcp://h:8786")
    clean_env.setenv(parallel_grid.WORKERS_ENV, "2")
    assert parallel_grid.choose_workers(jobs) == (2, None)
    assert parallel_grid.choose_workers(jobs, workers=1) == (1, None)  # the argument wins
    clean_env.setenv(parallel_grid.SCHEDULER_ENV, "tcp://cluster:8786")
    assert parallel_grid.choose_workers(jobs) == (0, "tcp://cluster:8786")
    assert parallel_grid.choose_workers(jobs, workers=4) == (4, None)
    clean_env.delenv(parallel_grid.SCHEDULER_ENV)
    for text in ("two", "0", "-1"):
        clean_env.setenv(parallel_grid.WORKERS_ENV, text)
        with pytest.raises(ValueError, match="QKAN_WORKERS"):
            parallel_grid.choose_workers(jobs)
    clean_env.delenv(parallel_grid.WORKERS_ENV)
    with pytest.raises(ValueError, match="workers"):
        parallel_grid.choose_workers(jobs, workers=0)


def test_command_line_passes_workers_and_scheduler_on(tmp_path, clean_env, monkeypatch, capsys):
    import qkan_lib.__main__ as cli

    seen = {}

    def fake_run_grid(grid, results_dir, force, workers=None, scheduler=None):
        seen.update(workers=workers, scheduler=scheduler)
        return ql.run_grid(grid, results_dir, force, workers=1)

    monkeypatch.setattr(cli, "run_grid", fake_run_grid)
    args = [
        "--datasets",
        "bessel",
        "--models",
        "lstm",
        "--seeds",
        "0",
        "--epochs",
        "1",
        "--results-dir",
        str(tmp_path),
    ]
    assert cli.main(args + ["--workers", "3"]) == 0
    assert seen == {"workers": 3, "scheduler": None}
    assert cli.main(args + ["--scheduler", "tcp://10.0.0.5:8786"]) == 0
    assert seen == {"workers": None, "scheduler": "tcp://10.0.0.5:8786"}
    for bad in ("0", "two"):
        with pytest.raises(SystemExit):
            cli.main(args + ["--workers", bad])
        assert "--workers: expected an integer >= 1" in capsys.readouterr().err


def _assert_same_runs(got, expected):
    assert [r.experiment for r in got] == [r.experiment for r in expected]
    for a, b in zip(got, expected):
        assert a.seed_batched == b.seed_batched
        assert len(a.history) == len(b.history)
        for row_a, row_b in zip(a.history, b.history):
            assert row_a.keys() == row_b.keys()
            for key in row_a:
                np.testing.assert_allclose(
                    row_a[key], row_b[key], rtol=1e-9, atol=1e-12, err_msg=key
                )
        for epoch in b.predictions:
            for split in b.predictions[epoch]:
                np.testing.assert_allclose(
                    a.predictions[epoch][split], b.predictions[epoch][split], rtol=1e-9, atol=1e-12
                )


@pytest.mark.slow
def test_two_local_workers_equal_the_serial_run(tmp_path, clean_env):
    # lstm alone (not seed-batched), qkan_lstm and qlstm as seed groups: qlstm trains through
    # the Numba circuit kernel (cache=True), so this also runs compiled kernels in the workers.
    grid = _grid(("lstm", "qkan_lstm", "qlstm"), (0, 1), epochs=2)
    serial = ql.run_grid(grid, tmp_path / "serial", workers=1)
    parallel = ql.run_grid(grid, tmp_path / "parallel", workers=2)
    _assert_same_runs(parallel, serial)  # in the order of the experiments
    assert sorted(p.name for p in (tmp_path / "parallel").iterdir()) == sorted(
        e.filename() for e in grid
    )


def _executing(dask_worker):
    return [str(key) for key in dask_worker.state.executing]


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_only_its_run(tmp_path, clean_env):
    from distributed import Client

    grid = _grid(("lstm",), (0, 1, 2, 3), epochs=15)  # four single runs of a few seconds each
    with parallel_grid.local_cluster(2) as cluster, Client(cluster) as client:
        outcome = {}

        def run():
            try:
                outcome["results"] = ql.run_grid(
                    grid, tmp_path, scheduler=cluster.scheduler_address
                )
            except BaseException as exc:  # reported by the assertions below
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        deadline, victim = time.monotonic() + 120, None
        while victim is None and time.monotonic() < deadline and thread.is_alive():
            busy = {addr: keys for addr, keys in client.run(_executing).items() if keys}
            if busy:
                victim, keys = next(iter(busy.items()))
            else:
                time.sleep(0.05)
        assert victim is not None, "no job ever started executing"
        unfinished_before = {e.filename() for e in grid if not (tmp_path / e.filename()).exists()}
        pid = client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=300)
        assert not thread.is_alive(), "the grid did not finish after a worker was killed"
        assert "error" not in outcome, outcome.get("error")
    assert unfinished_before, "the kill came after every run had finished"
    assert not list(tmp_path.glob("*.tmp")), "a half-written result file was left behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(e.filename() for e in grid)
    results = outcome["results"]
    assert [r.experiment for r in results] == grid
    assert all(len(r.history) == 15 for r in results)

    def no_training(*args, **kwargs):
        raise AssertionError("a finished grid must be loaded, not retrained")

    clean_env.setattr(run_path, "train", no_training)
    clean_env.setattr(run_path, "run_seed_group", no_training)
    assert ql.run_grid(grid, tmp_path, workers=1) == results
