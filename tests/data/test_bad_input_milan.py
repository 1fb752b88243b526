"""Bad input to the Milan loader (issue 12): valid variants load, the rest names file and line.

Files are written here in the two real formats. The oracle for every "valid variant" is
the same rows written as a plain raw file, whose epoch-ms times come from the constants
of the data set, not from the loader's date parsing.
"""

import bz2
import datetime as dt
import gzip
import lzma
import tarfile
import warnings
import zipfile

import numpy as np
import pytest

from qkan_lib.data import milan

T0 = milan.FIRST_SLOT_MS
SLOT = milan.SLOT_MS
HEADER = ",".join(milan.CSV_HEADER)
ROWS = [
    (1, 0, 39, "1.5"),
    (1, 0, 0, "0.5"),
    (1, 1, 39, ""),
    (1, 2, 39, "2.0"),
    (2, 0, 39, "4.0"),
    (2, 2, 39, ""),
]


def raw_line(square, slot, country, sms, internet="3.5"):
    return f"{square}\t{T0 + slot * SLOT}\t{country}\t{sms}\t0.1\t\t\t{internet}"


def milan_local(slot):
    """Milan wall-clock time of a slot, by calendar arithmetic (2013-11-01 00:00 is slot 0)."""
    return dt.datetime(2013, 11, 1) + dt.timedelta(minutes=10 * slot)


def csv_line(square, slot, country, sms, stamp=None):
    stamp = stamp or milan_local(slot).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp},{square},{country},{sms},0.1,,,3.5"


def raw_text(rows=ROWS):
    return "\n".join(raw_line(*r) for r in rows) + "\n"


def csv_text(rows=ROWS):
    return "\n".join([HEADER] + [csv_line(*r) for r in rows]) + "\n"


@pytest.fixture
def reference(tmp_path):
    """The series of ROWS loaded from a plain raw file."""
    path = tmp_path / "reference" / "day.txt"
    path.parent.mkdir()
    path.write_text(raw_text())
    return milan.load_milan_sms(path)


def same_series(a, b):
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.slots_ms, b.slots_ms)
    np.testing.assert_array_equal(a.squares, b.squares)


# ---------------------------------------------------------------------------- valid variants load


@pytest.mark.parametrize("fmt", ["raw", "csv"])
def test_utf8_byte_order_mark_loads(tmp_path, reference, fmt):
    text = raw_text() if fmt == "raw" else csv_text()
    path = tmp_path / f"bom.{'txt' if fmt == 'raw' else 'csv'}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    same_series(milan.load_milan_sms(path), reference)


@pytest.mark.parametrize(
    "variant",
    [
        "trailing_blank",
        "blank_inside",
        "spaces_only",
        "crlf",
        "cr",
        "no_final_newline",
        "leading_blank",
    ],
)
@pytest.mark.parametrize("fmt", ["raw", "csv"])
def test_line_end_and_blank_line_variants_load(tmp_path, reference, fmt, variant):
    lines = (raw_text() if fmt == "raw" else csv_text()).rstrip("\n").split("\n")
    if variant == "trailing_blank":
        text = "\n".join(lines) + "\n\n\n  \n"
    elif variant == "blank_inside":
        text = "\n".join(lines[:3] + [""] + lines[3:]) + "\n"
    elif variant == "spaces_only":
        text = "\n".join(lines[:2] + ["   "] + lines[2:]) + "\n"
    elif variant == "crlf":
        text = "\r\n".join(lines) + "\r\n"
    elif variant == "cr":
        text = "\r".join(lines) + "\r"
    elif variant == "leading_blank":
        text = "\n\n" + "\n".join(lines) + "\n"
    else:
        text = "\n".join(lines)
    path = tmp_path / ("day.txt" if fmt == "raw" else "day.csv")
    path.write_bytes(text.encode())
    same_series(milan.load_milan_sms(path), reference)


def test_errors_after_blank_lines_still_name_the_file_line(tmp_path):
    lines = [raw_line(1, 0, 39, "1"), "", "", raw_line(1, 1, 39, "x")]
    path = tmp_path / "gaps.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(milan.MilanFormatError, match=r"gaps.txt: line 4: sms-in is not a number"):
        milan.read_milan_file(path)


@pytest.mark.parametrize(
    "name, text",
    [
        ("README.txt", "Milan telecom data\nDownloaded from Harvard Dataverse.\n"),
        ("notes.txt", "todo: check square 4159\tand 5060\n"),
        ("NOTES.csv", "what,why\nsquare 1,busy\n"),
        ("README.md", "# The data\n"),
        ("description.pdf", "%PDF-1.4 ..."),
    ],
)
def test_stray_notes_in_the_folder_are_skipped_with_a_warning(tmp_path, reference, name, text):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "sms-call-internet-mi-2013-11-01.txt").write_text(raw_text())
    (folder / name).write_text(text)
    with pytest.warns(UserWarning, match=rf"skipping .*{name}"):
        series = milan.load_milan_sms(folder)
    same_series(series, reference)


def test_an_empty_day_file_in_a_folder_is_an_error_not_a_skipped_note(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "day1.txt").write_text(raw_text())
    (folder / "day2.txt").write_text("\n\n")
    with pytest.raises(milan.MilanFormatError, match="day2.txt: the file is empty"):
        milan.load_milan_sms(folder)


def test_folder_with_only_notes_names_what_it_skipped(tmp_path):
    folder = tmp_path / "notes_only"
    folder.mkdir()
    (folder / "README.txt").write_text("nothing here\n")
    with (
        pytest.warns(UserWarning, match="README.txt"),
        pytest.raises(
            milan.MilanPathError, match=r"no Milan data files .*notes_only; skipped: README.txt"
        ),
    ):
        milan.load_milan_sms(folder)


def test_empty_folder_and_hidden_files(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(milan.MilanPathError, match="no Milan data files"):
        milan.load_milan_sms(folder)
    (folder / "._day.txt").write_bytes(
        b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X"
    )  # macOS AppleDouble
    (folder / "day.txt").write_text(raw_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # hidden files are ignored without a warning
        assert milan.milan_files(folder) == [folder / "day.txt"]


def test_incomplete_download_and_subfolder_are_skipped_with_warnings(tmp_path, reference):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "day.txt").write_text(raw_text())
    (folder / "sms-call-internet-mi-2013-11-02.txt.part").write_text(raw_line(1, 144, 39, "1"))
    (folder / "more.txt").mkdir()  # a folder whose name looks like a day file
    with pytest.warns(UserWarning) as caught:
        series = milan.load_milan_sms(folder)
    messages = " | ".join(str(w.message) for w in caught)
    assert "2013-11-02.txt.part: an incomplete download" in messages
    assert "more.txt: a subfolder" in messages
    same_series(series, reference)


# ---------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("bad", [b"\xff", b"\xe9", b"\xc3("])
def test_non_utf8_byte_names_file_and_line(tmp_path, bad):
    lines = [
        raw_line(1, 0, 39, "1").encode(),
        raw_line(1, 1, 39, "1").encode(),
        raw_line(1, 2, 39, "1").encode().replace(b"\t39\t", b"\t39" + bad + b"\t"),
    ]
    path = tmp_path / "latin.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(
        milan.MilanFormatError, match=rf"latin.txt: line 3: byte 0x{bad[0]:02x} is not UTF-8"
    ):
        milan.read_milan_file(path)


def test_valid_utf8_that_is_not_a_number_is_reported_as_such(tmp_path):
    path = tmp_path / "accent.txt"
    path.write_text(
        raw_line(1, 0, 39, "1") + "\n" + raw_line(1, 1, 39, "1é") + "\n", encoding="utf-8"
    )
    with pytest.raises(milan.MilanFormatError, match="accent.txt: line 2: sms-in is not a number"):
        milan.read_milan_file(path)


def test_utf16_file_is_refused_by_name(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes(csv_text().encode("utf-16"))
    with pytest.raises(milan.MilanFormatError, match="wide.csv: UTF-16 encoded"):
        milan.read_milan_file(path)


# ---------------------------------------------------------------------------- compression


def compressed(path, kind, payload: bytes, member="day.txt"):
    if kind == "gz":
        path.write_bytes(gzip.compress(payload))
    elif kind == "bz2":
        path.write_bytes(bz2.compress(payload))
    elif kind == "xz":
        path.write_bytes(lzma.compress(payload))
    elif kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(member, payload)
    return path


@pytest.mark.parametrize(
    "kind, name",
    [
        ("gz", "day.txt.gz"),
        ("bz2", "day.txt.bz2"),
        ("xz", "day.csv.xz"),
        ("zip", "day.zip"),
        ("gz", "day.txt"),
    ],
)  # the last: gzip under a .txt name
def test_compressed_day_files_load_as_a_file_and_in_a_folder(tmp_path, reference, kind, name):
    payload = (csv_text() if ".csv" in name else raw_text()).encode()
    folder = tmp_path / "data"
    folder.mkdir()
    path = compressed(folder / name, kind, payload)
    same_series(milan.load_milan_sms(path), reference)
    same_series(milan.load_milan_sms(folder), reference)


def test_zip_with_macos_metadata_still_counts_as_one_file(tmp_path, reference):
    path = tmp_path / "day.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("day.txt", raw_text())
        archive.writestr("__MACOSX/._day.txt", b"\x00\x05\x16\x07")
    same_series(milan.load_milan_sms(path), reference)


def test_compressed_copy_next_to_its_extracted_file_is_read_once(tmp_path, reference):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "day.txt").write_text(raw_text())
    compressed(folder / "day.zip", "zip", raw_text().encode())
    with pytest.warns(UserWarning, match=r"day.zip: a compressed copy of day.txt"):
        same_series(milan.load_milan_sms(folder), reference)


def test_compressed_problems_say_compressed(tmp_path, monkeypatch):
    multi = tmp_path / "two.zip"
    with zipfile.ZipFile(multi, "w") as archive:
        archive.writestr("a.txt", raw_text())
        archive.writestr("b.txt", raw_text())
    with pytest.raises(
        milan.MilanFormatError, match=r"two.zip: a zip archive holding 2 files \(a.txt, b.txt\)"
    ):
        milan.read_milan_file(multi)
    truncated = tmp_path / "cut.txt.gz"
    truncated.write_bytes(gzip.compress(raw_text().encode())[:-12])
    with pytest.raises(
        milan.MilanFormatError, match="cut.txt.gz: compressed, but cannot be decompressed"
    ):
        milan.read_milan_file(truncated)
    seven = tmp_path / "day.txt"
    seven.write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\x00" * 40)
    with pytest.raises(milan.MilanFormatError, match="day.txt: a compressed 7z/rar archive"):
        milan.read_milan_file(seven)
    tar_path = tmp_path / "days.tar.gz"
    inner = tmp_path / "inner.txt"
    inner.write_text(raw_text())
    with tarfile.open(tar_path, "w:gz") as archive:
        archive.add(inner, arcname="inner.txt")
    with pytest.raises(milan.MilanFormatError, match="days.tar.gz: a compressed archive; extract"):
        milan.read_milan_file(tar_path)
    tar_named_gz = tmp_path / "days.gz"  # a tar.gz under a misleading name: recognised by content
    tar_named_gz.write_bytes(tar_path.read_bytes())
    with pytest.raises(milan.MilanFormatError, match="days.gz: a compressed tar archive"):
        milan.read_milan_file(tar_named_gz)
    monkeypatch.setattr(milan, "MAX_FILE_BYTES", 100)  # a decompression bomb, in miniature
    with pytest.raises(milan.MilanFormatError, match="decompresses to more than 100 bytes"):
        milan.read_milan_file(compressed(tmp_path / "bomb.txt.gz", "gz", raw_text().encode()))


def test_archive_in_a_folder_is_skipped_with_a_warning_never_silently(tmp_path, reference):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "day.txt").write_text(raw_text())
    (folder / "rest.tar.gz").write_bytes(gzip.compress(b"tar"))
    (folder / "rest.7z").write_bytes(b"7z\xbc\xaf\x27\x1c")
    with pytest.warns(UserWarning) as caught:
        same_series(milan.load_milan_sms(folder), reference)
    messages = " | ".join(str(w.message) for w in caught)
    assert (
        "rest.tar.gz: a compressed archive" in messages
        and "rest.7z: a compressed archive" in messages
    )


# ---------------------------------------------------------------------------- range checks


@pytest.mark.parametrize(
    "line, problem",
    [
        (raw_line(1, 2, 39, "-1.0"), r"sms-in is negative \(-1\)"),
        (raw_line(1, 2, 39, "1.0", internet="-0.5"), r"internet is negative \(-0.5\)"),
        (raw_line(0, 2, 39, "1.0"), "square id 0 is not on the 100 x 100 grid"),
        (raw_line(10001, 2, 39, "1.0"), "square id 10001 is not on the 100 x 100 grid"),
        (raw_line(-3, 2, 39, "1.0"), "square id -3 is not on the 100 x 100 grid"),
        (
            "1.5\t%d\t39\t1.0\t\t\t\t" % (T0 + 2 * SLOT),
            "square id 1.5 is not on the 100 x 100 grid",
        ),
        (raw_line(1, 2, -1, "1.0"), "country code -1 is not a non-negative integer"),
        (raw_line(1, 2, 39.5, "1.0"), "country code 39.5 is not a non-negative integer"),
        (
            "1\t0\t39\t1.0\t\t\t\t",
            r"time 0 \(1970-01-01T00:00:00.000 UTC\) is far outside the data's period",
        ),
        ("1\t%d\t39\t1.0\t\t\t\t" % 1_577_836_800_000, ".*far outside the data's period"),  # 2020
        ("1\t1e30\t39\t1.0\t\t\t\t", ".*far outside the data's period"),
        ("1\t-%d\t39\t1.0\t\t\t\t" % T0, ".*far outside the data's period"),
        (raw_line(1, 2, 39, "nan"), "sms-in is not finite: 'nan'"),
        (raw_line(1, 2, 39, "inf"), "sms-in is not finite: 'inf'"),
        (raw_line(1, 2, 39, "1.0", internet="NaN"), "internet is not finite: 'NaN'"),
    ],
)
def test_values_outside_the_data_range_name_file_and_line(tmp_path, line, problem):
    path = tmp_path / "range.txt"
    path.write_text("\n".join([raw_line(1, 0, 39, "1"), raw_line(1, 1, 39, "1"), line]) + "\n")
    with pytest.raises(milan.MilanFormatError, match=rf"range.txt: line 3: {problem}"):
        milan.read_milan_file(path)


def test_range_check_boundaries_are_accepted(tmp_path):
    """Squares 1 and 10000, activity 0 and the edges of the accepted period are valid."""
    margin = milan.PERIOD_MARGIN_MS // SLOT
    last = (milan.END_MS - T0) // SLOT + margin - 1
    lines = [
        raw_line(1, -margin, 0, "0"),
        raw_line(10000, -margin, 39, "0.0"),
        raw_line(1, last, 39, "2"),
    ]
    path = tmp_path / "edges.txt"
    path.write_text("\n".join(lines) + "\n")
    rows = milan.read_milan_file(path)
    assert rows["square"].tolist() == [1, 10000, 1] and rows["smsin"].tolist() == [0.0, 0.0, 2.0]
    for slot in (-margin - 1, last + 1):
        path.write_text(raw_line(1, slot, 39, "1") + "\n")
        with pytest.raises(milan.MilanFormatError, match="far outside"):
            milan.read_milan_file(path)


def test_real_squares_of_the_stand_in_span_the_grid(tmp_path):
    """The stand-in's squares (ids up to 5161) pass the grid check, so valid data is not refused."""
    folder = milan.write_stand_in(tmp_path / "standin", days=1, squares=(1, 5060, 10000), seed=1)
    assert milan.load_milan_sms(folder).squares.tolist() == [1, 5060, 10000]


# ---------------------------------------------------------------------------- time zones

STAMPS = {  # the same instant (Milan midnight + 10 k minutes), written in different ways
    "naive": lambda k: milan_local(k).strftime("%Y-%m-%d %H:%M:%S"),
    "iso_t": lambda k: milan_local(k).strftime("%Y-%m-%dT%H:%M"),
    "fraction": lambda k: milan_local(k).strftime("%Y-%m-%d %H:%M:%S.000"),
    "plus_one": lambda k: milan_local(k).strftime("%Y-%m-%d %H:%M:%S") + "+01:00",
    "utc_z": lambda k: (milan_local(k) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "utc_zero": lambda k: (milan_local(k) - dt.timedelta(hours=1)).strftime(
        "%Y-%m-%d %H:%M:%S+00:00"
    ),
    "plus_two": lambda k: (milan_local(k) + dt.timedelta(hours=1)).strftime(
        "%Y-%m-%d %H:%M:%S+0200"
    ),
    "minus_five": lambda k: (milan_local(k) - dt.timedelta(hours=6)).strftime(
        "%Y-%m-%d %H:%M:%S-05:00"
    ),
    "epoch_ms": lambda k: str(T0 + k * SLOT),
}


@pytest.mark.parametrize("style", list(STAMPS))
def test_csv_dates_with_and_without_utc_offsets_land_on_the_right_slot(tmp_path, reference, style):
    rows = [csv_line(sq, k, c, sms, STAMPS[style](k)) for sq, k, c, sms in ROWS]
    path = tmp_path / "tz.csv"
    path.write_text("\n".join([HEADER] + rows) + "\n")
    same_series(milan.load_milan_sms(path), reference)


def test_mixed_offsets_in_one_file(tmp_path, reference):
    styles = list(STAMPS)
    rows = [
        csv_line(sq, k, c, sms, STAMPS[styles[i % len(styles)]](k))
        for i, (sq, k, c, sms) in enumerate(ROWS)
    ]
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join([HEADER] + rows) + "\n")
    same_series(milan.load_milan_sms(path), reference)


@pytest.mark.parametrize(
    "stamp, problem",
    [
        ("2013-11-01 00:00:00+01:05", "time is not on the 10-minute slot grid"),
        ("2013-13-01 00:00:00", "datetime is not a date and time: '2013-13-01 00:00:00'"),
        ("yesterday", "datetime is not a date and time"),
        ("1970-01-01 00:00:00", ".*far outside the data's period"),
    ],
)
def test_bad_csv_dates_name_file_and_line(tmp_path, stamp, problem):
    path = tmp_path / "dates.csv"
    path.write_text(
        "\n".join([HEADER, csv_line(1, 0, 39, "1"), csv_line(1, 1, 39, "1", stamp)]) + "\n"
    )
    with pytest.raises(milan.MilanFormatError, match=rf"dates.csv: line 3: {problem}"):
        milan.read_milan_file(path)


# ---------------------------------------------------------------------------- paths


def test_paths_as_str_path_single_file_and_dot_txt_folder(tmp_path, reference):
    folder = tmp_path / "milan.txt"  # a folder whose name ends in .txt
    folder.mkdir()
    day = folder / "day.txt"
    day.write_text(raw_text())
    for given in (folder, str(folder), day, str(day), [day], [str(day)], (p for p in [day])):
        same_series(milan.load_milan_sms(given), reference)


@pytest.mark.parametrize("given", ["missing_folder", "missing_folder.txt"])
def test_missing_path_names_what_was_given(tmp_path, given):
    path = tmp_path / given
    for value in (path, str(path)):
        with pytest.raises(milan.MilanPathError, match=rf"not found: .*{given}") as info:
            milan.load_milan_sms(value)
        assert isinstance(info.value, ValueError) and isinstance(info.value, FileNotFoundError)
    with pytest.raises(milan.MilanPathError, match=rf"not found: .*{given}"):
        milan.milan_files(path)


def test_wrong_kinds_of_paths(tmp_path):
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    day = tmp_path / "day.txt"
    day.write_text(raw_text())
    with pytest.raises(milan.MilanPathError, match="folder.txt is a folder, not a Milan data file"):
        milan.load_milan_sms([folder])
    with pytest.raises(milan.MilanPathError, match="day.txt is a file, not a folder"):
        milan.milan_files(day)
    with pytest.raises(ValueError, match="day.txt is given twice"):
        milan.load_milan_sms([day, tmp_path / "." / "day.txt"])
    with pytest.raises(milan.MilanPathError, match="empty list"):
        milan.load_milan_sms([])
    for bad in (None, 42, b"/tmp/day.txt"):
        with pytest.raises(
            ValueError, match="paths must be a folder, a day file or a list of day files"
        ):
            milan.load_milan_sms(bad)
    with pytest.raises(ValueError, match="each entry of paths must be a path"):
        milan.load_milan_sms([day, 3])
    with pytest.raises(ValueError, match="a Milan data file must be a path"):
        milan.read_milan_file(None)


# ---------------------------------------------------------------------------- empty and odd files


@pytest.mark.parametrize(
    "content, problem",
    [
        ("", "the file is empty"),
        ("\n\n   \n", "the file is empty"),
        (HEADER + "\n", "no data rows"),
        (
            "\n".join(csv_line(*r) for r in ROWS) + "\n",
            "line 1: comma-separated but without the CSV header",
        ),
        (
            '1\t%d\t39\t"1.0\t\t\t\t\n1\t%d\t39\t1.0"\t\t\t\t\n' % (T0, T0 + SLOT),
            "a stray quote character",
        ),
    ],
)
def test_empty_and_odd_files(tmp_path, content, problem):
    path = tmp_path / "odd.txt"
    path.write_text(content)
    with pytest.raises(milan.MilanFormatError, match=rf"odd.txt: .*{problem}"):
        milan.read_milan_file(path)


def test_duplicate_rows_name_both_lines_even_with_blank_lines_between(tmp_path):
    path = tmp_path / "dup.txt"
    path.write_text("\n".join([raw_line(1, 0, 39, "1"), "", raw_line(1, 0, 39, "1")]) + "\n")
    with pytest.raises(milan.MilanFormatError, match="dup.txt: line 3: duplicated slot.*as line 1"):
        milan.read_milan_file(path)


def test_the_same_day_in_two_formats_is_an_overlap(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "day.txt").write_text(raw_text())
    (folder / "day.csv").write_text(csv_text())
    with pytest.raises(milan.MilanFormatError, match="overlapping files"):
        milan.load_milan_sms(folder)


# ---------------------------------------------------------------------------- squares


def test_squares_argument(tmp_path, reference):
    day = tmp_path / "day.txt"
    day.write_text(raw_text())
    picked = milan.load_milan_sms(day, squares=[2, 2, 1])  # duplicates collapse, not a NaN column
    same_series(picked, reference)
    assert milan.load_milan_sms(day, squares=2).squares.tolist() == [2]
    for bad, shown in ((0, "got 0"), ([1, 10001], "got 10001"), ([1.5], "got 1.5"), (["x"], "'x'")):
        with pytest.raises(ValueError, match=rf"squares must be .*{shown}"):
            milan.load_milan_sms(day, squares=bad)
    with pytest.raises(ValueError, match="squares is empty"):
        milan.load_milan_sms(day, squares=[])
    with pytest.raises(ValueError, match=r"none of squares \[99\] appears"):
        milan.load_milan_sms(day, squares=[99])
