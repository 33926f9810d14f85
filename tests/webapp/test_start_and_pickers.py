"""发起流程 offers only what a role can start; fields that name units, people and projects
are lists of names, checked again on the server; a script failing at the start answers a
Chinese page (422), never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.bpm import definitions
from engine.core.models import AuditEvent, ProcessInstance

from ..engine.county_seed import deploy_repository, seed_county
from .test_tasks import open_task, start

PASSWORD = "mima-2026-x"  # the seeded county's accounts


@pytest.fixture
def county(app, platform):
    """The app with the repository's processes on the small county of the engine tests."""
    deploy_repository(platform)
    seed_county(platform)
    return app


def _instances(platform) -> int:
    with platform.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessInstance))


def test_a_township_is_offered_issue_registration_only(county, client, auth):
    auth.login("head_magedang", PASSWORD)
    page = client.get("/processes/").get_data(as_text=True)
    assert "问题“四制”闭环" in page
    for name in ("项目月度进度填报", "三色牌", "季度评奖", "一个审批事项", "批示件督办", "一口进出"):
        assert name not in page, name
    assert "issue_lifecycle ·" not in page and "第 1 版" in page  # names, not keys
    refused = client.get("/processes/progress_report/start")
    assert refused.status_code == 403
    assert "不能手动发起" in refused.get_data(as_text=True)


def test_a_supervisor_is_offered_issues_and_instructions(county, client, auth):
    auth.login("supervisor1", PASSWORD)
    page = client.get("/processes/").get_data(as_text=True)
    assert "问题“四制”闭环" in page and "“13710”批示件督办" in page
    assert "项目月度进度填报" not in page


def test_the_issue_form_offers_names_and_only_the_townships_projects(county, client, auth):
    auth.login("head_magedang", PASSWORD)
    page = client.get("/processes/issue_lifecycle/start").get_data(as_text=True)
    assert '<option value="P-1" >马家庄光伏电站（P-1）</option>' in page
    assert "P-2" not in page  # another township's project
    assert '<option value="t_magedang" >马家庄乡</option>' in page
    assert '<option value="sc_culture" >文旅康养分指挥部</option>' in page
    assert "（代码）" not in page
    assert 'data-picker-for="responsible_unit"' in page  # the search box over the list


ISSUE = {"title": "进场道路征地补偿未落实", "project_code": "P-1", "scope": "unit",
         "severity": "normal", "responsible_unit": "t_magedang", "sub_command": "sc_culture"}
START = "/processes/issue_lifecycle/start"


def test_an_unknown_unit_or_project_is_refused_at_its_field_in_chinese(county, platform, client,
                                                                       auth):
    auth.login("head_magedang", PASSWORD)
    refused = auth.post(START, {**ISSUE, "responsible_unit": "no_such", "project_code": "P-2"},
                        page=START)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    unit = html[html.index('id="field-responsible_unit"'):]
    assert "没有这个单位，请从列表中选择" in unit[:unit.index("</div>")]
    project = html[html.index('id="field-project_code"'):]
    assert "没有这个项目，或不在您可以查看的项目中" in project[:project.index("</div>")]
    assert _instances(platform) == 0


def test_a_township_registers_an_issue_from_the_page(county, platform, client, auth):
    auth.login("head_magedang", PASSWORD)
    response = auth.post(START, ISSUE, page=START)
    assert response.status_code == 302, response.get_data(as_text=True)
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "问题“四制”闭环" in detail
    assert _instances(platform) == 1


FAILING = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D_fails" targetNamespace="t">
  <bpmn:process id="fails_at_start" name="\xe4\xbc\x9a\xe5\x87\xba\xe9\x94\x99\xe7\x9a\x84\xe6\xb5\x81\xe7\xa8\x8b" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="amount" label="amount" type="long" />
      </camunda:formData></bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="divide" />
    <bpmn:scriptTask id="divide" name="\xe8\xae\xa1\xe7\xae\x97\xe4\xbb\xbd\xe9\xa2\x9d" scriptFormat="python">
      <bpmn:script>share = 100 / amount</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="divide" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_a_script_failing_at_the_start_answers_a_chinese_page_and_changes_nothing(
        county, platform, client, auth):
    with platform.uow() as uow:
        definitions.deploy_files(uow, [("fails.bpmn", FAILING)], "designer")
    auth.login("supervisor1", PASSWORD)
    response = auth.post("/processes/fails_at_start/start", {"amount": "0"},
                         page="/processes/fails_at_start/start")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "“计算份额”执行出错" in html and "没有做任何更改" in html
    assert 'value="0"' in html  # the form again, with what was filled in
    assert "Traceback" not in html and "ZeroDivision" not in html
    assert _instances(platform) == 0
    with platform.uow() as uow:
        seq, who, detail = uow.session.execute(select(
            AuditEvent.seq, AuditEvent.actor, AuditEvent.detail).where(
            AuditEvent.action == "workflow_failed")).one()
    assert f"事件编号 {seq}" in html
    assert who == "supervisor1" and '"element":"divide"' in detail


def test_hand_over_targets_are_people_by_name(app, platform, client, auth):
    instance = start(platform)
    task = open_task(platform, instance.id)
    auth.login()
    auth.post(f"/tasks/{task.id}/claim")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert '<option value="zhuanyuan2" >项目专员二（县发改局）</option>' in page
    assert "（zhuanyuan2）" not in page
    assert '<option value="zhuanyuan1"' not in page  # not oneself
    done = auth.post(f"/tasks/{task.id}/transfer", {"to_user": "zhuanyuan2"},
                     page=f"/tasks/{task.id}")
    assert done.status_code == 302
    assert "项目专员二（县发改局）" in client.get("/tasks/").get_data(as_text=True)
