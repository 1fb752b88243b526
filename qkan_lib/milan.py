"""The Milan telecommunication data (SMS-in channel): loader, cell selection, downloader, stand-in.

Two real formats are read (see the book's Urban chapter):

* raw Harvard Dataverse day files (doi:10.7910/DVN/EGZHFV), tab-separated, no header:
  square id, time interval (ms since epoch, start of a 10-minute slot), country code,
  sms-in, sms-out, call-in, call-out, internet; activity fields are empty when there
  was no activity;
* the CSV re-distribution with a header
  ``datetime,CellID,countrycode,smsin,smsout,callin,callout,internet``.

Rows are summed per (square, slot) over country codes; a (square, slot) whose sms-in is
empty in every row, or that has no row at all, is missing (NaN). Malformed files raise
:class:`MilanFormatError` naming the file and the line.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SLOT_MS = 600_000  # 10 minutes
FIRST_SLOT_MS = 1_383_260_400_000  # 2013-11-01 00:00 Milan time (CET, UTC+1)
MILAN_UTC_OFFSET = dt.timedelta(hours=1)  # Nov 2013 - Jan 2014 has no daylight saving time
RAW_COLUMNS = ("square", "time", "country", "smsin", "smsout", "callin", "callout", "internet")
CSV_HEADER = ("datetime", "CellID", "countrycode", "smsin", "smsout", "callin", "callout", "internet")
DATAVERSE_URL = "https://dataverse.harvard.edu"
MILAN_DOI = "doi:10.7910/DVN/EGZHFV"
STAND_IN_MARKER = "STAND_IN.txt"
ENV_VAR = "QKAN_MILAN_DIR"


class MilanFormatError(ValueError):
    """A Milan data file is malformed; the message names the file and the line."""


def _fail(path, line, problem):
    raise MilanFormatError(f"{path}: line {line}: {problem}")


def _field_counts(data: bytes, sep: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Separators per line and each line's start offset, vectorised over the whole file."""
    raw = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(raw == ord("\n"))
    ends = newlines if data.endswith(b"\n") else np.append(newlines, len(raw))
    starts = np.concatenate([[0], ends[:-1] + 1])
    seps = np.concatenate([[0], np.cumsum(raw == ord(sep))])
    return seps[ends] - seps[starts], starts


def _parse_number(column: np.ndarray, path, first_line: int, name: str, allow_empty: bool) -> np.ndarray:
    """Strings -> float64, empty -> NaN (if allowed); the first bad value is reported by line."""
    column = np.char.strip(column.astype(str))
    empty = column == ""
    if empty.any() and not allow_empty:
        _fail(path, first_line + int(np.flatnonzero(empty)[0]), f"empty {name}")
    values = np.full(column.shape, np.nan)
    try:
        values[~empty] = column[~empty].astype(float)
    except ValueError:
        for k in np.flatnonzero(~empty):
            try:
                float(column[k])
            except ValueError:
                _fail(path, first_line + int(k), f"{name} is not a number: {column[k]!r}")
    if not np.isfinite(values[~empty]).all():
        _fail(path, first_line + int(np.flatnonzero(~empty & ~np.isfinite(values))[0]), f"{name} is not finite")
    return values


def _csv_time_to_ms(column: np.ndarray, path, first_line: int) -> np.ndarray:
    column = np.char.strip(column.astype(str))
    if column.size and all(c.isdigit() for c in column[:1]):
        return _parse_number(column, path, first_line, "datetime", False).astype(np.int64)
    try:  # local Milan time, "YYYY-MM-DD HH:MM:SS"
        local = column.astype("datetime64[ms]")
    except ValueError:
        for k, value in enumerate(column):
            try:
                np.datetime64(value, "ms")
            except ValueError:
                _fail(path, first_line + k, f"datetime is not a date and time: {value!r}")
    utc = local - np.timedelta64(int(MILAN_UTC_OFFSET.total_seconds() * 1000), "ms")
    return utc.astype(np.int64)


def read_milan_file(path) -> dict[str, np.ndarray]:
    """Read one raw or CSV Milan file; returns arrays square, time (ms), country, smsin (NaN = empty)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Milan data file not found: {path}")
    data = path.read_bytes()
    if not data.strip():
        raise MilanFormatError(f"{path}: the file is empty")
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    is_csv = first.split(",")[0].strip().lower() == "datetime"
    sep = b"," if is_csv else b"\t"
    if is_csv and tuple(h.strip() for h in first.split(",")) != CSV_HEADER:
        _fail(path, 1, f"unexpected CSV header {first!r}; expected {','.join(CSV_HEADER)}")
    counts, _ = _field_counts(data, sep)
    body_start = 1 if is_csv else 0
    bad = np.flatnonzero(counts[body_start:] != len(RAW_COLUMNS) - 1)
    if bad.size:
        k = body_start + int(bad[0])
        _fail(path, k + 1, f"expected {len(RAW_COLUMNS)} fields separated by {sep.decode()!r}, "
                           f"found {counts[k] + 1} (truncated or malformed line)")
    if len(counts) <= body_start:
        raise MilanFormatError(f"{path}: no data rows")
    import pandas as pd  # the C parser; every line already has the right number of fields

    frame = pd.read_csv(io.BytesIO(data), sep=sep.decode(), header=None, skiprows=body_start,
                        names=RAW_COLUMNS, dtype=str, keep_default_na=False, na_filter=False)
    table = frame.to_numpy(dtype=str)
    first_line = body_start + 1
    if is_csv:
        time = _csv_time_to_ms(table[:, 0], path, first_line)
    else:
        time = _parse_number(table[:, 1], path, first_line, "time interval", False).astype(np.int64)
    square = _parse_number(table[:, 1 if is_csv else 0], path, first_line, "square id", False)
    country = _parse_number(table[:, 2], path, first_line, "country code", False)
    smsin = _parse_number(table[:, 3], path, first_line, "sms-in", True)
    for k in range(4, 8):  # the other channels must be numeric too, even though unused
        _parse_number(table[:, k], path, first_line, RAW_COLUMNS[k], True)
    if (square != np.round(square)).any() or (square < 1).any():
        _fail(path, first_line + int(np.flatnonzero((square != np.round(square)) | (square < 1))[0]),
              "square id must be a positive integer")
    off_grid = (time - FIRST_SLOT_MS) % SLOT_MS != 0
    if off_grid.any():
        _fail(path, first_line + int(np.flatnonzero(off_grid)[0]), "time is not on the 10-minute slot grid")
    square = square.astype(np.int64)
    _check_order(path, first_line, square, time, country)
    return {"square": square, "time": time, "country": country, "smsin": smsin}


def _check_order(path, first_line, square, time, country) -> None:
    """Rows must be sorted by (square, slot) or by (slot, square), without duplicated keys."""
    def sorted_by(a, b):
        step_a, step_b = np.diff(a), np.diff(b)
        return (step_a > 0) | ((step_a == 0) & (step_b >= 0))

    by_square, by_slot = sorted_by(square, time), sorted_by(time, square)
    if not (by_square.all() or by_slot.all()):
        ok = by_square if np.argmin(by_square) >= np.argmin(by_slot) else by_slot
        _fail(path, first_line + 1 + int(np.argmin(ok)), "rows are not sorted by square and time slot")
    key = np.stack([square, time, np.nan_to_num(country, nan=-1).astype(np.int64)], 1)
    order = np.lexsort(key.T[::-1])
    same = (np.diff(key[order], axis=0) == 0).all(1)
    if same.any():
        k = int(np.flatnonzero(same)[0])
        lines = sorted((first_line + int(order[k]), first_line + int(order[k + 1])))
        _fail(path, lines[1], f"duplicated slot: same square, time and country code as line {lines[0]}")


@dataclass
class MilanSeries:
    """SMS-in per 10-minute slot (rows) and grid square (columns); NaN where missing."""

    values: np.ndarray
    slots_ms: np.ndarray
    squares: np.ndarray
    stand_in: bool = False
    source: str = ""

    def coverage(self) -> np.ndarray:
        return np.isfinite(self.values).mean(0)


def milan_files(directory) -> list[Path]:
    directory = Path(directory)
    files = sorted(p for p in directory.iterdir() if p.suffix in (".txt", ".csv", ".tsv")
                   and p.name != STAND_IN_MARKER) if directory.is_dir() else []
    if not files:
        raise FileNotFoundError(f"no Milan data files (*.txt, *.csv) in {directory}")
    return files


def load_milan_sms(paths, squares=None) -> MilanSeries:
    """Load day files (either format), sum sms-in over country codes per (square, slot).

    Files may come in any order but must not overlap in time. ``squares`` restricts the
    squares kept (all by default).
    """
    if isinstance(paths, (str, os.PathLike)) and Path(paths).is_dir():
        directory, paths = Path(paths), milan_files(paths)
    else:
        paths = [Path(p) for p in paths]
        directory = paths[0].parent if paths else Path(".")
    if not paths:
        raise FileNotFoundError("no Milan data files given")
    parts, seen = [], {}
    for path in paths:
        rows = read_milan_file(path)
        if squares is not None:
            keep = np.isin(rows["square"], np.asarray(squares))
            rows = {k: v[keep] for k, v in rows.items()}
        slot = (rows["time"] - FIRST_SLOT_MS) // SLOT_MS
        for s in np.unique(slot):
            if s in seen:
                raise MilanFormatError(f"{path}: time slot {s} also appears in {seen[s]} (overlapping files)")
        seen.update({s: path.name for s in np.unique(slot)})
        parts.append((slot, rows["square"], rows["smsin"]))
    slot = np.concatenate([p[0] for p in parts])
    square = np.concatenate([p[1] for p in parts])
    smsin = np.concatenate([p[2] for p in parts])
    slots = np.arange(slot.min(), slot.max() + 1)
    kept = np.unique(square) if squares is None else np.asarray(sorted(squares))
    column = np.searchsorted(kept, square)
    valid = (column < len(kept)) & (kept[np.minimum(column, len(kept) - 1)] == square)
    row = slot - slots[0]
    total = np.zeros((len(slots), len(kept)))
    present = np.zeros((len(slots), len(kept)), dtype=bool)
    finite = valid & np.isfinite(smsin)
    np.add.at(total, (row[finite], column[finite]), smsin[finite])
    present[row[finite], column[finite]] = True
    values = np.where(present, total, np.nan)
    return MilanSeries(values, FIRST_SLOT_MS + slots * SLOT_MS, kept,
                       stand_in=(directory / STAND_IN_MARKER).exists(), source=str(directory))


def longest_gap(values: np.ndarray) -> np.ndarray:
    """Longest run of missing slots in each column."""
    missing = ~np.isfinite(values)
    out = np.zeros(values.shape[1], dtype=int)
    run = np.zeros(values.shape[1], dtype=int)
    for row in missing:  # a loop over time only (columns are vectorised)
        run = np.where(row, run + 1, 0)
        out = np.maximum(out, run)
    return out


def select_cells(series: MilanSeries, count: int = 1, min_coverage: float = 0.98, max_gap: int = 6):
    """The "sufficient temporal continuity" rule (parameterised; the paper gives none).

    A square qualifies when at least ``min_coverage`` of its slots have data and no gap
    is longer than ``max_gap`` slots (an hour, by default). Qualifying squares are ranked
    by mean activity (busier squares have fewer structural zeros) and the top ``count``
    returned as column indices.
    """
    coverage, gaps = series.coverage(), longest_gap(series.values)
    ok = np.flatnonzero((coverage >= min_coverage) & (gaps <= max_gap))
    if ok.size < count:
        raise ValueError(f"only {ok.size} squares have coverage >= {min_coverage} and gaps <= {max_gap} slots; "
                         f"{count} requested. Relax min_coverage / max_gap or ask for fewer cells.")
    mean = np.nanmean(series.values[:, ok], axis=0)
    return ok[np.argsort(-mean, kind="stable")[:count]]


def fill_gaps(column: np.ndarray) -> np.ndarray:
    """Linear interpolation over missing slots (edges: nearest value)."""
    column = np.asarray(column, dtype=float)
    known = np.isfinite(column)
    if not known.any():
        raise ValueError("cannot fill a series with no data")
    index = np.arange(len(column))
    return np.interp(index, index[known], column[known])


# ----------------------------------------------------------------------------- downloader

def list_dataverse_files(base_url: str = DATAVERSE_URL, doi: str = MILAN_DOI, timeout: float = 60) -> list[dict]:
    """Files of a Dataverse dataset: id, filename, size and md5 (the native API's listing)."""
    query = urllib.parse.urlencode({"persistentId": doi})
    url = f"{base_url.rstrip('/')}/api/datasets/:persistentId/?{query}"
    with urllib.request.urlopen(url, timeout=timeout) as response:
        payload = json.load(response)
    try:
        files = payload["data"]["latestVersion"]["files"]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"unexpected Dataverse listing from {url}") from exc
    out = []
    for entry in files:
        data_file = entry["dataFile"]
        name = data_file.get("originalFileName") or data_file.get("filename")
        size = data_file.get("originalFileSize") or data_file.get("filesize")
        checksum = data_file.get("checksum", {})
        md5 = checksum.get("value") if checksum.get("type", "").upper() == "MD5" else data_file.get("md5")
        out.append({"id": data_file["id"], "filename": name, "size": size, "md5": md5})
    return out


def download_file(url: str, destination, size: int | None = None, md5: str | None = None,
                  timeout: float = 60, chunk: int = 1 << 20) -> Path:
    """Download with resume (HTTP Range on ``<name>.part``), then check size and md5.

    The final name appears only after every check passed (atomic rename), so an
    interrupted or corrupt download never leaves a partial file under the final name.
    """
    destination = Path(destination)
    if destination.exists():
        return destination
    partial = destination.with_name(destination.name + ".part")
    destination.parent.mkdir(parents=True, exist_ok=True)
    have = partial.stat().st_size if partial.exists() else 0
    if size is not None and have > size:
        partial.unlink()
        have = 0
    if size is None or have < size:
        request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            mode = "ab" if have and response.status == 206 else "wb"  # server ignored Range: restart
            with open(partial, mode) as out:
                while block := response.read(chunk):
                    out.write(block)
    got = partial.stat().st_size
    if size is not None and got != size:
        raise IOError(f"{url}: expected {size} bytes, got {got}; rerun to resume ({partial})")
    if md5 is not None:
        digest = hashlib.md5(partial.read_bytes()).hexdigest()
        if digest != md5:
            partial.unlink()
            raise IOError(f"{url}: md5 {digest} does not match the listing's {md5}; the partial file was removed")
    os.replace(partial, destination)
    return destination


def download_milan(directory, names=None, base_url: str = DATAVERSE_URL, doi: str = MILAN_DOI,
                   timeout: float = 60) -> list[Path]:
    """Download the Milan day files (all, or those whose name contains one of ``names``).

    Uses the Dataverse access API (``/api/access/datafile/{id}?format=original``), resumes
    partial downloads and checks sizes and checksums from the dataset listing.
    """
    listing = list_dataverse_files(base_url, doi, timeout)
    chosen = [f for f in listing if names is None or any(n in f["filename"] for n in names)]
    if not chosen:
        raise ValueError(f"no files matching {names} in {doi}")
    paths = []
    for entry in chosen:
        url = f"{base_url.rstrip('/')}/api/access/datafile/{entry['id']}?format=original"
        paths.append(download_file(url, Path(directory) / entry["filename"], entry["size"], entry["md5"], timeout))
    return paths


# ----------------------------------------------------------------------------- stand-in

def write_stand_in(directory, days: int = 14, squares=(4159, 4556, 5060, 5061, 5161), seed: int = 0) -> Path:
    """Write a synthetic stand-in for the Milan data, in the raw Dataverse format.

    Daily and weekly cycles, random bursts, multiplicative noise, rows split over several
    country codes, empty sms-in fields and whole missing slots (gaps). A marker file
    ``STAND_IN.txt`` makes every loader result carry ``stand_in=True``. Not real data.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    slots_per_day = 86_400_000 // SLOT_MS
    n = days * slots_per_day
    t = np.arange(n) / slots_per_day  # in days; day 0 is Friday 2013-11-01
    daily = 0.55 + 0.45 * np.sin(2 * np.pi * (t - 0.35)) ** 2 * (np.sin(2 * np.pi * (t - 0.3)) > -0.2)
    weekday = (np.floor(t).astype(int) + 4) % 7  # 0 = Monday
    weekly = np.where(weekday >= 5, 0.7, 1.0)
    (directory / STAND_IN_MARKER).write_text(
        "SYNTHETIC STAND-IN for the Milan SMS-in data (qkan_lib.milan.write_stand_in). Not real data.\n")
    level = {sq: rng.uniform(20, 60) for sq in squares}
    series = {}
    for sq in squares:
        bursts = np.zeros(n)
        for start in rng.choice(n, size=days, replace=False):
            bursts[start:start + rng.integers(2, 8)] += rng.uniform(0.5, 1.5)
        noise = rng.lognormal(0.0, 0.12, n)
        series[sq] = level[sq] * (daily * weekly + bursts) * noise
    for day in range(days):
        date = dt.date(2013, 11, 1) + dt.timedelta(days=day)
        lines = []
        for sq in squares:
            for k in range(day * slots_per_day, (day + 1) * slots_per_day):
                if rng.random() < 0.003:  # a missing slot: no rows at all
                    continue
                time = FIRST_SLOT_MS + k * SLOT_MS
                shares = rng.dirichlet([4.0, 1.0, 0.5])
                for country, share in zip((39, 0, 33), shares):
                    sms = "" if rng.random() < 0.02 else f"{series[sq][k] * share:.6f}"
                    lines.append(f"{sq}\t{time}\t{country}\t{sms}\t\t\t\t{rng.uniform(0, 200):.4f}")
        (directory / f"sms-call-internet-mi-{date.isoformat()}.txt").write_text("\n".join(lines) + "\n")
    return directory
