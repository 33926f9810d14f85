"""Web hardening: where login sends you next, logout ending the session on the server, and
download names that cannot add header parameters."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import update
from werkzeug.http import parse_options_header

from engine.core.models import Deployment

from .conftest import PASSWORD, AuthActions, csrf_token_of, login_as

INBOX = "/tasks/"

# ---------------------------------------------------------------- next after login

# Each is the value of `next` as the app reads it (the query string carries it encoded).
HOSTILE_NEXT = [
    "/\t/evil.example",                 # browsers drop the tab: //evil.example
    "/\n/evil.example", "/\r/evil.example", "/\r\n/evil.example",
    "/%09/evil.example",                # the same, encoded once more
    "\t//evil.example", " //evil.example",
    "//evil.example", "///evil.example", "////evil.example",
    "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "/%5Cevil.example",
    "https://evil.example", "http:evil.example", "javascript:alert(1)", "evil.example",
    "/%2F%2Fevil.example", "/%252F%252Fevil.example",
    "%0d%0aSet-Cookie: a=b", "/x%0d%0aSet-Cookie:%20a=b", "/x\r\nSet-Cookie: a=b",
    "/\x00/evil.example", "/\x7f/evil.example", "/\x0b/evil.example",
    "/／evil.example", "／／evil.example", "/＼evil.example", "/﹨evil.example",
    "/\u3000/evil.example", "/\u200b/evil.example", "/\u2028/evil.example",
    "/\u202e/evil.example", "/\xa0/evil.example",
    "",
]


def _login_with_next(app, target: str):
    browser = app.test_client()
    token = csrf_token_of(browser.get("/auth/login").get_data(as_text=True))
    return browser.post("/auth/login", query_string="next=" + quote(target, safe=""),
                        data={"username": "zhuanyuan1", "password": PASSWORD,
                              "csrf_token": token})


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_never_sends_the_browser_off_the_site(app, target):
    response = _login_with_next(app, target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == INBOX, f"next={target!r} went to {location!r}"


@pytest.mark.parametrize("target", ["/tasks/?page=2", "/designer/approval/",
                                    "/audit/projects/XM-2026-006?since=2026-11-01",
                                    "/tasks/%E9%A1%B9%E7%9B%AE"])
def test_login_returns_to_a_page_of_the_site(app, target):
    response = _login_with_next(app, target)
    assert response.status_code == 302
    parts = urlsplit(response.headers["Location"])
    assert not parts.scheme and not parts.netloc
    assert response.headers["Location"] == target


def test_the_page_a_visitor_wanted_survives_the_trip_through_login(app):
    browser = app.test_client()
    sent = browser.get("/tasks/?page=2")
    assert sent.status_code == 302 and "/auth/login?next=" in sent.headers["Location"]
    login_page = browser.get(sent.headers["Location"])
    token = csrf_token_of(login_page.get_data(as_text=True))
    back = browser.post(sent.headers["Location"], data={
        "username": "zhuanyuan1", "password": PASSWORD, "csrf_token": token})
    assert back.headers["Location"] == "/tasks/?page=2"


# ---------------------------------------------------------------- logout

def test_a_session_cookie_replayed_after_logout_is_refused(app):
    browser = login_as(app, "zhuanyuan1")
    cookie = browser.get_cookie("session").value
    assert AuthActions(browser).logout().status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/tasks/").status_code == 302


def test_logging_out_leaves_the_accounts_other_sessions_alone(app):
    here, elsewhere = login_as(app, "zhuanyuan1"), login_as(app, "zhuanyuan1")
    AuthActions(here).logout()
    assert here.get("/tasks/").status_code == 302
    assert elsewhere.get("/tasks/").status_code == 200


def test_a_cookie_from_before_a_password_change_is_refused_even_in_the_same_browser(app):
    browser = login_as(app, "zhuanyuan1")
    old = browser.get_cookie("session").value
    token = csrf_token_of(browser.get("/auth/password").get_data(as_text=True))
    changed = browser.post("/auth/password", data={
        "csrf_token": token, "current_password": PASSWORD,
        "new_password": "xinmima-Lingchuan-7", "confirm_password": "xinmima-Lingchuan-7"})
    assert changed.status_code == 302 and browser.get("/tasks/").status_code == 200
    replay = app.test_client()
    replay.set_cookie("session", old)
    assert replay.get("/tasks/").status_code == 302


def test_a_signed_cookie_naming_no_server_session_is_refused(app, clock):
    browser = app.test_client()
    with browser.session_transaction() as sess:
        sess.update(username="zhuanyuan1", generation=0, sid="made-up",
                    login_at=clock.now().isoformat(), seen_at=clock.now().isoformat())
    assert browser.get("/tasks/").status_code == 302


# ---------------------------------------------------------------- download names

HOSTILE_NAMES = [
    'a";filename*=UTF-8\'\'evil.html;x=".bpmn',
    "a\r\nSet-Cookie: x=y.bpmn",
    "a\nX-Evil: 1.bpmn",
    'a"; filename="evil.html.bpmn',
    "a\\\";b.bpmn",
    "审批\r\n流程.bpmn",
    "\x01\x1b\x7f.bpmn",  # (PostgreSQL stores no NUL)
    "../../etc/passwd.bpmn",
    "x" * 400 + ".bpmn",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("inline", [False, True])
def test_a_hostile_file_name_cannot_add_header_parameters(app, platform, name, inline):
    with platform.uow() as uow:
        uow.session.execute(update(Deployment).where(Deployment.key == "approval")
                            .values(filename=name))
        uow.session.commit()
    browser = login_as(app, "admin1")
    response = browser.get("/designer/approval/v1.xml" + ("?inline=1" if inline else ""))
    assert response.status_code == 200 and b"process" in response.data
    header = response.headers["Content-Disposition"]
    assert "\r" not in header and "\n" not in header
    kind, params = parse_options_header(header)
    assert kind == ("inline" if inline else "attachment")
    assert set(params) <= {"filename", "filename*"}
    filename = params["filename"]
    assert filename.endswith("-v1.bpmn") and '"' not in filename and ";" not in filename
    assert "/" not in filename and "\\" not in filename and len(filename) <= 150
    # one filename (and at most one RFC 5987 form of it), however the header is split
    assert header.lower().count("filename=") == 1
    assert header.lower().count("filename*=") == (0 if filename.isascii() and
                                                  "filename*" not in params else 1)


def test_a_chinese_file_name_is_sent_in_rfc_5987_form(app, platform):
    with platform.uow() as uow:
        uow.session.execute(update(Deployment).where(Deployment.key == "approval")
                            .values(filename="审批流程.bpmn"))
        uow.session.commit()
    response = login_as(app, "admin1").get("/designer/approval/v1.xml")
    _kind, params = parse_options_header(response.headers["Content-Disposition"])
    assert params["filename"] == "审批流程-v1.bpmn"  # werkzeug decodes filename* for us
    assert "filename*=UTF-8''%E5%AE%A1" in response.headers["Content-Disposition"]


@pytest.mark.parametrize("code", ['P";x=1', "P\r\nSet-Cookie: a=b", "项目\n一"])
def test_the_audit_export_of_a_project_with_a_hostile_code_sends_a_clean_name(
        app, platform, code):
    from engine.county import projects
    with platform.uow() as uow:
        projects.add_project(uow.session, code, "项目", sub_command="sc_culture", stage="prework",
                             township="t_magedang", lead_department="fgj", project_unit="fgj",
                             specialist=None)
        uow.commit()
    response = login_as(app, "ducha1").get(f"/audit/projects/{quote(code, safe='')}",
                                           query_string={"format": "xlsx"})
    assert response.status_code == 200
    header = response.headers["Content-Disposition"]
    kind, params = parse_options_header(header)
    assert kind == "attachment" and set(params) <= {"filename", "filename*"}
    assert header.lower().count("filename=") == 1 and "\n" not in header
    assert '"' not in params["filename"] and ";" not in params["filename"]
