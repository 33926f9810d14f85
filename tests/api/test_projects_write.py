"""POST /projects, PATCH /projects/{code}, POST /projects/{code}/stage: the registry kept
through the API by the office, administrators and the field's sub-commander, checked as on
the pages (a bad value is a problem naming its field, in Chinese), with ETags."""

from __future__ import annotations

import pytest

from engine.core import organisation
from engine.county.projects import add_project

PROBLEM = "application/problem+json"
NEW = {"code": "XM-2027-001", "name": "文旅小镇二期", "stage": "reserve",
       "reserve_class": "intent", "reserve_track": "study", "sub_command": "sc_culture",
       "lead_department": "fgj", "township": "t_magedang", "project_unit": "co_culture",
       "specialist": "zhuanyuan1", "key_level": "county", "funding": "government",
       "planned_investment": 5000,
       "schedule": [{"month": "2027-02", "planned_investment": 200, "milestone": "方案批复"},
                    {"month": "2027-01", "planned_investment": 100}]}


@pytest.fixture
def county(platform, accounts):
    """A company, another field and a project of that field."""
    with platform.uow() as uow:
        for code, name, kind in [("co_culture", "示例文旅开发公司", "company"),
                                 ("sc_industry", "工业分指挥部", "sub_command")]:
            organisation.add_unit(uow.session, code, name, kind)
        uow.session.flush()
        add_project(uow.session, "XM-2026-008", "新材料产业园", sub_command="sc_industry",
                    stage="prework", township="t_magedang", lead_department="fgj",
                    project_unit="co_culture", specialist=None)
        uow.commit()
    return platform


@pytest.fixture
def office(make_token, county):
    return make_token(("office",), "fgj", name="office")


@pytest.fixture
def commander(make_token, county):
    return make_token(("sub_commander",), "sc_culture", name="commander")


def test_the_office_registers_a_project_with_its_schedule(client, office):
    response = client.post("/api/v1/projects", headers=office, json=NEW)
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"] == "/api/v1/projects/XM-2027-001"
    assert response.headers["ETag"] == '"pv-1"'
    body = response.get_json()
    assert (body["stage"], body["reserve_class"], body["reserve_track"]) == (
        "reserve", "intent", "study")
    assert body["schedule"] == [
        {"month": "2027-01", "planned_investment": 100, "milestone": None},
        {"month": "2027-02", "planned_investment": 200, "milestone": "方案批复"}]
    again = client.get("/api/v1/projects/XM-2027-001", headers=office)
    assert again.status_code == 200 and again.headers["ETag"] == '"pv-1"'


def test_bad_values_are_a_problem_naming_each_field_in_chinese(client, office, county):
    response = client.post("/api/v1/projects", headers=office, json={
        **NEW, "township": "no_such_town", "specialist": "shenpi1", "reserve_class": None,
        "schedule": [{"month": "2027-13", "planned_investment": 1}]})
    assert response.status_code == 422 and response.mimetype == PROBLEM
    errors = response.get_json()["errors"]
    assert errors == {"township": ["没有这个属地乡镇（或已停用），请从列表中选择"],
                      "specialist": ["没有这个项目专员，请从列表中选择"],
                      "reserve_class": ["储备项目必须选择储备类别"]}
    late = client.post("/api/v1/projects", headers=office, json={
        **NEW, "schedule": [{"month": "2027-13", "planned_investment": 1}]})
    assert late.status_code == 422
    assert late.get_json()["errors"] == {"schedule.0.month": ["请填写月份，如 2027-03"]}
    assert client.get("/api/v1/projects/XM-2027-001", headers=office).status_code == 404


def test_an_edit_changes_the_fields_given_and_honours_if_match(client, office):
    client.post("/api/v1/projects", headers=office, json=NEW)
    changed = client.patch("/api/v1/projects/XM-2027-001", headers={**office, "If-Match": '"pv-1"'},
                           json={"name": "文旅小镇（二期）", "specialist": None})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["name"], changed.get_json()["specialist"]) == ("文旅小镇（二期）", None)
    assert changed.headers["ETag"] == '"pv-2"'
    stale = client.patch("/api/v1/projects/XM-2027-001", headers={**office, "If-Match": '"pv-1"'},
                         json={"name": "又改"})
    assert stale.status_code == 412
    stage = client.patch("/api/v1/projects/XM-2027-001", headers=office,
                         json={"name": "x", "stage": "planning"})
    assert stage.status_code == 422  # the stage moves on its own endpoint, with a reason


def test_a_stage_moves_with_a_reason(client, office):
    client.post("/api/v1/projects", headers=office, json=NEW)
    missing = client.post("/api/v1/projects/XM-2027-001/stage", headers=office,
                          json={"stage": "planning", "reason": "   "})
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == {"reason": ["请填写转阶段的理由"]}
    moved = client.post("/api/v1/projects/XM-2027-001/stage", headers=office,
                        json={"stage": "planning", "reason": "签约完成，转入谋划"})
    assert moved.status_code == 200
    assert (moved.get_json()["stage"], moved.get_json()["reserve_class"]) == ("planning", None)


def test_the_field_s_sub_commander_keeps_its_projects_only_and_others_none(
        client, commander, office, specialist, supervisor, county):
    assert client.post("/api/v1/projects", headers=commander, json=NEW).status_code == 201
    assert client.patch("/api/v1/projects/XM-2026-008", headers=commander,
                        json={"name": "x"}).status_code == 404  # another field: not seen
    for caller in (specialist, supervisor):
        for body in ({}, [1], NEW):
            assert client.post("/api/v1/projects", headers=caller, json=body).status_code == 403
    assert client.post("/api/v1/projects/XM-2026-008/stage", headers=supervisor,
                       json={"stage": "construction", "reason": "x"}).status_code == 403
    assert client.get("/api/v1/projects/XM-2026-008", headers=office).status_code == 200
