"""Three-colour plates (蓝黄红三色管理): monthly plates of key and government-invested projects.

The colour is decided by rules/plate_colour.dmn, never by code here: this module only
gathers the table's inputs from the registry (cumulative actual vs planned investment),
the reminders (催办) of the last two months and the plate history, keeps that history in
`project_plate`, and starts a `plate_followup` instance for each yellow plate (约谈 by the
sub-commander) and red plate (表态发言 by the lead department's head).

Plates are evaluated on the first working day of each month by the schedule
(engine/ops/schedule.py, run by the worker). A process may evaluate them too: a script task
marked `<camunda:property name="action" value="evaluate_plates" />` makes the county's save
hook (engine.county.hooks) evaluate the month named by the task's `month_variable`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..bpm import runtime
from ..bpm.definitions import latest_deployment
from ..bpm.parser import GongjianParser
from ..core.errors import DefinitionError
from ..bpm.expression_helpers import HELPERS
from ..core.identity import Actor
from .field_months import count_plates
from .projects import (Project, ProjectPlate, on_battle_map, on_schedule, progress_curve,
                       shift_month)
from .projects import start_data as project_start_data
from ..bpm.sandbox import make_script_engine
from .supervision import reminder_counts
from ..core.uow import EnlistedUnitOfWork, UnitOfWork

DECISION = "plate_colour"
RULES_FILE = Path(__file__).resolve().parents[2] / "rules" / "plate_colour.dmn"
PLATES = {"blue": "蓝牌", "yellow": "黄牌", "red": "红牌", "under_reminder": "催办中"}
FOLLOWUP_PROCESS = "plate_followup"


@dataclass(frozen=True)
class PlateView:
    """A plate as callers see it."""

    project_code: str
    month: str
    plate: str | None
    label: str
    inputs: dict
    evaluated_at: datetime


def _view(row: ProjectPlate) -> PlateView:
    return PlateView(row.project_code, row.month, row.plate, PLATES.get(row.plate or "", "未评定"),
                     dict(row.inputs or {}), row.evaluated_at)


# ---------------------------------------------------------------- the decision table

def _decision_xml(session: Session | None) -> bytes:
    deployment = latest_deployment(session, DECISION) if session is not None else None
    return deployment.xml.encode("utf-8") if deployment is not None else RULES_FILE.read_bytes()


@lru_cache(maxsize=8)
def _engine_for(xml: bytes):
    parser = GongjianParser()
    parser.add_dmn_xml(etree.fromstring(xml), filename="plate_colour.dmn")
    return parser.get_engine(DECISION, None)


def decide_plate(inputs: dict[str, Any], session: Session | None = None) -> dict[str, Any]:
    """Run rules/plate_colour.dmn (the deployed version if any) on the inputs; {} if no row."""
    engine = _engine_for(_decision_xml(session))
    task = SimpleNamespace(data=dict(inputs), workflow=SimpleNamespace(
        script_engine=make_script_engine(HELPERS)))
    rule = engine.result(task)
    return dict(rule) if rule else {}


def plate_inputs(session: Session, code: str, month: str) -> dict[str, Any]:
    """The decision table's inputs for one project and month, from the registry and history."""
    reminded = (reminder_counts(session, "project", code, month)
                + reminder_counts(session, "project", code, shift_month(month, -1)))
    in_a_row, back = 0, shift_month(month, -1)
    while True:
        row = session.get(ProjectPlate, (code, back))
        if row is None or row.plate not in ("yellow", "red"):
            break
        in_a_row, back = in_a_row + 1, shift_month(back, -1)
    points = progress_curve(session, code, until=month)
    return {"on_schedule": on_schedule(session, code, month),
            "reminders_last_two_months": reminded, "yellow_months_in_a_row": in_a_row,
            "planned_to_date": points[-1].planned if points else 0,
            "actual_to_date": points[-1].actual if points else 0}


# ---------------------------------------------------------------- evaluation

def evaluate_plates(uow: UnitOfWork, month: str, actor: Actor | str, *,
                    start_followups: bool = True) -> list[PlateView]:
    """Give every battle-map project its plate for `month`; the caller commits.

    Re-evaluating a month replaces its plates (audited with before/after); a follow-up
    instance is started once per project and month.
    """
    username = actor if isinstance(actor, str) else actor.username
    views, counted = [], Counter()
    for project in uow.session.execute(select(Project).order_by(Project.code)).scalars():
        if not on_battle_map(project) or project.stage in ("reserve", "planning"):
            continue
        inputs = plate_inputs(uow.session, project.code, month)
        decided = decide_plate(inputs, uow.session)
        row = uow.session.get(ProjectPlate, (project.code, month))
        before = row.plate if row is not None else None
        row = row or ProjectPlate(project_code=project.code, month=month)
        row.plate, row.inputs = decided.get("plate"), inputs
        counted[(project.sub_command, before)] -= 1
        counted[(project.sub_command, row.plate)] += 1
        row.evaluated_at, row.evaluated_by = uow.clock.now(), username
        uow.session.add(row)
        uow.audit.record(username, "plate_evaluated", subject=f"project:{project.code}",
                         month=month, before=before, after=row.plate, inputs=inputs)
        if start_followups and row.plate in ("yellow", "red") and row.followup_instance is None:
            row.followup_instance = _start_followup(uow, project, month, row.plate, username)
        views.append(_view(row))
    count_plates(uow.session, {(month, field, True, plate): n  # the fields' counts
                               for (field, plate), n in counted.items()})
    uow.session.flush()
    return views


def _start_followup(uow: UnitOfWork, project: Project, month: str, plate: str,
                    username: str) -> int | None:
    if latest_deployment(uow.session, FOLLOWUP_PROCESS) is None:
        raise DefinitionError(f"process '{FOLLOWUP_PROCESS}' is not deployed; deploy "
                              "bpmn/plate_followup.bpmn before evaluating plates")
    data = project_start_data(project) | {"plate": plate, "month": month,
                                          "plate_name": PLATES[plate]}
    actor = Actor.of(username)
    view = runtime.start_instance(EnlistedUnitOfWork(uow), FOLLOWUP_PROCESS, actor,
                                  business_key=f"PLATE-{project.code}-{month}", data=data)
    return view.id


# ---------------------------------------------------------------- queries

def plates_of_month(session: Session, month: str) -> dict[str, PlateView]:
    """Each project's plate of a month, by project code."""
    rows = session.execute(select(ProjectPlate).where(ProjectPlate.month == month)).scalars()
    return {row.project_code: _view(row) for row in rows}


def plate_history(session: Session, code: str) -> list[PlateView]:
    """A project's plates, oldest month first."""
    rows = session.execute(select(ProjectPlate).where(ProjectPlate.project_code == code)
                           .order_by(ProjectPlate.month)).scalars()
    return [_view(row) for row in rows]


def latest_plate_month(session: Session) -> str | None:
    """The most recent month that has plates."""
    return session.execute(select(ProjectPlate.month).order_by(ProjectPlate.month.desc())
                           .limit(1)).scalar()
