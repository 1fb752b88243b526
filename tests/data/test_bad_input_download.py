"""A hostile or broken Dataverse on 127.0.0.1 cannot make the downloader write where it should not.

Every test serves its listing and bodies from a real ``http.server`` on the loopback
interface. The server is bounded: it shuts itself down after ``LIFETIME`` seconds even if
a test hangs, and each test stops it in a ``with`` block. "Nothing written outside" is
checked on the whole sandbox folder that holds the target folder.
"""

import hashlib
import http.server
import json
import os
import threading

import numpy as np
import pytest

from qkan_lib.data import milan

T0 = milan.FIRST_SLOT_MS
LIFETIME = 30.0  # seconds; the server stops itself after this


def day_bytes(day: int) -> bytes:
    rows = (f"1\t{T0 + (day * 144 + k) * milan.SLOT_MS}\t39\t1.0\t\t\t\t" for k in range(144))
    return ("\n".join(rows) + "\n").encode()


def record(file_id, name, body, **changes):
    data_file = {
        "id": file_id,
        "filename": name,
        "originalFileName": name,
        "originalFileSize": len(body),
        "checksum": {"type": "MD5", "value": hashlib.md5(body).hexdigest()},
    }
    data_file.update(changes)
    return {"dataFile": data_file}


def listing_bytes(records) -> bytes:
    return json.dumps({"data": {"latestVersion": {"files": records}}}).encode()


class Hostile:
    """A tiny Dataverse whose every answer can be replaced.

    ``listing``: the raw bytes served for the dataset listing; ``bodies``: id -> bytes;
    ``behaviour``: id -> one of "long" (more bytes than listed, no Content-Length),
    "announce_long" (a Content-Length above the listed size), "short" (Content-Length
    says the full size, the connection closes early), "redirect:<url>", "404",
    "wrong_range" (answers a Range request from byte 0 with a 206).
    """

    def __init__(
        self, listing: bytes, bodies=None, behaviour=None, listing_status=200, listing_length=None
    ):
        self.listing, self.bodies, self.behaviour = listing, bodies or {}, behaviour or {}
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 10

            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.requests.append(self.path)
                if self.path.startswith("/api/datasets/"):
                    self.send_response(listing_status)
                    self.send_header("Content-Length", str(listing_length or len(outer.listing)))
                    self.end_headers()
                    self.wfile.write(outer.listing)
                    return
                if self.path.startswith("/moved/"):
                    file_id = int(self.path.split("/")[2])
                    self._body(outer.bodies[file_id])
                    return
                file_id = int(self.path.split("/api/access/datafile/")[1].split("?")[0])
                body, how = outer.bodies[file_id], outer.behaviour.get(file_id, "")
                if how == "404":
                    self.send_error(404)
                elif how.startswith("redirect:"):
                    self.send_response(302)
                    self.send_header("Location", how.split(":", 1)[1])
                    self.end_headers()
                elif how == "long":
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(body + b"1\t%d\t39\t9.0\t\t\t\t\n" % T0 * 5000)
                    self.close_connection = True
                elif how == "announce_long":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body) + 10))
                    self.end_headers()
                    self.wfile.write(body + b"0123456789")
                elif how == "short":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                elif how == "wrong_range" and "Range" in self.headers:
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes 0-{len(body) - 1}/{len(body)}")
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    start = (
                        int(self.headers["Range"].split("=")[1].split("-")[0])
                        if "Range" in self.headers
                        else 0
                    )
                    self._body(body[start:], partial=bool(start))

            def _body(self, body, partial=False):
                self.send_response(206 if partial else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.timer = threading.Timer(LIFETIME, self.httpd.shutdown)

    def __enter__(self):
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()

    def downloads(self):
        return [p for p in self.requests if "/datafile/" in p]


@pytest.fixture
def sandbox(tmp_path):
    """(sandbox, target): the target folder lives inside a sandbox that must hold nothing else."""
    box = tmp_path / "sandbox"
    (box / "target").mkdir(parents=True)
    return box, box / "target"


def everything_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


HOSTILE_NAMES = [
    ("../escape.txt", "path separator"),
    ("..", "'..'"),
    ("a/../../escape.txt", "path separator"),
    ("/tmp/absolute.txt", "path separator"),
    ("sub/day.txt", "path separator"),
    ("..\\escape.txt", "path separator"),
    ("C:escape.txt", "drive colon"),
    ("x..y.txt", "'..'"),
    ("", "empty"),
    (None, "missing or empty"),
    (42, "missing or empty"),
    ("day\n.txt", "control characters"),
    ("nul\x00.txt", "control characters"),
    (" day.txt", "white space"),
    ("day.txt ", "white space"),
    (".hidden.txt", "hidden"),
    ("day.txt.part", "reserved"),
    ("STAND_IN.txt", "reserved"),
    ("x" * 252 + ".txt", "longer than 255 bytes"),
]


@pytest.mark.parametrize("name, why", HOSTILE_NAMES)
def test_hostile_file_names_are_refused_before_anything_is_written(sandbox, name, why):
    box, target = sandbox
    good = day_bytes(0)
    records = [record(0, "sms-call-internet-mi-2013-11-01.txt", good), record(1, name, good)]
    with Hostile(listing_bytes(records), {0: good, 1: good}) as server:
        with pytest.raises(ValueError, match=rf"listing entry 1: .*{why}"):
            milan.download_milan(target, base_url=server.url, timeout=5)
    assert server.downloads() == []  # the whole listing is checked before the first download
    assert everything_under(box) == ["target"]


@pytest.mark.parametrize(
    "first, second",
    [("day.txt", "day.txt"), ("Day.txt", "day.TXT"), ("caf\u00e9.txt", "cafe\u0301.txt")],
)  # NFC vs NFD
def test_duplicate_names_are_refused(sandbox, first, second):
    box, target = sandbox
    body = day_bytes(0)
    with Hostile(
        listing_bytes([record(0, first, body), record(1, second, body)]), {0: body, 1: body}
    ) as server:
        with pytest.raises(ValueError, match="listing entries 0 and 1 both name the file"):
            milan.download_milan(target, base_url=server.url, timeout=5)
    assert server.downloads() == [] and everything_under(box) == ["target"]


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"id": "../../etc/passwd"}, "id must be a non-negative integer"),
        ({"id": True}, "id must be a non-negative integer"),
        ({"id": -1}, "id must be a non-negative integer"),
        ({"originalFileSize": None, "filesize": None}, "size must be a non-negative integer"),
        ({"originalFileSize": -5}, "size must be a non-negative integer"),
        ({"originalFileSize": "100"}, "size must be a non-negative integer"),
        ({"checksum": {"type": "MD5", "value": "zz"}}, "md5 checksum must be 32 hex digits"),
        ({"checksum": {"type": "CRC32", "value": "00"}}, "unknown checksum type"),
    ],
)
def test_hostile_ids_sizes_and_checksums_are_refused(sandbox, changes, problem):
    box, target = sandbox
    body = day_bytes(0)
    with Hostile(listing_bytes([record(0, "day.txt", body, **changes)]), {0: body}) as server:
        with pytest.raises(ValueError, match=problem):
            milan.download_milan(target, base_url=server.url, timeout=5)
    assert server.downloads() == [] and everything_under(box) == ["target"]


@pytest.mark.parametrize(
    "listing, problem",
    [
        (b"<html>Service Unavailable</html>", "the dataset listing is not JSON"),
        (b"\xff\xfe{}", "the dataset listing is not JSON"),
        (b"[]", "unexpected Dataverse listing"),
        (b'{"data": {"latestVersion": {"files": {"a": 1}}}}', "files is not a list"),
        (b'{"data": {"latestVersion": {"files": [17]}}}', "listing entry 0: no dataFile record"),
    ],
)
def test_broken_listings_are_refused(sandbox, listing, problem):
    box, target = sandbox
    with Hostile(listing) as server:
        with pytest.raises(ValueError, match=problem):
            milan.download_milan(target, base_url=server.url, timeout=5)
    assert everything_under(box) == ["target"]


def test_oversized_listing_and_listing_cut_short_and_http_error(sandbox, monkeypatch):
    box, target = sandbox
    body = day_bytes(0)
    listing = listing_bytes([record(0, "day.txt", body)])
    monkeypatch.setattr(milan, "LISTING_MAX_BYTES", 50)
    with Hostile(listing, {0: body}) as server:
        with pytest.raises(ValueError, match="larger than 50 bytes"):
            milan.list_dataverse_files(server.url, timeout=5)
    monkeypatch.undo()
    with Hostile(listing, {0: body}, listing_length=len(listing) + 100) as server:  # closes early
        with pytest.raises(IOError, match="reading the dataset listing failed"):
            milan.list_dataverse_files(server.url, timeout=5)
    with Hostile(listing, {0: body}, listing_status=503) as server:
        with pytest.raises(IOError, match=r"HTTP 503"):
            milan.list_dataverse_files(server.url, timeout=5)
    assert everything_under(box) == ["target"]


@pytest.mark.parametrize(
    "how, problem",
    [
        ("long", "longer than the listing's"),
        ("announce_long", "the server announces"),
    ],
)
def test_a_body_longer_than_listed_aborts_and_leaves_nothing(sandbox, how, problem):
    box, target = sandbox
    body = day_bytes(0)
    with Hostile(listing_bytes([record(0, "day.txt", body)]), {0: body}, {0: how}) as server:
        with pytest.raises(IOError, match=problem):
            milan.download_milan(target, base_url=server.url, timeout=5)
    assert everything_under(box) == ["target"]


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_checksum_mismatch_leaves_nothing(sandbox, algorithm):
    box, target = sandbox
    body = day_bytes(0)
    wrong = hashlib.new(algorithm.replace("-", "").lower(), b"other").hexdigest()
    entry = record(0, "day.txt", body, checksum={"type": algorithm, "value": wrong})
    with Hostile(listing_bytes([entry]), {0: body}) as server:
        with pytest.raises(
            IOError, match=rf"{algorithm.replace('-', '').lower()} .* does not match"
        ):
            milan.download_milan(target, base_url=server.url, timeout=5)
    assert everything_under(box) == ["target"]


def test_sha256_listing_downloads(sandbox):
    box, target = sandbox
    body = day_bytes(0)
    entry = record(
        0, "day.txt", body, checksum={"type": "SHA-256", "value": hashlib.sha256(body).hexdigest()}
    )
    with Hostile(listing_bytes([entry]), {0: body}) as server:
        assert milan.download_milan(target, base_url=server.url, timeout=5) == [target / "day.txt"]
    assert (target / "day.txt").read_bytes() == body


def test_a_body_cut_short_keeps_only_a_resumable_part_and_a_rerun_completes(sandbox):
    box, target = sandbox
    body = day_bytes(0)
    listing = listing_bytes([record(0, "day.txt", body)])
    with Hostile(listing, {0: body}, {0: "short"}) as server:
        with pytest.raises(IOError, match="download interrupted .*rerun to resume"):
            milan.download_milan(target, base_url=server.url, timeout=5)
    assert everything_under(box) == ["target", "target/day.txt.part"]  # never the final name
    with (
        pytest.warns(UserWarning, match="an incomplete download"),
        pytest.raises(milan.MilanPathError),
    ):
        milan.load_milan_sms(target)  # the loader names the leftover, it does not read it
    with Hostile(listing, {0: body}) as server:
        milan.download_milan(target, base_url=server.url, timeout=5)
    assert everything_under(box) == ["target", "target/day.txt"]
    assert (target / "day.txt").read_bytes() == body


def test_a_resume_answered_with_the_wrong_range_is_discarded(sandbox):
    box, target = sandbox
    body = day_bytes(0)
    (target / "day.txt.part").write_bytes(body[:100])
    with Hostile(
        listing_bytes([record(0, "day.txt", body)]), {0: body}, {0: "wrong_range"}
    ) as server:
        with pytest.raises(IOError, match="asked for bytes from 100, the server sent from 0"):
            milan.download_milan(target, base_url=server.url, timeout=5)
    assert everything_under(box) == ["target"]


def test_http_error_on_a_file_names_the_url(sandbox):
    box, target = sandbox
    body = day_bytes(0)
    with Hostile(listing_bytes([record(7, "day.txt", body)]), {7: body}, {7: "404"}) as server:
        with pytest.raises(IOError, match=r"/api/access/datafile/7\?format=original: HTTP 404"):
            milan.download_milan(target, base_url=server.url, timeout=5)
    assert everything_under(box) == ["target"]


def test_redirects_only_to_allowed_urls(sandbox):
    box, target = sandbox
    body = day_bytes(0)
    listing = listing_bytes([record(0, "day.txt", body)])
    with Hostile(listing, {0: body}, {0: "redirect:http://example.invalid/steal"}) as server:
        with pytest.raises(
            ValueError, match="refusing to download from 'http://example.invalid/steal'"
        ):
            milan.download_milan(target, base_url=server.url, timeout=5)
    assert everything_under(box) == ["target"]
    with Hostile(
        listing, {0: body}, {0: "redirect:/moved/0"}
    ) as server:  # storage on the same loopback host
        milan.download_milan(target, base_url=server.url, timeout=5)
    assert (target / "day.txt").read_bytes() == body


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://10.0.0.1:8080",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "127.0.0.1:8000",
        "https://",
    ],
)
def test_plain_http_only_for_loopback(sandbox, url):
    box, target = sandbox
    with pytest.raises(ValueError, match="refusing to download from"):
        milan.download_milan(target, base_url=url, timeout=1)
    with pytest.raises(ValueError, match="refusing to download from"):
        milan.download_file(url + "/x", target / "x.txt", timeout=1)
    assert everything_under(box) == ["target"]


def test_allowed_urls():
    for url in (
        "https://dataverse.harvard.edu",
        "http://127.0.0.1:1234/x",
        "http://localhost:8/",
        "http://[::1]:8/",
        "http://127.8.9.10/",
    ):
        assert milan.check_download_url(url) == url


def test_a_symlink_planted_in_the_target_cannot_redirect_the_write(sandbox):
    box, target = sandbox
    outside = box / "outside.txt"
    outside.write_text("precious")
    os.symlink(outside, target / "day.txt")
    body = day_bytes(0)
    with Hostile(listing_bytes([record(0, "day.txt", body)]), {0: body}) as server:
        with pytest.raises(ValueError, match="would be written outside"):
            milan.download_milan(target, base_url=server.url, timeout=5)
    assert outside.read_text() == "precious" and server.downloads() == []


def test_an_existing_file_of_the_wrong_size_is_not_overwritten_or_trusted(sandbox):
    box, target = sandbox
    body = day_bytes(0)
    (target / "day.txt").write_bytes(b"my own notes")
    with Hostile(listing_bytes([record(0, "day.txt", body)]), {0: body}) as server:
        with pytest.raises(IOError, match="already exists with 12 bytes but the listing says"):
            milan.download_milan(target, base_url=server.url, timeout=5)
    assert (target / "day.txt").read_bytes() == b"my own notes"


def test_every_file_lands_inside_the_target_and_names_select_by_substring(sandbox):
    box, target = sandbox
    files = {i: day_bytes(i) for i in range(3)}
    names = [f"sms-call-internet-mi-2013-11-0{i + 1}.txt" for i in range(3)]
    listing = listing_bytes([record(i, names[i], files[i]) for i in range(3)])
    with Hostile(listing, files) as server:
        one = milan.download_milan(
            target, names="2013-11-02", base_url=server.url, timeout=5
        )  # a str, not chars
        assert [p.name for p in one] == [names[1]] and len(server.downloads()) == 1
        paths = milan.download_milan(target, base_url=server.url, timeout=5)
        assert len(server.downloads()) == 3  # the day already there is not fetched again
    assert all(p.resolve().parent == target.resolve() for p in paths)
    assert everything_under(box) == ["target"] + [f"target/{n}" for n in names]
    series = milan.load_milan_sms(target)
    assert series.values.shape == (3 * 144, 1) and np.isfinite(series.values).all()


def test_bad_names_argument_and_a_file_as_target(sandbox):
    box, target = sandbox
    for bad in ([], [""], [3]):
        with pytest.raises(ValueError, match="names must be non-empty strings"):
            milan.download_milan(target, names=bad, base_url="http://127.0.0.1:9", timeout=1)
    a_file = box / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        milan.download_milan(a_file, base_url="http://127.0.0.1:9", timeout=1)


def test_the_server_stops_itself():
    """The bound on every test server: it shuts down on its own when its lifetime ends."""
    server = Hostile(b"{}")
    server.timer = threading.Timer(0.2, server.httpd.shutdown)
    with server:
        server.timer.join(5)
        assert not server.timer.is_alive()
