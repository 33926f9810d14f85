"""No 500 to a user (issue 17): a failing step or an unforeseen fault becomes an incident
that administrators and designers see and resolve; the user gets a Chinese page with the
number and nothing changed; Werkzeug's English error pages are never shown."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from engine.bpm import definitions
from engine.core.models import AuditEvent, ProcessInstance

from .county import copy_database, demo_app, log_in

FAILING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="fails_at_start" name="份额计算" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="amount" label="份数" type="long" />
      </camunda:formData></bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="divide" />
    <bpmn:scriptTask id="divide" name="计算份额" scriptFormat="python">
      <bpmn:script>share = 100 / amount</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="divide" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def _post(client, url: str, data: dict, page: str):
    return client.post(url, data={**data, "csrf_token": _token(client.get(page).get_data(
        as_text=True))})


def _count(app, model, *where) -> int:
    with app.extensions["gongjian"].uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_failing_step_is_an_incident_the_designer_sees_and_resolves(demo_url, tmp_path):
    app = demo_app(copy_database(demo_url, tmp_path))
    platform = app.extensions["gongjian"]
    with platform.uow() as uow:
        definitions.deploy_files(uow, [("fails.bpmn", FAILING)], "designer")
    before = _count(app, ProcessInstance)
    user = log_in(app, "supervisor1")
    response = _post(user, "/processes/fails_at_start/start", {"amount": "0"},
                     "/processes/fails_at_start/start")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "没有做任何更改" in page
    number = int(re.search(r"事件编号 (\d+)", page)[1])
    assert _count(app, ProcessInstance) == before

    designer = log_in(app, "designer")
    listing = designer.get("/admin/incidents/").get_data(as_text=True)
    row = listing.split(f'id="incident-{number}"', 1)[1].split("</tr>", 1)[0]
    assert "份额计算" in row and "计算份额" in row and "督办人员一" in row
    assert "supervisor1" not in row and "division by zero" in row
    # a note is required; nothing changes without one
    refused = _post(designer, f"/admin/incidents/{number}/resolve", {"note": " "},
                    "/admin/incidents/")
    assert refused.status_code == 400 and "请填写处理说明" in refused.get_data(as_text=True)
    assert _count(app, AuditEvent, AuditEvent.action == "incident_resolved") == 0
    done = _post(designer, f"/admin/incidents/{number}/resolve",
                 {"note": "脚本已改为先判断份数，重新部署"}, "/admin/incidents/")
    assert done.status_code == 302
    assert f'id="incident-{number}"' not in designer.get("/admin/incidents/").get_data(
        as_text=True)
    again = _post(designer, f"/admin/incidents/{number}/resolve", {"note": "再次"},
                  "/admin/incidents/")
    assert again.status_code == 404
    assert log_in(app, "supervisor1").get("/admin/incidents/").status_code == 403
    platform.close()


def test_an_unforeseen_fault_is_a_chinese_page_with_an_incident_number(demo_url, tmp_path):
    app = demo_app(copy_database(demo_url, tmp_path))

    def broken():
        raise AttributeError("'NoneType' object has no attribute 'children'")

    app.add_url_rule("/broken", "broken", broken)
    user = log_in(app, "supervisor1")
    response = user.get("/broken")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "系统出错" in page and "没有做任何更改" in page
    assert "Internal Server Error" not in page and "AttributeError" not in page
    number = int(re.search(r"事件编号 (\d+)", page)[1])
    listing = log_in(app, "admin").get("/admin/incidents/").get_data(as_text=True)
    row = listing.split(f'id="incident-{number}"', 1)[1].split("</tr>", 1)[0]
    assert "系统处理请求时出错" in row and "NoneType" in row
    app.extensions["gongjian"].close()


def test_werkzeug_errors_are_chinese_pages(demo):
    user = log_in(demo, "supervisor1")
    anonymous = demo.test_client()
    cases = [
        (user.get("/no/such/page"), 404, "没有找到"),
        (user.get("/auth/logout"), 405, "不能这样访问"),
        (user.post("/auth/logout"), 400, "页面已过期"),  # no CSRF token
        (user.get("/audit/projects/XM-2026-001?since=yesterday"), 400, "请求有误"),
        (anonymous.get("/no/such/page"), 404, "没有找到"),
    ]
    for response, status, title in cases:
        page = response.get_data(as_text=True)
        assert response.status_code == status, (status, page[:200])
        assert title in page and 'lang="zh-CN"' in page
        assert "<title>" + str(status) not in page and "Werkzeug" not in page
    assert "POST" in cases[1][0].headers.get("Allow", "")


def test_the_favicon_is_served(demo):
    response = demo.test_client().get("/favicon.ico")
    assert response.status_code == 200 and response.data[:4] == b"\x00\x00\x01\x00"
    assert 'rel="icon"' in log_in(demo, "county_head").get("/tasks/").get_data(as_text=True)


def test_a_failing_step_through_the_api_is_an_incident_too(demo_url, tmp_path):
    from engine.core.organisation import actor_for
    from engine.ops import tokens

    app = demo_app(copy_database(demo_url, tmp_path))
    platform = app.extensions["gongjian"]
    with platform.uow() as uow:
        definitions.deploy_files(uow, [("fails.bpmn", FAILING)], "designer")
    with platform.uow() as uow:
        issued = tokens.create_token(uow, actor_for(uow.session, "admin"), "fails",
                                     ["supervisor"], unit_code="wg_supervision")
    before = _count(app, ProcessInstance)
    response = app.test_client().post(
        "/api/v1/instances", headers={"Authorization": f"Bearer {issued.secret}"},
        json={"process_key": "fails_at_start", "data": {"amount": 0}})
    body = response.get_json()
    assert response.status_code == 422 and isinstance(body["incident"], int), body
    assert _count(app, ProcessInstance) == before
    listing = log_in(app, "designer").get("/admin/incidents/").get_data(as_text=True)
    assert f'id="incident-{body["incident"]}"' in listing
    platform.close()
