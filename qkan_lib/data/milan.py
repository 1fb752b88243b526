"""The Milan telecommunication data (SMS-in channel): loader, cell selection, downloader, stand-in.

Two real formats are read (see the book's Urban chapter):

* raw Harvard Dataverse day files (doi:10.7910/DVN/EGZHFV), tab-separated, no header:
  square id, time interval (ms since epoch, start of a 10-minute slot), country code,
  sms-in, sms-out, call-in, call-out, internet; activity fields are empty when there
  was no activity;
* the CSV re-distribution with a header
  ``datetime,CellID,countrycode,smsin,smsout,callin,callout,internet``; its dates are
  Milan local time (UTC+1 over the whole period) unless they carry an explicit UTC
  offset (``+01:00``, ``Z`` ...), or epoch milliseconds.

Rows are summed per (square, slot) over country codes; a (square, slot) whose sms-in is
empty in every row, or that has no row at all, is missing (NaN). Malformed files raise
:class:`MilanFormatError` naming the file and the line; so do values outside the data's
range (negative activity, square ids off the 100 x 100 grid, times far outside
Nov 2013 - Jan 2014). Files may start with a UTF-8 byte order mark, use Windows line
ends, contain blank lines, or be compressed (``.gz``, ``.bz2``, ``.xz``, a ``.zip`` holding
one file): all load. A folder's notes, READMEs and incomplete downloads are skipped
with a warning naming each.
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import hashlib
import http.client
import io
import ipaddress
import json
import lzma
import os
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SLOT_MS = 600_000  # 10 minutes
FIRST_SLOT_MS = 1_383_260_400_000  # 2013-11-01 00:00 Milan time (CET, UTC+1)
END_MS = 1_388_617_200_000  # 2014-01-02 00:00 Milan time: the end of the last day file (2014-01-01)
PERIOD_MARGIN_MS = 86_400_000  # times this far outside [FIRST_SLOT_MS, END_MS) are still accepted
MILAN_UTC_OFFSET = dt.timedelta(hours=1)  # Nov 2013 - Jan 2014 has no daylight saving time
GRID_SQUARES = 10_000  # the 100 x 100 grid; square ids run from 1 to 10000
RAW_COLUMNS = ("square", "time", "country", "smsin", "smsout", "callin", "callout", "internet")
CSV_HEADER = (
    "datetime",
    "CellID",
    "countrycode",
    "smsin",
    "smsout",
    "callin",
    "callout",
    "internet",
)
ACTIVITY_NAMES = ("sms-in", "sms-out", "call-in", "call-out", "internet")
DATA_SUFFIXES = (".txt", ".csv", ".tsv")
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zip")
ARCHIVE_SUFFIXES = (".7z", ".rar", ".tar", ".tgz", ".tbz2", ".txz")
MAX_FILE_BYTES = 4 << 30  # a day file is a few hundred MB; more after decompression is refused
DATAVERSE_URL = "https://dataverse.harvard.edu"
MILAN_DOI = "doi:10.7910/DVN/EGZHFV"
STAND_IN_MARKER = "STAND_IN.txt"
ENV_VAR = "QKAN_MILAN_DIR"
_UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MILAN_ZONE = dt.timezone(MILAN_UTC_OFFSET)


class MilanFormatError(ValueError):
    """A Milan data file is malformed; the message names the file and the line."""


class MilanPathError(FileNotFoundError, ValueError):
    """A path given to the loader is missing, of the wrong kind, or holds no data files.

    Both a ``FileNotFoundError`` (what it mostly is) and a ``ValueError`` (bad input).
    """


def _fail(path, line, problem):
    raise MilanFormatError(f"{path}: line {line}: {problem}")


# ----------------------------------------------------------------------------- bytes and lines


def _archive_kind(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(ARCHIVE_SUFFIXES) or any(
        lower.endswith(f".tar{s}") for s in (".gz", ".bz2", ".xz")
    ):
        return "archive"
    return None


def _decompress(path: Path, data: bytes, limit: int, head_only: bool = False) -> bytes:
    """The file's content: decompressed when it is gzip / bzip2 / xz / a one-file zip.

    The format is recognised by its magic bytes, whatever the name says. Archives that
    hold several files (tar, 7z, rar, a zip of several) are refused: they must be extracted.
    ``head_only`` returns the first ``limit`` bytes instead of refusing a longer content.
    """

    def read_limited(stream) -> bytes:
        out = stream.read(limit + 1)
        if head_only:
            return out[:limit]
        if len(out) > limit:
            raise MilanFormatError(
                f"{path}: decompresses to more than {limit} bytes; not a Milan day file"
            )
        return out

    try:
        if data[:2] == b"\x1f\x8b":
            kind, content = "gzip", read_limited(gzip.GzipFile(fileobj=io.BytesIO(data)))
        elif data[:3] == b"BZh":
            kind, content = "bzip2", read_limited(bz2.BZ2File(io.BytesIO(data)))
        elif data[:6] == b"\xfd7zXZ\x00":
            kind, content = "xz", read_limited(lzma.LZMAFile(io.BytesIO(data)))
        elif data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [
                    m
                    for m in archive.infolist()
                    if not m.is_dir()
                    and not m.filename.startswith("__MACOSX/")
                    and not Path(m.filename).name.startswith(".")
                ]
                if len(members) != 1:
                    raise MilanFormatError(
                        f"{path}: a zip archive holding {len(members)} files "
                        f"({', '.join(m.filename for m in members[:5])}); extract its day files"
                    )
                kind, content = "zip", read_limited(archive.open(members[0]))
        elif data[:6] == b"7z\xbc\xaf\x27\x1c" or data[:6] == b"Rar!\x1a\x07":
            raise MilanFormatError(
                f"{path}: a compressed 7z/rar archive; extract its day files first"
            )
        else:
            return data
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise MilanFormatError(f"{path}: compressed, but cannot be decompressed: {exc}") from exc
    if len(content) > 262 and content[257:262] == b"ustar":
        raise MilanFormatError(
            f"{path}: a compressed tar archive ({kind}); extract its day files first"
        )
    return content


def _text_rows(path: Path, data: bytes) -> tuple[bytes, np.ndarray]:
    """Clean text of a day file and the file line number of each of its rows.

    Drops a UTF-8 byte order mark, turns Windows / old Mac line ends into ``\\n`` and
    drops blank lines (trailing ones are common), remembering where every kept row was
    in the file so errors can name the line. Bytes that are not UTF-8 are refused here,
    by line, instead of as a bare ``UnicodeDecodeError`` later.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise MilanFormatError(
            f"{path}: UTF-16 encoded (byte order mark {data[:2]!r}); save it as UTF-8"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raw = np.frombuffer(data, dtype=np.uint8)
    if (raw >= 0x80).any():  # the data is ASCII; anything else must at least be valid UTF-8
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            _fail(
                path,
                line,
                f"byte 0x{data[exc.start]:02x} is not UTF-8 text (a binary or differently "
                "encoded file?); save it as UTF-8",
            )
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        raw = np.frombuffer(data, dtype=np.uint8)
    newline = raw == ord("\n")
    line_of_byte = (
        np.concatenate([[0], np.cumsum(newline)[:-1]]) if raw.size else np.zeros(0, np.int64)
    )
    ink = ~newline & (raw != ord(" "))  # a line with nothing but spaces is blank
    lines_total = int(newline.sum()) + (0 if data.endswith(b"\n") or not data else 1)
    has_ink = np.zeros(lines_total, dtype=bool)
    has_ink[line_of_byte[ink]] = True
    if not has_ink.all():
        data = raw[has_ink[line_of_byte]].tobytes()  # keeps each kept line's own newline
    if data and not data.endswith(b"\n"):
        data += b"\n"
    return data, np.flatnonzero(has_ink) + 1


def _field_counts(data: bytes, sep: bytes) -> np.ndarray:
    """Separators per line (``data`` ends with a newline), vectorised over the whole file."""
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    starts = np.concatenate([[0], ends[:-1] + 1])
    seps = np.concatenate([[0], np.cumsum(raw == ord(sep))])
    return seps[ends] - seps[starts]


# ----------------------------------------------------------------------------- fields


def _parse_number(
    column: np.ndarray, path, lines: np.ndarray, name: str, allow_empty: bool
) -> np.ndarray:
    """Strings -> float64, empty -> NaN (if allowed); the first bad value is reported by line."""
    column = np.char.strip(column.astype(str))
    empty = column == ""
    if empty.any() and not allow_empty:
        _fail(path, lines[int(np.flatnonzero(empty)[0])], f"empty {name}")
    values = np.full(column.shape, np.nan)
    try:
        values[~empty] = column[~empty].astype(float)
    except ValueError:
        for k in np.flatnonzero(~empty):
            try:
                float(column[k])
            except ValueError:
                _fail(path, lines[k], f"{name} is not a number: {str(column[k])!r}")
    if not np.isfinite(values[~empty]).all():
        k = int(np.flatnonzero(~empty & ~np.isfinite(values))[0])
        _fail(path, lines[k], f"{name} is not finite: {str(column[k])!r}")
    return values


def _stamp_to_ms(text: str) -> int:
    """One CSV date -> epoch ms: digits are epoch ms; a date without offset is Milan time."""
    if text.isdigit():
        return int(text)
    stamp = dt.datetime.fromisoformat(text)  # ValueError when it is not a date and time
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_MILAN_ZONE)
    return (stamp - _UTC_EPOCH) // dt.timedelta(milliseconds=1)


def _csv_time_to_ms(column: np.ndarray, path, lines: np.ndarray) -> np.ndarray:
    """CSV dates -> epoch ms, parsing each distinct value once (a day has 144)."""
    codes, distinct = pd.factorize(np.char.strip(column.astype(str)))
    first_row = np.unique(codes, return_index=True)[1]
    ms = np.empty(len(distinct), dtype=np.int64)
    for k, text in enumerate(distinct):
        try:
            ms[k] = _stamp_to_ms(text)
        except (ValueError, OverflowError):
            _fail(path, lines[first_row[k]], f"datetime is not a date and time: {str(text)!r}")
    return ms[codes]


def _check_ranges(path, lines, square, time, country, activity) -> None:
    """Values a real file cannot hold: each would silently distort or blow up the series."""
    bad = (square != np.round(square)) | (square < 1) | (square > GRID_SQUARES)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        _fail(
            path,
            lines[k],
            f"square id {square[k]:g} is not on the 100 x 100 grid "
            f"(an integer from 1 to {GRID_SQUARES})",
        )
    bad = (country != np.round(country)) | (country < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        _fail(path, lines[k], f"country code {country[k]:g} is not a non-negative integer")
    low, high = FIRST_SLOT_MS - PERIOD_MARGIN_MS, END_MS + PERIOD_MARGIN_MS
    bad = (time < low) | (time >= high)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        when = np.datetime64(int(time[k]), "ms") if abs(time[k]) < 1 << 55 else "?"
        _fail(
            path,
            lines[k],
            f"time {time[k]} ({when} UTC) is far outside the data's period "
            "2013-11-01 .. 2014-01-01 (Milan time)",
        )
    for name, values in zip(ACTIVITY_NAMES, activity):
        negative = values < 0  # NaN (empty) compares False
        if negative.any():
            k = int(np.flatnonzero(negative)[0])
            _fail(path, lines[k], f"{name} is negative ({values[k]:g}); activity counts cannot be")
    off_grid = (time - FIRST_SLOT_MS) % SLOT_MS != 0
    if off_grid.any():
        _fail(
            path, lines[int(np.flatnonzero(off_grid)[0])], "time is not on the 10-minute slot grid"
        )


def _as_path(value, what: str) -> Path:
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise ValueError(
            f"{what} must be a path (str or pathlib.Path), got {type(value).__name__} {value!r}"
        )
    return Path(value)


def read_milan_file(path) -> dict[str, np.ndarray]:
    """Read one raw or CSV Milan file (possibly compressed).

    Returns arrays square, time (epoch ms), country and smsin (NaN where empty).
    """
    path = _as_path(path, "a Milan data file")
    if path.is_dir():
        raise MilanPathError(
            f"{path} is a folder, not a Milan data file; pass folders to load_milan_sms"
        )
    if not path.is_file():
        raise MilanPathError(f"Milan data file not found: {path}")
    if _archive_kind(path.name):
        raise MilanFormatError(f"{path}: a compressed archive; extract its day files first")
    data = path.read_bytes()
    data = _decompress(path, data, MAX_FILE_BYTES)
    data, lines = _text_rows(path, data)
    if not lines.size:
        raise MilanFormatError(f"{path}: the file is empty")
    first = data.split(b"\n", 1)[0].decode("utf-8").strip()
    is_csv = first.split(",")[0].strip().lower() == "datetime"
    sep = b"," if is_csv else b"\t"
    if is_csv and tuple(h.strip() for h in first.split(",")) != CSV_HEADER:
        _fail(path, lines[0], f"unexpected CSV header {first!r}; expected {','.join(CSV_HEADER)}")
    if not is_csv and "\t" not in first and first.count(",") == len(RAW_COLUMNS) - 1:
        _fail(
            path,
            lines[0],
            "comma-separated but without the CSV header line; the first line must be "
            f"{','.join(CSV_HEADER)}",
        )
    counts = _field_counts(data, sep)
    body_start = 1 if is_csv else 0
    bad = np.flatnonzero(counts[body_start:] != len(RAW_COLUMNS) - 1)
    if bad.size:
        k = body_start + int(bad[0])
        _fail(
            path,
            lines[k],
            f"expected {len(RAW_COLUMNS)} fields separated by {sep.decode()!r}, "
            f"found {counts[k] + 1} (truncated or malformed line)",
        )
    if len(counts) <= body_start:
        raise MilanFormatError(f"{path}: no data rows")
    # pandas' C parser: every line already has the right number of fields

    frame = pd.read_csv(
        io.BytesIO(data),
        sep=sep.decode(),
        header=None,
        skiprows=body_start,
        names=RAW_COLUMNS,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
    )
    table = frame.to_numpy(dtype=str)
    lines = lines[body_start:]
    if len(table) != len(lines):  # e.g. a quote character that made the parser join lines
        raise MilanFormatError(
            f"{path}: {len(lines)} data lines but {len(table)} rows parsed "
            "(a stray quote character?)"
        )
    if is_csv:
        time = _csv_time_to_ms(table[:, 0], path, lines)
    else:
        time = _parse_number(table[:, 1], path, lines, "time interval", False)
        time = np.clip(time, -(2.0**62), 2.0**62).astype(
            np.int64
        )  # absurd values fail the range check
    square = _parse_number(table[:, 1 if is_csv else 0], path, lines, "square id", False)
    country = _parse_number(table[:, 2], path, lines, "country code", False)
    activity = [
        _parse_number(table[:, k], path, lines, name, True)  # all numeric, though one is used
        for k, name in zip(range(3, 8), ACTIVITY_NAMES)
    ]
    _check_ranges(path, lines, square, time, country, activity)
    square = square.astype(np.int64)
    _check_order(path, lines, square, time, country)
    return {"square": square, "time": time, "country": country, "smsin": activity[0]}


def _check_order(path, lines, square, time, country) -> None:
    """Rows must be sorted by (square, slot) or by (slot, square), without duplicated keys."""

    def sorted_by(a, b):
        step_a, step_b = np.diff(a), np.diff(b)
        return (step_a > 0) | ((step_a == 0) & (step_b >= 0))

    by_square, by_slot = sorted_by(square, time), sorted_by(time, square)
    if not (by_square.all() or by_slot.all()):
        ok = by_square if np.argmin(by_square) >= np.argmin(by_slot) else by_slot
        _fail(path, lines[1 + int(np.argmin(ok))], "rows are not sorted by square and time slot")
    key = np.stack([square, time, country.astype(np.int64)], 1)
    order = np.lexsort(key.T[::-1])
    same = (np.diff(key[order], axis=0) == 0).all(1)
    if same.any():
        k = int(np.flatnonzero(same)[0])
        first, second = sorted((lines[order[k]], lines[order[k + 1]]))
        _fail(path, second, f"duplicated slot: same square, time and country code as line {first}")


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


# ----------------------------------------------------------------------------- folders


def _day_key(name: str) -> str:
    """A file's name without its compression and data suffixes: ``day.txt.gz`` -> ``day``."""
    lower = name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        if lower.endswith(suffix):
            name, lower = name[: -len(suffix)], lower[: -len(suffix)]
            break
    for suffix in DATA_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _is_data_name(name: str) -> bool:
    lower = name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        if lower.endswith(suffix):
            lower = lower[: -len(suffix)]
            return suffix == ".zip" or lower.endswith(DATA_SUFFIXES)
    return lower.endswith(DATA_SUFFIXES)


def _looks_like_data(path: Path) -> bool:
    """Whether a file's first line looks like a Milan row or the CSV header (not notes).

    Generous on purpose: a real day file with a broken first line is kept, so that
    reading it names the problem instead of skipping the day.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 16)
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return True  # reading it explains the encoding
        if (
            head[:2] == b"\x1f\x8b"
            or head[:3] == b"BZh"
            or head[:4] in (b"PK\x03\x04", b"PK\x05\x06")
            or head[:6] == b"\xfd7zXZ\x00"
        ):
            head = _decompress(path, path.read_bytes(), 1 << 16, head_only=True)
    except (OSError, MilanFormatError):
        return True  # reading it explains the problem
    text = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").replace("\r", "\n")
    first = next((line.strip(" ") for line in text.split("\n") if line.strip(" ")), "")
    if not first:
        return True  # an empty day file: reading it says so, instead of a silent gap
    if "\t" in first:
        return first.split("\t")[0].strip().isdigit()
    head_field = first.split(",")[0].strip()
    return "," in first and (head_field.lower() == "datetime" or head_field[:1].isdigit())


def milan_files(directory) -> list[Path]:
    """The Milan day files of a folder, sorted by name.

    Files named ``*.txt``, ``*.csv`` or ``*.tsv`` (possibly compressed: ``.gz``, ``.bz2``,
    ``.xz``, or a ``.zip``) whose first line looks like data. Everything else that is
    not hidden (READMEs, notes, ``.part`` downloads, archives, subfolders, a compressed
    copy next to its extracted file) is skipped with a warning naming it, so a missing
    day is never silent.
    """
    directory = _as_path(directory, "the Milan data folder")
    if not directory.exists():
        raise MilanPathError(f"Milan data folder not found: {directory}")
    if not directory.is_dir():
        raise MilanPathError(f"{directory} is a file, not a folder of Milan day files")
    files, skipped = {}, []

    def skip(path: Path, why: str) -> None:
        skipped.append(path.name)
        warnings.warn(f"skipping {path}: {why}", stacklevel=3)

    for path in sorted(directory.iterdir()):
        name = path.name
        if name.startswith(".") or name == STAND_IN_MARKER:
            continue
        if path.is_dir():
            skip(path, "a subfolder (subfolders are not searched)")
        elif name.lower().endswith(".part"):
            skip(path, "an incomplete download; rerun download_milan to finish it")
        elif _archive_kind(name):
            skip(path, "a compressed archive; extract its day files into this folder")
        elif not _is_data_name(name):
            skip(
                path,
                "not a Milan data file name (*.txt, *.csv, *.tsv, optionally .gz/.bz2/.xz/.zip)",
            )
        elif not _looks_like_data(path):
            skip(path, "a text file that is not Milan data (notes or a README?)")
        else:
            files.setdefault(_day_key(name), []).append(path)
    chosen = []
    for key, paths in files.items():
        plain = [p for p in paths if not p.name.lower().endswith(COMPRESSED_SUFFIXES)]
        keep = plain[0] if len(plain) == 1 else None
        if keep is None:
            chosen.extend(
                paths
            )  # several plain copies or only compressed ones: the overlap check decides
            continue
        chosen.append(keep)
        for other in paths:
            if other is not keep:
                skip(other, f"a compressed copy of {keep.name}, which is read instead")
    if not chosen:
        note = f"; skipped: {', '.join(skipped)}" if skipped else ""
        raise MilanPathError(
            f"no Milan data files (*.txt, *.csv, *.tsv, optionally compressed) in {directory}{note}"
        )
    return sorted(chosen)


def _resolve_inputs(paths) -> tuple[list[Path], Path]:
    """A folder, one file (str or Path), or an iterable of files -> (files, folder)."""
    if isinstance(paths, (str, os.PathLike)):
        path = Path(paths)
        if path.is_dir():
            return milan_files(path), path
        if path.is_file():
            return [path], path.parent
        raise MilanPathError(
            f"Milan data path not found: {str(paths)!r} (give a folder of day files, "
            "a day file, or a list of day files)"
        )
    if isinstance(paths, bytes) or not hasattr(paths, "__iter__"):
        raise ValueError(
            f"paths must be a folder, a day file or a list of day files, got "
            f"{type(paths).__name__} {paths!r}"
        )
    files = [_as_path(p, "each entry of paths") for p in paths]
    if not files:
        raise MilanPathError("no Milan data files given (an empty list)")
    seen = {}
    for path in files:
        key = path.resolve()
        if key in seen:
            raise ValueError(f"{path} is given twice (also as {seen[key]})")
        seen[key] = path
    return files, files[0].parent


def _check_squares(squares) -> np.ndarray:
    try:
        values = np.unique(np.asarray(list(np.atleast_1d(squares)), dtype=float))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"squares must be square ids (integers 1..{GRID_SQUARES}), got {squares!r}"
        ) from exc
    if values.size == 0:
        raise ValueError("squares is empty; give at least one square id, or None for all")
    bad = values[
        ~np.isfinite(values) | (values != np.round(values)) | (values < 1) | (values > GRID_SQUARES)
    ]
    if bad.size:
        raise ValueError(
            f"squares must be integers from 1 to {GRID_SQUARES} (the 100 x 100 grid); "
            f"got {bad[0]:g}"
        )
    return values.astype(np.int64)


def load_milan_sms(paths, squares=None) -> MilanSeries:
    """Load day files (either format), sum sms-in over country codes per (square, slot).

    ``paths`` is a folder (str or Path; see :func:`milan_files`), one day file, or a list
    of day files. Files may come in any order but must not overlap in time. ``squares``
    restricts the squares kept (all by default).
    """
    paths, directory = _resolve_inputs(paths)
    wanted = None if squares is None else _check_squares(squares)
    parts, seen = [], {}
    for path in paths:
        rows = read_milan_file(path)
        if wanted is not None:
            keep = np.isin(rows["square"], wanted)
            rows = {k: v[keep] for k, v in rows.items()}
        slot = (rows["time"] - FIRST_SLOT_MS) // SLOT_MS
        for s in np.unique(slot):
            if s in seen:
                raise MilanFormatError(
                    f"{path}: time slot {s} also appears in {seen[s]} (overlapping files)"
                )
        seen.update({s: path.name for s in np.unique(slot)})
        parts.append((slot, rows["square"], rows["smsin"]))
    slot = np.concatenate([p[0] for p in parts])
    square = np.concatenate([p[1] for p in parts])
    smsin = np.concatenate([p[2] for p in parts])
    if not slot.size:
        raise ValueError(
            f"none of squares {wanted.tolist()} appears in {len(paths)} file(s) from {directory}"
        )
    slots = np.arange(slot.min(), slot.max() + 1)
    kept = np.unique(square) if wanted is None else wanted
    column = np.searchsorted(kept, square)
    valid = (column < len(kept)) & (kept[np.minimum(column, len(kept) - 1)] == square)
    row = slot - slots[0]
    total = np.zeros((len(slots), len(kept)))
    present = np.zeros((len(slots), len(kept)), dtype=bool)
    finite = valid & np.isfinite(smsin)
    np.add.at(total, (row[finite], column[finite]), smsin[finite])
    present[row[finite], column[finite]] = True
    values = np.where(present, total, np.nan)
    return MilanSeries(
        values,
        FIRST_SLOT_MS + slots * SLOT_MS,
        kept,
        stand_in=(directory / STAND_IN_MARKER).exists(),
        source=str(directory),
    )


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
        raise ValueError(
            f"only {ok.size} squares have coverage >= {min_coverage} and gaps <= {max_gap} slots; "
            f"{count} requested. Relax min_coverage / max_gap or ask for fewer cells."
        )
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
#
# The dataset listing and the file bodies come from a server: untrusted input. Names are
# checked to be plain file names before they touch the disk, every destination is proven
# to lie inside the target folder, bodies are bounded by the listed size, and a file
# appears under its final name only after its size and checksum matched.

LISTING_MAX_BYTES = 16 << 20  # the Milan listing is a few tens of kB
_CHECKSUMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_download_url(url: str) -> str:
    """Return ``url`` if it may be fetched: https anywhere, plain http only on loopback.

    Plain http exists for the tests' local servers (127.0.0.1); anything else would let
    a network attacker rewrite the data in transit.
    """
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if (
        parts
        and parts.hostname
        and (parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)))
    ):
        return url
    raise ValueError(
        f"refusing to download from {url!r}: use https (plain http only for a loopback "
        "test server such as http://127.0.0.1)"
    )


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects (Dataverse sends downloads to storage) only to allowed URLs."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_download_url(urllib.parse.urljoin(req.full_url, newurl))
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(url: str, timeout: float, headers: dict | None = None):
    """GET ``url`` (checked, redirects checked); HTTP and network errors name the URL."""
    check_download_url(url)
    opener = urllib.request.build_opener(_CheckedRedirects())
    try:
        return opener.open(urllib.request.Request(url, headers=headers or {}), timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise IOError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise IOError(f"{url}: {exc.reason}") from exc


def check_file_name(name, where: str = "file name") -> str:
    """Return ``name`` if it is safe as a plain file name inside the data folder.

    Refused: missing or empty names, anything with a path separator, ``..``, a drive
    colon, control characters, leading or trailing spaces, hidden names, names over 255
    bytes, and names this module reserves (``*.part`` downloads, the stand-in marker).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: missing or empty file name {name!r}")
    problem = None
    if "/" in name or "\\" in name or ":" in name:
        problem = "contains a path separator or drive colon"
    elif ".." in name:
        problem = "contains '..'"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "contains control characters"
    elif name != name.strip():
        problem = "starts or ends with white space"
    elif name.startswith("."):
        problem = "is a hidden name"
    elif len(name.encode("utf-8")) > 255:
        problem = "is longer than 255 bytes"
    elif name.lower().endswith(".part") or name == STAND_IN_MARKER:
        problem = "is reserved (partial downloads, the stand-in marker)"
    if problem:
        raise ValueError(f"{where}: refusing file name {name!r}: it {problem}")
    return name


def _listing_entry(entry, where: str) -> dict:
    """One untrusted listing record -> id, filename, size, checksum, all checked."""
    data_file = entry.get("dataFile") if isinstance(entry, dict) else None
    if not isinstance(data_file, dict):
        raise ValueError(f"{where}: no dataFile record")
    original = data_file.get("originalFileName")
    name = check_file_name(original if original is not None else data_file.get("filename"), where)
    where = f"{where} ({name})"
    file_id = data_file.get("id")
    if isinstance(file_id, bool) or not isinstance(file_id, int) or file_id < 0:
        raise ValueError(f"{where}: id must be a non-negative integer, got {file_id!r}")
    size = data_file.get("originalFileSize")
    size = data_file.get("filesize") if size is None else size
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"{where}: size must be a non-negative integer, got {size!r}")
    record = data_file.get("checksum")
    if isinstance(record, dict) and record.get("type") is not None:
        algorithm = _CHECKSUMS.get(str(record.get("type")).upper())
        if algorithm is None:
            raise ValueError(f"{where}: unknown checksum type {record.get('type')!r}")
        value = record.get("value")
    else:
        algorithm, value = (
            ("md5", data_file["md5"]) if data_file.get("md5") is not None else (None, None)
        )
    if algorithm is not None:
        length = 2 * hashlib.new(algorithm).digest_size
        if not (
            isinstance(value, str)
            and len(value) == length
            and all(c in "0123456789abcdefABCDEF" for c in value)
        ):
            raise ValueError(
                f"{where}: {algorithm} checksum must be {length} hex digits, got {value!r}"
            )
        value = value.lower()
    return {
        "id": file_id,
        "filename": name,
        "size": size,
        "md5": value if algorithm == "md5" else None,
        "checksum": (algorithm, value) if algorithm else None,
    }


def list_dataverse_files(
    base_url: str = DATAVERSE_URL, doi: str = MILAN_DOI, timeout: float = 60
) -> list[dict]:
    """Files of a Dataverse dataset: id, filename, size and checksum (the native API's listing).

    The listing is untrusted: it must be JSON of the native API's shape, at most
    ``LISTING_MAX_BYTES``, and every name must pass :func:`check_file_name` and be
    unique (ignoring case and Unicode normalisation, as some file systems do).
    """
    query = urllib.parse.urlencode({"persistentId": doi})
    url = f"{check_download_url(base_url).rstrip('/')}/api/datasets/:persistentId/?{query}"
    try:
        with _open(url, timeout) as response:
            body = response.read(LISTING_MAX_BYTES + 1)
            if len(body) <= LISTING_MAX_BYTES and getattr(response, "length", None):  # closed early
                raise http.client.IncompleteRead(body, response.length)
    except (OSError, http.client.HTTPException) as exc:
        raise IOError(f"{url}: reading the dataset listing failed: {exc!r}") from exc
    if len(body) > LISTING_MAX_BYTES:
        raise ValueError(f"{url}: the dataset listing is larger than {LISTING_MAX_BYTES} bytes")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{url}: the dataset listing is not JSON ({exc})") from exc
    try:
        files = payload["data"]["latestVersion"]["files"]
    except (KeyError, TypeError) as exc:
        raise ValueError(
            f"unexpected Dataverse listing from {url}: no data.latestVersion.files"
        ) from exc
    if not isinstance(files, list):
        raise ValueError(f"unexpected Dataverse listing from {url}: files is not a list")
    out, seen = [], {}
    for k, entry in enumerate(files):
        item = _listing_entry(entry, f"{url}: listing entry {k}")
        key = unicodedata.normalize("NFC", item["filename"]).casefold()
        if key in seen:
            raise ValueError(
                f"{url}: listing entries {seen[key]} and {k} both name the file "
                f"{item['filename']!r} (names must be unique, ignoring case)"
            )
        seen[key] = k
        out.append(item)
    return out


class _TooLong(Exception):
    pass


def _content_range_start(response) -> int | None:
    value = response.headers.get("Content-Range", "")
    try:
        return int(value.split()[1].split("-")[0]) if value.startswith("bytes ") else None
    except (IndexError, ValueError):
        return -1


def _file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def download_file(
    url: str,
    destination,
    size: int | None = None,
    md5: str | None = None,
    timeout: float = 60,
    chunk: int = 1 << 20,
    checksum: tuple[str, str] | None = None,
) -> Path:
    """Download with resume (HTTP Range on ``<name>.part``), then check size and checksum.

    The body is written to ``<name>.part`` and renamed only after every check passed, so
    the final name never holds a partial or corrupt file. A body longer than ``size``, or
    a size the server announces above it, aborts at once and removes the ``.part``; so
    does a checksum (``md5``, or ``checksum=(algorithm, hex)``) mismatch. A body cut
    short keeps its ``.part`` so a rerun resumes it (the checksum guards the join).
    """
    check_download_url(url)
    destination = Path(destination)
    if checksum is None and md5 is not None:
        checksum = ("md5", md5.lower())
    if destination.is_symlink() or (destination.exists() and not destination.is_file()):
        raise ValueError(f"{destination} exists and is not a plain file; refusing to write there")
    if destination.exists():
        have = destination.stat().st_size
        if size is not None and have != size:
            raise IOError(
                f"{destination} already exists with {have} bytes but the listing says {size}; "
                "move it away to download it again"
            )
        return destination
    partial = destination.with_name(destination.name + ".part")
    destination.parent.mkdir(parents=True, exist_ok=True)
    if partial.is_symlink() or (partial.exists() and not partial.is_file()):
        raise ValueError(f"{partial} exists and is not a plain file; refusing to write there")
    have = partial.stat().st_size if partial.exists() else 0
    if size is not None and have > size:
        partial.unlink()
        have = 0
    if size is None or have < size:
        with _open(url, timeout, {"Range": f"bytes={have}-"} if have else None) as response:
            start = _content_range_start(response) if response.status == 206 else 0
            if have and response.status == 206 and start not in (None, have):
                partial.unlink()
                raise IOError(
                    f"{url}: asked for bytes from {have}, the server sent from {start}; "
                    "the partial file was removed, rerun to start again"
                )
            resumed = bool(have) and response.status == 206  # a 200 means the server ignored Range
            have = have if resumed else 0
            announced = response.headers.get("Content-Length", "")
            if size is not None and announced.isdigit() and have + int(announced) > size:
                partial.unlink(missing_ok=True)
                raise IOError(
                    f"{url}: the server announces {have + int(announced)} bytes but the listing "
                    f"says {size}; nothing was kept"
                )
            got = have
            try:
                with open(partial, "ab" if resumed else "wb") as out:
                    while block := response.read(chunk):
                        got += len(block)
                        if size is not None and got > size:
                            raise _TooLong
                        out.write(block)
                    if getattr(response, "length", None):  # Content-Length not reached
                        raise http.client.IncompleteRead(b"", response.length)
            except _TooLong:
                partial.unlink()
                raise IOError(
                    f"{url}: the response is longer than the listing's {size} bytes; "
                    "download aborted and nothing was kept"
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                raise IOError(
                    f"{url}: download interrupted after {got} of {size} bytes ({exc!r}); "
                    f"rerun to resume ({partial})"
                ) from exc
    got = partial.stat().st_size
    if size is not None and got != size:
        raise IOError(f"{url}: expected {size} bytes, got {got}; rerun to resume ({partial})")
    if checksum is not None:
        algorithm, expected = checksum
        digest = _file_digest(partial, algorithm)
        if digest != expected.lower():
            partial.unlink()
            raise IOError(
                f"{url}: {algorithm} {digest} does not match the listing's {expected}; "
                "the partial file was removed"
            )
    os.replace(partial, destination)
    return destination


def download_milan(
    directory, names=None, base_url: str = DATAVERSE_URL, doi: str = MILAN_DOI, timeout: float = 60
) -> list[Path]:
    """Download the Milan day files (all, or those whose name contains one of ``names``).

    Uses the Dataverse access API (``/api/access/datafile/{id}?format=original``), resumes
    partial downloads and checks sizes and checksums from the dataset listing. The whole
    listing is checked (see :func:`list_dataverse_files`) before anything is written, and
    each destination is resolved and must lie directly inside ``directory``.
    """
    check_download_url(base_url)
    directory = _as_path(directory, "directory")
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"directory {directory} is a file, not a folder")
    if isinstance(names, str):
        names = [names]  # a single pattern, not its characters
    if names is not None:
        names = list(names)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ValueError(
                f"names must be non-empty strings (parts of file names), got {names!r}"
            )
    listing = list_dataverse_files(base_url, doi, timeout)
    chosen = [f for f in listing if names is None or any(n in f["filename"] for n in names)]
    if not chosen:
        raise ValueError(f"no files matching {names} in {doi}")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory.resolve()
    destinations = []
    for entry in chosen:
        destination = directory / entry["filename"]
        if destination.resolve().parent != target:  # also catches a symlink planted in the folder
            raise ValueError(f"{entry['filename']!r} would be written outside {target}; refusing")
        destinations.append(destination)
    paths = []
    for entry, destination in zip(chosen, destinations):
        url = f"{base_url.rstrip('/')}/api/access/datafile/{entry['id']}?format=original"
        paths.append(
            download_file(
                url, destination, entry["size"], timeout=timeout, checksum=entry.get("checksum")
            )
        )
    return paths


# ----------------------------------------------------------------------------- stand-in


def write_stand_in(
    directory, days: int = 14, squares=(4159, 4556, 5060, 5061, 5161), seed: int = 0
) -> Path:
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
    daily = 0.55 + 0.45 * np.sin(2 * np.pi * (t - 0.35)) ** 2 * (
        np.sin(2 * np.pi * (t - 0.3)) > -0.2
    )
    weekday = (np.floor(t).astype(int) + 4) % 7  # 0 = Monday
    weekly = np.where(weekday >= 5, 0.7, 1.0)
    (directory / STAND_IN_MARKER).write_text(
        "SYNTHETIC STAND-IN for the Milan SMS-in data (qkan_lib.milan.write_stand_in). "
        "Not real data.\n"
    )
    level = {sq: rng.uniform(20, 60) for sq in squares}
    series = {}
    for sq in squares:
        bursts = np.zeros(n)
        for start in rng.choice(n, size=days, replace=False):
            bursts[start : start + rng.integers(2, 8)] += rng.uniform(0.5, 1.5)
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
        (directory / f"sms-call-internet-mi-{date.isoformat()}.txt").write_text(
            "\n".join(lines) + "\n"
        )
    return directory
