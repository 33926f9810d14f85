"""Reminders and escalations made by the process itself, from marked BPMN elements.

The convention for designers: a plain task, a script task or an event carries

    <bpmn:extensionElements>
      <camunda:properties>
        <camunda:property name="action" value="remind" />   <!-- or "escalate" -->
        <camunda:property name="target" value="approve" />  <!-- optional -->
      </camunda:properties>
    </bpmn:extensionElements>

When such an element completes during a service call (start, complete, a timer firing),
the engine records it, with the calling actor as author ('timer' for the worker):

- `remind`: a reminder on every open user task of the instance, or only on those at the
  element id named by `target`; optional `message`.
- `escalate`: an escalation to the value of the process variable named by `rung_variable`
  (default `rung`), from the value that variable had before on the way to the element (or
  the instance's current rung); optional `reason`.

Completed elements are found by comparing the marked tasks that are COMPLETED at save with
those that were already COMPLETED at restore, so each is recorded once whatever the path.
"""

from __future__ import annotations

import time

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from ..bpm.parser import SUPERVISION_ACTIONS as ACTIONS
from ..core.identity import Actor
from ..core.models import ProcessInstance
from .supervision import _open_tasks, current_rung, record_escalation, record_reminder
from ..core.uow import UnitOfWork

DEFAULT_RUNG_VARIABLE = "rung"
DEFAULT_REASON = "超过时限，自动升级"


def all_tasks(workflow: BpmnWorkflow):
    """Every task of the workflow and of its subprocesses."""
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def _action(task) -> str | None:
    extensions = getattr(task.task_spec, "extensions", None) or {}
    action = extensions.get("action")
    return action if action in ACTIONS else None


def completed_supervision_tasks(workflow: BpmnWorkflow) -> set:
    """Ids of the marked tasks already completed (taken at restore, compared at save)."""
    return {task.id for task in all_tasks(workflow)
            if task.state == TaskState.COMPLETED and _action(task)}


def remember_completed(workflow: BpmnWorkflow) -> BpmnWorkflow:
    """Note on the workflow which marked tasks were completed when it was restored."""
    workflow.supervision_seen = completed_supervision_tasks(workflow)
    workflow.supervision_restored_at = time.time()
    return workflow


def _message_that_led_here(task, since: float):
    """The message event caught in this service call on the way to `task`, if any.

    A supervisor's escalation arrives as a BPMN message (e.g. `escalate_issue`); a timer's
    does not. SpiffWorkflow stamps `last_state_change` with the wall clock, so events of
    this call are those changed since the workflow was restored.
    """
    ancestor = task.parent
    while ancestor is not None and ancestor.last_state_change >= since:
        definition = getattr(ancestor.task_spec, "event_definition", None)
        if isinstance(definition, MessageEventDefinition):
            return definition.name
        ancestor = ancestor.parent
    return None


def apply_supervision_actions(uow: UnitOfWork, row: ProcessInstance, workflow: BpmnWorkflow,
                              actor: Actor) -> None:
    """Record the reminders and escalations of marked elements completed since restore."""
    seen = getattr(workflow, "supervision_seen", set())
    done = [task for task in all_tasks(workflow)
            if task.state == TaskState.COMPLETED and task.id not in seen and _action(task)]
    done.sort(key=lambda task: task.last_state_change)
    for task in done:
        if _action(task) == "remind":
            _remind(uow, row, task, actor)
        else:
            _escalate(uow, row, task, actor)
    workflow.supervision_seen = seen | {task.id for task in done}


def _remind(uow: UnitOfWork, row: ProcessInstance, task, actor: Actor) -> None:
    extensions = task.task_spec.extensions
    targets = _open_tasks(uow.session, instance_id=row.id, element_id=extensions.get("target"))
    message = extensions.get("message") or f"{task.task_spec.bpmn_name or '办理'}：请尽快办理"
    if not targets:
        record_reminder(uow, "instance", str(row.id), actor.username, [], message,
                        automatic=True, instance_id=row.id, business_key=row.business_key)
    for human in targets:
        record_reminder(uow, "task", human.id, actor.username, [human], message, automatic=True,
                        instance_id=row.id, business_key=row.business_key)


def _escalate(uow: UnitOfWork, row: ProcessInstance, task, actor: Actor) -> None:
    extensions = task.task_spec.extensions
    variable = extensions.get("rung_variable") or DEFAULT_RUNG_VARIABLE
    new = task.data.get(variable)
    if new is None:
        new = task.workflow.data.get(variable)
    previous = None
    ancestor = task.parent
    while ancestor is not None:
        value = ancestor.data.get(variable)
        if value is not None and value != new:
            previous = value
            break
        ancestor = ancestor.parent
    from_rung = str(previous) if previous is not None else current_rung(uow.session,
                                                                         instance_id=row.id)
    to_rung = str(new) if new is not None else "?"
    message = _message_that_led_here(task, getattr(task.workflow.top_workflow,
                                                   "supervision_restored_at", time.time()))
    if message is not None:  # a person asked for it: their reason, not the timer's
        sent = task.data.get(f"{message}_payload") or {}
        reason = sent.get("reason") if isinstance(sent, dict) else None
        record_escalation(uow, row, actor.username, from_rung, to_rung,
                          reason or extensions.get("reason") or DEFAULT_REASON, automatic=False)
        return
    record_escalation(uow, row, actor.username, from_rung, to_rung,
                      extensions.get("reason") or DEFAULT_REASON, automatic=True)
