"""The matter of a task: what the person deciding needs to see, and why it came back.

**Which variables a task shows.** A user task names them with one extension property
(Camunda Modeler: the task's *Extension properties*)::

    <camunda:properties>
      <camunda:property name="gongjian:matter" value="title,instruction,assign_note" />
    </camunda:properties>

The value lists process variables, comma-separated, in the order shown; `name=标签` gives a
label to a variable that no form field of the process labels (`item_name=审批事项`). Without
the property, the caller's defaults for the task or its process apply (the county's are in
engine/county/matter.py), and without those every labelled variable that has a value, in
the order of the process's forms, except the task's own fields.

**Labels and values.** A variable's label is the `label` of its form field anywhere in the
process or the processes it calls (or of the caller's vocabulary); an enum value is shown by
its name; a picked unit, person or project keeps its picker, so the display layer names it.
A variable without a label is not shown (its name is no word for a page).

**Why it came back.** A step is back when a person returned it (退回, with the opinion),
when the choice of the step before it flows back to it in the diagram (审核结论 退回重办 and
its 审核意见, with the fields that step submitted), or when it ran before on its path (an
escalation gives the new rung its reason). The task's own fields as last submitted are shown
beside it.

Read-only: the instance is restored (never saved) for the task's data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from ..core.audit import history
from ..core.models import HumanTask, ProcessInstance, TimerJob
from ..core.uow import UnitOfWork
from . import runtime
from .outcomes import Outcome, STEPS, depths, outcomes
from .projection import OPEN_STATES, load_tasks
from .process_model import Node, ProcessModel, Variable, instance_model

MATTER = "gongjian:matter"  # the user task's extension property naming what it shows
# Events that bring a step back: the completion whose choice led back, a 退回, a 撤回, or an
# action on the instance with a reason (an escalation, a message).
_CAUSES = ("task_completed", "task_returned", "task_withdrawn", "escalated",
           "message_received", "signal_received")


@dataclass(frozen=True)
class Defaults:
    """What a task shows when it names nothing: variable names by "process:element" or by
    process, and the labels of variables that no form field labels."""

    shown: Mapping[str, Sequence[str]] = field(default_factory=dict)
    vocabulary: Mapping[str, Variable] = field(default_factory=dict)


NO_DEFAULTS = Defaults()


@dataclass(frozen=True)
class Shown:
    """A variable as the matter shows it: label, raw value and how to name the value."""

    name: str
    label: str
    value: Any
    variable: Variable


@dataclass(frozen=True)
class CameBack:
    """Why a step is to be done again: how (`returned`, `again`, or the audit action), the
    step or action that sent it, who and when, the opinion and the fields submitted."""

    how: str
    step: str | None
    actor: str
    on_behalf_of: str | None
    at: datetime
    opinion: str | None
    fields: tuple[Shown, ...] = ()


@dataclass(frozen=True)
class Matter:
    """What a task is about: the business object's fields, why it came back, the task's own
    fields as last submitted, and what happens after each choice."""

    fields: tuple[Shown, ...]
    came_back: CameBack | None
    earlier: tuple[Shown, ...]
    outcomes: tuple[Outcome, ...]


def parse_property(text: str) -> list[tuple[str, str | None]]:
    """The (variable, label or None) pairs of a `gongjian:matter` value."""
    pairs = []
    for part in (text or "").replace("，", ",").split(","):
        name, _, label = part.partition("=")
        if name.strip():
            pairs.append((name.strip(), label.strip() or None))
    return pairs


def _wanted(node: Node, model: ProcessModel, defaults: Defaults, data: Mapping[str, Any]
            ) -> list[tuple[str, str | None]]:
    if MATTER in node.properties:
        return parse_property(node.properties[MATTER])
    for key in (f"{node.process}:{node.id}", node.process):
        if key in defaults.shown:
            return [(name, None) for name in defaults.shown[key]]
    return [(name, None) for name in model.variables
            if name not in node.form and name in data]


def _variable(name: str, label: str | None, model: ProcessModel, defaults: Defaults
              ) -> Variable | None:
    known = defaults.vocabulary.get(name) or model.variables.get(name)
    if label:
        return Variable(name, label, *(
            (known.type, known.options, known.picker) if known else ()))
    return known if known is not None and known.label else None


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def shown(pairs, model: ProcessModel, defaults: Defaults, data: Mapping[str, Any]
          ) -> tuple[Shown, ...]:
    """The variables of the pairs that have a value and a label, in order."""
    result = []
    for name, label in pairs:
        variable = _variable(name, label, model, defaults)
        if variable is None or not _present(data.get(name)):
            continue
        result.append(Shown(name, variable.label, data[name], variable))
    return tuple(result)


# Workflows restored for reading, by unit of work and (instance, row version): a task page
# reads the matter, the timeline's subjects and who acts next from one restore.
_RESTORED: WeakKeyDictionary = WeakKeyDictionary()


def restored(uow: UnitOfWork, row: ProcessInstance):
    """The instance's workflow for reading, restored once per unit of work and row version
    (never saved: callers only read it)."""
    cache = _RESTORED.setdefault(uow, {})
    key = (row.id, row.row_version)
    if key not in cache:
        cache[key] = runtime.restore(uow.session, row)
    return cache[key]


def _live_task(uow: UnitOfWork, row: ProcessInstance, spiff_task_id: str):
    """The restored workflow and the task in it (None when it is no longer in the state)."""
    workflow = restored(uow, row)
    return workflow, find_task(workflow, spiff_task_id)


def find_task(workflow, spiff_task_id: str):
    """The live task of this id, or None when the state no longer holds it (compacted)."""
    try:
        return workflow.get_task_from_id(UUID(spiff_task_id))
    except (ValueError, TaskNotFoundException):
        return None


def data_of(workflow, task) -> dict[str, Any]:
    """The data a task sees (the instance's data when the task is no longer in its state)."""
    if task is None:
        return dict(workflow.data)
    data = dict(task.parent.data) if task.parent is not None and not task.data else {}
    data.update(task.data)
    return data


def ran_before(task) -> bool:
    """Whether the task's element, or a sub-process holding it, ran earlier on its path.

    The ancestors are walked up through the sub-processes to the top; compaction keeps the
    nearest earlier run of each element (engine/bpm/compaction.py), so a loop is seen. A
    task still running (a multi-instance parent) is no earlier run.
    """
    element = task.task_spec.bpmn_id
    holders: set[str] = set()
    node = task.parent
    while node is not None:
        bpmn_id = getattr(node.task_spec, "bpmn_id", None)
        finished = node.state in (TaskState.COMPLETED, TaskState.CANCELLED)
        if finished and bpmn_id is not None and (bpmn_id == element or bpmn_id in holders):
            return True
        # An activity an interrupting boundary event cut short hangs beside the path.
        if any(c.state == TaskState.CANCELLED
               and getattr(c.task_spec, "bpmn_id", None) in holders | {element}
               for c in node.children):
            return True
        if node.parent is None:  # the top of a sub-process: on from the task running it
            workflow = node.workflow
            parent_id = getattr(workflow, "parent_task_id", None)
            node = (workflow.top_workflow.get_task_from_id(parent_id)
                    if parent_id is not None and workflow is not workflow.top_workflow
                    else None)
            if node is not None and getattr(node.task_spec, "bpmn_id", None):
                holders.add(node.task_spec.bpmn_id)
                node = node.parent
            continue
        node = node.parent
    return False


def matter_of(uow: UnitOfWork, task: HumanTask, defaults: Defaults = NO_DEFAULTS) -> Matter:
    """The matter of a task row, with the caller's defaults (see the module's docstring)."""
    row = uow.session.get(ProcessInstance, task.instance_id)
    model = instance_model(uow, row)
    node = model.nodes.get(task.element_id)
    workflow, live = _live_task(uow, row, task.spiff_task_id)
    data = data_of(workflow, live)
    if node is None:
        return Matter((), None, (), ())
    came_back = _came_back(uow, task, model, defaults,
                           again=live is not None and ran_before(live))
    own = shown([(name, None) for name in node.form], model, defaults, data) \
        if came_back is not None else ()
    wanted = [(name, label) for name, label in _wanted(node, model, defaults, data)
              if name not in node.form]
    return Matter(
        fields=shown(wanted, model, defaults, data), came_back=came_back, earlier=own,
        outcomes=tuple(outcomes(model, task.element_id, data)))


def _came_back(uow: UnitOfWork, task: HumanTask, model: ProcessModel, defaults: Defaults,
               *, again: bool) -> CameBack | None:
    """The event that brought the task's step back (see the module's docstring): a 退回 to
    it; the completion whose choice led back to it (a flow back in the diagram); or — when
    its step ran before on its path (`again`) — the last completion or action with a reason
    before it was created."""
    events = history(uow.session, instance_id=task.instance_id)
    created = next((i for i, e in enumerate(events)
                    if e.action == "task_created" and e.task_id == task.id), len(events))
    # An escalation is recorded by the save hooks just after the tasks it opened.
    for event in events[created + 1:] if created < len(events) else ():
        if event.at != events[created].at:
            break
        if again and event.action == "escalated":
            detail = json.loads(event.detail or "{}")
            return CameBack("escalated", None, event.actor, detail.get("on_behalf_of"),
                            event.at, detail.get("why"))
    decided: dict[str, dict] = {}
    for event in events[:created]:
        if event.action == "task_decided":
            decided[event.task_id] = json.loads(event.detail or "{}")
    for event in reversed(events[:created]):
        if event.action not in _CAUSES:
            continue
        detail = json.loads(event.detail or "{}")
        if event.action == "task_returned" and detail.get("to") == task.element_id:
            return CameBack("returned", detail.get("name"), event.actor,
                            detail.get("on_behalf_of"), event.at, detail.get("opinion"))
        if event.action == "task_completed":
            sender = model.nodes.get(detail.get("element") or "")
            if sender is None or not leads_to(model, sender, task.element_id) or not (
                    again or goes_back(model, sender, task.element_id)):
                return None
            data = detail.get("data") or {}
            fields = shown([(name, None) for name in sender.form], model, defaults, data)
            opinion = (decided.get(event.task_id) or {}).get("opinion")
            return CameBack("again", detail.get("name"), event.actor,
                            detail.get("on_behalf_of"), event.at, opinion, fields)
        payload = detail.get("payload") if isinstance(detail.get("payload"), dict) else {}
        if not again:
            return None
        return CameBack(event.action, None, event.actor, detail.get("on_behalf_of"), event.at,
                        detail.get("why") or detail.get("reason") or detail.get("opinion")
                        or payload.get("reason"))
    return None


def goes_back(model: ProcessModel, sender: Node, element_id: str) -> bool:
    """Whether the element lies before the sender in the diagram (a flow back, 回到)."""
    depth = depths(model, sender.process)
    return element_id in depth and sender.id in depth and (
        element_id == sender.id or depth[element_id] < depth[sender.id])


def leads_to(model: ProcessModel, start: Node, element_id: str) -> bool:
    """Whether the element is reached from `start` without passing another step of people."""
    seen, queue = set(), [start]
    while queue:
        node = queue.pop()
        for flow_id in node.outgoing:
            flow = model.flows.get(flow_id)
            target = model.nodes.get(flow.target) if flow else None
            if target is None or target.id in seen:
                continue
            if target.id == element_id:
                return True
            seen.add(target.id)
            if target.kind in STEPS:
                continue
            if target.kind in ("subProcess", "transaction"):
                queue.extend(model.starts_of(target.id))
            elif target.kind == "endEvent" and target.container in model.nodes:
                queue.append(model.nodes[target.container])
            else:
                queue.append(target)
    return False


@dataclass(frozen=True)
class OpenStep:
    """An open task of an instance: who holds it, its deadline, and what tells it apart from
    open tasks of the same name (the permit item of each of four 代办申报)."""

    task: runtime.TaskView
    subject: Shown | None
    working_days: int | None


def open_steps(uow: UnitOfWork, instance_id: int, defaults: Defaults = NO_DEFAULTS
               ) -> list[OpenStep]:
    """The instance's open tasks, oldest first, each with its subject when names repeat."""
    ids = list(uow.session.execute(
        select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                   HumanTask.state.in_(OPEN_STATES))
        .order_by(HumanTask.created_at, HumanTask.name, HumanTask.id)).scalars())
    records = load_tasks(uow.session, ids, uow.clock.now())
    rows = [records[i] for i in ids if i in records]
    subjects = subjects_of(uow, instance_id, rows, defaults)
    return [OpenStep(runtime.task_view(r), subjects.get(r.id), r.due_working_days)
            for r in rows]


def subjects_of(uow: UnitOfWork, instance_id: int, rows, defaults: Defaults = NO_DEFAULTS
                ) -> dict[str, Shown]:
    """Task id → the first shown field that tells apart tasks of the same name (for the rows
    whose name another row shares and whose task is still in the instance's state)."""
    by_name: dict[str, list] = {}
    for r in rows:
        by_name.setdefault(r.name, []).append(r)
    repeated = [group for group in by_name.values() if len(group) > 1]
    if not repeated:
        return {}
    row = uow.session.get(ProcessInstance, instance_id)
    model = instance_model(uow, row)
    workflow = restored(uow, row)
    result: dict[str, Shown] = {}
    for group in repeated:
        fields: dict[str, dict[str, Shown]] = {}
        for task in group:
            node = model.nodes.get(task.element_id)
            live = find_task(workflow, task.spiff_task_id)
            if node is None or live is None:
                continue
            data = data_of(workflow, live)
            fields[task.id] = {s.name: s for s in shown(
                _wanted(node, model, defaults, data), model, defaults, data)}
        names = [n for f in fields.values() for n in f]
        for name in dict.fromkeys(names):
            values = [repr(f[name].value) if name in f else None for f in fields.values()]
            if len(set(values)) > 1:
                result.update({task_id: f[name] for task_id, f in fields.items() if name in f})
                break
    return result


@dataclass(frozen=True)
class Waiting:
    """A timer the instance waits on: the event's name and when it fires."""

    element_id: str
    name: str | None
    due_at: datetime


def waiting_timers(uow: UnitOfWork, instance_id: int) -> list[Waiting]:
    """The instance's waiting timers, soonest first, named by their events in the diagram."""
    row = uow.session.get(ProcessInstance, instance_id)
    if row is None:
        return []
    jobs = uow.session.execute(select(TimerJob).where(TimerJob.instance_id == instance_id)
                               .order_by(TimerJob.due_at)).scalars().all()
    if not jobs:
        return []
    model = instance_model(uow, row)
    return [Waiting(job.element_id, model.nodes[job.element_id].name
                    if job.element_id in model.nodes else None, job.due_at) for job in jobs]
