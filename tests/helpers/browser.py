"""Debian's headless Chromium for the browser tests: nothing is downloaded."""

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium tries to reach Google, and nothing here reaches the internet.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
# As a user who has closed MLflow's Assistant panel once (it opens by itself on a
# browser's first visit and narrows the table): run on the UI's origin before a page.
ASSISTANT_CLOSED = """
localStorage.setItem("mlflow.assistant.fab.autoOpenedOnFirstLoad_v1", "true");
localStorage.setItem("mlflow.assistant.panelOpen_v1", "false");
"""
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
NO_BROWSER = ", ".join(
    f"no `{name}` on PATH"
    for name, path in [("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)]
    if path is None
)


@contextlib.contextmanager
def chromium(profile: Path, script_timeout: float) -> Iterator[webdriver.Chrome]:
    """Debian's Chromium, headless, with a fresh ``profile`` folder."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(script_timeout)
    try:
        yield driver
    finally:
        driver.quit()
