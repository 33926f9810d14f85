"""The open-task list: read a page at a time from the offer index, in due order, and in step
with every change of a task (claim, unclaim, completion, a change made through the ORM)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bpm import inbox, runtime, task_actions
from engine.core.identity import Actor
from engine.core.models import HumanTask, TaskCandidate

from .test_runtime import deploy

U1 = Actor.of("u1", "specialist", "approver")  # sees a and b by group, c by group, d by name
U2 = Actor.of("u2", "approver")
OTHER = Actor.of("u3", "g9")


def _start(platform, clock, n: int) -> list[int]:
    deploy(platform, "inbox.bpmn")
    ids = []
    for _ in range(n):
        with platform.uow() as uow:
            ids.append(runtime.start_instance(uow, "inbox", OTHER).id)
        clock.advance(minutes=10)
    return ids


def _all_pages(platform, actor, scope="open", size=3, **filters) -> list:
    seen, after = [], None
    while True:
        with platform.uow() as uow:
            page = inbox.list_tasks(uow, actor, scope=scope, after=after, limit=size, **filters)
        seen.extend(page)
        if len(page) < size:
            return seen
        after = inbox.task_key(page[-1])


def test_pages_hold_every_visible_task_once_soonest_due_first_no_due_time_last(platform, clock):
    _start(platform, clock, 4)
    listed = _all_pages(platform, U1)
    assert len(listed) == 16 and len({t.id for t in listed}) == 16  # b is offered twice, listed once
    keys = [inbox.task_key(t) for t in listed]
    assert keys == sorted(keys)
    assert [t.element_id for t in listed[:4]] == ["a"] * 4  # an hour, then two, then three
    assert {t.element_id for t in listed[-4:]} == {"c"} and listed[-1].due_at is None
    assert [t.element_id for t in _all_pages(platform, U2)] == ["b"] * 4 + ["c"] * 4
    assert _all_pages(platform, OTHER) == []
    with platform.uow() as uow:
        assert inbox.count_tasks(uow, U1) == {"mine": 0, "group": 16}
        # the badge's count stops at its cap; a task offered twice still counts once
        assert inbox.count_tasks(uow, U1, cap=5) == {"mine": 0, "group": 5}
        assert inbox.count_tasks(uow, U1, cap=100) == {"mine": 0, "group": 16}


def test_claim_unclaim_and_completion_move_a_task_between_the_lists(platform, clock):
    _start(platform, clock, 2)
    first_b = next(t for t in _all_pages(platform, U2) if t.element_id == "b")
    with platform.uow() as uow:
        task_actions.claim(uow, first_b.id, U2)
    assert first_b.id not in {t.id for t in _all_pages(platform, U1, scope="group")}
    assert [t.id for t in _all_pages(platform, U2, scope="mine")] == [first_b.id]
    with platform.uow() as uow:
        assert inbox.count_tasks(uow, U2) == {"mine": 1, "group": 3}
        task_actions.unclaim(uow, first_b.id, U2)
    assert first_b.id in {t.id for t in _all_pages(platform, U1, scope="group")}

    with platform.uow() as uow:
        task_actions.complete(uow, first_b.id, U2)
    assert first_b.id not in {t.id for t in _all_pages(platform, U1)}
    with platform.uow() as uow:
        assert inbox.count_tasks(uow, U1) == {"mine": 0, "group": 7}


def test_a_task_held_through_the_orm_leaves_the_group_list_too(platform, clock):
    _start(platform, clock, 1)
    task = next(t for t in _all_pages(platform, U1) if t.element_id == "a")
    with platform.uow() as uow:  # as task_actions and the deadline recomputation write
        row = uow.session.get(HumanTask, task.id)
        row.assignee, row.state = "u9", "claimed"
        row.due_at = row.due_at + timedelta(days=1)
        uow.session.commit()
    assert task.id not in {t.id for t in _all_pages(platform, U1)}
    with platform.uow() as uow:
        copies = uow.session.execute(select(TaskCandidate.offered, TaskCandidate.due_sort)
                                     .where(TaskCandidate.task_id == task.id)).all()
    assert copies == [(False, task.due_at + timedelta(days=1))]


def test_the_process_and_sla_filters_are_applied_before_the_page_is_cut(platform, clock):
    _start(platform, clock, 3)
    clock.advance(minutes=90)  # the first instance's "a" (an hour) is now overdue
    with platform.uow() as uow:
        overdue = inbox.list_tasks(uow, U1, sla_state="overdue", limit=1)
        assert [t.element_id for t in overdue] == ["a"]
        assert inbox.list_tasks(uow, U1, process_key="nothing_like_it") == []
    assert len(_all_pages(platform, U1, size=2, process_key="inbox")) == 12


def test_an_unknown_scope_is_refused(platform):
    with platform.uow() as uow, pytest.raises(ValueError):
        inbox.list_tasks(uow, U1, scope="everything")
