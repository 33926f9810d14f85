"""Who a task is for and who may see it: one rule, in Python and in SQL, used everywhere."""

from __future__ import annotations

from sqlalchemy import select

from engine.bpm import task_access, task_actions
from engine.core.identity import Actor
from engine.core.models import HumanTask
from engine.bpm.projection import load_tasks

from .test_task_actions import (
    APPROVER, COLLEAGUE, OUTSIDER, SPECIALIST, act, instance, open_task,  # noqa: F401
)

SUPERVISOR = Actor.of("ducha2", "supervisor")
EVERYONE = (SPECIALIST, COLLEAGUE, APPROVER, OUTSIDER, SUPERVISOR, Actor.of("nobody"))


def _agree(platform):
    with platform.uow() as uow:
        ids = list(uow.session.execute(select(HumanTask.id)).scalars())
        records = load_tasks(uow.session, ids)
        for actor in EVERYONE:
            by_sql = set(uow.session.execute(
                select(HumanTask.id).where(task_access.seen_by(actor))).scalars())
            by_python = {i for i, task in records.items() if task_access.may_see(task, actor)}
            assert by_sql == by_python, actor
    return records


def test_the_sql_rule_sees_exactly_the_tasks_the_python_rule_sees(platform, instance):
    task = open_task(platform, SPECIALIST)
    _agree(platform)
    act(platform, task_actions.carbon_copy, task.id, SPECIALIST, "xiangzhen9", "请关注")
    act(platform, task_actions.claim, task.id, SPECIALIST)
    act(platform, task_actions.delegate, task.id, SPECIALIST, "zhuanyuan2")
    _agree(platform)
    act(platform, task_actions.resolve_delegation, task.id, COLLEAGUE, "")
    act(platform, task_actions.complete, task.id, SPECIALIST, {"title": "a", "amount": 1})
    records = _agree(platform)
    done = records[task.id]
    # Ended: its completer and copy reader still see it, the supervision group no longer.
    assert task_access.may_see(done, SPECIALIST) and task_access.may_see(done, OUTSIDER)
    assert not task_access.may_see(done, SUPERVISOR)


def test_the_handlers_are_the_assignee_else_the_candidates(platform, instance):
    task = open_task(platform, SPECIALIST)
    with platform.uow() as uow:
        offered = task_actions.load_task(uow, task.id, SPECIALIST)
    assert task_access.handlers_of(offered) == ([], ["specialist"])
    act(platform, task_actions.claim, task.id, SPECIALIST)
    with platform.uow() as uow:
        held = task_actions.load_task(uow, task.id, SPECIALIST)
    assert task_access.handlers_of(held) == (["zhuanyuan1"], [])
    assert task_access.is_candidate(held, COLLEAGUE) and not task_access.is_candidate(held, APPROVER)
