"""批量: claim, approve with one opinion, or transfer several tasks at once.

Each task goes through the same action as on its own page (engine/bpm/task_actions.py), in
its own transaction, so each is one audit event as usual and a task that fails (taken by
someone else meanwhile, not the actor's to approve, a form that needs more than a decision)
leaves the others done; the outcome names each that failed and why, in Chinese. Only tasks
whose form asks for nothing but the decision and the opinion are approved in bulk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from engine.core.errors import (
    ConflictError, GongjianError, InvalidStateError, NotFoundError, PermissionDeniedError,
    TaskDataError, WorkflowExecutionError,
)
from engine.core.identity import Actor
from engine.core.uow import UnitOfWork

from . import task_actions
from .incidents import record_failure

ACTIONS = ("claim", "approve", "transfer")
MAX_TASKS = 100
# Fields a bulk approval fills itself; any other required field needs the task's own page.
DECISION_FIELDS = ("decision", "opinion")
REASONS: tuple[tuple[type[Exception], str], ...] = (
    (ConflictError, "他人刚刚办理或修改了此待办，请刷新后查看"),
    (PermissionDeniedError, "您无权对此待办执行该操作"),
    (NotFoundError, "待办不存在或您无权查看"),
    (TaskDataError, "此待办需要填写更多内容，请打开逐件办理"),
    (InvalidStateError, "此待办的状态已变化（可能已被认领或办结），不能执行该操作"),
    (WorkflowExecutionError, "流程执行出错，已记录为故障，请打开逐件办理或联系管理员"),
)


@dataclass
class BulkOutcome:
    """Which tasks were done, and which failed with the reason (task id, name, reason)."""

    done: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)


def approvable(form: dict) -> bool:
    """Whether a task can be approved in bulk: a decision form with nothing else required
    (not even on some answer)."""
    if not task_actions.has_decision(form):
        return False
    return not any({"required", "required_when"} & set(f.get("validation") or {})
                   and f.get("id") not in DECISION_FIELDS for f in form.get("fields", []))


def _reason(exc: Exception) -> str:
    for kind, text in REASONS:
        if isinstance(exc, kind):
            return text
    return "操作未完成，请打开逐件办理"


def _one(uow: UnitOfWork, action: str, task_id: str, actor: Actor, opinion: str,
         to_user: str | None) -> None:
    if action == "claim":
        task_actions.claim(uow, task_id, actor)
    elif action == "approve":
        task = task_actions.load_task(uow, task_id, actor)
        if not approvable(task.form):
            raise TaskDataError(f"task '{task.name}' needs more than a decision")
        task_actions.decide(uow, task_id, actor, "approve", opinion)
    else:
        task_actions.transfer(uow, task_id, actor, to_user or "", opinion)


def run_bulk(make_uow: Callable[[], UnitOfWork], actor: Actor, action: str,
             task_ids: Iterable[str], *, opinion: str = "",
             to_user: str | None = None) -> BulkOutcome:
    """Do `action` on each task, each in its own transaction; who was done, who failed."""
    ids = list(dict.fromkeys(str(t) for t in task_ids))
    if action not in ACTIONS:
        raise TaskDataError(f"unknown bulk action {action!r}", {"action": ["unknown action"]})
    if not ids:
        raise TaskDataError("no task chosen", {"task_ids": ["choose at least one"]})
    if len(ids) > MAX_TASKS:
        raise TaskDataError(f"at most {MAX_TASKS} tasks at once",
                            {"task_ids": [f"at most {MAX_TASKS}"]})
    if action == "transfer" and not (to_user or "").strip():
        raise TaskDataError("choose whom to transfer to", {"to_user": ["required"]})
    outcome = BulkOutcome()
    for task_id in ids:
        name = _name_seen(make_uow, task_id, actor)
        try:
            with make_uow() as uow:
                _one(uow, action, task_id, actor, opinion.strip(), to_user)
        except WorkflowExecutionError as exc:
            with make_uow() as uow:  # an incident, as on the task's own page
                number = record_failure(uow, actor.username, exc, task_id=task_id)
            outcome.failed.append((task_id, name, f"{_reason(exc)}（故障编号 {number}）"))
        except GongjianError as exc:
            outcome.failed.append((task_id, name, _reason(exc)))
        else:
            outcome.done.append((task_id, name))
    return outcome


def _name_seen(make_uow: Callable[[], UnitOfWork], task_id: str, actor: Actor) -> str:
    """The task's name when the actor may see the task (a guessed id reveals nothing)."""
    with make_uow() as uow:
        try:
            return task_actions.load_task(uow, task_id, actor).name
        except GongjianError:
            return ""
