"""The Milan loader on small files written here in both real formats; the downloader against
127.0.0.1."""

import hashlib
import http.server
import json
import threading

import numpy as np
import pytest

from qkan_lib.data import milan
from qkan_lib.data.registry import urban_dataset

T0 = milan.FIRST_SLOT_MS
SLOT = milan.SLOT_MS


def raw_line(square, slot, country, sms):
    return f"{square}\t{T0 + slot * SLOT}\t{country}\t{sms}\t0.1\t\t\t3.5"


def csv_line(square, slot, country, sms):
    stamp = np.datetime64("2013-11-01T00:00") + np.timedelta64(10 * slot, "m")
    return f"{str(stamp).replace('T', ' ')}:00,{square},{country},{sms},0.1,,,3.5"


def write(tmp_path, name, lines, header=None):
    path = tmp_path / name
    path.write_text("\n".join(([header] if header else []) + lines) + "\n")
    return path


ROWS = [
    (1, 0, 39, "1.5"),
    (1, 0, 0, "0.5"),
    (1, 1, 39, ""),
    (1, 2, 39, "2.0"),
    (2, 0, 39, "4.0"),
    (2, 2, 39, ""),
]


@pytest.mark.parametrize("fmt", ["raw", "csv"])
def test_both_formats_sum_over_countries_and_mark_missing(tmp_path, fmt):
    if fmt == "raw":
        path = write(tmp_path, "day.txt", [raw_line(*r) for r in ROWS])
    else:
        path = write(tmp_path, "day.csv", [csv_line(*r) for r in ROWS], ",".join(milan.CSV_HEADER))
    series = milan.load_milan_sms([path])
    assert series.squares.tolist() == [1, 2]
    assert series.slots_ms.tolist() == [T0, T0 + SLOT, T0 + 2 * SLOT]
    expected = np.array([[2.0, 4.0], [np.nan, np.nan], [2.0, np.nan]])
    np.testing.assert_array_equal(series.values, expected)


@pytest.mark.parametrize(
    "line, problem",
    [
        ("1\t%d\t39\t1.0\t\t\t" % T0, "expected 8 fields"),  # truncated
        ("1\t%d\t39\t1.0\t\t\t\t\t" % T0, "expected 8 fields"),  # too many columns
        ("1\t%d\t39\tabc\t\t\t\t" % T0, "sms-in is not a number"),
        ("x\t%d\t39\t1.0\t\t\t\t" % T0, "square id is not a number"),
        ("1\t%d\t39\t1.0\t\t\t\t" % (T0 + 7), "10-minute slot grid"),
    ],
)
def test_malformed_raw_lines_name_file_and_line(tmp_path, line, problem):
    good = [raw_line(1, 0, 39, "1.0"), raw_line(1, 1, 39, "1.0")]
    path = write(tmp_path, "bad.txt", good + [line])
    with pytest.raises(milan.MilanFormatError, match=rf"bad.txt: line 3: .*{problem}"):
        milan.read_milan_file(path)


def test_duplicated_and_unsorted_slots(tmp_path):
    dup = write(
        tmp_path,
        "dup.txt",
        [raw_line(1, 0, 39, "1"), raw_line(1, 1, 39, "1"), raw_line(1, 1, 39, "2")],
    )
    with pytest.raises(milan.MilanFormatError, match="dup.txt: line 3: duplicated slot.*line 2"):
        milan.read_milan_file(dup)
    unsorted = write(
        tmp_path,
        "unsorted.txt",
        [
            raw_line(1, 0, 39, "1"),
            raw_line(1, 2, 39, "1"),
            raw_line(1, 1, 39, "1"),
            raw_line(2, 0, 39, "1"),
            raw_line(1, 3, 39, "1"),
        ],
    )
    with pytest.raises(milan.MilanFormatError, match="unsorted.txt: line .*not sorted"):
        milan.read_milan_file(unsorted)


def test_bad_csv_header_and_overlapping_files(tmp_path):
    bad = write(tmp_path, "h.csv", [csv_line(1, 0, 39, "1")], "datetime,cell,country,sms,a,b,c,d")
    with pytest.raises(milan.MilanFormatError, match="h.csv: line 1: unexpected CSV header"):
        milan.read_milan_file(bad)
    a = write(tmp_path, "a.txt", [raw_line(1, 0, 39, "1")])
    b = write(tmp_path, "b.txt", [raw_line(1, 0, 0, "1")])
    with pytest.raises(milan.MilanFormatError, match="overlapping"):
        milan.load_milan_sms([a, b])
    with pytest.raises(FileNotFoundError, match="not found"):
        milan.read_milan_file(tmp_path / "missing.txt")


def test_stand_in_selection_and_urban_split(tmp_path):
    directory = milan.write_stand_in(tmp_path / "standin", days=7, seed=3)
    series = milan.load_milan_sms(directory)
    assert series.stand_in and series.values.shape[0] == 7 * 144
    assert np.isnan(series.values).any()  # the stand-in has gaps
    picked = milan.select_cells(series, count=2)
    assert len(set(picked.tolist())) == 2
    with pytest.raises(ValueError, match="only"):
        milan.select_cells(series, count=2, min_coverage=1.0)
    data = urban_dataset(series, seq_len=8, cells=2)
    assert data.stand_in and data.x_val is not None
    n = series.values.shape[0]
    cut1, cut2 = data.info["cuts"]
    assert (cut1, cut2) == (int(0.7 * n), int(0.85 * n))
    assert len(data.x_train) == 2 * (cut1 - 9) and len(data.x_test) == 2 * (n - cut2 - 9)
    assert float(data.x_train.min()) == pytest.approx(-1) and float(data.x_train.max()) <= 1 + 1e-12


# ---------------------------------------------------------------------------- downloader


class _Server:
    """A tiny Dataverse: the native listing API and the access API with HTTP Range support."""

    def __init__(self, files, corrupt=()):
        self.files, self.corrupt, self.ranges = files, set(corrupt), []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path.startswith("/api/datasets/:persistentId/"):
                    listing = [
                        {
                            "dataFile": {
                                "id": i,
                                "filename": name.replace(".txt", ".tab"),
                                "originalFileName": name,
                                "originalFileSize": len(body),
                                "checksum": {"type": "MD5", "value": hashlib.md5(body).hexdigest()},
                            }
                        }
                        for i, (name, body) in enumerate(outer.files.items())
                    ]
                    payload = json.dumps({"data": {"latestVersion": {"files": listing}}}).encode()
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                file_id = int(self.path.split("/api/access/datafile/")[1].split("?")[0])
                name, body = list(outer.files.items())[file_id]
                if name in outer.corrupt:
                    body = body[:-2] + b"XX"
                start = 0
                if "Range" in self.headers:
                    outer.ranges.append(self.headers["Range"])
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    self.send_response(206)
                else:
                    self.send_response(200)
                self.end_headers()
                self.wfile.write(body[start:])

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def _day_bytes(day):
    return ("\n".join(raw_line(1, day * 144 + k, 39, "1.0") for k in range(144)) + "\n").encode()


def _day_csv_bytes(day):
    lines = [csv_line(1, day * 144 + k, 39, "1.0") for k in range(144)]
    return ("\n".join([",".join(milan.CSV_HEADER), *lines]) + "\n").encode()


def test_downloader_lists_downloads_resumes_and_loads(tmp_path):
    files = {f"sms-call-internet-mi-2013-11-0{d + 1}.txt": _day_bytes(d) for d in range(2)}
    files["sms-call-internet-mi-2013-11-03.csv"] = _day_csv_bytes(2)  # the re-distribution's format
    server = _Server(files)
    try:
        first = next(iter(files))
        (tmp_path / (first + ".part")).write_bytes(files[first][:1000])  # an interrupted download
        paths = milan.download_milan(tmp_path, base_url=server.url)
    finally:
        server.close()
    assert [p.name for p in paths] == list(files)
    assert all(p.read_bytes() == files[p.name] for p in paths)
    assert server.ranges == ["bytes=1000-"]
    assert not list(tmp_path.glob("*.part"))
    series = milan.load_milan_sms(tmp_path)
    assert series.values.shape == (3 * 144, 1) and not series.stand_in
    assert np.isfinite(series.values).all()  # the raw and CSV days join without a gap


def test_downloader_rejects_a_corrupt_file_without_leaving_it(tmp_path):
    files = {"sms-call-internet-mi-2013-11-01.txt": _day_bytes(0)}
    server = _Server(files, corrupt=files)
    try:
        with pytest.raises(IOError, match="md5"):
            milan.download_milan(tmp_path, base_url=server.url)
    finally:
        server.close()
    assert not list(tmp_path.iterdir())
