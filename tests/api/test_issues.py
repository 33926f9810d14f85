"""Issues and projects through the API: register, list, get, remind, escalate, supervision."""

from __future__ import annotations

import pytest

from engine.county import projects

from .conftest import ISSUE
from .test_auth import assert_problem


@pytest.fixture
def registered(client, supervisor):
    """An issue registered by the supervision system."""
    response = client.post("/api/v1/issues", headers=supervisor, json=ISSUE)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_registering_an_issue_assigns_it_to_the_responsible_unit(registered, client, township):
    assert registered["title"] == ISSUE["title"] and registered["status"] == "running"
    assert [t["name"] for t in registered["open_tasks"]] == [f"整改承诺：{ISSUE['title']}"]
    tasks = client.get("/api/v1/tasks", headers=township).get_json()["items"]
    assert [t["instance_id"] for t in tasks] == [registered["id"]]


def test_the_issue_process_names_who_registers_and_fields_are_checked(client, approver,
                                                                       supervisor):
    # Registering is for the issue process's candidate starters: an approver is not one.
    assert_problem(client.post("/api/v1/issues", headers=approver, json=ISSUE), 403)
    body = assert_problem(client.post("/api/v1/issues", headers=supervisor,
                                      json={**ISSUE, "scope": "galaxy", "title": ""}), 422)
    assert {"scope", "title"} <= set(body["errors"])


def test_a_township_and_a_specialist_register_issues_for_projects_they_see(client, township,
                                                                           specialist,
                                                                           make_token):
    # The township hosts the project; the specialist's bureau (fgj) leads it.
    by_township = client.post("/api/v1/issues", headers=township, json=ISSUE)
    assert by_township.status_code == 201, by_township.get_data(as_text=True)
    assert by_township.headers["Location"].endswith(f"/issues/{by_township.get_json()['id']}")
    # The specialist's issue goes to the township: it gets it back once and follows the
    # instance it started.
    by_specialist = client.post("/api/v1/issues", headers=specialist, json=ISSUE)
    assert by_specialist.status_code == 201, by_specialist.get_data(as_text=True)
    issue_id = by_specialist.get_json()["id"]
    assert by_specialist.get_json()["responsible_unit"] == "t_magedang"
    assert by_specialist.headers["Location"] == f"/api/v1/instances/{issue_id}"
    assert client.get(f"/api/v1/instances/{issue_id}", headers=specialist).status_code == 200
    # A specialist of another field does not see the project: refused at the field.
    stranger = make_token(("specialist",), "duban", name="stranger")
    body = assert_problem(client.post("/api/v1/issues", headers=stranger, json=ISSUE), 422)
    assert list(body["errors"]) == ["project_code"]


def test_unknown_units_and_projects_are_refused_at_their_fields(client, supervisor):
    body = assert_problem(client.post("/api/v1/issues", headers=supervisor, json={
        **ISSUE, "project_code": "XM-0000", "responsible_unit": "no_such_unit",
        "sub_command": "fgj"}), 422)
    assert set(body["errors"]) == {"project_code", "responsible_unit", "sub_command"}
    assert "Not a known unit" in body["errors"]["sub_command"][0]  # fgj is no sub-command
    assert client.get("/api/v1/issues", headers=supervisor).get_json()["items"] == []


def test_the_ledger_lists_issues_to_those_who_may_see_them(registered, client, supervisor,
                                                           township, specialist):
    ledger = client.get("/api/v1/issues", headers=supervisor).get_json()["items"]
    assert [i["id"] for i in ledger] == [registered["id"]]
    assert client.get(f"/api/v1/issues?project_code={ISSUE['project_code']}",
                      headers=township).get_json()["items"][0]["id"] == registered["id"]
    assert client.get("/api/v1/issues", headers=specialist).get_json()["items"] == []
    assert_problem(client.get(f"/api/v1/issues/{registered['id']}", headers=specialist), 404)
    assert_problem(client.get("/api/v1/issues/9999", headers=supervisor), 404)


def test_remind_and_escalate_are_kept_in_the_supervision_record(registered, client, supervisor,
                                                                township):
    url = f"/api/v1/issues/{registered['id']}"
    reminded = client.post(f"{url}/remind", headers=supervisor, json={"message": "请加快"})
    assert reminded.status_code == 201 and reminded.get_json()["by"] == "api:t-supervisor-duban"
    assert_problem(client.post(f"{url}/remind", headers=township, json={}), 403)
    assert_problem(client.post("/api/v1/issues/9999/remind", headers=supervisor, json={}), 404)
    assert "reason" in assert_problem(client.post(f"{url}/escalate", headers=supervisor,
                                                  json={}), 422)["errors"]
    assert_problem(client.post(f"{url}/escalate", headers=township,
                               json={"reason": "x"}), 403)
    escalated = client.post(f"{url}/escalate", headers=supervisor, json={"reason": "跨乡镇协调"})
    assert escalated.status_code == 201, escalated.get_data(as_text=True)
    assert (escalated.get_json()["from_rung"], escalated.get_json()["to_rung"]) == ("2", "3")
    record = client.get(f"{url}/supervision", headers=supervisor).get_json()
    assert [r["message"] for r in record["reminders"]] == ["请加快"]
    assert [(e["to_rung"], e["reason"]) for e in record["escalations"]] == [("3", "跨乡镇协调")]
    issue = client.get(url, headers=supervisor).get_json()
    assert issue["rung"] == "3"
    # the sub-command decides the plan and the unit that carries it out (研究解决)
    assert [t["name"] for t in issue["open_tasks"]] == [f"研究解决：{ISSUE['title']}"]


def test_an_ended_issue_is_neither_reminded_nor_escalated(registered, client, supervisor,
                                                          admin):
    client.post(f"/api/v1/instances/{registered['id']}/cancel", headers=admin,
                json={"reason": "重复登记"})
    url = f"/api/v1/issues/{registered['id']}"
    assert_problem(client.post(f"{url}/remind", headers=supervisor, json={}), 409)
    assert_problem(client.post(f"{url}/escalate", headers=supervisor, json={"reason": "x"}), 409)


@pytest.fixture
def project(platform, accounts):
    """One project on the township's ground."""
    with platform.uow() as uow:
        for code, name in (("XM-2026-006", "马家庄光伏"), ("XM-2026-007", "文旅小镇")):
            projects.add_project(uow.session, code, name, sub_command="sc_culture",
                                 stage="construction", township="t_magedang",
                                 lead_department="fgj", project_unit="fgj", specialist=None)
        uow.session.commit()


def test_projects_are_listed_in_pages_and_one_shows_its_issues(project, registered, client,
                                                               specialist):
    page = client.get("/api/v1/projects?limit=1", headers=specialist).get_json()
    rest = client.get(f"/api/v1/projects?cursor={page['next_cursor']}",
                      headers=specialist).get_json()
    assert [p["code"] for p in page["items"] + rest["items"]] == ["XM-2026-006", "XM-2026-007"]
    one = client.get("/api/v1/projects/XM-2026-006", headers=specialist).get_json()
    assert [i["id"] for i in one["issues"]] == [registered["id"]]
    assert one["open_tasks"][0]["name"] == f"整改承诺：{ISSUE['title']}"
    assert_problem(client.get("/api/v1/projects/XM-0", headers=specialist), 404)
    assert_problem(client.get("/api/v1/projects?stage=dreaming", headers=specialist), 422)


def test_a_supervisor_lists_an_issue_and_lifts_it(client, supervisor):
    issue = client.post("/api/v1/issues", headers=supervisor, json=ISSUE).get_json()
    listed = client.post(f"/api/v1/issues/{issue['id']}/listing", headers=supervisor,
                         json={"reason": "群众反映强烈", "due": "2026-12-08"})
    assert listed.status_code == 201, listed.get_data(as_text=True)
    assert listed.get_json()["listed_by"] == "api:t-supervisor-duban"
    again = client.post(f"/api/v1/issues/{issue['id']}/listing", headers=supervisor,
                        json={"reason": "再次"})
    assert again.status_code == 409
    lifted = client.delete(f"/api/v1/issues/{issue['id']}/listing", headers=supervisor,
                           json={"reason": "已整改到位"})
    assert lifted.status_code == 200 and lifted.get_json()["lift_reason"] == "已整改到位"
    no_reason = client.delete(f"/api/v1/issues/{issue['id']}/listing", headers=supervisor,
                              json={})
    assert no_reason.status_code == 422
