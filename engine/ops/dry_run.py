"""Dry run: a process version run with chosen data and simulated users, away from real instances.

The version and the latest versions of what it calls are copied into a throwaway database (a
SQLite file in a temporary folder, deleted afterwards); the instance is started there and each
step completes one ready task as a simulated user of the given groups. Nothing is written to
the real database, and no audit event of the run reaches the real log.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bpm import definitions, inbox, runtime, task_actions
from ..bpm.definition_admin import deployment_of
from ..core.errors import GongjianError
from ..core.identity import Actor
from .platform import Platform
from ..core.uow import UnitOfWork


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


__all__ = ["SimulatedStep", "StepResult", "DryRunReport", "dry_run"]
