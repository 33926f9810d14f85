"""The one display layer (engine/county/names.py) on the values the issue found raw (17):
login names, candidate groups, English enum values, variable names, task ids, the timer."""

from __future__ import annotations

from datetime import datetime, timezone

from engine.core.clock import FrozenClock
from engine.county.audit_trails import Fact, TrailEvent
from engine.county.names import Names
from engine.ops.platform import Platform
from webapp.audit_trails import row_cells

from .county import NOW, demo_app


def _names(demo_url):
    platform = Platform(demo_url, FrozenClock(NOW))
    uow = platform.uow()
    uow.__enter__()
    return platform, uow, Names(uow.session)


def test_people_units_groups_and_the_system_by_name(demo_url):
    platform, uow, names = _names(demo_url)
    assert names.person("office_window") == "指挥部办公室窗口（一口进出）（指挥部办公室（设在县发改局））"
    assert names.person("supervisor1") == "督办人员一（督办监督小组）"  # the unit once
    assert names.person("timer") == "定时器（系统）"
    assert names.group("approver@drc") == "县发展和改革局 审批人"
    assert names.group("unit:t_liyi") == "礼义镇"
    assert names.group("specialist") == "项目专员"
    assert names.group("county_head") == "总指挥（县长）"
    assert names.unit("no_such_unit") == "未知单位（no_such_unit）"
    uow.__exit__(None, None, None)
    platform.close()


def test_enum_values_variables_refs_and_task_ids_in_words(demo_url):
    platform, uow, names = _names(demo_url)
    assert [names.value("scope", v) for v in ("site", "unit", "cross", "county")] == [
        "可立即整改", "主责单位可解决", "跨乡镇、跨部门", "全县性或需国家、省、市协调"]
    assert [names.value("severity", v) for v in ("minor", "normal", "major")] == [
        "一般", "较重", "严重"]
    assert names.value("funding", "enterprise") == "企业投资"
    assert names.value("step", "assigned") == "已交办"
    assert names.value("plate", "under_reminder") == "催办中"
    assert names.value("to_rung", 2) == "第2级（主责单位限期整改）"
    assert names.value("next_signer", "approver_zrzy") == "县自然资源局审批人"
    assert names.value("candidates", ["approver@drc", "unit:t_liyi"]) == \
        "县发展和改革局 审批人、礼义镇"
    assert names.value("tasks", ["7c85f0bf-b312-4300-bc3a-abd20a721d1b", "x"]) == "2 项"
    assert names.value("inputs", {"on_schedule": False, "yellow_months_in_a_row": 1}) == \
        "按计划推进：否；连续黄牌月数：1"
    assert names.value("item", "project:XM-2026-002").startswith("装备制造产业园标准化厂房")
    assert names.message("escalate_issue") == "提级"
    assert names.variable("next_signer") == "下一位会签人"
    uow.__exit__(None, None, None)
    platform.close()


def test_a_trail_row_names_a_message_a_timer_and_a_co_signer(demo_url):
    app = demo_app(demo_url)
    with app.test_request_context("/"):
        from flask import g
        g.actor = None
        with app.extensions["gongjian"].uow() as uow:
            names = Names(uow.session)
            at = datetime(2026, 12, 1, 1, tzinfo=timezone.utc)
            message = TrailEvent(1, at, "supervisor1", "", "message_received", "issue_lifecycle",
                                 None, None, None, None, None,
                                 [Fact("message", None, "escalate_issue")], {}, "h")
            timer = TrailEvent(2, at, "timer", "", "timer_fired", "issue_lifecycle", None, None,
                               "job", "逾期", None, [], {}, "h")
            signer = TrailEvent(3, at, "head_zrzy", "", "task_signer_added_before",
                                "permit_item", None, None, "t", "审批", None,
                                [Fact("before", None, "head_zrzy"),
                                 Fact("after", None, "approver_zrzy")], {}, "h")
            cells = [row_cells(e, {}, names) for e in (message, timer, signer)]
    text = " ".join(" ".join(c.values()) for c in cells)
    assert "提级" in cells[0]["facts"] and "督办人员一" in cells[0]["who"]
    assert cells[1]["who"] == "定时器（系统）" and cells[1]["task"] == "逾期"
    for raw in ("escalate_issue", "supervisor1", "timer（timer）", "head_zrzy"):
        assert raw not in text, raw
    app.extensions["gongjian"].close()
