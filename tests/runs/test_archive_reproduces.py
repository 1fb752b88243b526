"""The committed run archive (archive/full) is intact, current, and reproducible: a fixed
sample of its runs, one per (model, dataset, batch size), is retrained from scratch here and
compared with the archive.

Bitwise where this machine matches the one that made the run (same CPU model and torch: the
training loop is deterministic on one thread); otherwise within a relative 1e-6 on every
recorded metric, because another CPU's BLAS kernels may sum in another order.
"""

import json
import math
from pathlib import Path

import pytest

from qkan_lib.runs import archive as A
from qkan_lib.runs.experiment import Experiment
from qkan_lib.runs.run import run_experiment
from qkan_lib.utils import environment_info

ARCHIVE = Path(__file__).resolve().parents[2] / "archive" / "full"
BUDGET_S = 150  # stored training time of the sample (CI's share for this test: a few minutes)

needs_archive = pytest.mark.skipif(
    not (ARCHIVE / A.MANIFEST).exists(), reason="no committed run archive (archive/full)"
)


def sample(manifest: dict) -> list[tuple[str, dict]]:
    """The cheapest run of each (model, dataset, batch size, on a device model or not), cheapest
    groups first, within BUDGET_S of stored training time (at least one run)."""
    best: dict = {}
    for name, entry in manifest["files"].items():
        if "experiment" not in entry:
            continue
        e = entry["experiment"]
        # a run on a device model (shots, parameter-shift gradients) is a group of its own
        on_device = e["train"].get("noise_device") is not None
        key = (e["model"], e["dataset"], e["train"]["batch_size"], on_device)
        if key not in best or entry["wall_time_s"] < best[key][1]["wall_time_s"]:
            best[key] = (name, entry)
    chosen, spent = [], 0.0
    for name, entry in sorted(best.values(), key=lambda item: item[1]["wall_time_s"]):
        if chosen and spent + entry["wall_time_s"] > BUDGET_S:
            continue
        chosen.append((name, entry))
        spent += entry["wall_time_s"]
    return chosen


@needs_archive
def test_the_archive_is_intact_and_current():
    assert A.verify_archive(ARCHIVE) == []


@needs_archive
@pytest.mark.slow
def test_a_sample_of_archived_runs_retrains_to_the_archive(tmp_path, monkeypatch):
    manifest = A.read_manifest(ARCHIVE)
    chosen = sample(manifest)
    families = {(e["experiment"]["model"], e["experiment"]["dataset"]) for _, e in chosen}
    assert len(families) >= 4, f"the sample covers too few (model, dataset) pairs: {families}"
    archive = A.Archive(ARCHIVE)
    here = environment_info()
    mismatches = []
    for name, entry in chosen:
        experiment = Experiment.from_dict(entry["experiment"])
        stored = archive.run_payload(experiment)
        same_machine = all(stored["environment"].get(k) == here[k] for k in ("cpu", "torch"))
        fresh = json.loads(json.dumps(run_experiment(experiment, tmp_path, force=True).to_json()))
        for old, new in zip(stored["history"], fresh["history"], strict=True):
            for metric, value in old.items():
                if same_machine:
                    ok = new[metric] == value or (math.isnan(value) and math.isnan(new[metric]))
                else:
                    ok = math.isclose(new[metric], value, rel_tol=1e-6, abs_tol=1e-12)
                if not ok:
                    where = f"{name} epoch {old['epoch']} {metric}"
                    mismatches.append(f"{where}: {value} vs {new[metric]}")
        for metric, value in (stored.get("device_metrics") or {}).items():
            new = fresh["device_metrics"][metric]
            if not (new == value if same_machine else math.isclose(new, value, rel_tol=1e-6)):
                mismatches.append(f"{name} {metric}: {value} vs {new}")
        if same_machine and fresh["final_state"] != stored["final_state"]:
            mismatches.append(f"{name}: final weights differ")
    assert not mismatches, mismatches[:10]
