"""Headless Chromium for the browser tests (both the published book and JupyterLab)."""

from __future__ import annotations

import shutil

import pytest


def start_chromium(window_size: str, page_load_timeout: int = 60, logging: bool = False):
    """A headless Chromium driven by Selenium; fails the test with the install command if
    chromium or chromedriver is missing."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.fail(
            "chromium and chromedriver are required (Debian: apt-get install chromium "
            "chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={window_size}",
        "--disable-gpu",
        "--no-first-run",
    ):
        options.add_argument(flag)
    if logging:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(page_load_timeout)
    driver.set_script_timeout(60)
    return driver
