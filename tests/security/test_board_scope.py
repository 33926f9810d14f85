"""The board pages and the project API are scoped by the one policy (engine/county/policy.py):
a project company sees its own projects, a sub-commander the field's, oversight the county;
the headquarters' papers are for those who command or supervise."""

from __future__ import annotations

import re

import pytest

from engine.core import organisation

from .conftest import ISSUE, PASSWORD, login_as
from .walk import add_county

OWN, FIELD, OTHER_FIELD = ISSUE["project_code"], "XM-2026-007", "XM-2026-008"
HEADQUARTERS_PAGES = ["/board/agenda?meeting=headquarters", "/board/dispatch?period=week",
                      "/board/bulletin", "/board/awards", "/board/assessment"]


@pytest.fixture
def county(app, platform):
    """The walk's county, and a second sub-commander (industry) with no project of the first
    field."""
    add_county(platform)
    with platform.uow() as uow:
        organisation.add_user(uow.session, "fenzhi2", "分指挥长（工业）", PASSWORD,
                              unit="sc_industry", roles=["sub_commander"], now=uow.clock.now())
        uow.session.commit()
    return app


def _on_the_map(browser) -> set[str]:
    page = browser.get("/board/")
    assert page.status_code == 200
    return set(re.findall(r"/board/project/(XM-[0-9-]+)", page.get_data(as_text=True)))


def test_a_company_sees_its_own_project_sheet_and_not_another_company_s(county):
    company = login_as(county, "qiye1")
    own = company.get(f"/board/project/{OWN}")
    assert own.status_code == 200 and "马家庄光伏" in own.get_data(as_text=True)
    for code in (FIELD, OTHER_FIELD):
        assert company.get(f"/board/project/{code}").status_code == 404


def test_a_company_gets_404_for_another_company_s_project_in_the_api(county, make_token):
    company = login_as(county, "qiye1")
    assert company.get(f"/api/v1/projects/{OWN}").get_json()["code"] == OWN
    assert company.get(f"/api/v1/projects/{FIELD}").status_code == 404
    token = make_token(("project_unit",), "co_culture", name="company-system")
    assert county.test_client().get(f"/api/v1/projects/{OTHER_FIELD}",
                                    headers=token).status_code == 404
    listed = county.test_client().get("/api/v1/projects", headers=token).get_json()["items"]
    assert [p["code"] for p in listed] == [OWN]


def test_a_missing_project_and_one_out_of_scope_answer_alike(county):
    company = login_as(county, "qiye1")
    hidden, missing = company.get(f"/api/v1/projects/{FIELD}"), company.get("/api/v1/projects/XM-0")
    assert (hidden.status_code, hidden.get_json()["detail"][:7]) == (
        missing.status_code, missing.get_json()["detail"][:7]) == (404, "project")


def test_the_battle_map_lists_only_the_projects_in_scope(county):
    assert _on_the_map(login_as(county, "qiye1")) == {OWN}
    assert _on_the_map(login_as(county, "fenzhi1")) == {OWN, FIELD}
    assert _on_the_map(login_as(county, "fenzhi2")) == {OTHER_FIELD}
    assert _on_the_map(login_as(county, "ducha1")) == {OWN, FIELD, OTHER_FIELD}
    assert _on_the_map(login_as(county, "zhen1")) == {OWN}  # the township's ground


def test_a_sub_commander_sees_the_field_s_projects_only(county):
    culture, industry = login_as(county, "fenzhi1"), login_as(county, "fenzhi2")
    assert [culture.get(f"/board/project/{c}").status_code
            for c in (OWN, FIELD, OTHER_FIELD)] == [200, 200, 404]
    assert [industry.get(f"/board/project/{c}").status_code
            for c in (OWN, FIELD, OTHER_FIELD)] == [404, 404, 200]
    assert {p["code"] for p in culture.get("/api/v1/projects").get_json()["items"]} == {
        OWN, FIELD}


def test_the_headquarters_papers_are_refused_to_a_company_and_served_to_commanders(county):
    company, commander = login_as(county, "qiye1"), login_as(county, "fenzhi1")
    assert [company.get(url).status_code for url in HEADQUARTERS_PAGES] == [403] * 5
    assert [commander.get(url).status_code for url in HEADQUARTERS_PAGES] == [200] * 5
    assert "季度评奖" not in company.get("/board/").get_data(as_text=True)  # no links to them


def test_a_sub_commander_reads_the_field_s_meeting_and_not_another_field_s(county):
    industry = login_as(county, "fenzhi2")
    assert industry.get("/board/agenda?meeting=sub_command:sc_industry").status_code == 200
    assert industry.get("/board/agenda?meeting=sub_command:sc_culture").status_code == 403


def test_the_api_s_issue_ledger_is_the_desk_s_scope(county, client, supervisor, make_token):
    issue = client.post("/api/v1/issues", headers=supervisor, json=ISSUE).get_json()
    culture = make_token(("sub_commander",), "sc_culture", name="culture-command")
    industry = make_token(("sub_commander",), "sc_industry", name="industry-command")
    assert [i["id"] for i in client.get("/api/v1/issues", headers=culture)
            .get_json()["items"]] == [issue["id"]]
    assert client.get("/api/v1/issues", headers=industry).get_json()["items"] == []
    assert client.get(f"/api/v1/issues/{issue['id']}", headers=industry).status_code == 404
    page = login_as(county, "fenzhi1").get(f"/supervision/issues/{issue['id']}")
    assert page.status_code == 200
