"""Stored XSS sweep: a hostile payload in every text a user, a designer or an administrator can
put on a page, then every page of the app read by several roles.

Each payload is `<script>alert("xss-TAG")</script>"><img src=x onerror=alert("TAG")>` with
its own TAG. No HTML page may carry `<script>alert(` or `<img src=x onerror` raw; each tag
must be seen (escaped) on some page; every page carries the content security policy; under
/api the payloads come back as JSON data, never as HTML.

The world is the demo (engine.demo) plus the payloads, built once for the module on its own
SQLite file: escaping does not depend on the database.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from sqlalchemy import select

from engine.core import organisation
from engine.county import projects
from engine.ops import tokens as api_tokens
from engine.core.clock import FrozenClock
from engine.ops.demo import DEMO_PASSWORD, load_demo
from engine.core.identity import Actor
from engine.core.models import HumanTask, ProcessInstance
from engine.core.notifications import Notification
from engine.ops.platform import Platform
from webapp import create_app

from ..conftest import FIXTURES, SHANGHAI
from ..webapp.conftest import AuthActions, csrf_token_of

HOSTILE_FILES = [FIXTURES / "security" / "hostile.bpmn", FIXTURES / "security" / "hostile.dmn"]
RAW = ("<script>alert(", "<img src=x onerror")
ROLES = ("specialist1", "supervisor1", "admin", "designer", "county_head", "head_magedang")
# Tags planted in the BPMN and DMN files, and what shows them (no page shows the process's
# documentation, an event's or a sequence flow's name: they reach the diagram as XML only).
FILE_TAGS = {"b1", "b4", "b6", "b7", "b8", "b9", "b10", "b11", "d2"}
XML_ONLY_TAGS = {"b2", "b3", "b5", "b12", "d1", "d3"}


def payload(tag: str) -> str:
    """The hostile text of one site."""
    return f'<script>alert("xss-{tag}")</script>"><img src=x onerror=alert("{tag}")>'


def escaped(tag: str) -> str:
    """The payload's opening as an autoescaped page shows it."""
    return f"&lt;script&gt;alert(&#34;xss-{tag}&#34;)"


@dataclass
class Seen:
    """One response of the walk."""

    role: str
    url: str
    status: int
    mimetype: str
    headers: dict
    text: str


@dataclass
class Hostile:
    """The app, the planted sites and every response of the walk."""

    app: object
    platform: Platform
    sites: dict[str, str] = field(default_factory=dict)  # tag → what it is
    api_sites: dict[str, str] = field(default_factory=dict)  # shown under /api only
    seen: list[Seen] = field(default_factory=list)
    posted: list[Seen] = field(default_factory=list)  # pages rendered in answer to a POST


def _browser(app, username: str):
    browser = app.test_client()
    response = AuthActions(browser).login(username, DEMO_PASSWORD)
    assert response.status_code == 302, username
    return browser


def _token(browser) -> str:
    return csrf_token_of(browser.get("/auth/password").get_data(as_text=True))


def _plant_organisation(world: Hostile) -> None:
    """Display names and unit names (the administrator's CLI writes them)."""
    with world.platform.uow() as uow:
        s = uow.session
        for n, username in enumerate(("specialist1", "supervisor1", "county_head",
                                      "head_magedang", "office_director", "designer")):
            tag = f"u{n}"
            s.get(organisation.UserAccount, username).display_name = payload(tag)
            world.sites[tag] = f"display name of {username}"
        for n, (code, kind) in enumerate((("t_magedang", "township"), ("sc_culture", "sub_command"),
                                          ("sc_industry", "sub_command"), ("wlj", "department"))):
            unit = s.get(organisation.OrgUnit, code)
            organisation.add_unit(s, code, payload(f"o{n}"), kind, unit.parent_code, unit.sort)
            world.sites[f"o{n}"] = f"name of unit {code}"
        uow.commit()


def _plant_projects(world: Hostile) -> None:
    """A project's name, schedule milestones and progress text, a project reminder."""
    with world.platform.uow() as uow:
        project = uow.session.get(projects.Project, "XM-2026-006")
        project.name = payload("p1")
        uow.commit()
    with world.platform.uow() as uow:
        month = projects.month_of(uow.clock.now())
        last = projects.shift_month(month, -1)
        projects.set_schedule(uow, "XM-2026-001", [(last, 100, payload("p2")),
                                                   (month, 100, payload("p2"))], "office_director")
        projects.record_progress(uow, "XM-2026-001", last, 80, False, payload("p3"),
                                 "unit_materials")
        uow.commit()
    world.sites.update({"p1": "project name", "p2": "schedule milestone",
                        "p3": "progress report text"})


def _plant_definitions(world: Hostile, client, designer: dict) -> None:
    """The hostile BPMN and DMN deployed through the API, then a second version."""
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in HOSTILE_FILES]
    response = client.post("/api/v1/definitions", headers=designer, data={"files": files},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    second = HOSTILE_FILES[0].read_bytes().replace(b'name="\xe4\xba\x8c"', b'name="2"')
    response = client.post("/api/v1/definitions", headers=designer, content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(second), "hostile.bpmn")]})
    assert response.status_code == 201, response.get_json()
    world.sites.update({tag: "BPMN/DMN text" for tag in FILE_TAGS})


def _start(browser, key: str, form: dict) -> int:
    response = browser.post(f"/processes/{key}/start", data={**form, "csrf_token": _token(browser)})
    assert response.status_code == 302, response.get_data(as_text=True)[-600:]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _task_of(world: Hostile, instance_id: int, element_id: str) -> str:
    with world.platform.uow() as uow:
        return uow.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.element_id == element_id,
            HumanTask.state.in_(("open", "claimed"))))


def _post(browser, url: str, form: dict, expect: int = 302):
    response = browser.post(url, data={**form, "csrf_token": _token(browser)})
    assert response.status_code == expect, (url, response.status_code)
    return response


def _plant_work(world: Hostile, specialist, supervisor, county_head) -> None:
    """Instances of the hostile process and the issue and 13710 processes, through the pages,
    and every task action that keeps a text."""
    sites = world.sites
    a = _start(specialist, "hostile_proc", {"business_key": payload("k1"), "note": payload("f1")})
    fill = _task_of(world, a, "fill")
    _post(specialist, f"/tasks/{fill}/complete", {"text": payload("f2"), "choice": "one"})
    review = _task_of(world, a, "review")
    _post(specialist, f"/tasks/{review}/cc", {"to_user": "specialist2", "why": payload("a1")})
    _post(specialist, f"/tasks/{review}/return", {"to_element_id": "fill",
                                                   "opinion": payload("a2")})
    b = _start(specialist, "hostile_proc", {"business_key": payload("k2"), "note": "二"})
    _post(specialist, f"/tasks/{_task_of(world, b, 'fill')}/complete", {"text": "ok"})
    _post(specialist, f"/tasks/{_task_of(world, b, 'review')}/complete",
          {"decision": "reject", "opinion": payload("a3")})
    # a fresh form shows its fields' default values (b9); a returned one, what was filed
    _start(specialist, "hostile_proc", {"business_key": "D"})
    c = _start(specialist, "hostile_proc", {"business_key": "C"})
    _post(specialist, f"/tasks/{_task_of(world, c, 'fill')}/transfer",
          {"to_user": "specialist2", "why": payload("a4")})
    _post(supervisor, f"/tasks/{_task_of(world, c, 'fill')}/remind", {"message": payload("a5")})
    sites.update({"k1": "business key", "k2": "business key", "f1": "start form value",
                  "f2": "task form value", "a1": "carbon-copy note", "a2": "return opinion",
                  "a3": "decision opinion", "a4": "transfer reason", "a5": "task reminder"})
    # issues and 13710 instructions, registered on the start page by supervision
    issue = _start(supervisor, "issue_lifecycle", {
        "business_key": payload("k3"), "title": payload("i1"), "project_code": "XM-2026-006",
        "scope": "unit", "severity": "normal", "responsible_unit": "t_magedang",
        "sub_command": "sc_culture"})
    _post(supervisor, f"/supervision/remind/issue/{issue}", {"message": payload("i2")})
    _post(supervisor, f"/supervision/issues/{issue}/list", {"reason": payload("i3")})
    _post(supervisor, f"/supervision/issues/{issue}/escalate", {"reason": payload("i4")})
    _start(supervisor, "instruction_13710", {
        "business_key": payload("k4"), "title": payload("i5"), "source": "county_head",
        "instruction": payload("i6"), "complexity": "ordinary", "responsible_unit": "zj"})
    sites.update({"k3": "issue business key", "i1": "issue title", "i2": "issue reminder",
                  "i3": "listing reason", "i4": "escalation reason", "k4": "13710 key",
                  "i5": "13710 title", "i6": "13710 instruction"})
    # a meeting decision
    _post(county_head, "/board/agenda/decision", {
        "meeting": "sub_command:sc_industry", "date": "2026-12-01",
        "item_ref": "project:XM-2026-002", "decision": payload("m1")})
    sites["m1"] = "meeting decision"


def _plant_api(world: Hostile, client, admin: dict, supervisor: dict) -> None:
    """An issue registered through the API; a webhook's address (shown by the API only)."""
    issue = client.post("/api/v1/issues", headers=supervisor, json={
        "title": payload("i7"), "project_code": "XM-2026-001",
        "scope": "site", "severity": "minor", "responsible_unit": "co_materials",
        "sub_command": "sc_industry"})
    assert issue.status_code == 201, issue.get_json()
    hook = client.post("/api/v1/admin/webhooks", headers=admin, json={
        # a public address literal: a webhook's host must resolve to one (nothing is sent)
        "url": "https://93.184.216.34/" + payload("j2").replace(" ", "%20"),
        "event_kind": "reminder"})
    assert hook.status_code == 201, hook.get_json()
    world.sites["i7"] = "issue title (API)"
    world.api_sites["j2"] = "webhook address"


def _ids(world: Hostile) -> dict[str, list]:
    with world.platform.uow() as uow:
        s = uow.session
        instances = list(s.execute(select(ProcessInstance.id).where(
            ProcessInstance.process_key.in_(("hostile_proc", "issue_lifecycle",
                                             "instruction_13710")))
            .order_by(ProcessInstance.id.desc()).limit(8)).scalars())
        issues = list(s.execute(select(ProcessInstance.id).where(
            ProcessInstance.process_key == "issue_lifecycle")
            .order_by(ProcessInstance.id.desc()).limit(3)).scalars())
        tasks = list(s.execute(select(HumanTask.id).where(
            HumanTask.instance_id.in_(instances)).order_by(HumanTask.created_at.desc())
            .limit(10)).scalars())
        notification = s.scalar(select(Notification.id).order_by(Notification.id.desc()))
    return {"<int:instance_id>": instances, "<int:issue_id>": issues, "<task_id>": tasks,
            "<key>": ["hostile_proc", "hostile_decision", "issue_lifecycle"],
            "<int:version>": [1, 2], "<code>": ["XM-2026-006", "XM-2026-001"],
            "<int:notification_id>": [notification], "<int:token_id>": [1],
            "<int:subscription_id>": [1], "<job_id>": ["none"], "<name>": ["escalate_issue"],
            "<kind>": ["task"], "<ref>": instances[:1], "<path:filename>": ["style.css"]}


QUERIES = {
    "battle_map.agenda_page": ["?meeting=sub_command:sc_industry", "?meeting=sub_command:sc_culture",
                          "?meeting=headquarters"],
    "battle_map.dispatch_page": ["?period=week", "?period=tenday"],
    "battle_map.bulletin_page": ["?month=2026-11", "?month=2026-12"],
    "designer.diff": ["?old=1&new=2"],
    "designer.migrate": ["?from=1&to=2"],
    "notifications.index": ["", "?unread=1"],
    "tasks.mine": ["", "?process=hostile_proc"],
}


def _urls(app, ids: dict[str, list]) -> list[tuple[str, str]]:
    """(endpoint, url) of every GET route, once for each id of the world it takes."""
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in ("static", "set_language"):
            continue
        filled = [rule.rule]
        for arg in re.findall(r"<[^>]+>", rule.rule):
            filled = [u.replace(arg, str(v), 1) for u in filled for v in ids.get(arg, ["1"])]
        for url in filled:
            for query in QUERIES.get(rule.endpoint, [""]):
                urls.append((rule.endpoint, url + query))
    return urls


def _walk(world: Hostile, browsers: dict, api_headers: dict) -> None:
    urls = _urls(world.app, _ids(world))
    for role in ROLES:
        browser = browsers[role]
        for endpoint, url in urls:
            headers = api_headers[role] if url.startswith("/api/") else {}
            response = browser.get(url, headers=headers)
            text = response.get_data(as_text=True) if response.mimetype.startswith(
                ("text/", "application/json", "application/problem+json",
                 "application/xml")) else ""
            world.seen.append(Seen(role, url, response.status_code, response.mimetype,
                                   dict(response.headers), text))


def _render_posts(world: Hostile, browsers: dict) -> None:
    """Pages drawn in answer to a refused or simulated POST echo what was sent."""
    specialist, designer = browsers["specialist1"], browsers["designer"]
    hostile = payload("r1")
    with world.platform.uow() as uow:
        fill = uow.session.scalar(select(HumanTask.id).where(
            HumanTask.process_key == "hostile_proc", HumanTask.element_id == "fill",
            HumanTask.state.in_(("open", "claimed"))))
    answers = [
        specialist.post("/processes/hostile_proc/start", data={
            "csrf_token": _token(specialist), "business_key": hostile + "x" * 200,
            "note": hostile}),
        specialist.post(f"/tasks/{fill}/complete", data={
            "csrf_token": _token(specialist), "text": hostile, "choice": "nonsense"}),
        specialist.post(f"/tasks/{fill}/transfer", data={
            "csrf_token": _token(specialist), "to_user": hostile, "why": hostile}),
        designer.post("/designer/hostile_proc/v1/dry-run", data={
            "csrf_token": _token(designer), "data": json.dumps({"note": hostile}),
            "steps": f"specialist | {json.dumps({'text': hostile})}"}),
        designer.post("/designer/hostile_proc/v1/dry-run", data={
            "csrf_token": _token(designer), "data": hostile, "steps": hostile}),
        designer.post("/designer/deploy", data={"csrf_token": _token(designer), "file": (
            io.BytesIO(b"<definitions>" + hostile.encode() + b"</definitions>"), "x.bpmn")},
            content_type="multipart/form-data"),
    ]
    for response in answers:
        world.posted.append(Seen("post", response.request.path, response.status_code,
                                 response.mimetype, dict(response.headers),
                                 response.get_data(as_text=True)))
    world.sites["r1"] = "echoed form input"


@pytest.fixture(scope="module")
def hostile(_sqlite_template, tmp_path_factory) -> Hostile:
    """The demo with a payload in every site, walked by every role in ROLES."""
    path = tmp_path_factory.mktemp("xss") / "xss.db"
    shutil.copy(_sqlite_template, path)
    clock = FrozenClock(datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))
    platform = Platform(f"sqlite:///{path}", clock)
    load_demo(platform)
    app = create_app({"TESTING": True, "SECRET_KEY": "xss", "DATABASE_URL": f"sqlite:///{path}",
                      "CLOCK": clock})
    world = Hostile(app, platform)
    with platform.uow() as uow:
        tokens = {role: {"Authorization": "Bearer " + api_tokens.create_token(
            uow, Actor.of("admin", "admin"), f"xss-{role.replace('_', '-')}", [r], unit_code=u
        ).secret} for role, r, u in (
            ("specialist1", "specialist", "xzsp"), ("supervisor1", "supervisor", "wg_supervision"),
            ("admin", "admin", None), ("designer", "designer", "office"),
            ("county_head", "county_head", "hq"), ("head_magedang", "township_head", "t_magedang"))}
    client = app.test_client()
    _plant_definitions(world, client, tokens["designer"])
    browsers = {role: _browser(app, role) for role in ROLES}
    browsers["specialist2"] = _browser(app, "specialist2")
    _plant_work(world, browsers["specialist1"], browsers["supervisor1"], browsers["county_head"])
    _plant_api(world, client, tokens["admin"], tokens["supervisor1"])
    _plant_projects(world)
    _plant_organisation(world)  # last: the accounts above logged in with their old names
    _render_posts(world, browsers)
    _walk(world, browsers, tokens)
    yield world
    app.extensions["gongjian"].close()
    platform.close()


def _html(world: Hostile) -> list[Seen]:
    return [s for s in world.seen + world.posted if s.mimetype == "text/html"]


def test_the_walk_reads_many_pages_and_no_page_fails(hostile):
    failed = [f"{s.role} {s.url}: {s.status}" for s in hostile.seen + hostile.posted
              if s.status >= 500]
    assert failed == []
    assert len([s for s in _html(hostile) if s.status == 200]) >= 250
    assert len(hostile.sites) >= 40


def test_no_page_shows_a_payload_unescaped(hostile):
    raw = [f"{s.role} {s.url}: …{s.text[max(s.text.find(m) - 80, 0):s.text.find(m) + 60]}…"
           for s in _html(hostile) for m in RAW if m in s.text]
    assert raw == []


def test_every_planted_payload_is_shown_escaped_on_some_page(hostile):
    pages = "\n".join(s.text for s in _html(hostile))
    assert [f"{tag} ({what})" for tag, what in hostile.sites.items()
            if escaped(tag) not in pages] == []


def test_every_html_page_carries_the_content_security_policy(hostile):
    missing = []
    for s in _html(hostile):
        policy = s.headers.get("Content-Security-Policy", "")
        if "script-src 'self' 'nonce-" not in policy or "unsafe-inline' " in policy.replace(
                "style-src-attr 'unsafe-inline'", "") or "object-src 'none'" not in policy:
            missing.append(f"{s.role} {s.url}: {policy!r}")
        if s.headers.get("X-Content-Type-Options") != "nosniff":
            missing.append(f"{s.role} {s.url}: no nosniff")
    assert missing == []


def test_the_api_serves_payloads_as_json_data_never_as_html(hostile):
    api = [s for s in hostile.seen if s.url.startswith("/api/v1/")]
    assert len(api) >= 50
    wrong = [f"{s.role} {s.url}: {s.mimetype}" for s in api
             if s.mimetype not in ("application/json", "application/problem+json")
             or s.headers.get("X-Content-Type-Options") != "nosniff"]
    assert wrong == []
    texts = set()
    for s in api:
        _strings(json.loads(s.text) if s.text else None, texts)
    data = "\n".join(texts)
    assert [tag for tag in ("i1", "i7", "f1", "k1", "b6") if payload(tag) not in texts
            and payload(tag) not in data] == []
    assert [tag for tag in hostile.api_sites if f"xss-{tag}" not in data] == []


def _strings(value, into: set) -> None:
    """Every string in a JSON document."""
    if isinstance(value, str):
        into.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, into)
    elif isinstance(value, list):
        for item in value:
            _strings(item, into)


def test_diagram_xml_is_served_as_xml_that_cannot_run_scripts(hostile):
    xml = [s for s in hostile.seen if s.mimetype == "application/xml"]
    assert len(xml) >= 5
    for s in xml:
        assert s.headers.get("X-Content-Type-Options") == "nosniff", s.url
        assert "script-src 'self' 'nonce-" in s.headers.get("Content-Security-Policy", ""), s.url
    shown = "\n".join(s.text for s in xml)
    assert [tag for tag in XML_ONLY_TAGS if f"xss-{tag}" not in shown] == []


def test_the_planted_texts_are_kept_as_typed(hostile):
    with hostile.platform.uow() as uow:
        keys = set(uow.session.execute(select(ProcessInstance.business_key)).scalars())
    assert {payload("k1"), payload("k2"), payload("k3"), payload("k4")} <= keys
