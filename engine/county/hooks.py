"""The county's save hooks, declared in one place and in the order they run.

At every save of an instance the BPM runtime calls each hook with a summary of the service
call (engine.bpm.hooks.SaveSummary). The county acts on the marked steps that finished —
elements carrying `<camunda:property name="action" value="…" />` — and keeps its ledger
in step:

1. supervision: `remind` and `escalate` steps record reminders (催办) and escalations (升级);
2. command actions: `evaluate_plates` (the monthly plates), `record_progress` (a unit's
   monthly progress report), `record_nomination` and `publish_awards` (the quarterly
   awards), `start_construction` (a finished permit approval moves its project 前期 → 建设,
   engine/county/registry.py), `register_issue` (a revoked commitment becomes an issue of
   the ledger: its own issue_lifecycle instance, engine/county/issue_ledger.py);
3. the ledger: an issue's or a 13710 instruction's row in the issue ledger follows its
   instance;
4. the desk's lines: the open tasks of other processes, with their unit and field
   (engine/county/desk_lines.py), after the ledger (an instruction's unit is read from it).

The order matters: an escalation is recorded before the ledger row reads the rung.
"""

from __future__ import annotations

from sqlalchemy import select

from ..bpm.hooks import FinishedStep, SaveHook, SaveSummary
from ..core.errors import PermissionDeniedError, TaskDataError
from ..core.identity import Actor
from ..core.models import HumanTask
from ..core.uow import UnitOfWork
from .awards import publish_awards, record_nomination
from .desk_lines import desk_lines_hook, follow_flush
from .issue_ledger import project_ledger, register_issue
from .plates import evaluate_plates
from .policy import may_report_progress
from .projects import Project, month_of, record_progress
from .registry import start_construction
from .supervision_hook import apply_supervision_actions


def _month(uow: UnitOfWork, step: FinishedStep) -> str:
    variable = step.properties.get("month_variable") or "month"
    return str(step.data.get(variable) or month_of(uow.clock.now()))


def _reporter(uow: UnitOfWork, summary: SaveSummary) -> str:
    """Who filled in the progress report: the last completer of its task, else the starter."""
    last = uow.session.execute(select(HumanTask.ended_by).where(
        HumanTask.instance_id == summary.instance.id, HumanTask.element_id == "report_progress",
        HumanTask.ended_by.is_not(None)).order_by(HumanTask.ended_at.desc())).scalar()
    return last or summary.instance.started_by


def _evaluate_plates(uow: UnitOfWork, summary: SaveSummary, step: FinishedStep,
                     actor: Actor) -> None:
    evaluate_plates(uow, _month(uow, step), actor)


def _record_progress(uow: UnitOfWork, summary: SaveSummary, step: FinishedStep,
                     actor: Actor) -> None:
    data = step.data
    project = uow.session.get(Project, data.get("project_code"))
    if project is not None and not may_report_progress(actor, project):
        # Facts about a project are written by its own unit: a report for another
        # company's project undoes the whole completion.
        raise PermissionDeniedError(f"{actor.username} may not report the progress of "
                                    f"project {project.code}; its project unit does")
    record_progress(uow, data["project_code"], _month(uow, step),
                    int(data.get("actual_investment") or 0), bool(data.get("milestone_done")),
                    data.get("progress_text"), _reporter(uow, summary))


def _record_nomination(uow: UnitOfWork, summary: SaveSummary, step: FinishedStep,
                       actor: Actor) -> None:
    data = step.data
    record_nomination(uow, str(data["quarter"]), str(data["sub_command"]),
                      str(data.get("best_project") or "").strip(),
                      str(data.get("worst_project") or "").strip(), actor.username,
                      summary.instance.id)


def _publish_awards(uow: UnitOfWork, summary: SaveSummary, step: FinishedStep,
                    actor: Actor) -> None:
    data = step.data
    if data.get("antelope_projects") or data.get("snail_projects"):  # a form of before 2026-12
        publish_awards(uow, str(data["quarter"]), data.get("antelope_projects"),
                       data.get("snail_projects"), actor.username)
        return
    # Three pickers of the nominations per award: antelope_1..3, snail_1..3.
    chosen = {kind: [str(data[f"{kind}_{n}"]) for n in (1, 2, 3) if data.get(f"{kind}_{n}")]
              for kind in ("antelope", "snail")}
    try:
        publish_awards(uow, str(data["quarter"]), chosen["antelope"], chosen["snail"],
                       actor.username)
    except TaskDataError as refused:  # said at the first picker of the award
        errors = {field.replace("_projects", "_1"): problems
                  for field, problems in (refused.field_errors or {}).items()}
        raise TaskDataError(str(refused), errors) from refused


# What each command action does, by the value of its `action` property.
COMMAND_ACTIONS = {
    "evaluate_plates": _evaluate_plates,
    "record_progress": _record_progress,
    "record_nomination": _record_nomination,
    "publish_awards": _publish_awards,
    "start_construction": start_construction,
    "register_issue": register_issue,
}


def apply_command_actions(uow: UnitOfWork, summary: SaveSummary, actor: Actor) -> None:
    """Act on the marked command steps (plates, progress, awards) finished in this call."""
    for step in summary.finished:
        act = COMMAND_ACTIONS.get(step.properties.get("action"))
        if act is not None:
            act(uow, summary, step, actor)


SAVE_HOOKS: tuple[SaveHook, ...] = (
    apply_supervision_actions,
    apply_command_actions,
    project_ledger,
    desk_lines_hook,
)

# Called after every flush of a unit of work's session (SQLAlchemy's after_flush), for what
# changes through the ORM without a save of an instance: the desk's lines follow a task's
# new deadline, an instruction's unit, a project moved, a unit's kind.
FLUSH_LISTENERS = (follow_flush,)
