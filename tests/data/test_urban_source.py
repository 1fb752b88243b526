"""The Urban data source is recorded portably: a stand-in as "$QKAN_CACHE/<name>", so the same
experiment has the same fingerprint on every machine and no home folder is recorded."""

import json

import qkan_lib as ql
from qkan_lib.data.urban import milan_source, portable_source, resolve_source, stand_in_dir
from qkan_lib.runs import archive as A


def test_a_stand_in_is_recorded_by_its_cache_name_and_found_again(tmp_path, monkeypatch):
    monkeypatch.setenv("QKAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("QKAN_MILAN_DIR", raising=False)
    experiment = ql.protocol("urban").experiments(["lstm"], seeds=[0])[0]
    recorded = dict(experiment.data_options)["milan_dir"]
    assert recorded == "$QKAN_CACHE/milan_stand_in_14d_seed0"
    assert str(tmp_path) not in json.dumps(experiment.to_dict())
    # another machine (another cache folder) records and finds the same source
    monkeypatch.setenv("QKAN_CACHE", str(tmp_path / "elsewhere"))
    again = ql.protocol("urban").experiments(["lstm"], seeds=[0])[0]
    assert again.fingerprint() == experiment.fingerprint()
    assert resolve_source(recorded) == stand_in_dir(14)  # written there on first use
    assert milan_source(recorded, 14) == (stand_in_dir(14), True)
    outside = tmp_path / "milan"
    assert portable_source(outside) == str(outside)  # real data keep their own path


def test_export_records_an_absolute_stand_in_path_portably(tmp_path, monkeypatch):
    monkeypatch.setenv("QKAN_CACHE", str(tmp_path / "cache"))
    experiment = ql.protocol("urban").experiments(["lstm"], seeds=[0], epochs=1)[0]
    absolute = dict(experiment.data_options, milan_dir=str(stand_in_dir(14)))
    old = experiment.__class__(
        experiment.model, experiment.dataset, experiment.seq_len, experiment.train,
        tuple(sorted(absolute.items())), experiment.model_options,
    )  # fmt: skip
    assert old.fingerprint() != experiment.fingerprint()
    results = tmp_path / "results"
    ql.run_experiment(old, results)
    manifest = A.export_archive(results, tmp_path / "archive")
    (name,) = [n for n in manifest["files"] if n.startswith("runs/")]
    assert name == f"runs/{experiment.filename()}.xz"
    assert A.verify_archive(tmp_path / "archive") == []
