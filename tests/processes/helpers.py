"""Driving the headquarters' processes through the engine services in tests."""

from __future__ import annotations

from pathlib import Path

from engine.bpm import definitions, inbox, messages, runtime, task_actions
from engine.core.identity import Actor
from engine.bpm.timers import fire_due_timers

ROOT = Path(__file__).resolve().parents[2]
BPMN = ROOT / "bpmn"
RULES = ROOT / "rules"

OFFICE = Actor.of("office1", "office", "office@office")
SPECIALIST = Actor.of("specialist1", "specialist")
SUPERVISOR = Actor.of("supervisor1", "supervisor")
PREWORK = Actor.of("prework1", "unit:wg_prework")
COUNTY_HEAD = Actor.of("county_head", "county_head")


def approver(unit: str) -> Actor:
    """An approver of one department."""
    return Actor.of(f"approver_{unit}", "approver", f"approver@{unit}", f"unit:{unit}")


def unit_member(unit: str) -> Actor:
    """Anyone of a unit (a company, township or department)."""
    return Actor.of(f"member_{unit}", f"unit:{unit}")


def sub_commander(code: str) -> Actor:
    """The sub-commander of one sub-command."""
    return Actor.of(f"commander_{code}", "sub_commander", f"sub_commander@{code}")


def deploy_all(platform) -> None:
    """Deploy every process and decision table of the repository."""
    with platform.uow() as uow:
        definitions.deploy_path(uow, RULES, "designer")
    with platform.uow() as uow:
        definitions.deploy_path(uow, BPMN, "designer")


def start(platform, key, data, business_key=None, actor=SPECIALIST):
    """Start a process with start data."""
    with platform.uow() as uow:
        return runtime.start_instance(uow, key, actor, business_key=business_key, data=data)


def tasks_of(platform, actor):
    """The open tasks an actor sees."""
    with platform.uow() as uow:
        return inbox.list_tasks(uow, actor)


def task_of(platform, actor, element_id, instance_id=None):
    """The one open task of an element the actor sees (in an instance)."""
    found = [t for t in tasks_of(platform, actor) if t.element_id == element_id
             and (instance_id is None or t.instance_id == instance_id)]
    assert len(found) == 1, (element_id, [(t.element_id, t.instance_id) for t in tasks_of(platform, actor)])
    return found[0]


def elements_of(platform, actor, instance_id=None):
    """Sorted element ids of the actor's open tasks."""
    return sorted(t.element_id for t in tasks_of(platform, actor)
                  if instance_id is None or t.instance_id == instance_id)


def complete(platform, actor, element_id, data=None, instance_id=None):
    """Complete the actor's first open task of an element (in an instance)."""
    found = [t for t in tasks_of(platform, actor) if t.element_id == element_id
             and (instance_id is None or t.instance_id == instance_id)]
    assert found, (element_id, [(t.element_id, t.instance_id) for t in tasks_of(platform, actor)])
    task = found[0]
    with platform.uow() as uow:
        return task_actions.complete(uow, task.id, actor, data or {})


def instance(platform, instance_id):
    """An instance with its data."""
    with platform.uow() as uow:
        return runtime.get_instance(uow, instance_id)


def fire(platform):
    """Fire the due timers; the ids fired."""
    return fire_due_timers(platform.uow).fired


def send_message(platform, instance_id, name, actor, payload=None):
    """Deliver a BPMN message to an instance through the engine's message service."""
    with platform.uow() as uow:
        return messages.send_message(uow, name, actor, instance_id=instance_id, payload=payload)


def data_of(platform, instance_id):
    """The process data as the waiting tasks of an instance see it (merged)."""
    from SpiffWorkflow.util.task import TaskState

    from engine.core.models import ProcessInstance

    with platform.uow() as uow:
        workflow = runtime.restore(uow.session, uow.session.get(ProcessInstance, instance_id))
        merged = dict(workflow.data)
        for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
            merged.update(task.data)
        return merged


def completed_elements(platform, instance_id) -> list[str]:
    """The BPMN ids of every element an instance (and its subprocesses) has completed."""
    from SpiffWorkflow.util.task import TaskState

    from engine.core.models import ProcessInstance

    with platform.uow() as uow:
        workflow = runtime.restore(uow.session, uow.session.get(ProcessInstance, instance_id))
        return [t.task_spec.bpmn_id for wf in [workflow, *workflow.subprocesses.values()]
                for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id]


def escalations_of(platform, instance_id) -> list[tuple[str | None, str]]:
    """(from rung, to rung) of every escalation recorded for an instance."""
    from engine.county.supervision import escalation_history

    with platform.uow() as uow:
        return [(e.from_rung, e.to_rung) for e in escalation_history(uow.session, instance_id=instance_id)]


def reminded_elements(platform, instance_id) -> list[str]:
    """The element ids of the tasks reminded in an instance, oldest first."""
    from sqlalchemy import select

    from engine.core.models import HumanTask
    from engine.county.supervision import Reminder

    with platform.uow() as uow:
        rows = uow.session.execute(select(Reminder).where(Reminder.instance_id == instance_id)
                                   .order_by(Reminder.at, Reminder.id)).scalars()
        return [uow.session.get(HumanTask, r.task_id).element_id if r.task_id else r.subject_kind
                for r in rows]
