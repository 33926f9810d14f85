"""Two people completing the same task at once: one wins, the other is told, nothing breaks."""

from __future__ import annotations

import threading

import pytest

from sqlalchemy import func, select, update

from engine.bpm import definitions, inbox, runtime, task_actions
from engine.core.audit import verify_audit
from engine.core.errors import ConflictError
from engine.core.identity import Actor
from engine.core.models import AuditEvent, HumanTask, ProcessInstance

from ..conftest import FIXTURES

APPROVERS = [Actor.of("shenpi1", "approver"), Actor.of("shenpi2", "approver")]


def _started(platform):
    """The timers fixture deployed and one instance of it started by the first approver."""
    with platform.uow() as uow:
        definitions.deploy_path(uow, FIXTURES / "engine" / "timers.bpmn", "designer")
    with platform.uow() as uow:
        return runtime.start_instance(uow, "timers", APPROVERS[0])


def test_two_threads_completing_one_task_one_succeeds_and_one_conflicts(platform):
    instance = _started(platform)
    with platform.uow() as uow:
        [task] = inbox.list_tasks(uow, APPROVERS[0])

    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def work(actor: Actor) -> None:
        barrier.wait()
        try:
            with platform.uow() as uow:
                task_actions.complete(uow, task.id, actor)
            outcomes[actor.username] = "completed"
        except ConflictError as exc:
            outcomes[actor.username] = exc

    threads = [threading.Thread(target=work, args=(a,)) for a in APPROVERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    results = list(outcomes.values())
    assert results.count("completed") == 1
    assert sum(isinstance(r, ConflictError) for r in results) == 1
    with platform.uow() as uow:
        row = uow.session.get(HumanTask, task.id)
        assert row.state == "completed" and outcomes[row.ended_by] == "completed"
        completions = uow.session.execute(
            select(func.count()).select_from(AuditEvent)
            .where(AuditEvent.action == "task_completed")).scalar_one()
        assert completions == 1
        assert verify_audit(uow.session).ok
        assert runtime.get_instance(uow, instance.id).status == "completed"


def test_a_stale_row_version_is_a_conflict_and_writes_nothing(platform):
    instance = _started(platform)
    with platform.uow() as uow:
        [task] = inbox.list_tasks(uow, APPROVERS[0])

    # A writer that read the instance before another commit must lose at its own commit.
    with platform.uow() as stale:
        row = stale.session.get(ProcessInstance, instance.id)
        stale.session.expunge(row)

    with platform.uow() as uow:
        task_actions.complete(uow, task.id, APPROVERS[0])

    with platform.uow() as uow:
        uow.begin_write()
        merged = uow.session.merge(row, load=False)
        merged.status = "cancelled"
        with pytest.raises(ConflictError):
            uow.commit()
    with platform.uow() as uow:
        assert uow.session.get(ProcessInstance, instance.id).status == "completed"


def test_a_save_over_a_row_another_writer_moved_on_is_a_conflict_and_writes_nothing(platform):
    # The save writes the state by its own statement, guarded by the row version it read.
    instance = _started(platform)
    with platform.uow() as uow:
        before = uow.session.get(ProcessInstance, instance.id)
        state, version = before.state, before.row_version

    with pytest.raises(ConflictError):
        with platform.uow() as uow:
            uow.begin_write()
            live = runtime.load_instance(uow.session, uow.session.get(ProcessInstance,
                                                                       instance.id))
            live.workflow.cancel()
            table = ProcessInstance.__table__
            # Another writer's save moves the row on after this one read it.
            uow.session.connection().execute(
                update(table).where(table.c.id == instance.id)
                .values(row_version=table.c.row_version + 1))
            runtime.save_instance(uow, live, APPROVERS[0])

    with platform.uow() as uow:
        row = uow.session.get(ProcessInstance, instance.id)
        assert (row.state, row.row_version, row.status) == (state, version, "running")
