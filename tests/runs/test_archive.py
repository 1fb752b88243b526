"""The run archive (qkan_lib.runs.archive): exported runs read back equal, every kind of damaged
file detected and named, stale runs named, archive-only builds never train."""

import gzip
import json
import lzma
import shutil

import pandas as pd
import pytest

import qkan_lib as ql
from qkan_lib.evidence.learned_spectra import edges_path, train_qkan_lstm_edges
from qkan_lib.runs import archive as A
from qkan_lib.runs import experiment as experiment_module
from qkan_lib.runs import run as run_module
from qkan_lib.runs.store import load_result

SHORT = {"epochs": 2}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Three short runs on Bessel (two share their data) and one learned-spectra run."""
    results = tmp_path_factory.mktemp("results")
    grid = ql.experiments_for("bessel", models=("lstm", "qkan_lstm"), seeds=(0,), epochs=2)
    grid += ql.experiments_for("damped_shm", models=("lstm",), seeds=(0,), epochs=2)
    ql.run_grid(grid, results, workers=1)
    edges = train_qkan_lstm_edges("bessel", 2, 1, results_dir=results, train_overrides=SHORT)
    return results, grid, edges.experiment


@pytest.fixture
def archive(trained, tmp_path):
    results, grid, edges_experiment = trained
    folder = tmp_path / "archive"
    manifest = A.export_archive(results, folder, provenance={"command": "test"})
    return folder, manifest, grid, edges_experiment


def no_training(*args, **kwargs):
    raise AssertionError("an archived run must be read, not trained")


def test_an_exported_archive_is_intact_and_shares_targets(archive):
    folder, manifest, grid, _ = archive
    assert A.verify_archive(folder) == []
    runs = [p for p in manifest["files"] if p.startswith("runs/")]
    targets = [p for p in manifest["files"] if p.startswith("targets/")]
    edges = [p for p in manifest["files"] if p.startswith("edges/")]
    assert len(runs) == 4 and len(edges) == 1
    assert len(targets) == 2  # Bessel's three runs share one file, Damped SHM has its own
    assert manifest["provenance"] == {"command": "test"}
    # pandas reads a run's history straight from the archive
    history = pd.DataFrame(json.loads(lzma.open(folder / runs[0]).read())["history"])
    assert {"epoch", "train_loss", "test_r2"} <= set(history.columns)


def test_archived_runs_read_back_equal_without_training(archive, trained, tmp_path, monkeypatch):
    folder, _, grid, edges_experiment = archive
    results, *_ = trained
    monkeypatch.setenv("QKAN_ARCHIVE", str(folder))
    monkeypatch.setattr(run_module, "train", no_training)
    monkeypatch.setattr(run_module, "run_seed_group", no_training)
    fresh = tmp_path / "fresh"
    read = ql.run_grid(grid, fresh, workers=1)
    for result in read:
        assert result == load_result(results / result.experiment.filename())
        stored = json.loads((results / result.experiment.filename()).read_text())
        assert json.loads((fresh / result.experiment.filename()).read_text()) == stored
    again = train_qkan_lstm_edges("bessel", 2, 1, results_dir=fresh, train_overrides=SHORT)
    assert again.experiment == edges_experiment
    assert edges_path(edges_experiment, fresh).read_bytes() == (
        edges_path(edges_experiment, results).read_bytes()
    )


def _run_file(folder):
    return sorted((folder / "runs").iterdir())[0]


@pytest.mark.parametrize("damage", ["corrupted", "truncated", "edited"])
def test_a_damaged_file_is_named_and_never_used(archive, tmp_path, monkeypatch, damage):
    folder, _, grid, _ = archive
    path = _run_file(folder)
    data = path.read_bytes()
    if damage == "corrupted":
        path.write_bytes(data[:40] + bytes([data[40] ^ 0xFF]) + data[41:])
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:  # a hand-edited number, written back as a valid xz file
        payload = json.loads(lzma.decompress(data))
        payload["history"][-1]["test_r2"] = 0.999
        path.write_bytes(lzma.compress(json.dumps(payload).encode()))
    problems = A.verify_archive(folder)
    assert len(problems) == 1 and problems[0].startswith(f"runs/{path.name}:")
    monkeypatch.setenv("QKAN_ARCHIVE", str(folder))
    victim = next(e for e in grid if f"{e.filename()}.xz" == path.name)
    with pytest.raises(A.ArchiveError, match=path.name):
        A.materialize(victim, tmp_path / "fresh")
    assert not (tmp_path / "fresh" / victim.filename()).exists()


def test_foreign_and_duplicated_files_are_named(archive):
    folder, manifest, _, _ = archive
    first = _run_file(folder)
    copy = first.with_name("bessel_lstm_L4_seed7_000000000000.json.xz")
    shutil.copyfile(first, copy)
    assert A.verify_archive(folder) == [f"runs/{copy.name}: foreign file, not in MANIFEST.json"]
    entry = dict(manifest["files"][f"runs/{first.name}"])
    manifest["files"][f"runs/{copy.name}"] = entry  # listed, but the same experiment twice
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    problems = A.verify_archive(folder)
    assert any(p.startswith(f"runs/{copy.name}: duplicate of runs/{first.name}") for p in problems)
    (folder / "targets" / "extra.json.gz").write_bytes(b"x")
    assert "targets/extra.json.gz: foreign file, not in MANIFEST.json" in A.verify_archive(folder)


def test_a_missing_file_is_named(archive):
    folder, *_ = archive
    path = _run_file(folder)
    path.unlink()
    assert A.verify_archive(folder) == [f"runs/{path.name}: missing (listed in MANIFEST.json)"]


def test_a_change_of_what_enters_the_fingerprint_makes_every_run_stale(archive, monkeypatch):
    folder, manifest, _, _ = archive
    monkeypatch.setattr(experiment_module, "RESULTS_VERSION", experiment_module.RESULTS_VERSION + 1)
    problems = A.verify_archive(folder, checksums=False)
    runs = sorted(p for p in manifest["files"] if p.startswith("runs/"))
    assert [p.split(":")[0] for p in problems] == runs
    assert all("stale" in p for p in problems)


def test_archive_only_mode_names_the_runs_it_would_have_to_train(archive, tmp_path, monkeypatch):
    folder, _, grid, _ = archive
    monkeypatch.setenv("QKAN_ARCHIVE", str(folder))
    monkeypatch.setenv("QKAN_NO_TRAINING", "1")
    assert len(ql.run_grid(grid, tmp_path / "ok", workers=1)) == len(grid)  # all archived
    extra = ql.experiments_for("bessel", models=("qlstm",), seeds=(0,), epochs=2)
    with pytest.raises(A.RunsMissing, match=extra[0].filename()) as missing:
        ql.run_grid(grid + extra, tmp_path / "partial", workers=1)
    assert missing.value.experiments == extra
    with pytest.raises(A.RunsMissing):
        ql.run_experiment(extra[0], tmp_path / "partial")


def test_a_predictions_policy_keeps_only_the_drawn_predictions_and_changes_nothing_else(
    trained, tmp_path
):
    results, grid, _ = trained
    drawn = next(e for e in grid if e.model == "lstm" and e.dataset == "bessel")
    folder = tmp_path / "archive"
    A.export_archive(results, folder, predictions=lambda e: (1,) if e == drawn else ())
    assert A.verify_archive(folder) == []
    unpacked = tmp_path / "unpacked"
    assert A.unpack_archive(folder, unpacked) == 4
    for experiment in grid:
        original = json.loads((results / experiment.filename()).read_text())
        read = json.loads((unpacked / experiment.filename()).read_text())
        assert original["predictions"].keys() == {"1"}  # two epochs: only epoch 1 recorded
        if experiment == drawn:
            assert read == original
        else:
            assert read.pop("predictions") == {} and read.pop("predictions_dropped") == [1]
            original.pop("predictions")
            assert read == original  # history, weights, fingerprint: all unchanged
    # exported again from the unpacked runs (as `archive export --from-archive` does): the same
    # bytes, and the dropped epochs stay named
    again = A.export_archive(unpacked, tmp_path / "again", predictions=lambda e: ())
    first = A.read_manifest(folder)["files"]
    changed = {p for p, entry in again["files"].items() if entry["sha256"] != first[p]["sha256"]}
    assert changed == {f"runs/{drawn.filename()}.xz"}
    trimmed = load_result(unpacked / grid[1].filename())
    with pytest.raises(ValueError, match=f"{grid[1].filename()}.*epoch 1.*not kept"):
        ql.plots.plot_predictions([trimmed], epochs=(1,))
    ql.plots.plot_predictions([load_result(unpacked / drawn.filename())], epochs=(1,))


def _as_gzip_archive(folder, manifest, fmt):
    """The same archive written as formats 1-2 wrote it: gzip, ``.gz`` names."""
    files = {}
    for relative, entry in manifest["files"].items():
        path = folder / relative
        if path.suffix != ".xz":
            files[relative] = entry
            continue
        data = gzip.compress(lzma.decompress(path.read_bytes()), mtime=0)
        path.unlink()
        gz = path.with_suffix(".gz")
        gz.write_bytes(data)
        files[f"{relative[:-3]}.gz"] = dict(entry, sha256=A.sha256(gz), bytes=len(data))
    (folder / "MANIFEST.json").write_text(json.dumps(dict(manifest, format=fmt, files=files)))


@pytest.mark.parametrize("fmt", [1, 2])
def test_a_manifest_is_compact_and_older_formats_still_read(archive, fmt):
    folder, manifest, grid, _ = archive
    text = (folder / "MANIFEST.json").read_text()
    assert json.loads(text) == json.loads(json.dumps(manifest))
    assert len(text.splitlines()) == len(manifest["files"]) + 2  # head, one line per file, end
    current = {e.filename(): A.Archive(folder).run_payload(e) for e in grid}
    _as_gzip_archive(folder, manifest, fmt)
    assert A.verify_archive(folder) == []
    older = A.Archive(folder)
    assert {e.filename(): older.run_payload(e) for e in grid} == current
    manifest = A.read_manifest(folder)
    (folder / "MANIFEST.json").write_text(json.dumps(dict(manifest, format=99)))
    with pytest.raises(A.ArchiveError, match="MANIFEST.json: not an archive manifest"):
        A.verify_archive(folder)


def test_the_command_exports_an_archive_again_from_an_archive(archive, tmp_path, capsys):
    from qkan_lib.__main__ import main

    folder, manifest, grid, _ = archive
    again = tmp_path / "again"
    assert main(["archive", "export", "--from-archive", str(folder), "--archive", str(again)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{again}: intact"
    rewritten = A.read_manifest(again)
    assert rewritten["provenance"] == manifest["provenance"]  # how the runs were made: kept
    assert {p: e.get("fingerprint") for p, e in rewritten["files"].items()} == {
        p: e.get("fingerprint") for p, e in manifest["files"].items()
    }
    # none of these short runs is drawn by a figure: their predictions are left out
    for experiment in grid:
        run = json.loads(lzma.decompress((again / f"runs/{experiment.filename()}.xz").read_bytes()))
        assert run["predictions"] == {} and run["predictions_dropped"] == [1]


def test_provenance_names_the_machine_in_general_words():
    machine = {"cpu": "AMD EPYC", "platform": "Linux-6.18.44-fc-v1252-x86_64-with-glibc2.36"}
    assert A.machine_words(machine) == "AMD EPYC, Linux x86-64"
    assert A.machine_words({"cpu": "Apple M2", "platform": "macOS-14.1-arm64-arm-64bit"}) == (
        "Apple M2, macOS arm64"
    )
    assert A.machine_words({}) == "unknown CPU"


def test_provenance_table_has_readable_labels(archive):
    folder, *_ = archive
    table = A.provenance_table(folder)
    assert "qkan_lib" not in table.index and "RESULTS_VERSION" not in table.index
    assert table.loc["checked now", "recorded"] == "intact"
    assert table.loc["runs", "recorded"] == "4" and table.index.name is None
    assert A.provenance_table(folder / "nowhere") is None


def test_regeneration_costs_count_each_archived_run_once_with_its_recorded_time(
    archive, tmp_path, monkeypatch
):
    from qkan_lib.evidence.book_runs import BookStep, regeneration_costs

    folder, manifest, grid, _ = archive
    monkeypatch.setenv("QKAN_ARCHIVE", str(folder))
    seconds = {e["fingerprint"]: e["wall_time_s"] for e in manifest["files"].values()
               if "fingerprint" in e}  # fmt: skip
    extra = ql.experiments_for("bessel", models=("qlstm",), seeds=(0,), epochs=2)
    steps = (
        BookStep("01", "first two", lambda d, *_: ql.run_grid(grid[:2], d, workers=1)),
        BookStep("02", "all three", lambda d, *_: ql.run_grid(grid, d, workers=1)),
        BookStep("03", "one missing", lambda d, *_: ql.run_grid(grid + extra, d, workers=1)),
    )
    monkeypatch.setattr(run_module, "run_experiment", no_training)
    rows = regeneration_costs(steps=steps)
    assert [r["runs"] for r in rows] == [2, 1, 0]  # a run read again counts in its first step
    assert [r["complete"] for r in rows] == [True, True, False]
    assert rows[0]["training_s"] == pytest.approx(sum(seconds[e.fingerprint()] for e in grid[:2]))
    assert rows[1]["training_s"] == pytest.approx(seconds[grid[2].fingerprint()])


def test_collect_book_runs_keeps_exactly_what_the_steps_read(
    archive, trained, tmp_path, monkeypatch
):
    from qkan_lib.evidence.book_runs import BookStep, chapter_costs, collect_book_runs

    folder, _, grid, edges_experiment = archive
    results, *_ = trained
    extra = ql.experiments_for("bessel", models=("qlstm",), seeds=(0,), epochs=2)
    steps = (
        BookStep("01", "two", lambda d, *_: ql.run_grid(grid[:2], d, workers=1)),
        BookStep("02", "stops", lambda d, *_: ql.run_grid([grid[2], *extra], d, workers=1)),
    )
    monkeypatch.setattr(run_module, "run_experiment", no_training)
    monkeypatch.setenv("QKAN_ARCHIVE", "")  # from the results folder alone
    kept = collect_book_runs(results, tmp_path / "a", steps=steps)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert kept == 3 and names == sorted(e.filename() for e in grid)  # the stray edges run left out
    monkeypatch.setenv("QKAN_ARCHIVE", str(folder))  # from the archive alone
    empty = tmp_path / "empty"
    empty.mkdir()
    reads = {}
    assert collect_book_runs(empty, tmp_path / "b", steps=steps, chapter_reads=reads) == 3
    assert not (tmp_path / "b" / edges_experiment.filename()).exists()
    # per chapter: the runs it read (found or missing) and the recorded training time of those
    # gathered; a chapter stopped by a missing run counts the runs it reached
    assert reads["01"] == {e.fingerprint() for e in grid[:2]}
    assert grid[2].fingerprint() in reads["02"]
    costs = chapter_costs(tmp_path / "b", reads)
    recorded = {e.fingerprint(): load_result(results / e.filename()).wall_time_s for e in grid}
    assert costs["01"] == {"runs": 2, "training_s": round(sum(recorded[e.fingerprint()]
                                                              for e in grid[:2]), 1)}  # fmt: skip
    assert costs["02"]["runs"] == 1


def test_collect_book_runs_keeps_the_archived_version_of_a_run(
    archive, trained, tmp_path, monkeypatch
):
    from qkan_lib.evidence.book_runs import BookStep, collect_book_runs

    folder, _, grid, _ = archive
    results, *_ = trained
    local = tmp_path / "local"
    local.mkdir()
    payload = json.loads((results / grid[0].filename()).read_text())
    payload["wall_time_s"] = 12345.0  # the same run, another copy
    (local / grid[0].filename()).write_text(json.dumps(payload))
    monkeypatch.setenv("QKAN_ARCHIVE", str(folder))
    monkeypatch.setattr(run_module, "run_experiment", no_training)
    steps = (BookStep("01", "one", lambda d, *_: ql.run_grid(grid[:1], d, workers=1)),)
    assert collect_book_runs(local, tmp_path / "out", steps=steps) == 1
    kept = json.loads((tmp_path / "out" / grid[0].filename()).read_text())
    assert kept["wall_time_s"] != 12345.0
