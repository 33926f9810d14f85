"""The demo county (21 days of history) once per module, and a walk of its pages by role.

The walk follows every link and every GET form (with the values the form shows) from the
inbox, as a test client logged in as one account of each role; it stays on the site,
skips what logs out or switches the language, and visits at most a few URLs of each route
shape (ids and query values differ, the template does not).
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urljoin, urlsplit
from zoneinfo import ZoneInfo

import lxml.html

from engine.core.clock import FrozenClock
from engine.ops.demo import DEMO_PASSWORD, load_demo
from engine.ops.platform import Platform
from webapp import create_app

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
# One account of each role of the demo (engine/ops/demo.py).
ROLE_ACCOUNTS = {
    "county_head": "county_head", "deputy_commander": "executive_deputy",
    "sub_commander": "commander_industry", "department_head": "head_drc",
    "township_head": "head_liyi", "specialist": "specialist1", "approver": "approver_zrzy",
    "supervisor": "supervisor1", "project_unit": "unit_solar", "office": "office_window",
    "designer": "designer", "admin": "admin",
}
SKIPPED = ("/auth/logout", "/lang/", "/static/", "/api/v1/docs")
PER_SHAPE = 12  # URLs visited of one route shape (same path with ids and values masked)


def demo_database(tmp_path_factory) -> str:
    """A migrated SQLite file with the demo county loaded (21 days of history)."""
    from engine.core.db import upgrade_database

    folder = tmp_path_factory.mktemp("demo_county")
    url = f"sqlite:///{folder / 'demo.db'}"
    upgrade_database(url)
    platform = Platform(url, FrozenClock(NOW))
    load_demo(platform, history_days=21)
    platform.close()
    return url


def copy_database(url: str, folder) -> str:
    """A copy of a SQLite database file, for a test that writes."""
    target = folder / "copy.db"
    shutil.copy(url.removeprefix("sqlite:///"), target)
    return f"sqlite:///{target}"


def demo_app(url: str, clock: FrozenClock | None = None):
    """The app on a demo database, CSRF on as in production."""
    return create_app({"TESTING": True, "SECRET_KEY": "walk", "DATABASE_URL": url,
                       "CLOCK": clock or FrozenClock(NOW)})


def log_in(app, username: str):
    """A test client logged in as `username` through the login form."""
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    response = client.post("/auth/login", data={"username": username, "password": DEMO_PASSWORD,
                                                 "csrf_token": token})
    assert response.status_code == 302, f"{username} could not log in"
    return client


@dataclass
class Visit:
    """One page of the walk: its URL, the page it was found on, status and answer."""

    url: str
    found_on: str
    status: int
    content_type: str
    body: bytes

    @property
    def html(self) -> bool:
        return self.content_type.startswith("text/html")


_MASKS = [(re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}"), "<uuid>"), (re.compile(r"\d+"), "<n>")]


def shape(url: str) -> str:
    """The route shape of a URL: the path with ids masked and the query's names only."""
    parts = urlsplit(url)
    path = parts.path
    for pattern, mask in _MASKS:
        path = pattern.sub(mask, path)
    names = sorted({p.split("=", 1)[0] for p in parts.query.split("&") if p})
    return path + ("?" + "&".join(names) if names else "")


def _links(page_url: str, body: bytes) -> list[str]:
    try:
        tree = lxml.html.fromstring(body)
    except Exception:
        return []
    found = [a.get("href") for a in tree.iter("a") if a.get("href")]
    for form in tree.iter("form"):
        if (form.get("method") or "get").lower() != "get":
            continue
        values = []
        for field in form.inputs:
            name = field.get("name")
            if not name or field.tag == "button" or field.get("type") in ("submit", "button"):
                continue
            if field.get("type") in ("checkbox", "radio") and not field.checked:
                continue
            value = field.value
            if isinstance(value, (list, set)) or hasattr(value, "__iter__") and not isinstance(value, str):
                value = next(iter(value), "")
            values.append((name, value or ""))
        found.append((form.get("action") or page_url).split("?")[0]
                     + ("?" + urlencode(values) if values else ""))
    return [urljoin(page_url, u) for u in found]


def walk(client, start: str = "/tasks/", limit: int = 400) -> Iterator[Visit]:
    """Every page reachable from `start` by links and GET forms (at most PER_SHAPE a shape)."""
    queue = [(start, "")]
    seen: set[str] = set()
    shapes: Counter = Counter()
    while queue and len(seen) < limit:
        url, found_on = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or parts.scheme not in ("", "http"):
            continue
        local = parts.path + ("?" + parts.query if parts.query else "")
        if local in seen or any(parts.path.startswith(s) for s in SKIPPED):
            continue
        if shapes[shape(local)] >= PER_SHAPE:
            continue
        seen.add(local)
        shapes[shape(local)] += 1
        response = client.get(local)
        visit = Visit(local, found_on, response.status_code, response.content_type or "",
                      response.data)
        yield visit
        if response.status_code in (301, 302, 303):
            queue.append((urljoin(local, response.headers["Location"]), local))
        elif visit.html and response.status_code == 200:
            queue.extend((u, local) for u in _links("http://localhost" + local, response.data))


WERKZEUG_PAGES = ("<title>404 Not Found</title>", "<title>405 Method Not Allowed</title>",
                  "<title>400 Bad Request</title>", "<title>500 Internal Server Error</title>",
                  "The requested URL was not found", "Redirecting...")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Seen:
    """One page of a walk as the tests read it: status, kind, visible text, English page."""

    url: str
    found_on: str
    status: int
    content_type: str
    texts: list[str]
    werkzeug: bool


def _seen(visit: Visit) -> Seen:
    from io import BytesIO

    from openpyxl import load_workbook

    from .visible import visible_text

    texts: list[str] = []
    if visit.status == 200 and visit.content_type.startswith(XLSX):
        book = load_workbook(BytesIO(visit.body), read_only=True)
        texts = [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                 for c in row if isinstance(c, str)]
    elif visit.status == 200 and visit.html:
        texts = visible_text(visit.body)
    werkzeug = visit.html and visit.status != 302 and any(
        marker in visit.body.decode("utf-8", "replace") for marker in WERKZEUG_PAGES)
    return Seen(visit.url, visit.found_on, visit.status, visit.content_type, texts, werkzeug)


class Walks:
    """Each role's walk (ROLE_ACCOUNTS, and "anon" from the login page), made once."""

    def __init__(self, app):
        self.app = app
        self._done: dict[str, list[Seen]] = {}

    def __call__(self, role: str) -> list[Seen]:
        if role not in self._done:
            if role == "anon":
                pages = walk(self.app.test_client(), start="/auth/login")
            else:
                pages = walk(log_in(self.app, ROLE_ACCOUNTS[role]))
            self._done[role] = [_seen(v) for v in pages]
        return self._done[role]
