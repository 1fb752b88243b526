"""The run archive: finished runs kept in the repository, verified before use, read by every build.

A results folder (:mod:`qkan_lib.runs.store`) is a cache: a file is trusted because this
machine wrote it. An archive travels: it is committed, cloned and read elsewhere, so each file
is checked against a manifest of SHA-256 checksums before a single number is read from it.

Layout of an archive folder (``archive/full`` for the paper's full protocol):

* ``runs/<result file name>.xz``: one run, the JSON of a :class:`~qkan_lib.runs.store.RunResult`
  xz-compressed, with ``targets`` replaced by ``{"$ref": "<sha256>"}``: the targets of a split
  depend on the data only, so every run on the same data shares one file.
* ``targets/<sha256>.json.xz``: ``{split: [target values]}``, shared by the runs that name it.
* ``edges/<result file stem>.edges.pt``: the trained edges of a learned-spectra run
  (:mod:`qkan_lib.evidence.learned_spectra`), a ``torch.save`` payload.
* ``MANIFEST.json``: ``files`` maps every path above to its ``sha256`` and ``bytes`` (runs also
  to their ``fingerprint`` and ``experiment``), and ``provenance`` says how the archive was
  made (command, library version, ``RESULTS_VERSION``, machine, CPU time). Written compactly,
  one file per line.

Predictions (format 2): a run keeps its recorded predictions only where a figure draws them
(``predictions`` of :func:`export_archive`; for the book,
:func:`qkan_lib.evidence.book_runs.plotted_predictions`): the other runs are stored with
``predictions`` holding only the epochs kept (mostly none), and ``predictions_dropped`` listing
the recorded epochs left out. Histories, metrics and final weights are always kept whole, and
nothing that enters a fingerprint changes. Format 1 archives (every prediction kept) are read
as before.

Compression (format 3): xz (LZMA2 with a 1 MiB dictionary: every run is far smaller) keeps the
archive 16 % smaller than gzip did (formats 1 and 2, ``.gz``, still read); the bytes are the same
for the same payload, so checksums are stable. Pandas reads a run's history as
``pd.DataFrame(json.load(lzma.open(path))["history"])``.

Verification (:func:`verify_archive`) names every problem: a file missing, a file the manifest
does not list (foreign), a checksum that differs (corrupted, truncated or hand-edited), two
files of one experiment (duplicated), and a run whose fingerprint no longer matches its
experiment under this library (stale: something that enters the fingerprint changed, e.g.
``RESULTS_VERSION``). :func:`materialize` copies a verified run into a results folder, where
the rest of the library reads it like any finished run; a file that fails verification is never
used (the run is trained instead, or :class:`ArchiveError` is raised in archive-only mode).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import lzma
import os
import shutil
from collections.abc import Callable, Collection, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import pandas as pd

from ..data.urban import portable_source, resolve_source
from .experiment import RESULTS_VERSION, Experiment, PathLike
from .store import atomic_write, write_json_atomic

ARCHIVE_ENV = "QKAN_ARCHIVE"  # the archive folder to read (default: archive/full in a checkout)
NO_TRAINING_ENV = "QKAN_NO_TRAINING"  # "1": a missing run is an error, never trained
MANIFEST = "MANIFEST.json"
ARCHIVE_FORMAT = 3
# 1: every recorded prediction kept; 2: only those a figure draws; 3: as 2, xz in place of gzip
READABLE_FORMATS = (1, 2, 3)
COMPRESSION = {1: ".gz", 2: ".gz", 3: ".xz"}  # the suffix of run and target files, per format
# a 1 MiB dictionary: a run is at most tens of kB, and the default's 8 MiB only costs memory
_XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": 1 << 20}]
EDGES_SUFFIX = ".edges.pt"


class ArchiveError(ValueError):
    """An archive file that cannot be trusted, or a run that archive-only mode cannot find."""


class RunsMissing(ArchiveError):
    """Runs that archive-only mode (``$QKAN_NO_TRAINING=1``) would have had to train."""

    def __init__(self, experiments: Iterable[Experiment]):
        self.experiments = list(experiments)
        names = [e.filename() for e in self.experiments]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        super().__init__(
            f"{len(names)} {'run is' if len(names) == 1 else 'runs are'} neither in the results "
            "folder nor in the archive, and "
            f"${NO_TRAINING_ENV}=1 forbids training: {shown}"
        )


def sha256(path: PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_archive_dir() -> Path | None:
    """``$QKAN_ARCHIVE``, else ``archive/full`` beside the ``qkan_lib`` package of a checkout,
    else None ("" in the variable switches the archive off)."""
    if ARCHIVE_ENV in os.environ:
        value = os.environ[ARCHIVE_ENV]
        return Path(value) if value else None
    candidate = Path(__file__).resolve().parents[2] / "archive" / "full"
    return candidate if (candidate / MANIFEST).exists() else None


_NO_TRAINING: ContextVar[bool | None] = ContextVar("qkan_no_training", default=None)


@contextmanager
def no_training():
    """Within this block a run that is neither stored nor archived raises :class:`RunsMissing`
    (as ``$QKAN_NO_TRAINING=1`` does): for builds that must read, never train."""
    token = _NO_TRAINING.set(True)
    try:
        yield
    finally:
        _NO_TRAINING.reset(token)


@contextmanager
def training_allowed():
    """Within this block runs may be trained even where ``$QKAN_NO_TRAINING=1`` forbids it: for
    a labelled quick-protocol fallback inside a build that otherwise only reads."""
    token = _NO_TRAINING.set(False)
    try:
        yield
    finally:
        _NO_TRAINING.reset(token)


_READS: ContextVar[set | None] = ContextVar("qkan_reads", default=None)


@contextmanager
def recording_reads():
    """Collect the fingerprint of every run read (or found missing) within this block: which
    runs a chapter's library calls read, e.g. to count a chapter's share of the archive."""
    reads: set[str] = set()
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


def training_forbidden() -> bool:
    inside = _NO_TRAINING.get()  # a no_training()/training_allowed() block overrides the env
    if inside is not None:
        return inside
    return os.environ.get(NO_TRAINING_ENV, "") not in ("", "0")


def _write_compressed_json(path: Path, payload) -> None:
    # xz stores no time stamp: the same payload always gives the same bytes (and checksum)
    text = json.dumps(payload, separators=(",", ":")).encode()
    data = lzma.compress(text, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, filters=_XZ_FILTERS)
    atomic_write(path, lambda out: out.write(data), binary=True)


def _read_compressed_json(path: Path):
    """A run or targets file of any readable format (``.xz``, or ``.gz`` before format 3)."""
    decompress = gzip.decompress if path.suffix == ".gz" else lzma.decompress
    try:
        return json.loads(decompress(path.read_bytes()))
    except (OSError, EOFError, ValueError, lzma.LZMAError) as exc:
        raise ArchiveError(f"{path}: unreadable archive file ({exc})") from exc


def result_name(relative: str) -> str:
    """The result file name (as in a results folder) of an archived run's path."""
    name = Path(relative).name
    for suffix in set(COMPRESSION.values()):
        name = name.removesuffix(suffix)
    return name


# ----------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------


def archive_provenance(results_dir: PathLike, command: str = "") -> dict:
    """How the runs of ``results_dir`` were made: the command, this library's version and
    RESULTS_VERSION, the machine (from the runs' own records) and their total training time."""
    runs = []
    for path in sorted(Path(results_dir).glob("*.json")):
        payload = json.loads(path.read_text())
        runs.append((payload.get("wall_time_s", 0.0), payload.get("environment", {})))
    machines = sorted({(env.get("cpu", "?"), env.get("platform", "?")) for _, env in runs})
    versions = sorted({env.get("qkan_lib", "?") for _, env in runs})
    return {
        "command": command,
        "runs": len(runs),
        "training_cpu_s": round(sum(seconds for seconds, _ in runs), 1),
        "machines": [{"cpu": cpu, "platform": platform} for cpu, platform in machines],
        "library_versions": versions,
        "results_version": RESULTS_VERSION,
        "torch": sorted({env.get("torch", "?") for _, env in runs}),
    }


def _portable(payload: dict, experiment: Experiment) -> Experiment:
    """The run's experiment with its Urban source recorded portably
    (:func:`qkan_lib.data.urban.portable_source`): a stand-in in this machine's cache becomes
    ``$QKAN_CACHE/<name>``, so the run is found on any machine. The data are the same files, so
    the run is unchanged; only its record and fingerprint (hence its file name) are."""
    options = payload["experiment"].get("data_options", {})
    if "milan_dir" not in options:
        return experiment
    portable = portable_source(resolve_source(options["milan_dir"]))
    if portable == options["milan_dir"]:
        return experiment
    options["milan_dir"] = portable
    experiment = Experiment.from_dict(payload["experiment"])
    payload["fingerprint"] = experiment.fingerprint()
    return experiment


def _write_manifest(path: Path, manifest: dict) -> None:
    """Compact JSON, one ``files`` entry per line (small, and a diff names the runs changed)."""

    def compact(value) -> str:
        return json.dumps(value, separators=(",", ":"))

    head = {k: v for k, v in manifest.items() if k != "files"}
    lines = [f"{compact(name)}:{compact(entry)}" for name, entry in manifest["files"].items()]
    text = compact(head)[:-1] + ',"files":{\n' + ",\n".join(lines) + "\n}}\n"
    atomic_write(path, lambda out: out.write(text))


def keep_every_prediction(experiment: Experiment) -> None:
    """The ``predictions`` policy that keeps every recorded prediction."""
    return None


def export_archive(
    results_dir: PathLike,
    archive_dir: PathLike,
    provenance: dict | None = None,
    predictions: Callable[[Experiment], Collection[int] | None] = keep_every_prediction,
) -> dict:
    """Write every run (and learned-spectra edges file) of ``results_dir`` into a new archive at
    ``archive_dir`` (replaced if it exists) and return its manifest.

    ``predictions(experiment)`` names the epochs whose recorded predictions the archive keeps
    for that run (None: all of them); the epochs left out are listed in the run's
    ``predictions_dropped``. Nothing else of a run is changed."""
    results_dir, archive_dir = Path(results_dir), Path(archive_dir)
    if archive_dir.exists():
        shutil.rmtree(archive_dir)
    files: dict[str, dict] = {}
    for path in sorted(results_dir.glob("*.json")):
        payload = json.loads(path.read_text())
        experiment = Experiment.from_dict(payload["experiment"])
        if payload.get("fingerprint") != experiment.fingerprint() or path.name != (
            experiment.filename()
        ):
            raise ArchiveError(f"{path}: its name or fingerprint does not match its experiment")
        experiment = _portable(payload, experiment)
        keep = predictions(experiment)
        if keep is not None:
            kept = {str(epoch) for epoch in keep}
            recorded = payload.get("predictions", {})
            dropped = sorted(set(recorded) - kept, key=int)
            payload["predictions"] = {e: v for e, v in recorded.items() if e in kept}
            if dropped or "predictions_dropped" in payload:
                previously = payload.get("predictions_dropped", [])
                payload["predictions_dropped"] = sorted({*previously, *map(int, dropped)})
        targets = json.dumps(payload["targets"], sort_keys=True, separators=(",", ":"))
        key = hashlib.sha256(targets.encode()).hexdigest()
        suffix = COMPRESSION[ARCHIVE_FORMAT]
        target_path = f"targets/{key}.json{suffix}"
        if target_path not in files:
            _write_compressed_json(archive_dir / target_path, payload["targets"])
            files[target_path] = {}
        payload["targets"] = {"$ref": key}
        run_path = f"runs/{experiment.filename()}{suffix}"
        _write_compressed_json(archive_dir / run_path, payload)
        files[run_path] = {
            "fingerprint": experiment.fingerprint(),
            "experiment": payload["experiment"],
            "wall_time_s": payload.get("wall_time_s"),
        }
    for path in sorted(results_dir.glob(f"*{EDGES_SUFFIX}")):
        stem = path.name[: -len(EDGES_SUFFIX)]
        if f"{stem}.json" not in {Path(p).name[:-3] for p in files if p.startswith("runs/")}:
            continue  # edges whose run is not archived are not read by any build
        target = archive_dir / "edges" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        files[f"edges/{path.name}"] = {}
    for relative, entry in files.items():
        entry.update(
            sha256=sha256(archive_dir / relative), bytes=(archive_dir / relative).stat().st_size
        )
    manifest = {
        "format": ARCHIVE_FORMAT,
        "results_version": RESULTS_VERSION,
        "provenance": provenance or {},
        "files": dict(sorted(files.items())),
    }
    _write_manifest(archive_dir / MANIFEST, manifest)
    return manifest


def unpack_archive(archive_dir: PathLike, results_dir: PathLike) -> int:
    """Copy every run (and edges file) of the archive, verified, into ``results_dir`` as a
    finished run (so it can be exported again, e.g. with another ``predictions`` policy, without
    training). Returns the number of runs copied."""
    archive = Archive(archive_dir)
    runs = 0
    for relative, entry in archive.files.items():
        if "experiment" in entry:
            runs += materialize(Experiment.from_dict(entry["experiment"]), results_dir, archive)
    return runs


# ----------------------------------------------------------------------------------------
# Reading and verifying
# ----------------------------------------------------------------------------------------


def read_manifest(archive_dir: PathLike) -> dict:
    path = Path(archive_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ArchiveError(f"{path}: no readable manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE_FORMATS:
        raise ArchiveError(
            f"{path}: not an archive manifest of a format this library reads {READABLE_FORMATS}"
        )
    return manifest


def verify_archive(archive_dir: PathLike, checksums: bool = True) -> list[str]:
    """Every problem of the archive at ``archive_dir``, one line each naming the file (an empty
    list: the archive is intact and current). ``checksums=False`` skips hashing the files."""
    archive_dir = Path(archive_dir)
    manifest = read_manifest(archive_dir)
    listed = manifest["files"]
    problems = []
    present = {
        p.relative_to(archive_dir).as_posix()
        for p in archive_dir.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }
    for relative in sorted(present - set(listed)):
        problems.append(f"{relative}: foreign file, not in {MANIFEST}")
    for relative in sorted(set(listed) - present):
        problems.append(f"{relative}: missing (listed in {MANIFEST})")
    seen: dict[str, str] = {}
    suffix = COMPRESSION[manifest["format"]]
    for relative, entry in listed.items():
        path = archive_dir / relative
        if relative in present and checksums:
            size = path.stat().st_size
            if size != entry.get("bytes"):
                problems.append(
                    f"{relative}: {size} bytes, {MANIFEST} says {entry.get('bytes')} "
                    "(truncated or edited)"
                )
            elif sha256(path) != entry.get("sha256"):
                problems.append(
                    f"{relative}: checksum differs from {MANIFEST} (corrupted or edited)"
                )
        if "experiment" in entry:
            fingerprint = entry.get("fingerprint")
            if fingerprint in seen:
                problems.append(f"{relative}: duplicate of {seen[fingerprint]} (same experiment)")
            seen[fingerprint] = relative
            try:
                current = Experiment.from_dict(entry["experiment"]).fingerprint()
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"{relative}: its experiment is not readable here ({exc})")
                continue
            if (
                current != fingerprint
                or Path(relative).name
                != f"{Experiment.from_dict(entry['experiment']).filename()}{suffix}"
            ):
                problems.append(
                    f"{relative}: stale: this library fingerprints its experiment as {current} "
                    f"(RESULTS_VERSION {RESULTS_VERSION}, archive made with "
                    f"{manifest.get('results_version')}); regenerate the archive"
                )
    return problems


class Archive:
    """A read-only archive folder whose files are checked against the manifest when read."""

    def __init__(self, directory: PathLike):
        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        self.files = self.manifest["files"]
        self.suffix = COMPRESSION[self.manifest["format"]]

    def _checked(self, relative: str) -> Path:
        entry = self.files.get(relative)
        path = self.directory / relative
        if entry is None:
            raise ArchiveError(f"{path}: not in {MANIFEST} (foreign file)")
        if not path.exists():
            raise ArchiveError(f"{path}: listed in {MANIFEST} but missing")
        if path.stat().st_size != entry["bytes"] or sha256(path) != entry["sha256"]:
            raise ArchiveError(
                f"{path}: does not match its checksum in {MANIFEST} (corrupted, truncated or "
                "edited); restore it from git or regenerate the archive"
            )
        return path

    def has_run(self, experiment: Experiment) -> bool:
        entry = self.files.get(f"runs/{experiment.filename()}{self.suffix}")
        return entry is not None and entry.get("fingerprint") == experiment.fingerprint()

    def run_payload(self, experiment: Experiment) -> dict:
        """The verified result JSON of ``experiment`` with its targets restored."""
        relative = f"runs/{experiment.filename()}{self.suffix}"
        payload = _read_compressed_json(self._checked(relative))
        ref = payload.get("targets", {}).get("$ref")
        if ref is not None:
            targets = f"targets/{ref}.json{self.suffix}"
            payload["targets"] = _read_compressed_json(self._checked(targets))
        if payload.get("fingerprint") != experiment.fingerprint():
            raise ArchiveError(f"{relative}: holds another experiment")
        return payload

    def edges_file(self, experiment: Experiment) -> Path | None:
        relative = f"edges/{experiment.filename()[: -len('.json')]}{EDGES_SUFFIX}"
        return self._checked(relative) if relative in self.files else None


def _archive() -> Archive | None:
    directory = default_archive_dir()
    if directory is None:
        return None
    stat = (Path(directory) / MANIFEST).stat()
    return _cached_archive(str(Path(directory).resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _cached_archive(directory: str, mtime_ns: int, size: int) -> Archive:
    """One parsed manifest per archive version (every grid of a chapter asks for it)."""
    return Archive(directory)


def materialize(
    experiment: Experiment, results_dir: PathLike, archive: Archive | None = None
) -> bool:
    """Make ``experiment``'s finished run available in ``results_dir``: True if it is there
    already or was copied, verified, from the archive; False if it must be trained (in
    archive-only mode a missing run raises :class:`RunsMissing` instead)."""
    reads = _READS.get()
    if reads is not None:
        reads.add(experiment.fingerprint())
    path = Path(results_dir) / experiment.filename()
    if path.exists():
        return True
    archive = archive if archive is not None else _archive()
    if archive is not None and archive.has_run(experiment):
        write_json_atomic(path, archive.run_payload(experiment))
        edges = archive.edges_file(experiment)
        if edges is not None:
            target = Path(results_dir) / edges.name
            atomic_write(target, lambda out: out.write(edges.read_bytes()), binary=True)
        return True
    return False


def require_or_train(experiments: Iterable[Experiment], results_dir: PathLike) -> list[Experiment]:
    """The experiments that must be trained (neither stored nor archived); archive-only mode
    raises :class:`RunsMissing` naming them instead."""
    archive = _archive()
    missing = [e for e in experiments if not materialize(e, results_dir, archive)]
    if missing and training_forbidden():
        raise RunsMissing(missing)
    return missing


def machine_words(machine: dict) -> str:
    """A recorded machine in general words: "AMD EPYC, Linux x86-64" from its ``cpu`` and
    ``platform`` (``platform.platform()``: the kernel's build id and C library are left out,
    they say nothing a reader can use)."""
    cpu = machine.get("cpu") or "unknown CPU"
    system, _, rest = (machine.get("platform") or "").partition("-")
    arch = next((a for a in ("x86_64", "aarch64", "arm64", "AMD64") if a in rest), "").replace(
        "_", "-"
    )
    return ", ".join(part for part in (cpu, " ".join(w for w in (system, arch) if w)) if part)


def provenance_table(archive_dir: PathLike | None = None):
    """How the archive was made, for a page: one row per fact with a readable label (a pandas
    DataFrame with one column, "recorded"), or None when there is no archive. The archive is
    verified (checksums included) as it is described."""
    directory = Path(archive_dir) if archive_dir is not None else default_archive_dir()
    if directory is None or not (directory / MANIFEST).exists():
        return None
    manifest = read_manifest(directory)
    made = manifest.get("provenance", {})
    files = manifest["files"]
    problems = verify_archive(directory)
    machines = "; ".join(dict.fromkeys(machine_words(m) for m in made.get("machines", [])))
    rows = {
        "commands": made.get("command") or "not recorded",
        "runs": str(sum(1 for name in files if name.startswith("runs/"))),
        "training time, all runs": f"{made.get('training_cpu_s', 0) / 3600:.1f} CPU hours",
        "machine": machines or "not recorded",
        "library version": ", ".join(made.get("library_versions", [])) or "not recorded",
        "results format version": str(manifest.get("results_version")),
        "PyTorch": ", ".join(made.get("torch", [])) or "not recorded",
        "size in git": f"{sum(e['bytes'] for e in files.values()) / 2**20:.1f} MiB",
        "checked now": "intact"
        if not problems
        else f"{len(problems)} problem{'s' if len(problems) != 1 else ''}",
    }
    # The labels as the row names and the column's name in the header's first cell: one
    # header row, no 0..N column.
    table = pd.DataFrame({"recorded": list(rows.values())}, index=list(rows))
    return table.rename_axis(columns="run archive")
