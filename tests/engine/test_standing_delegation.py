"""Standing delegation (委托): a stand-in handles a user's by-name tasks for a period, in its
own name on the user's behalf, and the period ends by itself by the platform's clock."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from engine.bpm import definitions, inbox, runtime, standing, task_access, task_actions
from engine.core import organisation
from engine.core.audit import verify_audit
from engine.core.errors import NotFoundError, PermissionDeniedError, TaskDataError
from engine.core.identity import Actor
from engine.core.models import AuditEvent, HumanTask
from engine.core.notifications import notifications_for

from ..conftest import FIXTURES

STANDING = FIXTURES / "standing" / "standing.bpmn"
ZHANG = Actor.of("zhang", "specialist", "unit:fgj")      # goes on leave
LI = Actor.of("li", "approver", "unit:fgj")              # stands in; not a specialist
WANG = Actor.of("wang", "specialist", "unit:fgj")
ZHAO = Actor.of("zhao", "approver", "unit:fgj")
ADMIN = Actor.of("admin1", "admin")
PEOPLE = {"zhang": "张三", "li": "李四", "wang": "王五", "zhao": "赵六", "admin1": "管理员"}


@pytest.fixture
def county(platform, clock):
    with platform.uow() as uow:
        organisation.add_unit(uow.session, "fgj", "县发改局", "department")
        uow.session.flush()
        for actor in (ZHANG, LI, WANG, ZHAO, ADMIN):
            roles = sorted(g for g in actor.groups if not g.startswith("unit:"))
            unit = "fgj" if "unit:fgj" in actor.groups else None
            organisation.add_user(uow.session, actor.username, PEOPLE[actor.username], "pw",
                                  unit=unit, roles=roles, now=clock.now())
        uow.session.commit()
        definitions.deploy_files(uow, [(STANDING.name, STANDING.read_bytes())], "designer")
    return platform


def start(platform, handler="zhang"):
    with platform.uow() as uow:
        return runtime.start_instance(uow, "standing", WANG, data={"handler": handler}).id


def tasks_of(platform, actor, scope="open"):
    with platform.uow() as uow:
        return {t.element_id: t for t in inbox.list_tasks(uow, actor, scope=scope)}


def task_at(platform, instance_id, element_id):
    with platform.uow() as uow:
        return uow.session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.element_id == element_id)).scalar_one()


def delegate_to(platform, clock, stand_in="li", *, days=3, include_open=False, by=ZHANG,
                delegator="zhang", starts_in=timedelta(0)):
    with platform.uow() as uow:
        return standing.set_delegation(uow, by, delegator, stand_in, clock.now() + starts_in,
                                       clock.now() + timedelta(days=days),
                                       include_open=include_open, reason="休假")


def act(platform, service, *args, **kwargs):
    with platform.uow() as uow:
        return service(uow, *args, **kwargs)


def events(platform, instance_id, action):
    with platform.uow() as uow:
        return [(e.actor, json.loads(e.detail)) for e in uow.session.execute(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id,
                                     AuditEvent.action == action)).scalars()]


def test_a_new_task_for_the_user_reaches_the_stand_in_during_the_period_and_not_after(
        county, clock):
    delegate_to(county, clock)
    first = start(county)
    assert set(tasks_of(county, LI)) == {"held", "offered"}  # by name only, not the group's
    assert "held" not in tasks_of(county, ZHANG) and "offered" not in tasks_of(county, ZHANG)
    with county.uow() as uow:
        assert task_actions.get_task(uow, task_at(county, first, "held"), ZHANG)  # still seen
        titles = [n.title for n in notifications_for(uow.session, LI)]
        assert "新待办：指名办理" in titles
        assert "新待办：指名办理" not in [n.title for n in notifications_for(uow.session, ZHANG)]
        assert inbox.count_tasks(uow, LI) == {"mine": 1, "group": 1}

    clock.advance(days=3, seconds=1)  # the period is over: nothing to hand back
    assert set(tasks_of(county, LI)) == set()
    assert {"held", "offered", "group"} <= set(tasks_of(county, ZHANG))
    with county.uow() as uow, pytest.raises(NotFoundError):
        task_actions.get_task(uow, task_at(county, first, "held"), LI)
    later = start(county)
    assert set(tasks_of(county, LI)) == set()
    zhangs = {t.id for t in tasks_of(county, ZHANG, "mine").values()}
    assert task_at(county, later, "held") in zhangs


def test_open_tasks_reach_the_stand_in_only_when_chosen(county, clock):
    before = start(county)
    clock.advance(minutes=5)
    delegate_to(county, clock)
    assert set(tasks_of(county, LI)) == set()
    assert {"held", "offered"} <= set(tasks_of(county, ZHANG))
    delegate_to(county, clock, include_open=True)  # changed: also my open tasks
    seen = {t.id for t in tasks_of(county, LI).values()}
    assert seen == {task_at(county, before, "held"), task_at(county, before, "offered")}
    assert "held" not in tasks_of(county, ZHANG)


def test_the_stand_in_acts_in_its_own_name_on_behalf_of_the_user_and_both_are_audited(
        county, clock):
    delegate_to(county, clock)
    instance = start(county)
    held = task_at(county, instance, "held")
    with pytest.raises(PermissionDeniedError):  # the user reads it, the stand-in handles it
        act(county, task_actions.complete, held, ZHANG, {"note": "x"})
    with county.uow() as uow:
        assert task_actions.allowed_actions(task_actions.load_task(uow, held, ZHANG), ZHANG) == ()
        assert "complete" in task_actions.allowed_actions(task_actions.load_task(uow, held, LI), LI)
    act(county, task_actions.complete, held, LI, {"note": "已代办"})
    (actor, detail), = events(county, instance, "task_completed")
    assert (actor, detail["on_behalf_of"]) == ("li", "zhang")
    with county.uow() as uow:
        assert uow.session.get(HumanTask, held).ended_by == "li"
        assert verify_audit(uow.session).ok
    # The next call of the same unit of work is nobody's stand-in.
    offered = task_at(county, instance, "offered")
    group = task_at(county, instance, "group")
    with county.uow() as uow:
        task_actions.claim(uow, offered, LI)
        task_actions.complete(uow, group, WANG)
    (_, claimed), = events(county, instance, "task_claimed")
    assert claimed["on_behalf_of"] == "zhang"
    done_by_wang = [d for a, d in events(county, instance, "task_completed") if a == "wang"]
    assert done_by_wang and "on_behalf_of" not in done_by_wang[0]
    with county.uow() as uow:  # claimed for the user: it stays the user's when the period ends
        assert uow.session.get(HumanTask, offered).assignee == "zhang"


def test_group_tasks_are_not_delegated(county, clock):
    delegate_to(county, clock, include_open=True)
    instance = start(county)
    group = task_at(county, instance, "group")
    assert group in {t.id for t in tasks_of(county, ZHANG, "group").values()}
    assert group not in {t.id for t in tasks_of(county, LI).values()}
    with pytest.raises(NotFoundError):
        act(county, task_actions.claim, group, LI)
    act(county, task_actions.claim, group, ZHANG)  # through the group, the user still may


def test_a_group_task_the_user_claimed_before_goes_along_with_the_open_tasks(county, clock):
    instance = start(county)
    group = task_at(county, instance, "group")
    act(county, task_actions.claim, group, ZHANG)
    clock.advance(hours=1)
    delegate_to(county, clock, include_open=True)
    assert group in {t.id for t in tasks_of(county, LI, "mine").values()}
    act(county, task_actions.complete, group, LI)
    (actor, detail), = [e for e in events(county, instance, "task_completed")]
    assert (actor, detail["on_behalf_of"]) == ("li", "zhang")


def test_it_ends_by_itself_when_the_clock_passes_the_end_and_starts_by_itself(county, clock):
    delegate_to(county, clock, starts_in=timedelta(days=1), days=2)
    start(county)
    assert set(tasks_of(county, LI)) == set()  # planned, not yet in force
    clock.advance(days=1)
    newer = start(county)
    assert task_at(county, newer, "held") in {t.id for t in tasks_of(county, LI).values()}
    with county.uow() as uow:
        assert inbox.count_tasks(uow, LI)["mine"] == 1
    clock.advance(days=1)
    with county.uow() as uow:
        assert inbox.count_tasks(uow, LI) == {"mine": 0, "group": 0}
        assert standing.current_delegation(uow, "zhang") is None
    assert task_at(county, newer, "held") in {t.id for t in tasks_of(county, ZHANG).values()}


def test_ending_it_early_gives_the_tasks_back_at_once_and_is_audited(county, clock):
    delegate_to(county, clock)
    instance = start(county)
    with county.uow() as uow:
        ended = standing.end_delegation(uow, ZHANG, "zhang", "提前返岗")
    assert ended.ends_at == clock.now() and ended.ended_by == "zhang"
    assert set(tasks_of(county, LI)) == set()
    act(county, task_actions.complete, task_at(county, instance, "held"), ZHANG, {"note": "x"})
    with county.uow() as uow:
        actions = [e.action for e in uow.session.execute(select(AuditEvent).where(
            AuditEvent.subject == "user:zhang").order_by(AuditEvent.seq)).scalars()]
        assert actions == ["standing_delegation_set", "standing_delegation_ended"]
        with pytest.raises(NotFoundError):
            standing.end_delegation(uow, ZHANG, "zhang")


def test_changing_it_is_audited_with_before_and_after(county, clock):
    delegate_to(county, clock)
    delegate_to(county, clock, stand_in="zhao", days=5)
    with county.uow() as uow:
        changed = uow.session.execute(select(AuditEvent).where(
            AuditEvent.action == "standing_delegation_changed")).scalar_one()
        detail = json.loads(changed.detail)
        assert (detail["before"]["stand_in"], detail["after"]["stand_in"]) == ("li", "zhao")
        assert standing.current_delegation(uow, "zhang").stand_in == "zhao"
        assert [d.delegator for d in standing.standing_in_for(uow, "zhao")] == ["zhang"]
        assert standing.standing_in_for(uow, "li") == []


def test_an_administrator_sets_it_for_someone_away_and_others_may_not(county, clock):
    with pytest.raises(PermissionDeniedError):
        delegate_to(county, clock, by=WANG)
    view = delegate_to(county, clock, by=ADMIN)
    assert (view.delegator, view.stand_in, view.set_by) == ("zhang", "li", "admin1")
    with county.uow() as uow:
        assert "管理员已为您设置委托：由 李四（县发改局） 代办" in [
            n.title for n in notifications_for(uow.session, ZHANG)]
        assert [d.delegator for d in standing.delegations(uow)] == ["zhang"]
        standing.end_delegation(uow, ADMIN, "zhang")


@pytest.mark.parametrize("stand_in, days, field, code", [
    ("", 3, "stand_in", "required"),
    ("zhang", 3, "stand_in", "not yourself"),
    ("nobody", 3, "stand_in", "no such user"),
    ("li", 0, "ends_at", "in the past"),
    ("li", 400, "ends_at", "too long"),
])
def test_bad_input_is_refused_at_its_field_and_nothing_is_written(county, clock, stand_in,
                                                                   days, field, code):
    with pytest.raises(TaskDataError) as refused:
        delegate_to(county, clock, stand_in=stand_in, days=days)
    assert code in refused.value.field_errors[field]
    with county.uow() as uow:
        assert standing.current_delegation(uow, "zhang") is None


def test_a_stand_in_who_is_away_or_a_user_standing_in_for_someone_is_refused(county, clock):
    delegate_to(county, clock, by=LI, delegator="li", stand_in="zhao")
    with pytest.raises(TaskDataError) as away:
        delegate_to(county, clock, stand_in="li")
    assert away.value.field_errors == {"stand_in": ["away"]}
    with pytest.raises(TaskDataError) as standing_in:
        delegate_to(county, clock, by=ZHAO, delegator="zhao", stand_in="wang")
    assert standing_in.value.field_errors == {"delegator": ["standing in"]}


def test_a_delegation_to_a_disabled_account_does_not_apply(county, clock):
    delegate_to(county, clock)
    instance = start(county)
    with county.uow() as uow:
        uow.session.get(organisation.UserAccount, "li").active = False
        uow.session.commit()
    assert task_at(county, instance, "held") in {t.id for t in tasks_of(county, ZHANG).values()}


def test_a_task_returned_or_transferred_to_the_user_tells_the_stand_in(county, clock):
    delegate_to(county, clock, include_open=True)
    instance = start(county, handler="wang")
    act(county, task_actions.transfer, task_at(county, instance, "held"), WANG, "zhang", "请办")
    with county.uow() as uow:
        assert "转办给您：指名办理" in [n.title for n in notifications_for(uow.session, LI)]
        assert "转办给您：指名办理" not in [n.title for n in notifications_for(uow.session, ZHANG)]
    assert "held" in tasks_of(county, LI)


def test_the_stand_in_may_see_the_same_tasks_in_sql_as_in_python(county, clock):
    delegate_to(county, clock)
    start(county)
    start(county, handler="wang")
    with county.uow() as uow:
        now = uow.clock.now()
        ids = list(uow.session.execute(select(HumanTask.id)).scalars())
        records = task_actions.projection.load_tasks(uow.session, ids, now)
        for actor in (LI, ZHANG, WANG, ZHAO):
            by_sql = set(uow.session.execute(select(HumanTask.id).where(
                task_access.seen_by(actor, now))).scalars())
            by_python = {i for i, t in records.items() if task_access.may_see(t, actor)}
            assert by_sql == by_python, actor.username
        assert len({i for i, t in records.items() if task_access.may_see(t, LI)}) == 2


def test_handlers_are_the_stand_in_while_one_acts(county, clock):
    delegate_to(county, clock)
    instance = start(county)
    with county.uow() as uow:
        task = task_actions.load_task(uow, task_at(county, instance, "held"), ZHANG)
        assert task_access.handlers_of(task) == (["li"], [])
        assert task_access.handed_away(task) == {"zhang": "li"}


def _statements(platform, work) -> list[str]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    event.listen(platform.db, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(platform.db, "before_cursor_execute", count)
    return seen


def test_no_statement_is_added_to_a_completion_or_the_inbox_when_none_is_in_force(county, clock):
    instances = [start(county, handler="wang") for _ in range(3)]

    groups = [task_at(county, i, "group") for i in instances]

    def complete(task_id):
        return lambda: act(county, task_actions.complete, task_id, WANG)

    def first_page():
        with county.uow() as uow:
            inbox.list_tasks(uow, WANG, limit=51)
            inbox.count_tasks(uow, WANG)

    without = _statements(county, complete(groups[0])), _statements(county, first_page)
    delegate_to(county, clock)  # someone else's, in force
    with_one = _statements(county, complete(groups[1])), _statements(county, first_page)
    assert [len(s) for s in without] == [len(s) for s in with_one]
    for statements in (*without, *with_one):
        assert not [s for s in statements if s.startswith("SELECT standing_delegation")]
