"""What the journey tests of ../shared/JOURNEYS.md (1–5) share: the clean county served, a page
that fails its test on any 5xx answer, logging in, submitting a task's form, and the rules
that hold on every page (no error page, Chinese, no username, code or enum value in the
visible text, no sideways scroll at 390 px), checked with screenshots at both widths.

A journey module imports `county`, `site` and `page` (fixtures) and makes its own
`check_page = page_rules(SHOTS, FORBIDDEN)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from .browser import open_page, serve

ERROR_PAGES = ("Internal Server Error", "服务器出错", "系统出错")


def page_rules(shots: Path, forbidden: Iterable[str], *, slack: int = 0,
               top: bool = False, diagrams: bool = False) -> Callable[..., str]:
    """`check_page(page, name)`: the rules of every page, then screenshots `name.png` and
    `name-390.png` (and `name-top.png`, the first screen, with `top`); the page's text.
    `slack`: pixels a 390-px page may be wider (a scroll bar's rounding); `diagrams`: wait
    for a task's diagram to be drawn before the screenshot."""
    words = list(forbidden)

    def check_page(page, name: str) -> str:
        text = page.inner_text("body")
        assert not any(error in text for error in ERROR_PAGES), name
        assert re.search(r"[\u4e00-\u9fff]", text), name
        found = [w for w in words if re.search(rf"(?<![\w:@]){re.escape(w)}(?!\w)", text)]
        assert not found, (name, found)
        shots.mkdir(parents=True, exist_ok=True)
        if diagrams and page.locator("#canvas").count():  # drawn after the page loads
            page.wait_for_selector("#canvas svg", timeout=10000)
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        if top:
            page.screenshot(path=str(shots / f"{name}-top.png"))
        size = page.viewport_size
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 390 + slack, name
        page.screenshot(path=str(shots / f"{name}-390.png"), full_page=True)
        page.set_viewport_size(size)
        return text

    return check_page


@pytest.fixture
def site(county):
    """The clean county's app on a free loopback port."""
    with serve(county.app) as url:
        yield url


@pytest.fixture
def page():
    """A desktop page that accepts confirm dialogs; its test fails on any 5xx answer."""
    with open_page(1280, 900) as page:
        statuses: list[tuple[int, str]] = []
        page.on("response", lambda r: statuses.append((r.status, r.url)))
        page.on("dialog", lambda dialog: dialog.accept())  # data-confirm buttons
        page.statuses = statuses
        yield page
        assert not [s for s in statuses if s[0] >= 500], statuses


def log_in(page, base: str, username: str, password: str) -> None:
    """Log in as someone else (cookies cleared) and wait for the inbox."""
    page.context.clear_cookies()
    page.goto(f"{base}/auth/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/tasks/")


def submit(page) -> None:
    """Submit the task's form and wait for the success message."""
    page.click("form[action$='/complete'] button.primary")
    page.wait_for_selector(".flash.success")
