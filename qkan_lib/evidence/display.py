"""Names and numbers as a page shows them: the one display-name mapping and the one number format.

A reader never meets a code name: models and datasets are shown by the ``label`` of their
registry entry (``MODEL_REGISTRY``, ``DATASET_REGISTRY``); statistical tests, forecasters and
metric columns by the labels below. :data:`CODE_NAMES` lists what must never reach a page, and
:func:`find_code_names` finds them in generated text (the tests of the tables and sentences,
and the browser test of the built pages, read the same list).

Numbers: :func:`number` prints the precision that matters (scientific notation where fixed
decimals would print only zeros), :func:`numbers` gives a group of numbers that differ enough
decimals to tell them apart, :func:`count` prints whole numbers without ".0", and a missing
value prints as a dash, never "nan". One look for every page: scientific numbers as
"1.9 × 10⁻⁶" (:func:`scientific`, which :func:`number`, :func:`number_format`,
:func:`significant`, :func:`p_value` and :func:`power_text` write), thousands as "10,000";
no other module formats a number for the page (``tests/test_number_style.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from html import escape

import pandas as pd

from ..models.registry import DATASET_LABELS, MODEL_LABELS
from .statistics import ALPHA  # the level a p-value must not round onto

TEST_LABELS = {
    "mannwhitney": "Mann-Whitney U",
    "welch": "Welch's t",
    "wilcoxon": "Wilcoxon signed-rank",
    "signed-rank vs fixed value": "signed-rank vs a fixed value",
}
FORECASTER_LABELS = {"ar": "AR(p)", "persistence": "persistence"}
METRIC_LABELS = {
    "test_r2": "test R²",
    "r2": "R²",
    "test_mse": "test MSE",
    "mse": "MSE",
    "test_mae": "test MAE",
    "mae": "MAE",
    "train_loss": "train loss",
    "val_mse": "validation MSE",
    "wall_time_s": "wall time (s)",
    "seq_len": "window length",
    "lr": "learning rate",
}
STATISTIC_LABELS = {"kendall_tau": "Kendall's τ", "p_holm": "Holm p", "p_raw": "p (raw)"}
# Every code name a table, sentence or caption could carry, and the name a reader sees.
DISPLAY_NAMES = {
    **MODEL_LABELS,
    **DATASET_LABELS,
    **TEST_LABELS,
    **FORECASTER_LABELS,
    **METRIC_LABELS,
    **STATISTIC_LABELS,
}
MISSING = "–"  # what a missing number prints as (never "nan")
NO_BREAK = "\u00a0"  # a space a line may not break at (one unit in a table cell)
MINUS = "\u2212"  # the minus sign of a number on the page ("−0.02", never the hyphen "-0.02")


def minus_sign(text: str) -> str:
    """``text`` with every hyphen that is a number's sign ("-0.02", "[-1.3, ...") written as
    the true minus sign "−" (U+2212); hyphens inside words ("Mann-Whitney") stay."""
    return re.sub(r"(?<![\w)\]])-(?=[\d.])", MINUS, str(text))


# A model option of an ablation arm ("qkan_lstm (preact_trainable=False)") as a reader reads
# it: what the option does, never its keyword. ``latent_in`` / ``latent_out`` are read as a
# pair in :func:`option_text`.
OPTION_LABELS = {
    ("preact_trainable", "False"): "encoding fixed at w = 1",
    ("base_trainable", "False"): "no SiLU residual",
    ("postact_weight_trainable", "False"): "post-weight fixed",
    ("postact_bias_trainable", "False"): "post-bias fixed",
    ("readout", "amplitude"): "amplitude readout",
    ("readout", "expectation"): "⟨Z⟩ readout",
    ("noise_on", "inputs"): "noise on the inputs only",
    ("noise_on", "both"): "noise on inputs and targets",
}
OPTION_KEYS = {"reps": "L", "seq_len": "window", "hidden_size": "hidden size", "depth": "depth"}

# What must never appear in a page's prose, tables or figure text (code cells may carry them):
# the code names of models, datasets, tests and metric columns, and phrases a review found.
# Matched case-sensitively as whole words, so "Urban" and "Wilcoxon" pass, "urban" does not.
CODE_NAMES = tuple(
    dict.fromkeys(
        [
            *MODEL_LABELS,
            *DATASET_LABELS,
            *(name for name in TEST_LABELS if " " not in name),
            *(name for name in METRIC_LABELS if "_" in name),
            *STATISTIC_LABELS,
            "test r2",
            # model and data options by keyword (issue 25: chapter 10's prose and arms)
            *(key for key, _ in OPTION_LABELS if "_" in key),
            "latent_in",
            "latent_out",
            "readout=amplitude",
            "reps",
            "ar reaches",
            "p_Holm",
            "seed(s)",
            "NaN",
            "nan",
        ]
    )
)
_CODE_NAME_PATTERN = re.compile(
    r"(?<![\w./-])(" + "|".join(re.escape(n) for n in CODE_NAMES) + r")(?![\w/(-])"
)


def find_code_names(text: str) -> list[str]:
    """The code names of :data:`CODE_NAMES` in ``text`` (whole words, case-sensitive)."""
    return _CODE_NAME_PATTERN.findall(str(text))


# Numbers in a look the page never uses (issue 25): Python's exponent ("1.9e-06", "9.3e-03",
# "1E+05") and thousands split by a space ("10 000"). Scientific numbers are "1.9 × 10⁻⁶"
# (:func:`scientific`), thousands "10,000" (:func:`count`); the browser test runs this over
# every page's text outside code cells.
RAW_NUMBER_PATTERN = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?[eE][-+]?\d+(?![\w.])"  # 1.9e-06, 1E+05
    r"|(?<![\w.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\w.,])"  # 10 000, 1 234 567
)


def find_raw_numbers(text: str) -> list[str]:
    """The numbers of ``text`` in a look the page never uses (:data:`RAW_NUMBER_PATTERN`)."""
    return RAW_NUMBER_PATTERN.findall(str(text))


def frame_text(frame: pd.DataFrame) -> str:
    """Everything a reader sees of a table (cells, column and index labels and their names)
    as one string, for :func:`find_code_names`."""
    parts = [frame.to_string()]
    parts += [str(n) for n in list(frame.columns.names) + list(frame.index.names) if n]
    return "\n".join(parts)


def option_text(options: str) -> str:
    """Model options as ``variant_label`` writes them ("base_trainable=False, reps=2") in
    words ("no SiLU residual, L = 2"); "latent_in=1, latent_out=3" reads "latent widths
    1 → 3", "match=hqkan_lstm" the matched model's name. An option without a label keeps
    its keyword, which :data:`CODE_NAMES` then reports."""
    pairs = [item.partition("=")[::2] for item in options.split(", ") if item]
    values = dict(pairs)
    words = []
    for key, value in pairs:
        if key == "latent_in" and "latent_out" in values:
            words.append(f"latent widths {value} → {values['latent_out']}")
        elif key == "latent_out" and "latent_in" in values:
            continue
        elif key == "match":
            words.append(DISPLAY_NAMES.get(value, value))
        elif (key, value) in OPTION_LABELS:
            words.append(OPTION_LABELS[(key, value)])
        elif key in OPTION_KEYS:
            words.append(f"{OPTION_KEYS[key]} = {value}")
        else:
            words.append(f"{key}={value}")
    return ", ".join(words)


def display_name(name: str) -> str:
    """The reader's name of a code name; an arm with options, "qkan_lstm (reps=2)", shows
    its options in words ("QKAN-LSTM (L = 2)", :func:`option_text`) and "match=hqkan_lstm"
    names the model it matches ("Matched LSTM (HQKAN-LSTM)")."""
    name = str(name)
    if name in DISPLAY_NAMES:
        return DISPLAY_NAMES[name]
    base, _, rest = name.partition(" (")
    if not rest or not rest.endswith(")") or "=" not in rest:
        return name
    return f"{DISPLAY_NAMES.get(base, base)} ({option_text(rest[:-1])})"


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every index value, column label and axis name that is a code name
    replaced by its display name (cells are left as they are)."""

    def rename_index(index: pd.Index) -> pd.Index:
        if isinstance(index, pd.MultiIndex):
            levels = [
                [display_name(v) if isinstance(v, str) else v for v in level]
                for level in index.levels
            ]
            out = index.set_levels(levels, verify_integrity=False)
        else:
            out = pd.Index([display_name(v) if isinstance(v, str) else v for v in index])
        return out.set_names([display_name(n) if isinstance(n, str) else n for n in index.names])

    out = frame.copy()
    out.index = rename_index(frame.index)
    out.columns = rename_index(frame.columns)
    return out


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value)


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_FROM_SUPERSCRIPTS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
_POWER_DIGITS = "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"


def power_of_ten_text(exponent: int) -> str:
    """ "10⁶", "10⁻⁴": an order of magnitude on the page, never "1e6"."""
    return "10" + str(int(exponent)).translate(_SUPERSCRIPTS)


def _unicode_exponent(text: str) -> str:
    """Python's "1.9e-06" as the page writes it, "1.9 × 10⁻⁶"; text without an exponent
    passes unchanged."""
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa} × {power_of_ten_text(int(exponent))}" if e else text


def scientific(value: float, significant: int = 2, sign: bool = False) -> str:
    """The page's one scientific notation: ``significant`` digits times a power of ten,
    "1.9 × 10⁻⁶" (a unicode ×, superscript minus and digits), never "1.9e-06"; a mantissa
    that rounds up to 10 moves to the next power (9.96e-5 -> "1.0 × 10⁻⁴"); zero is "0",
    a missing value :data:`MISSING`."""
    if _missing(value):
        return MISSING
    if int(significant) < 1:
        raise ValueError(f"scientific: significant must be >= 1, got {significant!r}")
    value = float(value)
    if value == 0:
        return "+0" if sign else "0"
    plus = "+" if sign else ""
    return minus_sign(_unicode_exponent(f"{value:{plus}.{int(significant) - 1}e}"))


def significant(value: float, digits: int = 2, sign: bool = False) -> str:
    """``digits`` significant digits without trailing zeros (a learning rate "0.001", a
    p-value "0.032", a tolerance "0.05"), in :func:`scientific`'s notation where a plain
    number would need more than four leading zeros or run past ``digits`` digits
    ("3.4 × 10⁻⁵"); a missing value prints :data:`MISSING`."""
    if _missing(value):
        return MISSING
    plus = "+" if sign else ""
    return minus_sign(_unicode_exponent(f"{float(value) + 0.0:{plus}.{int(digits)}g}"))


def number(value: float, digits: int = 4, sign: bool = False, scientific: bool = True) -> str:
    """``digits`` decimals, or scientific notation with ``digits - 1`` significant digits
    ("3.00 × 10⁻⁵", :func:`scientific`) where fixed decimals would print only zeros
    (|value| < 10^-digits, e.g. a loss of 3e-5) or more than ten digits (``scientific=False``:
    never); a comma between thousands ("12,345.6"); a missing value prints :data:`MISSING`;
    ``sign``: always a sign."""
    if _missing(value):
        return MISSING
    value = float(value)
    plus = "+" if sign else ""
    if scientific and value != 0 and (abs(value) < 10**-digits or abs(value) >= 1e10):
        return _scientific(value, max(digits - 1, 2), sign)
    # never "-0.00"; thousands with a comma, "12,345.6"
    return minus_sign(f"{round(value, digits) + 0.0:{plus},.{digits}f}")


_scientific = scientific  # :func:`number`'s argument ``scientific`` shadows the function


def number_format(
    values: Iterable[float], digits: int = 4, sign: bool = False, significant: int = 0
) -> Callable[[float], str]:
    """One format for a group of numbers (a table column, a median and its interval): at
    least ``digits`` decimals, more (up to four more) where two values that differ would
    print the same, and scientific notation only where every value is below 10^-digits, or,
    with ``significant``, where fixed decimals would show the smallest value with fewer
    significant digits than that (a column of validation errors from 2e-5 to 1e-2: all in
    scientific notation, never "0.00002"). Returns the formatter, so that every number of
    the group shares its notation and decimals; a missing value prints :data:`MISSING`."""
    values = [float(v) for v in values if not _missing(v)]
    nonzero = [abs(v) for v in values if v != 0]
    if nonzero and max(nonzero) < 10**-digits:
        return lambda v: number(v, digits, sign)  # all tiny: scientific
    for extra in range(5):
        seen: dict[str, float] = {}
        shown = [(number(v, digits + extra, sign, scientific=False), v) for v in values]
        # values equal up to float rounding (a median of 0.2 and 0.4 against 0.3) are equal
        if all(math.isclose(seen.setdefault(s, v), v, rel_tol=1e-9) for s, v in shown):
            break
    decimals = digits + extra
    if (
        significant
        and nonzero
        and decimals + math.floor(math.log10(min(nonzero))) + 1 < significant
    ):
        return lambda v: scientific(v, significant + 1, sign)
    return lambda v: number(v, decimals, sign, scientific=False)


def numbers(values: Sequence[float], digits: int = 4, sign: bool = False) -> list[str]:
    """Several numbers shown together (a median and its interval, two medians) in one
    format (:func:`number_format`): never "-0.0025 [-0.0083, +3.81e-05]"."""
    values = [float(v) for v in values]
    shown = number_format(values, digits, sign)
    return [shown(v) for v in values]


def interval(value: float, low: float, high: float, digits: int = 4, sign: bool = False) -> str:
    """ "value [low, high]" in one precision (:func:`numbers`)."""
    v, lo, hi = numbers([value, low, high], digits, sign)
    return f"{v} [{lo}, {hi}]"


def mean_std_column(
    means: Sequence[float], stds: Sequence[float], digits: int = 4, significant: int = 2
) -> list[str]:
    """A table column of "mean ± std" cells in one style: ``digits`` fixed decimals in every
    cell where they show the column's smallest number with at least ``significant``
    significant digits ("0.0192 ± 0.0050"), else every cell over the power of ten of its
    mean, "(8.76 ± 1.39) × 10⁻⁵" (``significant + 1`` digits for the mean, the std to the
    same decimal): never "9.56 × 10⁻⁵ ± 8.93 × 10⁻⁵" beside "0.00010 ± 0.00011" and
    "0.0002 ± 0.0001", nor a std of "0.0000" beside a mean that has digits. A missing std
    (one seed) prints the mean alone; a missing mean prints :data:`MISSING`."""
    means, stds = list(means), list(stds)
    if len(means) != len(stds):
        raise ValueError(
            f"mean_std_column: {len(means)} means but {len(stds)} stds (one std per mean)"
        )
    pairs = [(float(m), None if _missing(s) else float(s)) for m, s in zip(means, stds)]
    nonzero = [abs(m) for m, _ in pairs if not _missing(m) and m != 0]
    # plain when the smallest mean keeps its significant digits and no std prints as zero
    plain = (
        not nonzero or digits + math.floor(math.log10(min(nonzero))) + 1 >= significant
    ) and not any(s and round(s, digits) == 0 for _, s in pairs)
    cells = []
    for mean, std in pairs:
        if _missing(mean):
            cells.append(MISSING)
            continue
        if plain:
            shown = [number(v, digits, scientific=False) for v in (mean, std) if v is not None]
            cells.append(" ± ".join(shown))
            continue
        anchor = abs(mean) or (std or 0.0)
        power = math.floor(math.log10(anchor)) if anchor else 0
        # a mean that rounds up to 10 (9.996) moves to the next power
        if anchor and round(anchor / 10**power, significant) >= 10:
            power += 1
        decimals = significant
        if std:  # the std shows a significant digit where two more decimals give it one
            while round(std / 10**power, decimals) == 0 and decimals < significant + 2:
                decimals += 1
            if round(std / 10**power, decimals) == 0:
                decimals = significant  # too small to show: "± 0.00", not "± 0.0000"
        m = minus_sign(f"{mean / 10**power + 0.0:.{decimals}f}")
        body = m if std is None else f"{m} ± {std / 10**power:.{decimals}f}"
        if power == 0:
            cells.append(body)
        else:
            wrapped = body if std is None else f"({body})"
            cells.append(f"{wrapped} × {power_of_ten_text(power)}")
    return cells


def read_number(text: str) -> float:
    """A number as the page writes it back as a float: "2.07 × 10⁻⁵", "10⁻¹⁴", "1,234.5",
    "−3" (for tests, and for readers' scripts that parse a page's tables)."""
    plain = text.strip().replace(",", "").replace("−", "-")
    mantissa, times, power = plain.partition(" × ")
    if not times and plain.startswith("10") and plain[2:3] in _POWER_DIGITS:
        mantissa, power = "1", plain  # a bare power of ten
    if power:
        if not power.startswith("10"):
            raise ValueError(f"read_number: not a number as the page writes it: {text!r}")
        return float(mantissa) * 10.0 ** int(power[2:].translate(_FROM_SUPERSCRIPTS))
    return float(mantissa)


def scaled_interval(value: float, low: float, high: float, digits: int = 3) -> str:
    """ "value [low, high]" over one power of ten, that of ``value``: "4.52 [1.2, 16] × 10⁻⁵"
    (``digits`` significant digits for the value, two for the bounds, rounded outward so that
    the value never prints outside them: not "1.28 [1.3, 1.3]"); plain numbers where
    the power is 10⁻¹ to 10². Short enough for a table column of small errors that span
    decades, where "0.000045 [0.000012, 0.000156]" or three exponents would not fit."""
    if _missing(value):
        return MISSING
    values = [float(v) for v in (value, low, high)]
    anchor = next((abs(v) for v in values if v != 0), 0.0)
    power = math.floor(math.log10(anchor)) if anchor else 0
    if -1 <= power <= 2:  # 0.412, 2.5, 12.3: plain
        power = 0

    def scaled(v: float, n: int, outward: int = 0) -> str:
        x = v / 10**power
        if outward and x != 0:  # bounds round away from the value: it never falls outside
            step = 10.0 ** (math.floor(math.log10(abs(x))) - n + 1)
            x = (math.floor if outward < 0 else math.ceil)(x / step - outward * 1e-9) * step
        # "#" keeps trailing zeros, so every bound shows its two digits: "[2.4, 4.0]",
        # never "[2.4, 4]" beside "[1.6, 3.3]"
        text = f"{x + 0.0:#.{n}g}".rstrip(".") if x != 0 else "0"
        return minus_sign(text if "e" not in text else f"{x:.0f}")

    low, high = scaled(values[1], 2, -1), scaled(values[2], 2, +1)
    body = f"{scaled(values[0], digits)} [{low}, {high}]"
    return body if power == 0 else f"{body} × {power_of_ten_text(power)}"


def count(value) -> str:
    """A whole number (a width, a count of seeds or circuits) without ".0" and with a comma
    between thousands ("10,000", never "10 000"); refuses a fractional one."""
    if _missing(value):
        return MISSING
    if float(value) != int(float(value)):
        raise ValueError(f"count: expected a whole number, got {value!r}")
    return minus_sign(f"{int(float(value)):,}")


def power_text(value: float, digits: int = 2, plain_below: float = 1e4) -> str:
    """One number style for counts and durations that span many orders of magnitude: plain
    with thousands separators below ``plain_below`` ("96", "1,457"), else ``digits``
    significant digits times a power of ten ("1.7 × 10⁵", "1.9 × 10⁻⁴" below 10⁻³,
    :func:`scientific`), never "1.66e+05"."""
    if _missing(value) or not math.isfinite(float(value)):
        return MISSING
    value = float(value)
    if 1e-3 <= abs(value) < plain_below or value == 0:
        if abs(value) >= 1 or value == 0:
            return minus_sign(f"{value:,.0f}")
        return significant(value, digits)
    return scientific(value, digits)


def percent(share: float, digits: int = 0) -> str:
    """A share as a percentage, the book's one style: "82%", "0.28%" (no space before the
    sign, as Python's own "%" format writes it); ``share`` is a fraction (0.82)."""
    if _missing(share):
        return MISSING
    return minus_sign(f"{float(share) + 0.0:.{int(digits)}%}")


def p_value(p: float) -> str:
    """A p-value: two significant digits, "1" rather than "1.0", "0.035"; below 0.001 in
    scientific notation with two digits, "3.4 × 10⁻⁵", "2.0 × 10⁻⁵" (:func:`scientific`);
    more where two would round it onto α (0.0504 is "0.0504", not "0.05", which would read
    as a tie with the level it is compared with)."""
    if not _missing(p) and 0 < abs(float(p)) < 1e-3:
        # small ones all in one look, two digits each: "2.2 × 10⁻⁴", "2.0 × 10⁻⁵", never
        # "0.00022" beside "2 × 10⁻⁵" and "3.6 × 10⁻⁶" in one column
        return scientific(p, 2)
    shown = significant(p, 2)
    digits = 2
    while not _missing(p) and shown == significant(ALPHA, 2) and digits < 6:
        digits += 1
        shown = significant(p, digits)
    return shown


def sentence(text: str) -> str:
    """``text`` with its first letter capitalised when it starts with a word (generated
    sentences may start with a name such as "persistence"); a number or a name that starts
    with a capital stays as it is. Leading Markdown emphasis is skipped."""
    text = str(text)
    k = len(text) - len(text.lstrip("*_ "))
    if k < len(text) and text[k].isalpha():
        return text[:k] + text[k].upper() + text[k + 1 :]
    return text


def plural(n: int, word: str, words: str | None = None) -> str:
    """ "1 seed", "3 seeds" (never "seed(s)")."""
    return f"{count(n)} {word if int(n) == 1 else words or word + 's'}"


def listing(items: Iterable[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = list(items)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class FullTextFrame(pd.DataFrame):
    """A table shown with every cell in full. pandas cuts text longer than
    ``display.max_colwidth`` (50 characters) to "…" in a notebook; on a page the cells wrap
    instead (``book/_ext/static/book_tables.css``), so nothing needs cutting."""

    @property
    def _constructor(self):  # slices and copies stay full-text tables
        return FullTextFrame

    def _repr_html_(self):
        with pd.option_context("display.max_colwidth", None):
            html = super()._repr_html_()
        names = list(self.index.names)
        if isinstance(self.index, pd.MultiIndex) and all(names):
            html = _names_in_header(html, [str(n) for n in names])
        return html

    def __repr__(self):
        with pd.option_context("display.max_colwidth", None):
            return super().__repr__()


def _names_in_header(html: str, names: list[str]) -> str:
    """pandas' HTML of a table with a named MultiIndex has one header row more than its
    column levels: a last row holding only the index names. Here the names fill the empty
    corner cells of the row above (the columns' last level) and the names' row goes."""
    head = re.search(r"<thead>(.*?)</thead>", html, re.S)
    rows = re.findall(r"<tr[^>]*>.*?</tr>", head.group(1), re.S) if head else []
    if len(rows) < 2:
        return html
    shown = [escape(n) for n in names]
    last = [c.strip() for c in re.findall(r"<th[^>]*>(.*?)</th>", rows[-1], re.S)]
    if last[: len(names)] != shown or any(last[len(names) :]):
        return html  # the last row is not the names' row
    corner = re.findall(r"<th[^>]*>.*?</th>", rows[-2], re.S)[: len(names)]
    if corner != ["<th></th>"] * len(names):
        return html  # the corner holds the columns' own names: keep pandas' layout
    above = rows[-2]
    for name in shown:
        above = above.replace("<th></th>", f"<th>{name}</th>", 1)
    kept = "\n    ".join(rows[:-2] + [above])
    return html.replace(head.group(1), f"\n    {kept}\n  ")


def page_table(frame: pd.DataFrame) -> FullTextFrame:
    """``frame`` as a page shows it: every cell in full (:class:`FullTextFrame`) and one
    header row: a named index gives its name(s) to the header's first cell(s) instead of a
    second header row that holds only the names."""
    out = FullTextFrame(frame)
    if not isinstance(out.index, pd.MultiIndex) and out.index.name is not None:
        out = out.rename_axis(index=None, columns=out.index.name)
    return out
