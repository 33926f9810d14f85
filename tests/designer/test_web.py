"""The designer pages: only designers and administrators; versions, diff, deploy, rollback, migrate."""

from __future__ import annotations

import io
import re

import pytest

from engine.core import organisation
from engine.bpm import runtime
from engine.core.identity import Actor

from ..conftest import FIXTURES
from ..webapp.conftest import PASSWORD, AuthActions, csrf_token_of
from ..webapp.conftest import accounts, app, auth, client  # noqa: F401
from .conftest import deploy_as, read


@pytest.fixture
def designers(platform, clock, accounts):  # noqa: F811
    """A designer and an administrator next to the webapp's accounts."""
    with platform.uow() as uow:
        organisation.add_user(uow.session, "sheji1", "流程设计员", PASSWORD, unit="fgj",
                              roles=["designer"], now=clock.now())
        organisation.add_user(uow.session, "guanli1", "系统管理员", PASSWORD, unit="fgj",
                              roles=["admin"], now=clock.now())
        uow.session.commit()


@pytest.fixture
def designer(client, auth, designers):  # noqa: F811
    """The client logged in as the designer."""
    auth.login("sheji1")
    return client


def post_json(client, url: str, body: dict):
    token = csrf_token_of(client.get("/designer/").get_data(as_text=True))
    return client.post(url, json=body, headers={"X-CSRFToken": token})


def post_form(client, url: str, data: dict):
    token = csrf_token_of(client.get("/designer/").get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


@pytest.mark.parametrize("username, status", [("sheji1", 200), ("guanli1", 200),
                                              ("zhuanyuan1", 403), ("shenpi1", 403)])
def test_only_designers_and_administrators_may_enter(client, auth, designers, username, status):
    auth.login(username)
    assert client.get("/designer/").status_code == status
    assert client.get("/designer/approval/v1.xml").status_code == status
    response = post_json(client, "/designer/validate", {"filename": "a.bpmn", "xml": "<x/>"}) \
        if status == 200 else client.post("/designer/validate", json={})
    assert response.status_code in ((200,) if status == 200 else (400, 403))


def test_the_nav_shows_the_designer_link_to_designers_only(client, auth, designers):
    auth.login("zhuanyuan1")
    assert "流程设计" not in client.get("/tasks/").get_data(as_text=True)
    auth.logout()
    auth.login("sheji1")
    assert "/designer/" in client.get("/tasks/").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_login(client):
    assert client.get("/designer/").status_code == 302


def test_the_definitions_page_lists_versions_and_counts(designer, platform):
    with platform.uow() as uow:
        runtime.start_instance(uow, "approval", Actor.of("zhuanyuan1", "specialist"),
                               data={"project_name": "光伏"})
    html = designer.get("/designer/").get_data(as_text=True)
    assert "approval" in html and "lanes_gateway" in html
    page = designer.get("/designer/approval/").get_data(as_text=True)
    assert "v1" in page and "designer" in page and "最新" in page


def test_a_version_downloads_as_a_file(designer):
    response = designer.get("/designer/approval/v1.xml")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert b"<bpmn:process" in response.data or b"process" in response.data


def test_validate_returns_findings_with_element_and_line(designer):
    body = {"filename": "u.bpmn", "xml": read("lint/unreachable.bpmn").decode()}
    report = post_json(designer, "/designer/validate", body).get_json()
    assert not report["ok"]
    orphan = next(f for f in report["findings"] if f["element_id"] == "orphan")
    assert orphan["severity"] == "error" and orphan["line"]


def test_validate_shows_each_juel_translation_as_a_note(designer):
    camunda = FIXTURES / "camunda" / "juel_approval.bpmn"
    body = {"filename": camunda.name, "xml": camunda.read_text(encoding="utf-8")}
    report = post_json(designer, "/designer/validate", body).get_json()
    notes = {f["element_id"]: f for f in report["findings"] if f["severity"] == "info"}
    assert notes["Flow_county"]["message"] == "条件 #{amount > 1000} 是 JUEL 表达式，按 Python amount > 1000 执行。"
    assert notes["Flow_county"]["hint"] == "请确认这就是你的本意。"
    token = csrf_token_of(designer.get("/designer/").get_data(as_text=True))
    page = designer.post("/designer/deploy", data={
        "csrf_token": token, "file": (io.BytesIO(camunda.read_bytes()), camunda.name)},
        content_type="multipart/form-data")  # refused: its decision table is not deployed
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "提示" in text and "错误" in text
    assert "业务规则任务引用的决策" in text and "怎么改：先部署这个决策表。" in text


def test_a_designer_who_chose_english_reads_the_findings_in_english(designer):
    designer.get("/lang/en")
    body = {"filename": "u.bpmn", "xml": read("lint/unreachable.bpmn").decode()}
    report = post_json(designer, "/designer/validate", body).get_json()
    orphan = next(f for f in report["findings"] if f["element_id"] == "orphan")
    assert "can never be reached" in orphan["message"] and orphan["hint"] == ""
    designer.get("/lang/zh_CN")
    report = post_json(designer, "/designer/validate", body).get_json()
    orphan = next(f for f in report["findings"] if f["element_id"] == "orphan")
    assert "永远不会被执行" in orphan["message"] and orphan["hint"] == "把它连接起来，或删除它。"


def test_deploy_from_the_editor_creates_a_version_and_diff_shows_it(designer):
    body = {"filename": "migrate.bpmn", "xml": read("migrate_v1.bpmn").decode()}
    first = post_json(designer, "/designer/deploy", body).get_json()
    assert first["ok"] and first["version"] == 1
    body["xml"] = read("migrate_v2.bpmn").decode()
    second = post_json(designer, "/designer/deploy", body)
    assert second.status_code == 200 and second.get_json()["version"] == 2
    page = designer.get("/designer/migrate_me/diff?old=1&new=2").get_data(as_text=True)
    assert "check" in page and "targetRef" in page


def test_deploy_refuses_errors_and_changes_nothing(designer):
    body = {"filename": "x.bpmn", "xml": read("lint/no_outgoing.bpmn").decode()}
    response = post_json(designer, "/designer/deploy", body)
    assert response.status_code == 422 and not response.get_json()["ok"]
    assert designer.get("/designer/lint_noout/").status_code == 404


def test_an_uploaded_file_is_validated_and_deployed(designer):
    token = csrf_token_of(designer.get("/designer/").get_data(as_text=True))
    response = designer.post("/designer/deploy", data={
        "csrf_token": token, "file": (io.BytesIO(read("migrate_v1.bpmn")), "migrate.bpmn")},
        content_type="multipart/form-data")
    assert response.status_code == 302 and response.location.endswith("/designer/migrate_me/")


def test_rollback_from_the_page_makes_a_new_latest_version(designer, platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    deploy_as(platform, "migrate_v2.bpmn", "migrate.bpmn")
    response = post_form(designer, "/designer/migrate_me/rollback", {"version": "1"})
    assert response.status_code == 302
    page = designer.get("/designer/migrate_me/").get_data(as_text=True)
    assert "v3" in page and "已回滚" in page


def test_migration_preview_then_run(designer, platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        instance = runtime.start_instance(uow, "migrate_me", Actor.of("a", "specialist")).id
    deploy_as(platform, "migrate_v2.bpmn", "migrate.bpmn")
    preview = designer.get("/designer/migrate_me/migrate?from=1&to=2").get_data(as_text=True)
    assert f"#{instance}" in preview and "可迁移" in preview
    response = post_form(designer, "/designer/migrate_me/migrate",
                         {"from": "1", "to": "2", "instance": str(instance)})
    assert response.status_code == 302
    assert "已迁移 1 个实例" in designer.get("/designer/migrate_me/").get_data(as_text=True)


def test_the_heat_map_and_instance_pages_carry_their_data(designer, platform):
    with platform.uow() as uow:
        instance = runtime.start_instance(uow, "approval", Actor.of("zhuanyuan1", "specialist"),
                                          data={"project_name": "光伏"}).id
    heat = designer.get("/designer/approval/v1/").get_data(as_text=True)
    assert "&#34;prepare&#34;: 1" in heat or '"prepare": 1' in heat
    page = designer.get(f"/designer/instances/{instance}").get_data(as_text=True)
    assert "prepare" in page and "start" in page


def test_the_editor_page_loads_the_bundle(designer):
    html = designer.get("/designer/approval/edit").get_data(as_text=True)
    assert "designer/pages/editor.js" in html and "designer/lib/designer.css" in html
    response = designer.get("/static/designer/lib/modeler.js")
    assert response.status_code == 200
    response.close()


def test_a_dry_run_from_the_page_shows_each_step(designer, platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    response = post_form(designer, "/designer/migrate_me/v1/dry-run",
                         {"data": "{}", "steps": "specialist | {\"amount\": 3}\napprover"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "已办结" in page and "completed" not in page and "review" in page


def test_the_editor_rehearses_a_draft_and_moves_time_forward(designer):
    body = {"filename": "timers.bpmn", "xml": (FIXTURES / "engine" / "timers.bpmn").read_text(),
            "data": {}, "actions": [{"do": "move", "days": 1}, {"do": "move", "working_days": 1}]}
    report = post_json(designer, "/designer/rehearse", body).get_json()
    assert report["ok"] and [s["action"] for s in report["steps"]] == ["start", "move", "move"]
    start, day = report["steps"][:2]
    assert start["status"] == "运行中" and start["tasks"][0]["name"] == "审批"
    assert start["tasks"][0]["sla_label"] == "未到期"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d 周[一二三四五六日]", start["tasks"][0]["due"])
    assert [t["name"] for t in day["fired"]] == ["满1天催办"] and day["subject"] == "+1d"
    assert {t["name"] for t in day["tasks"]} == {"审批", "催办确认"}
    # Nothing of the run is left in the real database.
    assert designer.get("/designer/").status_code == 200


@pytest.mark.parametrize("actions, why", [
    ([{"do": "move", "days": 0}], "前进的时间"),
    ([{"do": "move", "days": 401}], "前进的时间"),
    ([{"do": "move", "days": "1"}], "前进的时间"),
    ([{"do": "fly"}], "步骤格式不对"),
    ([{"do": "complete", "element_id": "approve", "data": [1]}], "表单数据必须是 JSON 对象"),
    ([{"do": "move", "hours": 1}] * 61, "试运行最多 60 步"),
])
def test_a_rehearsal_step_out_of_bounds_is_refused_in_chinese(designer, actions, why):
    body = {"filename": "timers.bpmn", "xml": (FIXTURES / "engine" / "timers.bpmn").read_text(),
            "actions": actions}
    response = post_json(designer, "/designer/rehearse", body)
    assert response.status_code == 422 and why in response.get_json()["error"]


def test_a_draft_that_would_not_deploy_answers_with_its_chinese_findings(designer):
    xml = (FIXTURES / "engine" / "timers.bpmn").read_text().replace(
        '<bpmn:sequenceFlow id="f_done" sourceRef="approve" targetRef="end" />', "")
    response = post_json(designer, "/designer/rehearse", {"filename": "t.bpmn", "xml": xml})
    body = response.get_json()
    assert response.status_code == 422 and body["error"] == "草稿不能部署，先修正错误"
    assert any("永远不会被执行" in f["message"] for f in body["findings"])


def test_a_rehearsed_task_held_by_someone_names_them(designer):
    xml = (FIXTURES / "engine" / "timers.bpmn").read_text().replace(
        'camunda:candidateGroups="approver" camunda:dueDate', 'camunda:assignee="sheji1" camunda:dueDate')
    report = post_json(designer, "/designer/rehearse", {"filename": "t.bpmn", "xml": xml}).get_json()
    [task] = report["steps"][0]["tasks"]
    assert task["assignee"].startswith("流程设计员") and "sheji1" not in task["assignee"]
    unknown = xml.replace('camunda:assignee="sheji1"', 'camunda:assignee="nobody9"')
    report = post_json(designer, "/designer/rehearse", {"filename": "t.bpmn", "xml": unknown})
    assert report.get_json()["steps"][0]["tasks"][0]["assignee"] == "未登记的用户 nobody9"
    done = post_json(designer, "/designer/rehearse", {"filename": "t.bpmn", "xml": unknown,
                                                      "actions": [{"do": "complete", "element_id": "approve"}]})
    assert done.get_json()["steps"][-1]["status"] == "已结束"
