"""撤回 and 退回 inside parallel branches (security issue, finding 11: 撤回 answered 500)."""

from __future__ import annotations

import pytest

from engine.bpm import definitions, inbox, runtime, task_actions
from engine.core import organisation
from engine.core.audit import verify_audit
from engine.core.identity import Actor

from ..conftest import FIXTURES

PARALLEL = FIXTURES / "engine" / "parallel_review.bpmn"
SPECIALIST = Actor.of("zhuanyuan1", "specialist")
LAND = Actor.of("shenpi1", "approver")
ENV = Actor.of("shenpi2", "approver")


@pytest.fixture
def review(platform, clock):
    with platform.uow() as uow:
        for actor in (SPECIALIST, LAND, ENV):
            organisation.add_user(uow.session, actor.username, actor.username, "pw", unit=None,
                                  roles=sorted(actor.groups), now=clock.now())
        uow.session.commit()
        definitions.deploy_files(uow, [(PARALLEL.name, PARALLEL.read_bytes())], "designer")
    with platform.uow() as uow:
        instance = runtime.start_instance(uow, "parallel_review", SPECIALIST)
    act(platform, SPECIALIST, "prepare", task_actions.complete, {})
    return instance


def task_of(platform, actor, element):
    with platform.uow() as uow:
        return next(t for t in inbox.list_tasks(uow, actor) if t.element_id == element)


def act(platform, actor, element, action, *args):
    task = task_of(platform, actor, element)
    with platform.uow() as uow:
        return action(uow, task.id, actor, *args)


def open_elements(platform, instance_id) -> list[str]:
    with platform.uow() as uow:
        return sorted(t.element_id for t in inbox.list_tasks(uow, SPECIALIST, scope="open")
                      if t.instance_id == instance_id) + sorted(
            t.element_id for t in inbox.list_tasks(uow, LAND) if t.instance_id == instance_id)


def test_a_branch_completed_in_parallel_can_be_withdrawn_while_the_other_waits(platform, review):
    done = task_of(platform, LAND, "land")
    act(platform, LAND, "land", task_actions.complete, {})
    with platform.uow() as uow:
        reopened = task_actions.withdraw(uow, done.id, LAND, "材料有误，重新审查")
    assert reopened.element_id == "land" and reopened.assignee == LAND.username
    with platform.uow() as uow:
        assert sorted(t.element_id for t in inbox.list_tasks(uow, LAND)
                      if t.instance_id == review.id) == ["env", "land"]
    act(platform, LAND, "land", task_actions.complete, {})
    act(platform, ENV, "env", task_actions.complete, {})
    assert task_of(platform, SPECIALIST, "hand_back").instance_id == review.id
    with platform.uow() as uow:
        assert verify_audit(uow.session).ok


def test_a_branch_can_be_returned_to_the_step_before_the_split(platform, review):
    with platform.uow() as uow:
        task = task_of(platform, ENV, "env")
        targets = task_actions.return_targets(uow, task.id, ENV)
    assert ("prepare", "准备材料") in targets
    act(platform, ENV, "env", task_actions.return_task, "prepare", "缺少环评材料")
    with platform.uow() as uow:
        assert [t.element_id for t in inbox.list_tasks(uow, SPECIALIST)
                if t.instance_id == review.id] == ["prepare"]
        assert [t.element_id for t in inbox.list_tasks(uow, LAND)
                if t.instance_id == review.id] == []
