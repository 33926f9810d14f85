"""Dry run: a process run with chosen data and simulated users, away from real instances.

Two ways in: a deployed version with a list of steps (`dry_run`), and the editor's draft —
an undeployed file — with steps that complete tasks and move time forward (`rehearse_draft`),
so timers, due dates, reminders and escalations can be watched before the draft is deployed.

The definition and the latest versions of what it calls are copied into a throwaway database
(a SQLite file in a temporary folder, deleted afterwards) on a clock of its own; the instance
is started there. Nothing is written to the real database, and no audit event of the run
reaches the real log. A draft is untrusted: it meets every deploy check, each engine call its
CPU budget (engine/bpm/budget.py), and the run as a whole the limits below.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select

from ..bpm import definitions, inbox, runtime, task_actions
from ..bpm.definition_admin import deployment_of
from ..bpm.projection import OPEN_STATES
from ..bpm.sla import sla_state
from ..bpm.timers import fire_due_timers, next_due_time
from ..core.calendar_admin import load_calendar
from ..core.clock import FrozenClock, as_utc
from ..core.errors import GongjianError
from ..core.identity import Actor
from ..core.models import HumanTask, ProcessInstance, TimerJob
from ..core.workcalendar import SHANGHAI
from .platform import Platform
from ..core.uow import UnitOfWork

# Limits of one rehearsal of a draft (which nobody has reviewed yet).
MAX_ACTIONS = 60               # steps after the start
MAX_MOVED = timedelta(days=400)  # time moved forward in all
MAX_FIRINGS = 200              # timers fired in all
CPU_SECONDS = 15.0             # CPU time of the whole rehearsal (a measure of work)
WAIT_SECONDS = 30.0            # and its duration, waits for the disk included (a web request)
# A memory-backed folder for the throwaway database where there is one: a rehearsal commits
# once a fired timer, and waiting for the disk would be most of its time.
_FAST_FOLDER = Path("/dev/shm")


@dataclass(frozen=True)
class SimulatedStep:
    """Complete the first ready task (of `element_id`, if given) as a user in `groups`."""

    groups: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)
    element_id: str | None = None


@dataclass(frozen=True)
class StepResult:
    """What one step did and where the run then waits."""

    completed: str | None
    waiting_at: tuple[str, ...]
    status: str
    data: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class DryRunReport:
    """The whole run: the start, then one result per step."""

    key: str
    version: int
    steps: list[StepResult]


def _files_for(uow: UnitOfWork, key: str, version: int) -> list[tuple[str, bytes]]:
    dep = deployment_of(uow, key, version)
    files, seen, queue = [], set(), [dep]
    while queue:
        current = queue.pop()
        if current.key in seen:
            continue
        seen.add(current.key)
        files.append((current.filename, current.xml.encode("utf-8")))
        for needed in current.requires:
            latest = definitions.latest_deployment(uow.session, needed)
            if latest is not None:
                queue.append(latest)
    return list(reversed(files))


def _snapshot(uow: UnitOfWork, instance_id: int, actor: Actor, completed: str | None,
              error: str | None = None) -> StepResult:
    view = runtime.get_instance(uow, instance_id)
    waiting = tuple(t.element_id for t in inbox.list_tasks(uow, actor)
                    if t.instance_id == instance_id)
    return StepResult(completed, waiting, view.status, view.data, error)


def dry_run(source: UnitOfWork, key: str, version: int, data: dict[str, Any],
            steps: list[SimulatedStep], *, clock=None) -> DryRunReport:
    """Run `key` version `version` in a throwaway database; the results of start and steps."""
    files = _files_for(source, key, version)
    with tempfile.TemporaryDirectory(prefix="gongjian-dry-run-") as folder:
        platform = Platform(f"sqlite:///{Path(folder) / 'dry_run.db'}", clock or source.clock)
        try:
            platform.upgrade()
            return _run(platform, files, key, version, data, steps)
        finally:
            platform.close()


def _run(platform: Platform, files, key: str, version: int, data: dict,
         steps: list[SimulatedStep]) -> DryRunReport:
    everyone = Actor("dry-run", frozenset(g for s in steps for g in s.groups))
    with platform.uow() as uow:
        definitions.deploy_files(uow, files, "dry-run")
    with platform.uow() as uow:
        instance = runtime.start_instance(uow, key, everyone, data=data).id
    results = []
    with platform.uow() as uow:
        results.append(_snapshot(uow, instance, everyone, None))
    for step in steps:
        actor = Actor("dry-run", frozenset(step.groups))
        with platform.uow() as uow:
            ready = [t for t in inbox.list_tasks(uow, actor) if t.instance_id == instance
                     and (step.element_id is None or t.element_id == step.element_id)]
            if not ready:
                results.append(_snapshot(uow, instance, everyone, None,
                                         f"no ready task for groups {sorted(step.groups)}"))
                break
            task = ready[0]
            try:
                task_actions.claim(uow, task.id, actor)
                task_actions.complete(uow, task.id, actor, step.data)
                error = None
            except GongjianError as exc:
                error = str(exc)
        with platform.uow() as uow:
            results.append(_snapshot(uow, instance, everyone, task.element_id, error))
        if error:
            break
    return DryRunReport(key, version, results)


# ---------------------------------------------------------------- the editor's draft

@dataclass(frozen=True)
class CompleteTask:
    """办理: complete the open task of `element_id` as someone it is offered to."""

    element_id: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MoveTime:
    """时间前进: move the clock forward; timers that fall due on the way fire in due order."""

    hours: int = 0
    days: int = 0
    working_days: int = 0


@dataclass(frozen=True)
class OpenTask:
    """A task open after a step: where, offered to whom, due when and how it stands."""

    element_id: str
    name: str
    candidates: tuple[str, ...]
    assignee: str | None
    due_at: datetime | None
    sla: str | None  # on_time, due_soon, overdue (engine/bpm/sla.py), None without a due time


@dataclass(frozen=True)
class FiredTimer:
    """A timer that fired during a step, at its due time."""

    element_id: str
    name: str
    due_at: datetime


@dataclass(frozen=True)
class RehearsalStep:
    """One step of a rehearsal: what was done, the time after it, and what it led to."""

    action: str  # start, complete, move
    subject: str | None  # the task's element id, or how far time moved ("+1h", "+2d", "+1wd")
    at: datetime
    status: str
    tasks: tuple[OpenTask, ...]
    fired: tuple[FiredTimer, ...] = ()
    timers: tuple[FiredTimer, ...] = ()  # timers still waiting, with their due times
    error: str | None = None


@dataclass(frozen=True)
class Rehearsal:
    """A draft run from its start through the steps; `stopped` says why it ended early."""

    key: str
    steps: list[RehearsalStep]
    stopped: str | None = None


def rehearse_draft(source: UnitOfWork, filename: str, data: bytes, start_data: dict[str, Any],
                   actions: list[CompleteTask | MoveTime]) -> Rehearsal:
    """Deploy a draft in a throwaway database, start it, and take the steps; raises
    DefinitionError (with its findings) when the draft would not deploy."""
    if len(actions) > MAX_ACTIONS:
        raise ValueError(f"at most {MAX_ACTIONS} steps")
    checked = definitions.check_file(data, filename)
    if checked.document.kind != "bpmn":
        raise ValueError("only a process can be rehearsed")
    files = _needed_files(source, checked) + [(filename, data)]
    names = {el.get("id"): el.get("name") or el.get("id")
             for el in checked.document.root.iter(etree.Element) if el.get("id")}
    clock = FrozenClock(source.clock.now())
    with _throwaway(clock) as platform:
        with platform.uow() as uow:
            definitions.deploy_files(uow, files, "dry-run")
        return _Rehearsal(platform, clock, names).run(checked.key, start_data, actions)


def _needed_files(source: UnitOfWork, checked) -> list[tuple[str, bytes]]:
    """The latest deployed files the draft calls, and what they call in turn."""
    needs = definitions.requirements_of(checked.document)
    files: list[tuple[str, bytes]] = []
    seen = {checked.key}
    for key in (*needs.processes, *needs.decisions):
        dep = definitions.latest_deployment(source.session, key)
        if dep is None or key in seen:
            continue  # the deploy below names what is missing
        for name, xml in _files_for(source, key, dep.version):
            if name not in {f for f, _ in files}:
                files.append((name, xml))
        seen.add(key)
    return files


@contextlib.contextmanager
def _throwaway(clock: FrozenClock) -> Iterator[Platform]:
    fast = _FAST_FOLDER if _FAST_FOLDER.is_dir() and os.access(_FAST_FOLDER, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="gongjian-draft-", dir=fast) as folder:
        platform = Platform(f"sqlite:///{Path(folder) / 'draft.db'}", clock)
        try:
            platform.upgrade()
            yield platform
        finally:
            platform.close()


class _Rehearsal:
    """The steps of one rehearsal on its throwaway platform and clock."""

    def __init__(self, platform: Platform, clock: FrozenClock, names: dict[str, str]):
        self.platform, self.clock, self.names = platform, clock, names
        self.began = time.thread_time()
        self.started = time.monotonic()
        self.moved = timedelta()
        self.firings = 0

    def run(self, key: str, start_data: dict[str, Any],
            actions: list[CompleteTask | MoveTime]) -> Rehearsal:
        starter = Actor("dry-run")
        with self.platform.uow() as uow:
            self.instance = runtime.start_instance(uow, key, starter, data=start_data).id
        steps = [self._step("start", None)]
        for action in actions:
            stopped = self._over_budget()
            if stopped:
                return Rehearsal(key, steps, stopped)
            if isinstance(action, MoveTime):
                steps.append(self._move(action))
            else:
                steps.append(self._complete(action))
            if steps[-1].error:
                return Rehearsal(key, steps, steps[-1].error)
        return Rehearsal(key, steps)

    def _over_budget(self) -> str | None:
        if (time.thread_time() - self.began > CPU_SECONDS
                or time.monotonic() - self.started > WAIT_SECONDS):
            return "试运行用时过长，已停止；请少前进一些时间或减少步骤"
        if self.firings >= MAX_FIRINGS:
            return f"定时器已触发 {MAX_FIRINGS} 次，已停止"
        return None

    def _complete(self, action: CompleteTask) -> RehearsalStep:
        with self.platform.uow() as uow:
            task = uow.session.execute(
                select(HumanTask).where(HumanTask.instance_id == self.instance,
                                        HumanTask.element_id == action.element_id,
                                        HumanTask.state.in_(OPEN_STATES))
                .order_by(HumanTask.created_at)).scalars().first()
            if task is None:
                return self._step("complete", action.element_id,
                                  error=f"“{self._name(action.element_id)}”现在没有待办")
            actor = _offered_to(task)
            try:
                if task.assignee != actor.username:
                    task_actions.claim(uow, task.id, actor)
                task_actions.complete(uow, task.id, actor, action.data)
                error = None
            except GongjianError as exc:
                error = str(exc)
        return self._step("complete", action.element_id, error=error)

    def _move(self, action: MoveTime) -> RehearsalStep:
        now = self.clock.now()
        target = now + timedelta(hours=action.hours, days=action.days)
        if action.working_days:
            with self.platform.uow() as uow:
                calendar = load_calendar(uow.session)
            day = now.astimezone(SHANGHAI).date()
            for _ in range(action.working_days):
                day = calendar.next_working_day(day)
            local = now.astimezone(SHANGHAI)
            target = datetime.combine(day, local.timetz()).astimezone(now.tzinfo)
        subject = "+" + " ".join(part for part in (
            f"{action.hours}h" if action.hours else "", f"{action.days}d" if action.days else "",
            f"{action.working_days}wd" if action.working_days else "") if part)
        if self.moved + (target - now) > MAX_MOVED:
            return self._step("move", subject,
                              error=f"试运行最多前进 {MAX_MOVED.days} 天")
        self.moved += target - now
        fired, error = self._fire_until(target)
        self.clock.set(target)
        return self._step("move", subject, fired=fired, error=error)

    def _fire_until(self, target: datetime) -> tuple[tuple[FiredTimer, ...], str | None]:
        """Fire the timers due by `target` one due time after another, in due order."""
        fired: list[FiredTimer] = []
        while self.firings < MAX_FIRINGS and not self._over_budget():
            due = next_due_time(self.platform.uow)
            if due is None or as_utc(due) > target:
                return tuple(fired), None
            self.clock.set(max(as_utc(due), self.clock.now()))
            with self.platform.uow() as uow:
                jobs = {j.id: (j.element_id, as_utc(j.due_at)) for j in uow.session.execute(
                    select(TimerJob).where(TimerJob.instance_id == self.instance)).scalars()}
            report = fire_due_timers(self.platform.uow, limit=MAX_FIRINGS - self.firings)
            self.firings += len(report.fired)
            fired += [FiredTimer(jobs[j][0], self._name(jobs[j][0]), jobs[j][1])
                      for j in report.fired if j in jobs]
            if report.failed:
                failing = jobs.get(report.failed[0], (report.failed[0],))[0]
                return tuple(fired), f"定时器“{self._name(failing)}”触发时出错"
            if not report.fired:
                return tuple(fired), None
        return tuple(fired), self._over_budget()

    def _step(self, action: str, subject: str | None, *, fired: tuple[FiredTimer, ...] = (),
              error: str | None = None) -> RehearsalStep:
        with self.platform.uow() as uow:
            now = self.clock.now()
            calendar = load_calendar(uow.session)
            status = uow.session.get(ProcessInstance, self.instance).status
            rows = uow.session.execute(
                select(HumanTask).where(HumanTask.instance_id == self.instance,
                                        HumanTask.state.in_(OPEN_STATES))
                .order_by(HumanTask.created_at)).scalars().all()
            tasks = tuple(OpenTask(
                t.element_id, t.name, tuple(sorted(c.name for c in t.candidates)), t.assignee,
                t.due_at, (state := sla_state(t.due_at, now, calendar)) and state.state)
                for t in rows)
            timers = tuple(FiredTimer(j.element_id, self._name(j.element_id), as_utc(j.due_at))
                           for j in uow.session.execute(
                               select(TimerJob).where(TimerJob.instance_id == self.instance)
                               .order_by(TimerJob.due_at)).scalars())
        return RehearsalStep(action, subject, now, status, tasks, fired, timers, error)

    def _name(self, element_id: str) -> str:
        return self.names.get(element_id) or element_id


def _offered_to(task: HumanTask) -> Actor:
    """Someone the task is offered to: its holder, a candidate user, or its groups' member."""
    users = [c.name for c in task.candidates if c.kind == "user"]
    groups = frozenset(c.name for c in task.candidates if c.kind == "group")
    return Actor(task.assignee or (users[0] if users else "dry-run"), groups)


__all__ = ["SimulatedStep", "StepResult", "DryRunReport", "dry_run", "CompleteTask", "MoveTime",
           "OpenTask", "FiredTimer", "RehearsalStep", "Rehearsal", "rehearse_draft"]
