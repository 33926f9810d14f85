"""What every browser test shares: Debian's chromium, a served app, a launched browser.

Uses Debian's chromium through Playwright's `executable_path` (never `playwright install`);
the tests are skipped, with the reason, when chromium or Playwright is missing.
Screenshots go to test-output/.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags chromium keeps dialling out of a closed network.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="no chromium at /usr/bin/chromium (apt-get install chromium)")


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """The app served by werkzeug on a free loopback port, in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless chromium browser, closed afterwards."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def open_page(width: int, height: int) -> Iterator:
    """A fresh chromium page of the given viewport (390 wide for a phone), in Chinese."""
    with chromium() as browser:
        context = browser.new_context(viewport={"width": width, "height": height},
                                      locale="zh-CN")
        try:
            yield context.new_page()
        finally:
            context.close()


def log_in(page, base: str, username: str, password: str) -> None:
    """Log in through the login page and wait for the inbox."""
    page.goto(f"{base}/auth/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/tasks/")
