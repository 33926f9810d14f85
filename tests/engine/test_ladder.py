"""The escalation ladder's messages: one escalation tells each holder once, and reminders and
escalations name the project and the issue they are about (issue 17)."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.core.notifications import Notification
from engine.county import desk_actions
from engine.core.organisation import add_unit
from engine.county.projects import add_project

from ..processes.helpers import SUPERVISOR, deploy_all, fire
from .test_boards import refresh, register, row_of


@pytest.fixture
def desk(platform):
    deploy_all(platform)
    with platform.uow() as uow:
        for code, name, kind in (("sc_culture", "文旅康养分指挥部", "sub_command"),
                                 ("t_magedang", "马圪当乡", "township"),
                                 ("wlj", "县文旅局", "department"), ("co_x", "康养公司", "company")):
            add_unit(uow.session, code, name, kind)
        uow.session.flush()
        add_project(uow.session, "XM-2026-006", "太行山康养旅游度假区", sub_command="sc_culture",
                    stage="construction", township="t_magedang", lead_department="wlj",
                    project_unit="co_x", specialist=None)
        uow.session.commit()
    return platform


def _since(platform, last: int) -> list[SimpleNamespace]:
    with platform.uow() as uow:
        return [SimpleNamespace(kind=n.kind, recipient=n.recipient, title=n.title, body=n.body)
                for n in uow.session.execute(select(Notification).where(Notification.id > last)
                                             .order_by(Notification.id)).scalars()]


def _last(platform) -> int:
    with platform.uow() as uow:
        return uow.session.execute(select(Notification.id).order_by(Notification.id.desc())
                                   ).scalars().first() or 0


def _per_recipient(notes) -> Counter:
    return Counter((n.kind, n.recipient) for n in notes)


def test_one_escalation_tells_each_holder_once_at_every_rung(desk):
    issue = register(desk, "I-L1", scope="site", severity="minor")  # rung 1, the unit
    expected = {
        # 1 → 2: the unit stays the holder: one new task and one 升级, not two.
        2: {("assigned", "unit:t_magedang"): 1, ("escalated", "unit:t_magedang"): 1},
        # 2 → 3: the sub-command takes it over; the unit is told it left, once.
        3: {("assigned", "sub_commander@sc_culture"): 1,
            ("escalated", "sub_commander@sc_culture"): 1, ("escalated", "unit:t_magedang"): 1},
        4: {("assigned", "county_head"): 1, ("escalated", "county_head"): 1,
            ("escalated", "sub_commander@sc_culture"): 1},
    }
    for rung in (2, 3, 4):
        last = _last(desk)
        with desk.uow() as uow:
            assert desk_actions.escalate_issue(uow, SUPERVISOR, issue, f"第{rung}级协调") == rung
        notes = _since(desk, last)
        assert _per_recipient(notes) == expected[rung]
        for note in notes:
            if note.kind == "escalated":
                assert note.title == ("升级：太行山康养旅游度假区「问题I-L1」 · "
                                      f"第{rung - 1}级 → 第{rung}级")
                assert note.body == f"第{rung}级协调"
    refresh(desk)
    assert row_of(desk, issue).rung == 4


def test_an_escalation_by_the_timer_tells_each_holder_once(desk, clock):
    from datetime import datetime

    from ..conftest import SHANGHAI

    issue = register(desk, "I-L2", scope="site", severity="minor")
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI))
    fire(desk)  # overdue: the unit is reminded
    last = _last(desk)
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=SHANGHAI))
    fire(desk)  # past the grace: rung 1 → 2 by itself
    assert _per_recipient(_since(desk, last)) == {("assigned", "unit:t_magedang"): 1,
                                                  ("escalated", "unit:t_magedang"): 1}
    refresh(desk)
    assert row_of(desk, issue).rung == 2


def test_a_reminder_names_the_project_and_the_issue(desk):
    issue = register(desk, "I-L3")
    last = _last(desk)
    with desk.uow() as uow:
        desk_actions.remind_item(uow, SUPERVISOR, "issue", str(issue), "")
    (note,) = _since(desk, last)
    assert (note.kind, note.recipient) == ("reminder", "unit:t_magedang")
    # The task's title names the issue (gongjian:title), the reminder adds the project.
    assert note.title == "催办：太行山康养旅游度假区 · 整改承诺：问题I-L3"
    assert note.body == "请尽快办理。"
    last = _last(desk)
    with desk.uow() as uow:
        desk_actions.list_issue(uow, SUPERVISOR, issue, "群众反映强烈")
    (note,) = _since(desk, last)
    assert note.title == "挂牌督办：太行山康养旅游度假区「问题I-L3」"


def test_what_a_reminder_is_about_for_work_other_than_an_issue(desk):
    from engine.county.supervision import matter_of

    issue = register(desk, "I-L4")
    with desk.uow() as uow:
        # An issue: its project and title; a project's work by its business key (the code,
        # or a key ending in it); nothing known: nothing said.
        assert matter_of(uow.session, issue, "I-L4") == "太行山康养旅游度假区「问题I-L4」"
        assert matter_of(uow.session, None, "XM-2026-006") == "太行山康养旅游度假区"
        assert matter_of(uow.session, None, "PERMIT-XM-2026-006") == "太行山康养旅游度假区"
        assert matter_of(uow.session, None, "XM-2026-999") is None
        assert matter_of(uow.session, None, None) is None


def test_the_unit_a_higher_rung_handed_the_work_to_is_told_when_it_climbs_again(desk, clock):
    from datetime import datetime

    from engine.core.organisation import add_unit

    from ..conftest import SHANGHAI
    from ..processes.helpers import complete, sub_commander

    with desk.uow() as uow:
        add_unit(uow.session, "t_pingcheng", "平城镇", "township")
        uow.session.commit()
    issue = register(desk, "I-L5", scope="cross")  # rung 3: the sub-command decides
    clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI))
    complete(desk, sub_commander("sc_culture"), "decide_issue",
             {"plan": "两镇共商", "promised_date": "2026-12-10", "carry_out_unit": "t_pingcheng"})
    clock.set(datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI))
    last = _last(desk)
    with desk.uow() as uow:
        desk_actions.escalate_issue(uow, SUPERVISOR, issue, "两镇未能达成一致")
    assert _per_recipient(_since(desk, last)) == {
        ("assigned", "county_head"): 1, ("escalated", "county_head"): 1,
        ("escalated", "sub_commander@sc_culture"): 1, ("escalated", "unit:t_pingcheng"): 1}
