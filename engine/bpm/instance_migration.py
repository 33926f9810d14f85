"""Moving running instances of one version to a newer version of the same process.

An instance's state names its tasks by BPMN element id. It can move when every element it
waits at exists in the new version with the same type, and when its whole task tree (finished
steps included) restores against the new definition; the instance row then points at the new
deployment, and its open task rows follow the new version in the same transaction
(engine/bpm/migrated_tasks.py). Instances that cannot move are listed with the reason and left
untouched. The preview changes nothing; the run is one audited operation per instance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import select

from .changes import finished_ids, summarise
from .definitions import SPEC_CACHE, resolve_bundle
from .expression_helpers import HELPERS
from .migrated_tasks import projection_problem, reproject_open_tasks
from .runtime import load_instance
from .sandbox import make_script_engine
from .definition_admin import (
    READY, WAITING, deployment_of, waiting_elements,
)
from ..core.errors import GongjianError, InvalidStateError
from ..core.identity import Actor
from ..core.models import Deployment, ProcessInstance
from .state import dump_state, load_state
from ..core.uow import UnitOfWork
from .xmlsafe import parse_definition_xml


@dataclass(frozen=True)
class InstancePlan:
    """Where one instance waits and whether it can move, with the reason when it cannot."""

    instance_id: int
    business_key: str | None
    waiting_at: tuple[str, ...]
    mappable: bool
    reason: str | None = None


@dataclass(frozen=True)
class MigrationPlan:
    """The preview of moving the running instances of one version to another."""

    key: str
    from_version: int
    to_version: int
    instances: list[InstancePlan]

    @property
    def mappable(self) -> list[InstancePlan]:
        """Instances that will move."""
        return [i for i in self.instances if i.mappable]

    @property
    def unmappable(self) -> list[InstancePlan]:
        """Instances that stay where they are, with the reason."""
        return [i for i in self.instances if not i.mappable]


@dataclass(frozen=True)
class MigrationResult:
    """What a run did."""

    migrated: list[int]
    skipped: list[InstancePlan]
    tasks_moved: int = 0  # open task rows the new version changed (engine/bpm/migrated_tasks.py)


def _element_types(xml: str, key: str) -> dict[str, str]:
    root = parse_definition_xml(xml.encode("utf-8"), f"{key}.bpmn").root
    return {el.get("id"): etree.QName(el).localname for el in root.iter(etree.Element)
            if el.get("id")}


def _new_bundle(uow: UnitOfWork, row: ProcessInstance, target: Deployment) -> list[list]:
    """The target deployment with the called definitions the instance already pinned."""
    pinned = {}
    for dep_id, sha in row.bundle[1:]:
        dep = uow.session.get(Deployment, dep_id)
        if dep is not None:
            pinned[dep.key] = [dep_id, sha]
    bundle = resolve_bundle(uow.session, target)
    return [bundle[0], *[pinned.get(uow.session.get(Deployment, i).key, [i, s])
                         for i, s in bundle[1:]]]


def _plan_one(uow: UnitOfWork, row: ProcessInstance, old_types: dict[str, str],
              new_types: dict[str, str], target: Deployment) -> InstancePlan:
    waiting = tuple(sorted({e for e in waiting_elements(row.state) if e in old_types}))
    for element in waiting:
        if element not in new_types:
            return InstancePlan(row.id, row.business_key, waiting, False,
                                f"it waits at '{element}', which version {target.version} "
                                "no longer has")
        if new_types[element] != old_types[element]:
            return InstancePlan(row.id, row.business_key, waiting, False,
                                f"it waits at '{element}', a {old_types[element]} that version "
                                f"{target.version} made a {new_types[element]}")
    try:
        workflow, _bundle = restore_on(uow, row, target)
    except (GongjianError, KeyError, ValueError, TypeError, AttributeError) as exc:
        missing = _missing_history(row.state, new_types, old_types)
        why = (f"its history passes through '{missing}', which version {target.version} "
               "no longer has" if missing else f"its state does not restore on version "
               f"{target.version}: {type(exc).__name__}: {exc}")
        return InstancePlan(row.id, row.business_key, waiting, False, why)
    problem = projection_problem(uow, row, workflow)
    if problem:
        return InstancePlan(row.id, row.business_key, waiting, False,
                            f"its open tasks do not fit version {target.version}: {problem}")
    return InstancePlan(row.id, row.business_key, waiting, True)


def _missing_history(state: bytes, new_types: dict, old_types: dict) -> str | None:
    tasks = json.loads(state).get("tasks", {}).values()
    return next((t["task_spec"] for t in tasks if t["task_spec"] in old_types
                 and t["task_spec"] not in new_types), None)


def preview_migration(uow: UnitOfWork, key: str, from_version: int,
                      to_version: int) -> MigrationPlan:
    """Which running instances of `from_version` can move to `to_version`, and why not."""
    source, target = deployment_of(uow, key, from_version), deployment_of(uow, key, to_version)
    if source.kind != "process":
        raise InvalidStateError(f"'{key}' is a decision; only process instances migrate")
    if to_version <= from_version:
        raise InvalidStateError(f"instances move to a newer version: {to_version} is not newer "
                                f"than {from_version}")
    old_types, new_types = _element_types(source.xml, key), _element_types(target.xml, key)
    rows = uow.session.execute(select(ProcessInstance).where(
        ProcessInstance.deployment_id == source.id, ProcessInstance.status == "running")
        .order_by(ProcessInstance.id)).scalars()
    return MigrationPlan(key, from_version, to_version,
                         [_plan_one(uow, row, old_types, new_types, target) for row in rows])


def migrate_instances(uow: UnitOfWork, key: str, from_version: int, to_version: int,
                      actor: str, instance_ids: list[int] | None = None) -> MigrationResult:
    """Move every mappable instance (or those of `instance_ids`), one audited commit each."""
    plan = preview_migration(uow, key, from_version, to_version)
    uow.rollback()
    migrated, skipped, tasks_moved = [], list(plan.unmappable), 0
    for item in plan.mappable:
        if instance_ids is not None and item.instance_id not in instance_ids:
            continue
        moved = _migrate_one(uow, item.instance_id, key, from_version, to_version, actor)
        if moved is not None:
            migrated.append(item.instance_id)
            tasks_moved += moved
    return MigrationResult(migrated, skipped, tasks_moved)


def _migrate_one(uow: UnitOfWork, instance_id: int, key: str, from_version: int,
                 to_version: int, actor: str) -> int | None:
    """Move one instance in its own commit; how many of its task rows changed (None: not moved)."""
    uow.begin_write()
    source, target = deployment_of(uow, key, from_version), deployment_of(uow, key, to_version)
    row = uow.session.get(ProcessInstance, instance_id)
    if row is None or row.deployment_id != source.id or row.status != "running":
        uow.rollback()
        return None  # finished or moved since the preview
    plan = _plan_one(uow, row, _element_types(source.xml, key), _element_types(target.xml, key),
                     target)
    if not plan.mappable:
        uow.rollback()
        return None
    old_workflow = load_instance(uow.session, row).workflow
    workflow, bundle = restore_on(uow, row, target)
    old_bundle = row.bundle
    row.state = dump_state(workflow)
    row.deployment_id, row.bundle = target.id, bundle
    row.deployment = target
    uow.audit.record(actor, "instance_migrated", subject=f"instance:{row.id}", instance_id=row.id,
                     key=key, from_version=from_version, to_version=to_version,
                     waiting_at=list(plan.waiting_at), before=old_bundle, after=bundle)
    # The inbox follows: open rows take the new version's names, offer, due dates and forms.
    moved = reproject_open_tasks(uow, row, old_workflow, workflow, actor)
    if uow.save_hooks:
        # And what the save hooks keep of the instance (the desk's lines: a deadline or a unit
        # the new version gives), as after a save in which no step finished or opened.
        uow.session.flush()
        summary = summarise(row, workflow, finished_ids(workflow), (), uow.clock.now())
        for hook in uow.save_hooks:
            hook(uow, summary, Actor.of(actor))
    uow.commit()
    return len(moved)


PREDICTED = (MAYBE, LIKELY, FUTURE) = (1, 2, 4)


def _without_predictions(state: bytes) -> bytes:
    """The state with the predicted branches after each ready or waiting task dropped.

    Those branches were built from the old version's flows; the new version's are predicted
    again after the restore.
    """
    dct = json.loads(state)
    for tasks in [dct["tasks"], *(s["tasks"] for s in dct.get("subprocesses", {}).values())]:
        for task in list(tasks.values()):
            if task.get("state") not in (READY, WAITING):
                continue
            dropped = [c for c in task.get("children", []) if tasks.get(c, {}).get("state") in PREDICTED]
            task["children"] = [c for c in task.get("children", []) if c not in dropped]
            while dropped:
                child = tasks.pop(dropped.pop(), None)
                if child:
                    dropped.extend(child.get("children", []))
    return json.dumps(dct, ensure_ascii=False).encode("utf-8")


def restore_on(uow: UnitOfWork, row: ProcessInstance, target: Deployment):
    """(workflow, bundle): the instance restored on the target version, predictions renewed."""
    from SpiffWorkflow.util.task import TaskState

    bundle = _new_bundle(uow, row, target)
    spec, subprocess_specs = SPEC_CACHE.get(uow.session, bundle)
    workflow = load_state(_without_predictions(row.state), spec, subprocess_specs)
    workflow.script_engine = make_script_engine(HELPERS)
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        task._sync_children(task.task_spec.outputs, TaskState.FUTURE)
        for child in task.children:
            child.task_spec._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
    return workflow, bundle


__all__ = ["InstancePlan", "MigrationPlan", "MigrationResult", "preview_migration",
           "migrate_instances", "restore_on"]
