"""Quarterly awards: nominations per sub-command, 3 + 3 chosen from them, published."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.core import organisation
from engine.bpm import inbox, task_actions
from engine.county import awards
from engine.core.errors import TaskDataError
from engine.core.identity import Actor
from engine.core.models import AuditEvent, HumanTask
from engine.county.projects import add_project

from ..processes.helpers import OFFICE, sub_commander

FIELDS = ["sc_industry", "sc_infra", "sc_energy", "sc_rural"]


@pytest.fixture
def quarter(county):
    """Four fields with two projects each, and the 2026-Q3 award round started."""
    with county.uow() as uow:
        for code in FIELDS[2:]:
            organisation.add_unit(uow.session, code, f"{code}分指挥部", "sub_command")
        uow.session.flush()
        for field in FIELDS:
            for n in (1, 2):
                add_project(uow.session, f"{field}-{n}", f"{field} 项目{n}", sub_command=field,
                            stage="construction", township="t_fucheng", lead_department="gxj",
                            project_unit="co_materials", specialist=None, key_level="county")
        uow.commit()
    with county.uow() as uow:
        awards.start_award_round(uow, "2026-Q3", OFFICE)
    return county


def _nomination_task(platform, field):
    with platform.uow() as uow:
        return next(t for t in inbox.list_tasks(uow, sub_commander(field))
                    if t.element_id == "nominate")


def _nominate(platform, field, best, worst):
    task = _nomination_task(platform, field)
    with platform.uow() as uow:
        task_actions.complete(uow, task.id, sub_commander(field),
                              {"best_project": best, "worst_project": worst})


def _choose(platform, antelope, snail):
    with platform.uow() as uow:
        task = next(t for t in inbox.list_tasks(uow, OFFICE) if t.element_id == "choose_awards")
    with platform.uow() as uow:
        # the form's three pickers per award (antelope_1..3, snail_1..3); a list as written
        task_actions.complete(uow, task.id, OFFICE, {
            f"{kind}_{n}": code for kind, codes in (("antelope", antelope), ("snail", snail))
            for n, code in enumerate(re.split("[,，、]", codes), start=1)})


def test_each_sub_command_gets_its_own_nomination_task(quarter):
    with quarter.uow() as uow:
        rows = uow.session.execute(select(HumanTask).where(
            HumanTask.element_id == "nominate")).scalars().all()
        groups = sorted(c.name for t in rows for c in t.candidates)
    assert groups == sorted(f"sub_commander@{f}" for f in FIELDS)


def test_a_nominee_outside_the_field_is_refused_and_the_task_stays_open(quarter):
    with pytest.raises(TaskDataError) as refused:
        _nominate(quarter, "sc_industry", "sc_infra-1", "sc_industry-2")
    assert "best_project" in refused.value.field_errors
    assert _nomination_task(quarter, "sc_industry") is not None
    with quarter.uow() as uow:
        assert awards.nominations(uow.session, "2026-Q3") == []


def test_headquarters_names_three_and_three_only_from_the_nominations(quarter):
    for field in FIELDS:
        _nominate(quarter, field, f"{field}-1", f"{field}-2")
    with quarter.uow() as uow:
        assert [n.best_project for n in awards.nominations(uow.session, "2026-Q3")] == sorted(
            f"{f}-1" for f in FIELDS)
    with pytest.raises(TaskDataError) as outside:
        _choose(quarter, "sc_industry-1,sc_infra-1,sc_energy-2", "sc_rural-2,sc_infra-2,sc_energy-2")
    assert "antelope_3" in outside.value.field_errors  # the picker offers the nominated only
    with pytest.raises(TaskDataError) as too_few:
        _choose(quarter, "sc_industry-1,sc_infra-1", "sc_rural-2,sc_infra-2,sc_energy-2")
    assert "antelope_1" in too_few.value.field_errors
    _choose(quarter, "sc_industry-1，sc_infra-1，sc_energy-1", "sc_rural-2、sc_infra-2、sc_energy-2")
    with quarter.uow() as uow:
        published = awards.awards_of(uow.session, "2026-Q3")
        audit = uow.session.execute(select(AuditEvent).where(
            AuditEvent.action == "awards_published")).scalars().all()
    assert [(a.award, a.project_code) for a in published] == [
        ("antelope", "sc_energy-1"), ("antelope", "sc_industry-1"), ("antelope", "sc_infra-1"),
        ("snail", "sc_energy-2"), ("snail", "sc_infra-2"), ("snail", "sc_rural-2")]
    assert {a.by for a in published} == {OFFICE.username} and len(audit) == 1


def test_quarters_are_named_and_counted_back():
    from datetime import date
    assert awards.quarter_of(date(2026, 12, 1)) == "2026-Q4"
    assert awards.previous_quarter("2026-Q1") == "2025-Q4"
    assert awards.quarter_months("2026-Q3") == ["2026-07", "2026-08", "2026-09"]
