"""Starting a process by hand: which processes are offered, who may start them, the start form.

**What is offered** (发起流程, the API's POST /instances): a deployed process whose none start
event a person can start from its form. Never offered, and refused when asked for
(`NotStartableError`, a 403):

- a process that another deployed process calls (`calledElement` of a call activity): its
  data come from the caller — unless its start event says `startable=true` (below): the
  issue lifecycle is called when a commitment fails and registered by hand from its form;
- a process whose none start event says so with the designer's convention, an extension
  property on the start event (Camunda Modeler: the start event's "Extension properties")::

      <camunda:properties><camunda:property name="startable" value="false" /></camunda:properties>

  — for processes the system starts (a schedule, a save hook such as the monthly plates
  starting a plate follow-up) with data no form provides; `value="true"` offers a process
  that another also calls (its start form must then ask for what the caller gives). Such a start event should also
  declare the data its starter gives, `<camunda:property name="sets" value="project_code,
  month" />`, so the lint knows those names are set;
- a process with no none start event (only timer, message or signal starts).

The lint warns (`start-form`) when a start offered to people has no form field for the data
its process reads; the designer then adds form fields (pickers, engine/bpm/pickers.py) or
marks the start `startable=false`.

**Who may start**: the process's `camunda:candidateStarterGroups` / `candidateStarterUsers`
(Camunda's own attributes, in the Modeler under "Candidate starter") when it has them — a
group is a role code or its Chinese label, a role at a unit (`approver@sthj`) or a unit
(`unit:sthj`); otherwise anyone in the lane that holds the start event (lane names are role
codes or their Chinese labels), or anyone when the start event is in no lane.

**The start form** is the start event's `camunda:formData`, read from the deployed XML into
the same shape as a user task's form (its `businessKey` attribute names the field that is
the business key when the starter gives none); submitted data are validated against it, picker fields
against their lists for the person starting, and the facts of picked choices (a project's
name, field, units) are added under the names the form does not set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree
from sqlalchemy import select

from . import pickers, runtime
from ..core.errors import NotFoundError, PermissionDeniedError, TaskDataError
from .form_files import checked_files
from .forms import form_of, text_problem, validate_task_data
from ..core.workcalendar import local_date
from ..core.identity import Actor
from ..core.models import Deployment
from ..core.organisation import role_code
from ..core.uow import UnitOfWork
from .starts import (
    BPMN, CAMUNDA, called_processes, none_start_events, startable_mark, starter_groups,
    starter_users,
)
from .xmlsafe import parse_definition_xml

MAX_BUSINESS_KEY = 200  # the column's length


class NotStartableError(PermissionDeniedError):
    """The process is started by the system or by another process, not by hand."""


@dataclass(frozen=True)
class StartableProcess:
    """A deployed process as the start page lists it."""

    key: str
    name: str
    version: int
    lane: str | None
    form: dict
    starter_groups: tuple[str, ...] = ()
    starter_users: tuple[str, ...] = ()
    by_hand: bool = True  # a none start event not marked startable=false
    calls: frozenset[str] = frozenset()
    also_called: bool = False  # marked startable=true: offered although another calls it


@dataclass(frozen=True)
class _Start:
    lane: str | None
    form: dict
    starter_groups: tuple[str, ...]
    starter_users: tuple[str, ...]
    by_hand: bool
    calls: frozenset[str]
    also_called: bool = False


# How each deployed process starts, by (content hash, key, file name): parsed once.
_STARTS: dict[tuple[str, str, str], _Start] = {}
_STARTS_KEPT = 256


def _start_for(deployment: Deployment) -> _Start:
    """How a deployment's process starts, cached by content hash: its XML (a deferred column)
    is read and parsed only the first time, not at every start and every list of processes."""
    cache_key = (deployment.sha256, deployment.key, deployment.filename)
    start = _STARTS.get(cache_key)
    if start is None:
        start = _start_of(deployment.xml, deployment.key, deployment.filename)
        if len(_STARTS) >= _STARTS_KEPT:
            _STARTS.pop(next(iter(_STARTS)), None)
        _STARTS[cache_key] = start
    return start


def _start_of(xml: str, key: str, filename: str) -> _Start:
    """How a process starts: lane, form, starters, by hand, calls."""
    root = parse_definition_xml(xml.encode("utf-8"), filename).root
    calls = called_processes(root)
    process = next((p for p in root.findall(f"{BPMN}process") if p.get("id") == key), None)
    if process is None:
        return _Start(None, {}, (), (), False, calls)
    groups, users = starter_groups(process), starter_users(process)
    events = none_start_events(process)
    if not events:
        return _Start(None, {}, groups, users, False, calls)
    event = events[0]
    lane = next((lane.get("name") for lane in process.iter(f"{BPMN}lane")
                 if event.get("id") in {r.text.strip() for r in lane.findall(f"{BPMN}flowNodeRef")
                                        if r.text}), None)
    mark = startable_mark(event)
    return _Start(lane, form_of(event), groups, users, mark is not False, calls, mark is True)


def _describe(deployment: Deployment) -> StartableProcess:
    start = _start_for(deployment)
    return StartableProcess(deployment.key, deployment.name or deployment.key,
                            deployment.version, start.lane, start.form, start.starter_groups,
                            start.starter_users, start.by_hand, start.calls,
                            start.also_called)


def start_form(deployment: Deployment) -> dict:
    """The start event's form of a deployed process ({} when it has none)."""
    return _describe(deployment).form


def may_start(process: StartableProcess, actor: Actor) -> bool:
    """Whether the actor is a candidate starter, else in the start event's lane (or it is in none)."""
    if process.starter_groups or process.starter_users:
        return actor.username in process.starter_users or any(
            group in actor.groups or role_code(group) in actor.groups
            for group in process.starter_groups)
    return process.lane is None or role_code(process.lane) in actor.groups \
        or process.lane in actor.groups


def _latest_processes(uow: UnitOfWork) -> list[StartableProcess]:
    deployments = uow.session.execute(select(Deployment).where(
        Deployment.kind == "process", Deployment.is_latest.is_(True))
        .order_by(Deployment.name, Deployment.key)).scalars()
    return [_describe(d) for d in deployments]


def latest_start_forms(session) -> dict[str, dict]:
    """The start form of each deployed process's latest version, by process key."""
    deployments = session.execute(select(Deployment).where(
        Deployment.kind == "process", Deployment.is_latest.is_(True))).scalars()
    return {d.key: _describe(d).form for d in deployments}


def why_not_startable(process: StartableProcess, called: set[str] | frozenset[str]) -> str | None:
    """Why a process is not started by hand (called by another, marked, no none start), or None."""
    if process.key in called and not process.also_called:
        return "it is called by another process, which gives it its data"
    if not process.by_hand:
        return ("its start event is marked startable=false or it has none: the system starts "
                "it")
    return None


def startable_processes(uow: UnitOfWork, actor: Actor) -> list[StartableProcess]:
    """The latest deployed processes the actor may start by hand, by name."""
    processes = _latest_processes(uow)
    called = frozenset().union(*(p.calls for p in processes))
    return [p for p in processes
            if why_not_startable(p, called) is None and may_start(p, actor)]


def startable_process(uow: UnitOfWork, key: str, actor: Actor) -> StartableProcess:
    """One process the actor may start by hand; NotFoundError, NotStartableError or
    PermissionDeniedError otherwise."""
    processes = {p.key: p for p in _latest_processes(uow)}
    process = processes.get(key)
    if process is None:
        raise NotFoundError(f"no process is deployed under the key '{key}'")
    called = frozenset().union(*(p.calls for p in processes.values()))
    reason = why_not_startable(process, called)
    if reason:
        raise NotStartableError(f"process '{key}' is not started by hand: {reason}")
    if not may_start(process, actor):
        who = ", ".join(process.starter_groups + process.starter_users) or process.lane
        raise PermissionDeniedError(f"process '{key}' is started by {who}, "
                                    f"which {actor.username} is not")
    return process


def start_with_form(uow: UnitOfWork, key: str, actor: Actor, *, business_key: str | None,
                    data: dict[str, Any] | None = None) -> runtime.InstanceView:
    """Check the actor may start the process, validate the start form, and start it."""
    # The write is declared before the first read: on SQLite a read transaction cannot
    # become a write once another process has committed ("database is locked").
    uow.begin_write()
    process = startable_process(uow, key, actor)
    business_key = (business_key or "").strip() or None
    if business_key is not None:
        problem = text_problem(business_key)
        if len(business_key) > MAX_BUSINESS_KEY:
            problem = f"Longer than maximum length {MAX_BUSINESS_KEY}."
        if problem:
            raise TaskDataError(f"business key: {problem}", {"business_key": [problem]})
    checked = validate_task_data(process.form, dict(data or {}), pickers.checker(uow, actor),
                                 today=local_date(uow.clock.now()))
    if business_key is None and process.form.get("key"):
        # Camunda's `<camunda:formData businessKey="project_code">`: the field that is the
        # business key when none is given (a permit request is its project's).
        value = checked.get(process.form["key"])
        business_key = str(value)[:MAX_BUSINESS_KEY] if value not in (None, "") else None
    files = checked_files(uow, process.form, checked, actor)
    facts = pickers.facts_of(uow, actor, process.form, checked)
    return runtime.start_instance(uow, key, actor, business_key=business_key,
                                  data={**facts, **checked}, files=files)
