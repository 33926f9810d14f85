"""The projects a form's project picker offers: those the person may see, by name.

The BPM engine's pickers (engine/bpm/pickers.py) know units and people; projects are the
county's, so the platform hands this source in (engine/ops/platform.py) under `project`.
A person picks from the projects in his or her scope (engine/county/policy.py
`Scope.sees_project`): a township or department its own projects, a specialist those he or
she serves, a sub-commander the field's, the oversight roles the county. A picker narrowed
to stages (`project:prework`) offers only the projects in those stages.

On a start form a picked project brings its facts (engine/county/projects.py `start_data`:
name, field, township, lead department, project unit, funding) into the new instance.
"""

from __future__ import annotations

from sqlalchemy import func, select

from ..bpm.pickers import Choice
from ..core.identity import Actor
from ..core.uow import UnitOfWork
from .awards import AwardNomination
from .policy import scope_of
from .projects import Project, start_data


def project_label(project: Project) -> str:
    """How a project is named in a picker: its name and registry number."""
    return f"{project.name}（{project.code}）"


# Narrowings that are not stages: the best or worst projects nominated for the quarter's
# awards (the latest quarter with nominations), for headquarters choosing from them.
NOMINATED = {"nominated_best": "best_project", "nominated_worst": "worst_project"}


def _nominated(uow: UnitOfWork, only: tuple[str, ...]) -> set[str] | None:
    """The codes a nominations narrowing allows (None when the picker names none)."""
    wanted = [NOMINATED[n] for n in only if n in NOMINATED]
    if not wanted:
        return None
    quarter = uow.session.execute(select(func.max(AwardNomination.quarter))).scalar()
    rows = uow.session.execute(select(AwardNomination).where(
        AwardNomination.quarter == quarter)).scalars()
    return {getattr(row, column) for row in rows for column in wanted}


class ProjectChoices:
    """The projects an actor may see, of the stages asked for (all when none are), or of
    the quarter's nominations (`project:nominated_best`, `project:nominated_worst`)."""

    def choices(self, uow: UnitOfWork, actor: Actor, only: tuple[str, ...]) -> list[Choice]:
        """The projects in the actor's scope, by registry number."""
        query = select(Project).where(scope_of(actor).project_condition()).order_by(Project.code)
        stages = tuple(n for n in only if n not in NOMINATED)
        if stages:
            query = query.where(Project.stage.in_(stages))
        nominated = _nominated(uow, only)
        if nominated is not None:
            query = query.where(Project.code.in_(sorted(nominated)))
        return [Choice(p.code, project_label(p), start_data(p))
                for p in uow.session.execute(query).scalars()]

    def choice(self, uow: UnitOfWork, actor: Actor, only: tuple[str, ...],
               value: str) -> Choice | None:
        """The project of this code, if the actor may see it and it is in one of the stages
        (or of the nominations asked for)."""
        project = uow.session.get(Project, value)
        stages = tuple(n for n in only if n not in NOMINATED)
        nominated = _nominated(uow, only)
        if (project is None or (stages and project.stage not in stages)
                or (nominated is not None and project.code not in nominated)
                or not scope_of(actor).sees_project(project)):
            return None
        return Choice(project.code, project_label(project), start_data(project))


# What the county answers for the engine's pickers, by what they pick.
CHOICE_SOURCES = {"project": ProjectChoices()}
