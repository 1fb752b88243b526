"""A chapter read in JupyterLab, in a real browser: the prose shows its computed numbers.

Starts JupyterLab (with the pinned jupyterlab-myst) on 127.0.0.1 with a token, opens an
executed chapter from _build/src/notebooks (the build writes them, with each inline
expression's result stored in its markdown cell) in headless Chromium, and checks that the
rendered prose shows the stored values and no raw role markup. Needs a built book and
chromium + chromedriver, like test_published_book.py.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from chromium_driver import start_chromium

ROOT = Path(__file__).resolve().parents[2]
EXECUTED = ROOT / "_build" / "src" / "notebooks"
SHOTS = ROOT / "_build" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not EXECUTED.is_dir(), reason="no executed chapters: run scripts/build_book.sh first"
    ),
]


def _plain(result: dict) -> str:
    text = result.get("data", {}).get("text/plain", "")
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def _chapter_with_expressions() -> tuple[str, list[str]]:
    """The first executed chapter whose prose has stored inline expressions, and their values."""
    for path in sorted(EXECUTED.glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text())
        values = [
            _plain(entry["result"])
            for cell in nb["cells"]
            if cell["cell_type"] == "markdown"
            for entry in cell.get("metadata", {}).get("user_expressions", [])
        ]
        if values:
            return path.name, values
    pytest.fail(
        f"no chapter in {EXECUTED} has inline expressions ({{eval}} roles) with stored results"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A fresh settings folder: every cell rendered (no windowing, so the whole chapter is in the
# page), and no news pop-up over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    settings = tmp_path_factory.mktemp("lab_settings")
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={EXECUTED.parent}",
        f"--LabApp.user_settings_dir={settings}",
        # a fresh workspace: the default one reopens whatever tabs an earlier session left,
        # whose prose would be read with this chapter's
        f"--LabApp.workspaces_dir={settings / 'workspaces'}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses root without it (book/how_to_run.md)
    log = open(ROOT / "_build" / "jupyterlab_test.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if server.poll() is not None:
                pytest.fail(
                    f"JupyterLab exited with {server.returncode}; see _build/jupyterlab_test.log"
                )
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within 60 s; see _build/jupyterlab_test.log")
        listed = subprocess.run(
            [sys.executable, "-m", "jupyter", "labextension", "list"],
            capture_output=True,
            text=True,
        )
        assert "jupyterlab-myst" in listed.stdout + listed.stderr, (
            "jupyterlab-myst is not installed (requirements.txt)"
        )
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    driver = start_chromium("1400,2400", 120)
    yield driver
    driver.quit()


RENDERED_PROSE = """
    return [...document.querySelectorAll(
        '.jp-MarkdownCell .jp-RenderedMarkdown, .jp-MarkdownCell .myst')]
        .map(e => e.innerText).join('\\n');
"""


def test_chapter_prose_shows_its_numbers_in_jupyterlab(jupyterlab, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    url, token = jupyterlab
    name, values = _chapter_with_expressions()
    browser.get(f"{url}/lab/tree/notebooks/{name}?token={token}")
    wait = WebDriverWait(browser, 90, poll_frequency=1)
    wait.until(
        lambda d: (
            d.execute_script("return document.querySelectorAll('.jp-MarkdownCell').length") > 3
        )
    )
    try:
        wait.until(lambda d: all(v in d.execute_script(RENDERED_PROSE) for v in values))
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SHOTS / f"jupyterlab_{name.replace('.ipynb', '')}.png"))
    prose = browser.execute_script(RENDERED_PROSE)
    shown = [v for v in values if v in prose]
    assert len(shown) == len(values), (
        f"{name}: values missing from the rendered prose: {[v for v in values if v not in prose]}"
    )
    for raw in ("{eval}", "{glue:text}", "{glue}"):
        assert raw not in prose, f"{name}: raw {raw} markup in the rendered prose"
    # Issue 25, group 8: a citation shows its key in JupyterLab; the chapter's References
    # section, rendered, gives each key its full entry (scripts/chapter_references.py).
    nb = json.loads((EXECUTED / name).read_text())
    last = "".join(nb["cells"][-1]["source"])
    assert "## References" in last, f"{name}: no References section in the last cell"
    for line in last.split("## References")[1].splitlines():
        if line.startswith("- {cite}`"):
            key, entry = line[len("- {cite}`") :].split("`: ", 1)
            first_words = " ".join(entry.split()[:3])
            assert key in prose and first_words in prose, (
                f"{name}: the reference {key!r} ({first_words}...) is not readable in JupyterLab"
            )
