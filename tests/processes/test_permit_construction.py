"""The end of a permit approval moves its project 前期 → 建设 by itself — through the real
process, as the system on behalf of the process, audited and shown on the battle map; only
a project in 前期 whose permits (the construction permit among them) were all granted."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.core import organisation
from engine.core.identity import Actor
from engine.core.models import AuditEvent
from engine.county import projects, reports
from engine.county.audit_trails import project_trail

from .helpers import OFFICE, SPECIALIST, approver, complete, deploy_all, start

CODE = "XM-2026-004"
APPROVE = {"approval_decision": "approve", "approval_opinion": "同意"}
NOTHING = {f"need_{k}": False for k in ("planning", "land", "energy", "environment",
                                          "construction")}
READER = Actor.of("duban1", "supervisor")


@pytest.fixture
def county(platform):
    """The processes deployed and one government-invested project in 前期."""
    deploy_all(platform)
    with platform.uow() as uow:
        for code, name, kind in [("sc_energy", "能源分指挥部", "sub_command"),
                                 ("nyj", "县能源局", "department"), ("t_a", "甲镇", "township"),
                                 ("co_solar", "示例光伏公司", "company")]:
            organisation.add_unit(uow.session, code, name, kind)
        uow.session.flush()
        projects.add_project(uow.session, CODE, "100MW农光互补光伏电站", sub_command="sc_energy",
                             stage="prework", township="t_a", lead_department="nyj",
                             project_unit="co_solar", specialist=None, funding="government")
        uow.commit()
    return platform


def permit_request(platform, *items):
    """Start a request for the project, receive it with the items asked for, file and
    approve every item, and hand the result back; the finished instance."""
    instance = start(platform, "permit_approval", {
        "project_code": CODE, "project_name": "100MW农光互补光伏电站", "funding": "government",
        "project_unit": "co_solar", "sub_command": "sc_energy"}, business_key=CODE, actor=OFFICE)
    complete(platform, OFFICE, "receive_request",
             {**NOTHING, **{f"need_{i}": True for i in items}}, instance_id=instance.id)
    for item in items:
        complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
        department = {"planning": "zrzy", "land": "zrzy", "construction": "xzsp"}[item]
        complete(platform, approver(department), "approval", APPROVE)
    return complete(platform, OFFICE, "hand_back", {"handback_note": "一次性出件"},
                    instance_id=instance.id)


def stage_of(platform) -> str:
    with platform.uow() as uow:
        return uow.session.get(projects.Project, CODE).stage


def events(platform, action: str) -> list[SimpleNamespace]:
    """The project's audit events of one action: actor, instance id and detail."""
    with platform.uow() as uow:
        return [SimpleNamespace(actor=e.actor, instance_id=e.instance_id, detail=e.detail)
                for e in uow.session.execute(select(AuditEvent).where(
                    AuditEvent.action == action, AuditEvent.subject == f"project:{CODE}"))
                .scalars()]


def test_the_handed_back_result_moves_the_project_from_prework_to_construction(county):
    done = permit_request(county, "construction")
    assert done.status == "completed" and done.data["ready_to_build"]
    assert stage_of(county) == "construction"
    [moved] = events(county, "project_stage_moved")
    detail = json.loads(moved.detail)
    assert moved.actor == "system" and moved.instance_id == done.id
    assert (detail["before"], detail["after"]) == ("prework", "construction")
    assert detail["completed_by"] == OFFICE.username
    assert f"流程 #{done.id}" in detail["why"] and "施工许可已准予" in detail["why"]
    assert events(county, "project_stage_unchanged") == []


def test_the_battle_map_and_the_sheet_show_the_project_in_construction(county):
    done = permit_request(county, "construction")
    with county.uow() as uow:
        board = reports.battle_map(uow, READER)
        sheet = reports.project_sheet(uow, READER, CODE)
        trail = project_trail(uow, READER, CODE)
    [item] = [p for g in board.groups for p in g.projects]
    assert (item.stage, item.stage_moved_at is not None) == ("construction", True)
    assert sheet.stage_label == "建设"
    assert [(m.before, m.after, m.actor) for m in sheet.stage_moves] == [
        ("前期", "建设", "系统")]
    assert any(e.action == "project_stage_moved" and e.instance_id == done.id
               for e in trail.events)


def test_a_request_without_the_construction_permit_leaves_the_project_in_prework(county):
    done = permit_request(county, "planning", "land")
    assert done.data["all_approved"] and not done.data["ready_to_build"]
    assert stage_of(county) == "prework"
    [nothing] = events(county, "project_stage_unchanged")
    assert nothing.actor == "system" and "仍在前期" in json.loads(nothing.detail)["why"]


def test_a_project_no_longer_in_prework_is_left_where_it_is_and_that_is_recorded(county):
    with county.uow() as uow:
        projects.move_stage(uow, CODE, "construction", "office1", "已先行开工（补办手续）")
        uow.commit()
    permit_request(county, "construction")
    assert stage_of(county) == "construction"
    assert len(events(county, "project_stage_moved")) == 1  # the office's own move only
    [nothing] = events(county, "project_stage_unchanged")
    assert "不在前期" in json.loads(nothing.detail)["why"]


def test_a_request_for_a_project_missing_from_the_registry_completes_and_records_it(county):
    with county.uow() as uow:
        uow.session.delete(uow.session.get(projects.Project, CODE))
        uow.commit()
    done = permit_request(county, "construction")
    assert done.status == "completed"
    [nothing] = events(county, "project_stage_unchanged")
    assert "项目库中没有项目" in json.loads(nothing.detail)["why"]
