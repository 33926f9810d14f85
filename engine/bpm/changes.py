"""What a service call changed in a live workflow, read off it for the save hooks.

"In this call" is told apart without clocks: the runtime notes which tasks were already
finished when it restored the instance (`finished_ids`), and anything completed since is
this call's work. SpiffWorkflow's own `last_state_change` stamps are used only to put the
steps of one call in the order they ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from types import MappingProxyType
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from ..core.models import ProcessInstance
from .hooks import FinishedStep, InstanceFacts, SaveSummary
from .projection import TaskRecord


def all_tasks(workflow: BpmnWorkflow) -> Iterator:
    """Every task of the workflow and of its subprocesses."""
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def finished_ids(workflow: BpmnWorkflow) -> frozenset[UUID]:
    """The ids of the tasks that have finished (completed or cancelled) so far."""
    return frozenset(task.id for task in all_tasks(workflow)
                     if task.has_state(TaskState.FINISHED_MASK))


def _properties(task) -> dict:
    return getattr(task.task_spec, "extensions", None) or {}


def _message_that_led_here(task, finished_before: frozenset[UUID]) -> str | None:
    ancestor = task.parent
    while ancestor is not None and ancestor.id not in finished_before:
        definition = getattr(ancestor.task_spec, "event_definition", None)
        if isinstance(definition, MessageEventDefinition):
            return definition.name
        ancestor = ancestor.parent
    return None


def _earlier(task) -> tuple:
    found, ancestor = [], task.parent
    while ancestor is not None:
        found.append(MappingProxyType(ancestor.data))
        ancestor = ancestor.parent
    return tuple(found)


def finished_steps(workflow: BpmnWorkflow, finished_before: frozenset[UUID]
                   ) -> tuple[FinishedStep, ...]:
    """The marked elements completed since `finished_before` was taken, in the order they ran."""
    done = [task for task in all_tasks(workflow)
            if task.state == TaskState.COMPLETED and task.id not in finished_before
            and _properties(task)]
    done.sort(key=lambda task: task.last_state_change)
    return tuple(FinishedStep(
        element_id=task.task_spec.bpmn_id or task.task_spec.name,
        name=task.task_spec.bpmn_name, properties=MappingProxyType(dict(_properties(task))),
        data=MappingProxyType(task.data), earlier=_earlier(task),
        message=_message_that_led_here(task, finished_before)) for task in done)


def process_facts(workflow: BpmnWorkflow) -> dict:
    """The instance's data as its latest tasks see it: every reached task's data, oldest first.

    Data flows along the paths of the process; merging in the order the tasks changed lets a
    side path (listing, escalation) add its variables while the newest value of each wins.
    """
    reached = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.COMPLETED
    tasks = sorted((t for t in all_tasks(workflow) if t.state & reached),
                   key=lambda t: t.last_state_change)
    facts: dict = {}
    for task in tasks:
        facts.update(task.data)
    if workflow.is_completed():
        facts.update(workflow.data)
    return facts


def instance_facts(row: ProcessInstance) -> InstanceFacts:
    """The plain facts of an instance row."""
    return InstanceFacts(id=row.id, process_key=row.process_key, business_key=row.business_key,
                         status=row.status, started_by=row.started_by,
                         started_at=row.started_at, ended_at=row.ended_at,
                         row_version=row.row_version)


def summarise(row: ProcessInstance, workflow: BpmnWorkflow, finished_before: frozenset[UUID],
              opened: tuple[TaskRecord, ...], now: datetime) -> SaveSummary:
    """The summary of a save the hooks are called with."""
    return SaveSummary(instance=instance_facts(row),
                       finished=finished_steps(workflow, finished_before), opened=opened,
                       process_data=MappingProxyType(workflow.data), now=now,
                       _facts=lambda: process_facts(workflow))
