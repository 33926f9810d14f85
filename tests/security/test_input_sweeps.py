"""Hostile input through the JSON API and the page forms: wrong JSON types, deep nesting, bodies
too large or of another type, bytes that are not UTF-8, lone surrogates, control characters.

Each is refused with a clear 4xx (a problem document naming the field under /api, a page in
Chinese for forms), never a 500, and nothing is changed. Valid text at the edges of Unicode
(emoji, CJK extension B, right-to-left override, zero-width joiner, combining marks) is kept
and shown back intact. A caller without the role is refused before its body is read.
"""

from __future__ import annotations

import base64
import io
import json

import pytest
from sqlalchemy import func, select

from engine.core.models import AuditEvent, Deployment, HumanTask, ProcessInstance
from engine.core.notifications import Notification
from engine.county.supervision import Reminder

from .conftest import ISSUE, csrf_token_of, login_as, start_approval

PROBLEM = "application/problem+json"
REFUSED = {400, 413, 415, 422}


def deep(levels: int) -> dict:
    """An object nested `levels` deep."""
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


def snapshot(platform) -> tuple:
    """Every row count and task state a write could change."""
    with platform.uow() as uow:
        s = uow.session
        counts = tuple(s.scalar(select(func.count()).select_from(model)) for model in (
            AuditEvent, ProcessInstance, HumanTask, Notification, Reminder, Deployment))
        tasks = tuple(s.execute(select(HumanTask.id, HumanTask.state, HumanTask.assignee)
                                .order_by(HumanTask.id)).all())
        versions = tuple(s.execute(select(ProcessInstance.id, ProcessInstance.row_version)
                                   .order_by(ProcessInstance.id)).all())
    return counts, tasks, versions


# ---------------------------------------------------------------- the JSON API

TEXT_FIELDS = ("reason", "opinion", "why", "message", "title", "name", "url", "to_user",
               "business_key")


def _everywhere(value) -> dict:
    return {name: value for name in TEXT_FIELDS}


def _raw(text: str) -> dict:
    return {"data": text.encode("utf-8"), "content_type": "application/json"}


# name → (request keywords, the statuses that are right, the field the problem must name)
BODIES = {
    "a list": ({"json": [1, 2]}, {422}, None),
    "null": (_raw("null"), {422}, None),
    "a number": ({"json": 5}, {422}, None),
    "a string": ({"json": "text"}, {422}, None),
    "numbers for strings": ({"json": _everywhere(12345)}, {422}, None),
    "lists for strings": ({"json": _everywhere(["x"])}, {422}, None),
    "nested 50 deep": ({"json": {"data": deep(50), "payload": deep(50)}}, {422}, None),
    "nested 100000 deep": (_raw("[" * 100_000 + "]" * 100_000), {422}, None),
    "strings beyond their limits": ({"json": _everywhere("长" * 20_001)}, {422}, None),
    "beyond the request size limit": ({"json": {"reason": "x" * (13 * 1024 * 1024)}},
                                      {413}, None),
    "text/plain": ({"data": '{"reason": "x"}', "content_type": "text/plain"}, {415}, None),
    "form-encoded": ({"data": {"reason": "x"}}, {415}, None),
    "invalid UTF-8": ({"data": b'{"reason": "\xff\xfe"}', "content_type": "application/json"},
                      {400}, "json"),
    "truncated JSON": (_raw('{"reason": "x"'), {400}, "json"),
    "a lone surrogate": (_raw('{"reason": "a\\ud800b", "opinion": "a\\ud800b", "why": '
                              '"a\\ud800b", "message": "a\\ud800b", "title": "a\\ud800b"}'),
                         {422}, None),
    "a lone surrogate in a key": (_raw('{"data": {"\\udc00": 1}, "payload": {"\\udc00": 1}}'),
                                  {422}, None),
    "NUL characters": ({"json": {"reason": "a\x00b", "opinion": "a\x00b", "why": "a\x00b",
                                 "message": "a\x00b", "title": "a\x00b"}}, {422}, None),
    "a vertical tab": ({"json": {"reason": "a\x0bb", "opinion": "a\x0bb", "why": "a\x0bb",
                                 "message": "a\x0bb", "title": "a\x0bb"}}, {422}, None),
}


def _api_endpoints(platform, client, supervisor) -> list[tuple[str, str, str]]:
    """(method, url, caller) of every JSON write endpoint, on objects the caller may act on."""
    instance = start_approval(platform)
    with platform.uow() as uow:
        task_id = uow.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == instance.id))
    issue = client.post("/api/v1/issues", headers=supervisor, json=ISSUE)
    assert issue.status_code == 201, issue.get_json()
    issue_id = issue.get_json()["id"]
    tasks = [("POST", f"/api/v1/tasks/{task_id}/{name}", "specialist") for name in (
        "complete", "transfer", "delegate", "cc", "add-signer-before", "add-signer-after",
        "return")]
    return tasks + [
        ("POST", "/api/v1/instances", "specialist"),
        ("POST", f"/api/v1/instances/{instance.id}/cancel", "admin"),
        ("POST", "/api/v1/messages/escalate_issue", "supervisor"),
        ("POST", "/api/v1/issues", "supervisor"),
        ("POST", f"/api/v1/issues/{issue_id}/remind", "supervisor"),
        ("POST", f"/api/v1/issues/{issue_id}/escalate", "supervisor"),
        ("POST", f"/api/v1/issues/{issue_id}/listing", "supervisor"),
        ("DELETE", f"/api/v1/issues/{issue_id}/listing", "supervisor"),
        ("POST", "/api/v1/admin/tokens", "admin"),
        ("POST", "/api/v1/admin/webhooks", "admin"),
    ]


def test_every_json_write_endpoint_refuses_every_hostile_body_and_changes_nothing(
        app, platform, client, specialist, supervisor, admin):
    callers = {"specialist": specialist, "supervisor": supervisor, "admin": admin}
    endpoints = _api_endpoints(platform, client, supervisor)
    before = snapshot(platform)
    wrong = []
    for method, url, caller in endpoints:
        for name, (kwargs, statuses, field) in BODIES.items():
            response = client.open(url, method=method, headers=callers[caller], **kwargs)
            body = response.get_json(silent=True) or {}
            if (response.status_code not in statuses or response.mimetype != PROBLEM
                    or body.get("status") != response.status_code
                    or (field and field not in body.get("errors", {}))):
                wrong.append(f"{method} {url} with {name}: {response.status_code} "
                             f"{response.mimetype} {str(body)[:200]}")
    assert wrong == []
    assert snapshot(platform) == before
    assert len(endpoints) * len(BODIES) >= 300


@pytest.mark.parametrize("body, field", [
    ({"process_key": "approval", "data": {"project_name": "a\x00b"}}, "data.project_name"),
    ({"process_key": "approval", "business_key": "a\x01", "data": {"project_name": "x"}},
     "business_key"),
    ({"process_key": "approval", "data": {"project_name": "x" * 10_001}}, "project_name"),
    ({"process_key": "approval", "business_key": "k" * 201, "data": {"project_name": "x"}},
     "business_key"),
    ({"process_key": "approval", "data": {"project_name": "x", "deep": deep(50)}},
     "data.deep.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a"),
])
def test_a_refused_start_names_the_field_and_starts_nothing(platform, client, specialist,
                                                           body, field):
    before = snapshot(platform)
    response = client.post("/api/v1/instances", headers=specialist, json=body)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == PROBLEM
    assert field in response.get_json()["errors"]
    assert snapshot(platform) == before


def test_a_lone_surrogate_in_the_start_data_is_a_problem_naming_the_field(platform, client,
                                                                          specialist):
    before = snapshot(platform)
    response = client.post("/api/v1/instances", headers=specialist, **_raw(
        '{"process_key": "approval", "data": {"project_name": "\\ud800"}}'))
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["data.project_name"]
    assert snapshot(platform) == before


def test_ids_and_cursors_beyond_the_database_integer_are_refused_not_a_500(client, supervisor,
                                                                          specialist):
    huge = client.post("/api/v1/messages/escalate_issue", headers=supervisor,
                       json={"instance_id": 10**30})
    assert huge.status_code == 422 and "instance_id" in huge.get_json()["errors"]
    for key in ([10**30], [-1], [True], ["7"], [1.5]):
        cursor = base64.urlsafe_b64encode(json.dumps(key).encode()).decode()
        response = client.get(f"/api/v1/instances?cursor={cursor}", headers=specialist)
        assert response.status_code == 422, key


def test_deploy_refuses_what_is_not_a_definition_file(platform, client, make_token):
    designer = make_token(("designer",), "fgj", name="designer-sweep")
    before = snapshot(platform)
    cases = {
        "a JSON body": {"json": {"files": ["<xml/>"]}},
        "no file": {"data": {}, "content_type": "multipart/form-data"},
        "not XML": {"data": {"files": (io.BytesIO(b"\x00\xff not xml"), "x.bpmn")}},
        "too large": {"data": {"files": (io.BytesIO(b"<a/>" + b" " * (5 * 1024 * 1024)),
                                         "big.bpmn")}},
        "a text part": {"data": {"files": "just text"}},
    }
    for name, kwargs in cases.items():
        response = client.post("/api/v1/definitions", headers=designer, **kwargs)
        assert response.status_code in REFUSED, (name, response.get_json())
        assert response.mimetype == PROBLEM, name
    assert snapshot(platform) == before


# ---------------------------------------------------------------- the role comes first

def test_a_caller_without_the_role_is_refused_whatever_the_body(platform, client, specialist,
                                                                approver, township, admin,
                                                                supervisor):
    instance = start_approval(platform)
    with platform.uow() as uow:
        task_id = uow.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == instance.id))
    issue_id = client.post("/api/v1/issues", headers=supervisor, json=ISSUE).get_json()["id"]
    forbidden = [  # (url, caller, the status it gets with a good body too)
        ("/api/v1/admin/tokens", specialist, 403),
        ("/api/v1/admin/webhooks", supervisor, 403),
        ("/api/v1/definitions", specialist, 403),
        ("/api/v1/messages/escalate_issue", specialist, 403),
        ("/api/v1/signals/funds_arrived", supervisor, 403),  # integration and admins only
        ("/api/v1/issues", approver, 403),  # registering is for the issue's starters
        (f"/api/v1/issues/{issue_id}/remind", township, 403),
        (f"/api/v1/issues/{issue_id}/escalate", specialist, 403),
        (f"/api/v1/issues/{issue_id}/listing", township, 403),
        (f"/api/v1/instances/{instance.id}/cancel", specialist, 403),
        (f"/api/v1/tasks/{task_id}/transfer", approver, 404),  # may not even see it
        (f"/api/v1/tasks/{task_id}/complete", approver, 404),
        (f"/api/v1/tasks/{task_id}/return", admin, 404),
    ]
    bad_bodies = [{"json": {}}, {"json": [1]}, {"json": {"reason": 5, "x": deep(50)}},
                  {"data": "not json", "content_type": "text/plain"},
                  {"data": b"{\xff", "content_type": "application/json"},
                  _raw('{"reason": "\\ud800"}')]
    before = snapshot(platform)
    wrong = []
    for url, caller, status in forbidden:
        for kwargs in bad_bodies:
            response = client.post(url, headers=caller, **kwargs)
            if response.status_code != status:
                wrong.append(f"{url}: {response.status_code} for {kwargs}")
    assert wrong == []
    assert snapshot(platform) == before
    # The same bad body from a caller with the role is a validation problem.
    allowed = client.post(f"/api/v1/issues/{issue_id}/escalate", headers=supervisor, json=[1])
    assert allowed.status_code == 422


# ---------------------------------------------------------------- page forms

# (A browser cannot send a lone surrogate: it sends U+FFFD, refused here as undecodable.)
FORM_VALUES = {
    "NUL": "a\x00b", "a control character": "a\x1bb", "beyond 10000 characters": "长" * 10_001,
    "undecodable bytes (U+FFFD)": "a\ufffdb",
}


def _page_posts(platform, app) -> list[tuple[str, str, dict, str]]:
    """(who, url, a valid form, the field to spoil) for each page form that keeps text."""
    instance = start_approval(platform)
    with platform.uow() as uow:
        task_id = uow.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == instance.id))
    return [
        ("zhuanyuan1", "/processes/approval/start", {"business_key": "K-1",
                                                    "project_name": "项目"}, "project_name"),
        ("zhuanyuan1", "/processes/approval/start", {"business_key": "K-1",
                                                    "project_name": "项目"}, "business_key"),
        ("zhuanyuan1", f"/tasks/{task_id}/complete", {"title": "标题", "amount": "1"}, "title"),
        ("zhuanyuan1", f"/tasks/{task_id}/transfer", {"to_user": "zhuanyuan2", "why": "出差"},
         "why"),
        ("zhuanyuan1", f"/tasks/{task_id}/cc", {"to_user": "zhuanyuan2", "why": "知悉"}, "why"),
        ("zhuanyuan1", f"/tasks/{task_id}/return", {"to_element_id": "prepare",
                                                    "opinion": "补充"}, "opinion"),
        ("ducha1", f"/tasks/{task_id}/remind", {"message": "请尽快办理"}, "message"),
    ]


def test_every_text_form_refuses_values_it_cannot_keep_in_chinese_and_changes_nothing(
        app, platform):
    posts = _page_posts(platform, app)
    browsers = {who: login_as(app, who) for who in {p[0] for p in posts}}
    before = snapshot(platform)
    wrong = []
    for who, url, form, field in posts:
        browser = browsers[who]
        token = csrf_token_of(browser.get("/auth/password").get_data(as_text=True))
        for name, value in FORM_VALUES.items():
            response = browser.post(url, data={**form, field: value, "csrf_token": token})
            text = response.get_data(as_text=True)
            if response.status_code != 400 or "没有保存任何更改" not in text:
                wrong.append(f"{url} {field} with {name}: {response.status_code}")
    assert wrong == []
    assert snapshot(platform) == before


def test_a_form_of_bytes_that_are_not_utf8_changes_nothing(app, platform):
    browser = login_as(app, "zhuanyuan1")
    token = csrf_token_of(browser.get("/processes/approval/start").get_data(as_text=True))
    before = snapshot(platform)
    raw = browser.post("/processes/approval/start",
                       content_type="application/x-www-form-urlencoded",
                       data=f"csrf_token={token}&business_key=K&project_name=".encode()
                       + b"\xff\xfe")
    parts = [("csrf_token", token.encode()), ("business_key", b"K"),
             ("project_name", b"\xff\xfe")]
    multipart = browser.post(
        "/processes/approval/start", content_type="multipart/form-data; boundary=XX",
        data=b"".join(b'--XX\r\nContent-Disposition: form-data; name="' + name.encode()
                      + b'"\r\n\r\n' + value + b"\r\n" for name, value in parts) + b"--XX--\r\n")
    assert raw.status_code == 400 and multipart.status_code == 400
    assert "没有保存任何更改" in multipart.get_data(as_text=True)
    assert snapshot(platform) == before


def test_an_over_long_business_key_is_refused_at_its_field(app, platform):
    browser = login_as(app, "zhuanyuan1")
    token = csrf_token_of(browser.get("/processes/approval/start").get_data(as_text=True))
    before = snapshot(platform)
    response = browser.post("/processes/approval/start", data={
        "csrf_token": token, "business_key": "编" * 201, "project_name": "项目"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="field-business_key"' in page and "最多 200 个字" in page
    assert snapshot(platform) == before


def test_the_designer_json_endpoints_refuse_bodies_that_are_not_an_object(app, platform):
    browser = login_as(app, "sheji1")
    token = csrf_token_of(browser.get("/auth/password").get_data(as_text=True))
    before = snapshot(platform)
    for body in ([1, 2], "x", {"xml": 5, "filename": "a.bpmn"}, {"xml": "<a/>", "filename": 5},
                 {"xml": "<a/>\x00", "filename": "a.bpmn"}):
        for url in ("/designer/validate", "/designer/deploy"):
            response = browser.post(url, json=body, headers={"X-CSRFToken": token})
            assert response.status_code == 400, (url, body)
    nested = browser.post("/designer/validate", data="[" * 100_000 + "]" * 100_000,
                          content_type="application/json", headers={"X-CSRFToken": token})
    assert nested.status_code == 400
    assert snapshot(platform) == before


# ---------------------------------------------------------------- valid text at Unicode's edges

EDGES = "😀👩‍👩‍👧 𠀀𪚥 \u202eتبث\u202c e\u0301\u0328 ZWJ\u200dX 中文"


def test_unicode_at_the_edges_is_kept_and_shown_back_intact(app, platform, client, specialist,
                                                           supervisor):
    started = client.post("/api/v1/instances", headers=specialist, json={
        "process_key": "approval", "business_key": "键-😀𠀀",
        "data": {"project_name": EDGES}})
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    again = client.get(f"/api/v1/instances/{instance_id}", headers=specialist).get_json()
    assert again["data"]["project_name"] == EDGES and again["business_key"] == "键-😀𠀀"
    issue = client.post("/api/v1/issues", headers=supervisor, json={**ISSUE, "title": EDGES})
    assert issue.status_code == 201
    assert client.get(f"/api/v1/issues/{issue.get_json()['id']}",
                      headers=supervisor).get_json()["title"] == EDGES
    # through the page form, and on the pages
    browser = login_as(app, "zhuanyuan1")
    token = csrf_token_of(browser.get("/processes/approval/start").get_data(as_text=True))
    response = browser.post("/processes/approval/start", data={
        "csrf_token": token, "business_key": "页-𠀀", "project_name": EDGES})
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "页-𠀀" in page
    with platform.uow() as uow:
        row = uow.session.execute(select(ProcessInstance).where(
            ProcessInstance.business_key == "页-𠀀")).scalar_one()
        task_id = uow.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == row.id))
    task_page = browser.get(f"/tasks/{task_id}")
    assert task_page.status_code == 200
    note = f"请阅 {EDGES}"
    token = csrf_token_of(task_page.get_data(as_text=True))
    copied = browser.post(f"/tasks/{task_id}/cc", data={"csrf_token": token,
                                                        "to_user": "zhuanyuan2", "why": note})
    assert copied.status_code == 302
    reader = login_as(app, "zhuanyuan2")
    assert note in reader.get("/notifications/").get_data(as_text=True)


def test_a_value_the_database_refuses_is_the_client_s_to_fix_not_try_again_later(app, client,
                                                                                specialist):
    from sqlalchemy.exc import DataError

    def refuse():
        raise DataError("INSERT …", {}, Exception("value too long for type character varying"))

    app.add_url_rule("/refused-value", "refused_value", refuse)
    app.add_url_rule("/api/v1/refused-value", "api_refused_value", refuse)
    browser = login_as(app, "zhuanyuan1")
    page = browser.get("/refused-value")
    assert page.status_code == 400 and "Retry-After" not in page.headers
    assert "没有做任何更改" in page.get_data(as_text=True)
    problem = client.get("/api/v1/refused-value", headers=specialist)
    assert problem.status_code == 422 and problem.mimetype == PROBLEM
