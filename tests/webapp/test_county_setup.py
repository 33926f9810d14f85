"""The clean county of tests/county_setup.py: built through the pages only, and usable."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from engine.core.organisation import OrgUnit, UserAccount
from engine.county.projects import Project, ScheduleMonth

from ..county_setup import ACCOUNTS, PROJECTS, county  # noqa: F401  (fixture)


def test_the_county_has_the_file_s_units_accounts_and_projects(county):
    with county.platform.uow() as uow:
        session = uow.session
        assert session.execute(select(func.count()).select_from(OrgUnit)).scalar() \
            == len(county.units)
        # the administrator of `gongjian init` and everyone in the file
        assert session.execute(select(func.count()).select_from(UserAccount)).scalar() \
            == len(ACCOUNTS) + 1
        stages = {p.code: p.stage for p in session.execute(select(Project)).scalars()}
        assert len(stages) == len(PROJECTS)
        assert {"reserve", "planning", "prework", "construction", "completion",
                "production"} == set(stages.values())
        assert session.execute(select(func.count()).select_from(ScheduleMonth)).scalar() > 0
        assert not session.execute(select(UserAccount).where(
            UserAccount.must_change_password.is_(True))).first()


def test_everyone_logs_in_and_sees_the_county_by_name(county):
    window = county.client("office_window")
    page = window.get("/tasks/").get_data(as_text=True)
    assert county.name("office_window") in page
    projects = window.get("/projects/").get_data(as_text=True)
    assert "100MW农光互补光伏电站" in projects
    assert county.label("commander_energy") in \
        county.client("admin").get("/admin/units").get_data(as_text=True)


def test_work_started_in_the_county_reaches_its_people(county):
    """A permit request by the office window: its first step reaches the office, by name."""
    window = county.client("office_window")
    page = window.get("/processes/permit_approval/start").get_data(as_text=True)
    assert "100MW农光互补光伏电站" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    started = window.post("/processes/permit_approval/start", data={
        "csrf_token": token, "project_code": "LC-2027-004"})
    assert started.status_code == 302, started.get_data(as_text=True)[:500]
    clerk = county.client("office_director")
    queue = clerk.get("/tasks/group").get_data(as_text=True)
    assert "受理申请（一口进）" in queue and "100MW农光互补光伏电站" in queue
