"""The published HTML book in a real browser: headless Chromium, no network, every page.

Needs a built book (_build/html) and chromium + chromedriver; scripts/run_tests.sh provides
both. Screenshots of every page are kept under _build/screenshots.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import pytest
from chromium_driver import start_chromium

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
PAGES = sorted(
    str(p.relative_to(HTML)) for p in [*HTML.glob("notebooks/*.html"), *HTML.glob("book/*.html")]
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (HTML / "index.html").exists(),
        reason="no built book: run scripts/build_book.sh first (run_tests.sh does)",
    ),
]


@pytest.fixture(scope="module")
def server():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    driver = start_chromium("1280,1600", 60, logging=True)
    yield driver
    driver.quit()


def test_pages_were_found():
    assert any(p.startswith("notebooks/") for p in PAGES), PAGES


def _network_events(driver):
    events = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        events.append((message["method"], message.get("params", {})))
    return events


def _wait_for_mathjax(driver):
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        if (!window.MathJax || !MathJax.startup) { done('no MathJax'); return; }
        MathJax.startup.promise.then(() => done('ok'), (e) => done('error: ' + e));
    """)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_offline(browser, server, page):
    browser.get_log("browser"), browser.get_log("performance")  # start clean
    browser.get(f"{server}/{page}")
    math_sources = browser.execute_script("return document.querySelectorAll('.math').length")
    if math_sources:
        assert _wait_for_mathjax(browser) == "ok"
        unrendered = browser.execute_script(
            "return [...document.querySelectorAll('.math')].filter(e => "
            "!e.querySelector('mjx-container')).length"
        )
        errors = browser.execute_script("return document.querySelectorAll('mjx-merror').length")
        assert unrendered == 0 and errors == 0, (
            f"{page}: {unrendered} unrendered equations, {errors} MathJax errors"
        )
    images = browser.execute_script(
        "return [...document.images].map(i => [i.src.slice(0, 80), i.complete && i.naturalWidth "
        "> 0])"
    )
    broken = [src for src, ok in images if not ok]
    assert not broken, f"{page}: images did not load: {broken}"
    if page.startswith("notebooks/"):
        assert any(ok for _, ok in images), f"{page}: a chapter without a single figure"
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1280, min(max(height, 800), 16000))
    browser.save_screenshot(str(SHOTS / (page.replace("/", "_").replace(".html", ".png"))))
    browser.set_window_size(1280, 1600)
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, f"{page}: console errors: {severe}"
    events = _network_events(browser)
    failed = [
        p.get("errorText", "") + " " + str(p.get("requestId"))
        for m, p in events
        if m == "Network.loadingFailed"
    ]
    outside = [
        p["request"]["url"]
        for m, p in events
        if m == "Network.requestWillBeSent"
        and not p["request"]["url"].startswith((server, "data:", "blob:", "about:"))
    ]
    assert not failed, f"{page}: failed requests: {failed}"
    assert not outside, f"{page}: requests leave the book: {outside}"


def test_widget_slider_moves_linked_output(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/notebooks/01_daruan_spectrum.html")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".widget-slider .noUi-handle"))
    # The stacked spectrum widget is live in the page (jslink); the full `interact` explorer
    # needs a kernel, so the chapter hides its dead output and says so.
    sliders = browser.find_elements(By.CSS_SELECTOR, ".widget-slider")
    assert len(sliders) >= 1, "the spectrum widget did not render"
    visible_image = """
        const stack = document.querySelector('.widget-slider').closest('.widget-vbox');
        const imgs = [...stack.querySelectorAll('img')].filter(i => i.offsetParent !== null);
        return imgs.map(i => i.src.slice(-64));
    """
    before = browser.execute_script(visible_image)
    assert len(before) == 1, f"expected one visible spectrum, found {len(before)}"
    handle = browser.find_elements(By.CSS_SELECTOR, ".widget-slider .noUi-handle")[0]
    handle.click()
    handle.send_keys(Keys.ARROW_RIGHT)
    wait.until(lambda d: d.execute_script(visible_image) != before)
    after = browser.execute_script(visible_image)
    assert len(after) == 1 and after != before
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "widget_after_slider_move.png"))


MACHINE_PATHS = sorted({str(ROOT), str(Path.home())} - {"/", ""}, key=len, reverse=True)

LAYOUT = """
    const article = document.querySelector('.bd-article') || document.body;
    const tables = [...document.querySelectorAll('figure')].filter(f => f.querySelector('table'));
    const captions = tables.map(f => {
        const n = f.querySelector('.caption-number');
        return [f.id, n ? n.textContent.trim() : ''];
    });
    const wideCode = [...document.querySelectorAll('div.cell_input pre, div.highlight pre')]
        .filter(p => p.scrollWidth > p.clientWidth + 1)
        .map(p => [p.scrollWidth, p.clientWidth, (p.textContent.split('\\n')
            .reduce((a, b) => a.length >= b.length ? a : b)).slice(0, 80)]);
    return {html: document.documentElement.outerHTML, text: document.body.innerText,
            captions: captions, wideCode: wideCode,
            articleOverflow: [article.scrollWidth, article.clientWidth]};
"""


@pytest.mark.parametrize("page", PAGES)
def test_page_layout(browser, server, page):
    """No build-machine path, tables numbered as tables, nothing wider than its box."""
    browser.get(f"{server}/{page}")
    found = browser.execute_script(LAYOUT)
    problems = []
    for path in MACHINE_PATHS:
        for source, content in (("HTML", found["html"]), ("text", found["text"])):
            at = content.find(path + "/")
            if at >= 0:
                problems.append(
                    f"machine path {path!r} in the page {source}: "
                    f"...{content[max(0, at - 60) : at + 80]}..."
                )
                break
    mislabelled = [
        (fid, number) for fid, number in found["captions"] if not number.startswith("Table")
    ]
    if mislabelled:
        problems.append(f"tables not numbered as tables (id, caption number): {mislabelled}")
    if found["wideCode"]:
        problems.append(
            f"code cells wider than their box (scrollWidth, clientWidth, longest line): "
            f"{found['wideCode']}"
        )
    scroll, client = found["articleOverflow"]
    if scroll > client + 1:
        problems.append(
            f"the article is {scroll}px wide in a {client}px column: something does not fit or "
            "scroll"
        )
    assert not problems, f"{page}:\n" + "\n".join(problems)
