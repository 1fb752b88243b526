"""Real public time series shipped inside a pinned package, and the reader's own CSV series.

Six series bundled with statsmodels (public domain, as each data set's ``COPYRIGHT`` note
says), of different character: seasonal with a trend (Mauna Loa CO2), seasonal and cyclical
(electrical equipment turnover), seasonal and noisy (El Nino sea temperatures), cyclical
without a fixed period (sunspots), short and noisy with a level shift (the Nile) and a
smooth trend (US real GDP). None needs a network. No pinned package ships a traffic or
call-volume series, so none is here (the paper's Milan data is :mod:`qkan_lib.data.milan`).

Every series is windowed for one **forecast origin** at a time (:func:`origin_windows`,
rolling-origin evaluation with an expanding window): everything before the origin is the
training period (its last ``val_fraction`` of windows the validation block), the next
``horizon`` values are the test part. The min-max scaler is fitted on the training period
only, so no value at or after the origin enters the scaling. Windows are built by
:func:`qkan_lib.data.windows.make_windows`, like every other dataset's.

:func:`read_series_csv` reads the reader's own CSV (time column + value column) and refuses
bad input with an error naming the file, the column and the row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from statsmodels.datasets import co2, elec_equip, elnino, macrodata, nile, sunspots

from ..utils import check_positive_int
from .windows import MinMaxScaler, SequenceData, check_fraction, make_windows


@dataclass(frozen=True)
class RealSeries:
    """One bundled series: where it comes from and how forecasters treat it."""

    name: str
    label: str
    frequency: str  # "monthly", "quarterly", "yearly"
    season: int  # the seasonal period (1: none), M4's convention for the frequency
    horizon: int  # the multi-step horizon forecast from every origin
    seq_len: int  # the models' window length
    character: str
    dataset: str  # the statsmodels.datasets module
    column: str
    source: str
    licence: str


REAL_SERIES: dict[str, RealSeries] = {
    s.name: s
    for s in (
        RealSeries("co2", "Mauna Loa CO2", "monthly", 12, 12, 12, "trend and season",
                   "co2", "co2",
                   "Keeling and Whorf (2004), Scripps flask samples at Mauna Loa, CDIAC; "
                   "weekly, averaged here to months from May 1964 (the first months have gaps)",
                   "public domain"),
        RealSeries("elec_equip", "Electrical equipment", "monthly", 12, 12, 12,
                   "season and business cycle", "elec_equip", "STS.M.I7.W.TOVT.NS0016.4.000",
                   "Eurostat, euro area turnover index, manufacture of electrical equipment",
                   "public domain"),
        RealSeries("elnino", "El Niño SST", "monthly", 12, 12, 12, "season and noise",
                   "elnino", "",
                   "NOAA National Weather Service, ERSST.V3B, Niño 1+2 sea surface temperature",
                   "public domain"),
        RealSeries("sunspots", "Sunspots", "yearly", 1, 6, 8, "cycle of varying length",
                   "sunspots", "SUNACTIVITY",
                   "NOAA National Geophysical Data Center, yearly sunspot numbers 1700-2008",
                   "public domain"),
        RealSeries("nile", "Nile flow", "yearly", 1, 6, 6, "short, noisy, level shift",
                   "nile", "volume",
                   "Cobb (1978), Nile flow at Aswan 1871-1970, Biometrika 65(2)",
                   "public domain"),
        RealSeries("us_gdp", "US real GDP", "quarterly", 4, 8, 8, "smooth trend",
                   "macrodata", "realgdp",
                   "Federal Reserve Bank of St. Louis (FRED), compiled in statsmodels' macrodata",
                   "public domain"),
    )
}  # fmt: skip
REAL_SERIES_NAMES = tuple(REAL_SERIES)
_BUNDLED = {
    m.__name__.rsplit(".", 1)[1]: m for m in (co2, elec_equip, elnino, macrodata, nile, sunspots)
}


def real_series_info(name: str) -> RealSeries:
    if name not in REAL_SERIES:
        raise ValueError(f"unknown real series {name!r}; choose from {REAL_SERIES_NAMES}")
    return REAL_SERIES[name]


def load_real_series(name: str) -> pd.Series:
    """The series on its original scale, indexed by time (a regular DatetimeIndex)."""
    spec = real_series_info(name)
    frame = _BUNDLED[spec.dataset].load_pandas().data
    if name == "co2":
        # months with no weekly sample at all end in April 1964: start after the last gap
        values = frame["co2"].resample("MS").mean().loc["1964-05-01":]
    elif name == "elec_equip":
        values = frame.iloc[:, 0]
        values.index = pd.DatetimeIndex(values.index).to_period("M").to_timestamp()
    elif name == "elnino":
        months = frame.drop(columns="YEAR").to_numpy().reshape(-1)
        start = f"{int(frame['YEAR'].iloc[0])}-01-01"
        values = pd.Series(months, pd.date_range(start, periods=months.size, freq="MS"))
    elif name == "us_gdp":
        start = f"{int(frame['year'].iloc[0])}-{3 * int(frame['quarter'].iloc[0]) - 2:02d}-01"
        values = pd.Series(
            frame[spec.column].to_numpy(), pd.date_range(start, periods=len(frame), freq="QS")
        )
    else:  # yearly: sunspots, nile
        years = frame.iloc[:, 0].astype(int)
        values = pd.Series(
            frame[spec.column].to_numpy(),
            pd.date_range(f"{years.iloc[0]}-01-01", periods=len(frame), freq="YS"),
        )
    values = values.astype(float).rename(spec.label)
    if values.isna().any():
        raise ValueError(f"the bundled series {name!r} has missing values after loading")
    return values


# ---------------------------------------------------------------------------------------------
# rolling origins and the windows of one origin


def forecast_origins(length: int, horizon: int, n_origins: int, min_train: int) -> tuple[int, ...]:
    """The rolling forecast origins (number of observations before each), earliest first.

    The last origin leaves exactly ``horizon`` values to forecast; earlier ones step back by
    ``horizon`` (non-overlapping test blocks). Raises when the earliest would leave fewer than
    ``min_train`` observations for training.
    """
    length, horizon = check_positive_int(length, "length"), check_positive_int(horizon, "horizon")
    n_origins = check_positive_int(n_origins, "n_origins")
    origins = tuple(length - horizon * (n_origins - k) for k in range(n_origins))
    if origins[0] < min_train:
        raise ValueError(
            f"a series of {length} values is too short for {n_origins} forecast origins "
            f"{horizon} steps apart: the earliest origin leaves {origins[0]} values for "
            f"training, at least {min_train} are needed"
        )
    return origins


def selection_origins(
    first_test_origin: int, horizon: int, n_origins: int, min_train: int
) -> tuple[int, ...]:
    """The origins of the selection blocks, earliest first: up to ``n_origins`` origins just
    before the first test origin, ``horizon`` apart (blocks ending where the test blocks begin),
    each leaving at least ``min_train`` observations for training; fewer (none) where the
    series is too short. The best baseline is chosen on them, never on the test blocks."""
    first_test_origin = check_positive_int(first_test_origin, "first_test_origin")
    horizon = check_positive_int(horizon, "horizon")
    n_origins = check_positive_int(n_origins, "n_origins")
    origins = (first_test_origin - horizon * (n_origins - k) for k in range(n_origins))
    return tuple(o for o in origins if o >= min_train)


def min_training_length(seq_len: int, season: int = 1) -> int:
    """The fewest observations before an origin: ten windows (training and validation) and
    two full seasons plus one (what seasonal exponential smoothing needs)."""
    return max(seq_len + 10, 2 * season + 2)


def origin_windows(
    values,
    seq_len: int,
    origin: int,
    horizon: int,
    val_fraction: float = 0.2,
    dtype: torch.dtype = torch.float64,
    name: str = "series",
    info: dict | None = None,
) -> SequenceData:
    """Windows of ``values`` (original scale) for the forecast origin ``origin``.

    Training period: ``values[:origin]``; the scaler is fitted on it alone. Training and
    validation windows are every window whose target lies before the origin (validation: the
    last ``val_fraction`` of them); test windows are the one-step windows whose targets are
    ``values[origin:origin + horizon]`` (their inputs are observed values, as in one-step
    evaluation). ``info`` records the origin, horizon and the original values the forecast
    evaluation needs.
    """
    values = np.asarray(values, dtype=float)
    seq_len = check_positive_int(seq_len, "seq_len")
    horizon = check_positive_int(horizon, "horizon")
    if not (
        isinstance(origin, (int, np.integer)) and seq_len + 2 <= origin <= len(values) - horizon
    ):
        raise ValueError(
            f"origin must be an integer in [{seq_len + 2}, {len(values) - horizon}] for "
            f"{len(values)} values, seq_len={seq_len} and horizon={horizon}; got {origin!r}"
        )
    val_fraction = check_fraction(val_fraction, "val_fraction") if val_fraction else 0.0
    scaler = MinMaxScaler.fit(values[:origin])  # the training period only
    scaled = scaler.transform(values[: origin + horizon])
    # make_windows drops the last window; the NaN placeholder lets the window whose target is
    # the last training value in without ever reading a value at or after the origin.
    x, y = make_windows(np.append(scaled[:origin], np.nan), seq_len)
    n_val = int(val_fraction * len(x))
    if len(x) - n_val < 1:
        raise ValueError(f"{len(x)} windows before origin {origin} are too few to train on")
    cut = len(x) - n_val
    test_index = np.arange(origin, origin + horizon)
    x_test = scaled[test_index[:, None] - seq_len + np.arange(seq_len)[None, :]][..., None]
    y_test = scaled[test_index, None]

    def tensor(a):
        return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype)

    record = {
        **(info or {}),
        "origin": int(origin),
        "horizon": int(horizon),
        "history": values[:origin].tolist(),
        "future": values[origin : origin + horizon].tolist(),
    }
    return SequenceData(
        name, seq_len, tensor(x[:cut]), tensor(y[:cut]), tensor(x_test), tensor(y_test),
        tensor(x[cut:]), tensor(y[cut:]), scaler=scaler, info=record,
    )  # fmt: skip


def real_series_dataset(
    name: str,
    seq_len: int | None = None,
    origin: int | None = None,
    horizon: int | None = None,
    val_fraction: float = 0.2,
    dtype: torch.dtype = torch.float64,
) -> SequenceData:
    """The windows of bundled series ``name`` at ``origin`` (default: the last origin)."""
    spec = real_series_info(name)
    values = load_real_series(name).to_numpy()
    horizon = horizon or spec.horizon
    origin = len(values) - horizon if origin is None else origin
    return origin_windows(
        values, seq_len or spec.seq_len, origin, horizon, val_fraction, dtype, name,
        {"season": spec.season, "label": spec.label},
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# the reader's own CSV


class SeriesFileError(ValueError):
    """A CSV series that cannot be forecast; the message names the file, column and row."""


def file_digest(path) -> str:
    """SHA-256 of the file's bytes (so cached runs follow the file's content, not its name)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _row(i: int) -> str:
    return f"row {i + 2}"  # the header is row 1, the first data row row 2 (as a spreadsheet)


def _frequency(index: pd.DatetimeIndex):
    """pandas' name of the index's regular spacing, or None when it is irregular."""
    with warnings.catch_warnings():  # pandas 3 announces a change of the return type
        warnings.simplefilter("ignore")
        return pd.infer_freq(index)


def read_series_csv(path, time_column: str, value_column: str) -> pd.Series:
    """The reader's series: ``value_column`` indexed by ``time_column``, checked.

    Accepted: a UTF-8 byte-order mark, CRLF line ends, quoted fields, time stamps with a time
    zone (converted to UTC), any regular spacing pandas can name. Refused, with the file,
    column and row named: an unknown column, a missing or non-numeric value or time stamp,
    time stamps not strictly increasing (unsorted or duplicated), irregular spacing, a
    constant series.
    """
    path = Path(path)
    if not path.is_file():
        raise SeriesFileError(f"{path}: no such file")
    try:
        text = path.read_bytes().decode("utf-8-sig")  # utf-8-sig drops a byte-order mark
    except UnicodeDecodeError as error:
        raise SeriesFileError(
            f"{path}: not UTF-8 text (byte {error.start}); save the file as UTF-8 CSV"
        ) from None
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            quoting=csv.QUOTE_MINIMAL)  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise SeriesFileError(f"{path}: not a readable CSV table ({error})") from None
    frame.columns = [c.strip() for c in frame.columns]
    for column in (time_column, value_column):
        if column not in frame.columns:
            raise SeriesFileError(
                f"{path}: no column {column!r}; the file has columns {list(frame.columns)}"
            )
    if frame.empty:
        raise SeriesFileError(f"{path}: no data rows")
    raw_values = frame[value_column].str.strip()
    values = pd.to_numeric(raw_values, errors="coerce")
    for i, (text_value, number) in enumerate(zip(raw_values, values)):
        if text_value == "":
            raise SeriesFileError(f"{path}: column {value_column!r}, {_row(i)}: missing value")
        if not np.isfinite(number):
            raise SeriesFileError(
                f"{path}: column {value_column!r}, {_row(i)}: {text_value!r} is not a finite number"
            )
    raw_times = frame[time_column].str.strip()
    times = []
    for i, stamp in enumerate(raw_times):
        if stamp == "":
            raise SeriesFileError(f"{path}: column {time_column!r}, {_row(i)}: missing time stamp")
        try:
            parsed = pd.Timestamp(stamp)
        except (ValueError, TypeError):
            parsed = pd.NaT
        if parsed is pd.NaT:
            raise SeriesFileError(
                f"{path}: column {time_column!r}, {_row(i)}: {stamp!r} is not a time stamp"
            )
        times.append(parsed.tz_convert("UTC").tz_localize(None) if parsed.tzinfo else parsed)
    index = pd.DatetimeIndex(times)
    steps = np.diff(index.asi8)
    for i, step in enumerate(steps):
        if step == 0:
            raise SeriesFileError(
                f"{path}: column {time_column!r}, {_row(i + 1)}: duplicated time stamp "
                f"{raw_times.iloc[i + 1]!r}"
            )
        if step < 0:
            raise SeriesFileError(
                f"{path}: column {time_column!r}, {_row(i + 1)}: time stamps are not sorted "
                f"({raw_times.iloc[i + 1]!r} comes after {raw_times.iloc[i]!r})"
            )
    if len(index) >= 3 and _frequency(index) is None:
        usual = np.median(steps)
        odd = int(np.flatnonzero(steps != usual)[0]) if np.any(steps != usual) else 0
        raise SeriesFileError(
            f"{path}: column {time_column!r}, {_row(odd + 1)}: irregular time stamps "
            f"({raw_times.iloc[odd]!r} to {raw_times.iloc[odd + 1]!r} differs from the usual "
            f"spacing {pd.Timedelta(int(usual), 'ns')}); resample to a regular grid first"
        )
    series = pd.Series(values.to_numpy(dtype=float), index, name=value_column)
    if series.nunique() == 1:
        raise SeriesFileError(
            f"{path}: column {value_column!r}: the series is constant ({series.iloc[0]!r} in "
            "every row); there is nothing to forecast"
        )
    return series


def csv_series_dataset(
    path,
    time_column: str,
    value_column: str,
    season: int = 1,
    sha256: str = "",
    seq_len: int = 8,
    origin: int | None = None,
    horizon: int = 6,
    val_fraction: float = 0.2,
    dtype: torch.dtype = torch.float64,
) -> SequenceData:
    """The windows of the reader's CSV series at ``origin`` (default: the last origin).
    ``sha256`` (:func:`file_digest`), when given, must match the file: a changed file is
    never scored under an old name."""
    if sha256 and file_digest(path) != sha256:
        raise SeriesFileError(f"{path}: the file changed since its runs were planned")
    values = read_series_csv(path, time_column, value_column).to_numpy()
    origin = len(values) - horizon if origin is None else origin
    return origin_windows(
        values, seq_len, origin, horizon, val_fraction, dtype, "csv",
        {"season": season, "label": value_column},
    )  # fmt: skip
