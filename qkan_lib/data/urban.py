"""The Urban dataset: where its Milan files come from (real, or the labelled stand-in), and
its windows, splits and scaling; and the Milan series under the forecasters' rolling-origin
protocol (:func:`milan_series_dataset`, the real files only)."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import warnings
from pathlib import Path

import numpy as np
import torch

from ..utils import check_positive_int
from .milan import (
    ENV_VAR,
    STAND_IN_MARKER,
    MilanPathError,
    MilanSeries,
    fill_gaps,
    load_milan_sms,
    milan_files,
    select_cells,
    write_stand_in,
)
from .real_series import origin_windows
from .windows import MinMaxScaler, SequenceData, check_fraction, make_windows, to_tensor


def cache_dir():
    """Where the library caches generated data: $QKAN_CACHE, default ~/.cache/qkan_lib."""
    return Path(os.environ.get("QKAN_CACHE", Path.home() / ".cache" / "qkan_lib"))


def display_path(path) -> str:
    """``path`` as a page may print it, without the absolute path of the machine that ran it.

    Relative to the first root that contains it: the Milan folder ("$QKAN_MILAN_DIR/..."),
    the library cache ("$QKAN_CACHE/..."), the working directory ("./..."), the home
    directory ("~/..."); otherwise only its last component ("<...>/name").
    """
    target = Path(path).expanduser().resolve()
    roots = [
        (f"${ENV_VAR}", os.environ.get(ENV_VAR)),
        ("$QKAN_CACHE", cache_dir()),
        (".", Path.cwd()),
        ("~", Path.home()),
    ]
    for name, root in roots:
        if not root:
            continue
        try:
            relative = target.relative_to(Path(root).expanduser().resolve())
        except ValueError:
            continue
        return name if relative == Path(".") else f"{name}/{relative.as_posix()}"
    return f"<...>/{target.name}"


CACHE_TOKEN = "$QKAN_CACHE"
_STAND_IN_NAME = re.compile(r"milan_stand_in_(\d+)d_seed(\d+)")


def stand_in_dir(stand_in_days: int, seed: int = 0) -> Path:
    """The library cache's folder of the stand-in of ``stand_in_days`` days and ``seed``."""
    return cache_dir() / f"milan_stand_in_{stand_in_days}d_seed{seed}"


def portable_source(directory) -> str:
    """How an experiment records its Urban data source: a folder in the library cache (the
    stand-in) as ``"$QKAN_CACHE/<name>"``, the same on every machine, so the fingerprints of its
    runs are too (and no home folder is recorded); any other folder as given."""
    try:
        relative = Path(directory).resolve().relative_to(cache_dir().resolve())
    except ValueError:
        return str(directory)
    return f"{CACHE_TOKEN}/{relative.as_posix()}"


def resolve_source(milan_dir):
    """The folder on this machine of a source recorded by :func:`portable_source` (a stand-in
    that this machine has not written yet is written now)."""
    if not (isinstance(milan_dir, str) and milan_dir.startswith(f"{CACHE_TOKEN}/")):
        return milan_dir
    directory = cache_dir() / milan_dir[len(CACHE_TOKEN) + 1 :]
    match = _STAND_IN_NAME.fullmatch(directory.name)
    if match and not (directory / STAND_IN_MARKER).exists():
        write_stand_in(directory, days=int(match[1]), seed=int(match[2]))
    return directory


def milan_source(milan_dir=None, stand_in_days: int = 14, seed: int = 0):
    """Where the Urban data comes from: ``milan_dir``, else $QKAN_MILAN_DIR, else a stand-in.

    Returns ``(directory, is_stand_in)``. The stand-in is written once (raw format, with a
    STAND_IN.txt marker) under $QKAN_CACHE (default ~/.cache/qkan_lib). ``milan_dir`` may be a
    recorded source (:func:`portable_source`).
    """
    chosen = resolve_source(milan_dir) or os.environ.get(ENV_VAR)
    if chosen:
        given = "milan_dir" if milan_dir else f"${ENV_VAR}"
        if isinstance(chosen, bytes) or not isinstance(chosen, (str, os.PathLike)):
            raise ValueError(
                f"{given} must be a folder path (str or Path), got {type(chosen).__name__}"
            )
        directory = Path(chosen)
        if directory.is_file():  # a single day file
            return directory, (directory.parent / STAND_IN_MARKER).exists()
        try:
            with warnings.catch_warnings():  # the loader warns about skipped files once, later
                warnings.simplefilter("ignore")
                milan_files(directory)  # a clear error if the directory holds no data files
        except MilanPathError as exc:
            raise MilanPathError(f"{given}={str(chosen)!r}: {exc}") from exc
        return directory, (directory / STAND_IN_MARKER).exists()
    directory = stand_in_dir(stand_in_days, seed)
    if not (directory / STAND_IN_MARKER).exists():
        write_stand_in(directory, days=stand_in_days, seed=seed)
    return directory, True


def urban_dataset(
    series,
    seq_len: int = 4,
    cells: int = 1,
    fractions=(0.7, 0.15, 0.15),
    min_coverage: float = 0.98,
    max_gap: int = 6,
    dtype: torch.dtype = torch.float64,
) -> SequenceData:
    """Urban telecommunication windows from a :class:`qkan_lib.milan.MilanSeries`.

    The ``cells`` most active squares passing :func:`qkan_lib.milan.select_cells` are
    gap-filled by linear interpolation; each square's series is split in time 70 / 15 / 15;
    the min-max scaler is fitted on the training parts only (validation and test values
    may fall outside [-1, 1]); windows never cross a split or a square.
    """
    if not isinstance(series, MilanSeries):
        raise ValueError(
            f"series must be a MilanSeries (from qkan_lib.milan.load_milan_sms), "
            f"got {type(series).__name__}"
        )
    seq_len = check_positive_int(seq_len, "seq_len")
    cells = check_positive_int(cells, "cells")
    try:
        fractions = tuple(fractions)
    except TypeError:
        raise ValueError(
            f"fractions must be three numbers (train, val, test), got {fractions!r}"
        ) from None
    if len(fractions) != 3:
        raise ValueError(f"fractions must be three numbers (train, val, test), got {fractions!r}")
    for label, value in zip(("train", "val", "test"), fractions):
        check_fraction(value, f"fractions ({label})")
    if abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    if (
        isinstance(min_coverage, bool)
        or not isinstance(min_coverage, (int, float))
        or not 0 <= min_coverage <= 1
    ):
        raise ValueError(f"min_coverage must be a number from 0 to 1, got {min_coverage!r}")
    if isinstance(max_gap, bool) or not isinstance(max_gap, (int, np.integer)) or max_gap < 0:
        raise ValueError(f"max_gap must be a non-negative integer (slots), got {max_gap!r}")
    n = len(series.values)
    cut1, cut2 = int(fractions[0] * n), int((fractions[0] + fractions[1]) * n)
    for label, length in (("train", cut1), ("val", cut2 - cut1), ("test", n - cut2)):
        if length - seq_len - 1 < 1:  # refused now, not deep inside training
            raise ValueError(
                f"seq_len={seq_len} with fractions={fractions} leaves the {label} "
                f"split without windows: it gets {length} of the {n} slots and a "
                "window needs seq_len + 2"
            )
    columns = select_cells(series, cells, min_coverage, max_gap)
    filled = np.stack([fill_gaps(series.values[:, c]) for c in columns], 1)
    parts = {"train": filled[:cut1], "val": filled[cut1:cut2], "test": filled[cut2:]}
    scaler = MinMaxScaler.fit(parts["train"])
    tensors = {}
    for name, values in parts.items():
        xs, ys = zip(
            *(make_windows(scaler.transform(values[:, j]), seq_len) for j in range(len(columns)))
        )
        tensors[name] = (to_tensor(np.concatenate(xs), dtype), to_tensor(np.concatenate(ys), dtype))
    return SequenceData(
        "urban",
        seq_len,
        *tensors["train"],
        *tensors["test"],
        *tensors["val"],
        scaler=scaler,
        stand_in=series.stand_in,
        info={
            "squares": series.squares[columns].tolist(),
            "cuts": [cut1, cut2],
            "source": series.source,
        },
    )


# ---------------------------------------------------------------------------------------------
# the Milan series under the forecasters' protocol (real files only)

MILAN_SEASON = 144  # one day of ten-minute slots: the seasonal period of the Milan series


def real_milan_source(milan_dir=None) -> Path | None:
    """The folder of the real Milan files (``milan_dir``, else $QKAN_MILAN_DIR), or None when
    neither is given or the folder is the synthetic stand-in (its STAND_IN.txt marker): the
    forecasters' protocol runs on the real data only. A folder given that holds no Milan
    files is an error (:func:`milan_source`), never a silent None."""
    if not (milan_dir or os.environ.get(ENV_VAR)):
        return None
    directory, stand_in = milan_source(milan_dir)
    return None if stand_in else directory


def milan_listing_digest(directory) -> str:
    """SHA-256 of the names and sizes of the folder's Milan day files: runs on an edited or
    extended folder never reuse old results (hashing the gigabytes themselves would take
    minutes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skipped files were reported when the folder was chosen
        files = milan_files(directory)
    listing = "\n".join(f"{p.name}\t{p.stat().st_size}" for p in files)
    return hashlib.sha256(listing.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=4)
def _milan_values(directory: str, digest: str, days: int) -> tuple[np.ndarray, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = milan_files(directory)[-days:]
    series = load_milan_sms(files)
    column = int(select_cells(series, 1)[0])
    values = fill_gaps(series.values[:, column])
    values.flags.writeable = False  # shared by every call of the cache
    return values, int(series.squares[column])


def milan_series(milan_dir, days: int = 7, files: str = "") -> tuple[np.ndarray, int]:
    """SMS-in of the busiest continuous square (:func:`qkan_lib.data.milan.select_cells`, the
    Urban chapter's rule) over the last ``days`` day files of the real Milan folder, gaps
    filled by linear interpolation, and the square's id. ``files``
    (:func:`milan_listing_digest`), when given, must match the folder. The stand-in is
    refused: it is not real data."""
    days = check_positive_int(days, "days")
    if not (milan_dir or os.environ.get(ENV_VAR)):
        raise ValueError(
            f"the Milan series needs milan_dir or ${ENV_VAR}: a folder of the real files"
        )
    directory, stand_in = milan_source(milan_dir)
    if stand_in:
        raise ValueError(
            f"milan_dir={display_path(directory)!r} is the synthetic stand-in ({STAND_IN_MARKER}); "
            "the forecasters' protocol runs on the real Milan files only"
        )
    digest = milan_listing_digest(directory)
    if files and files != digest:
        raise ValueError(
            f"milan_dir={display_path(directory)!r}: its day files changed since the runs "
            "were planned (names or sizes differ)"
        )
    return _milan_values(str(Path(directory).resolve()), digest, days)


def milan_series_dataset(
    milan_dir,
    seq_len: int = 16,
    origin: int | None = None,
    horizon: int = MILAN_SEASON,
    days: int = 7,
    files: str = "",
    val_fraction: float = 0.2,
    dtype: torch.dtype = torch.float64,
) -> SequenceData:
    """The windows of the Milan series (:func:`milan_series`) at a forecast ``origin`` (default:
    the last), by the real series' rolling-origin windows
    (:func:`qkan_lib.data.real_series.origin_windows`: scaler fitted on the training period)."""
    values, square = milan_series(milan_dir, days, files)
    origin = len(values) - horizon if origin is None else origin
    return origin_windows(
        values, seq_len, origin, horizon, val_fraction, dtype, "real_milan",
        {"season": MILAN_SEASON, "label": "Milan SMS-in", "square": square},
    )  # fmt: skip
