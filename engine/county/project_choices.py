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

from sqlalchemy import select

from ..bpm.pickers import Choice
from ..core.identity import Actor
from ..core.uow import UnitOfWork
from .policy import scope_of
from .projects import Project, start_data


def project_label(project: Project) -> str:
    """How a project is named in a picker: its name and registry number."""
    return f"{project.name}（{project.code}）"


class ProjectChoices:
    """The projects an actor may see, of the stages asked for (all when none are)."""

    def choices(self, uow: UnitOfWork, actor: Actor, only: tuple[str, ...]) -> list[Choice]:
        """The projects in the actor's scope, by registry number."""
        query = select(Project).where(scope_of(actor).project_condition()).order_by(Project.code)
        if only:
            query = query.where(Project.stage.in_(only))
        return [Choice(p.code, project_label(p), start_data(p))
                for p in uow.session.execute(query).scalars()]

    def choice(self, uow: UnitOfWork, actor: Actor, only: tuple[str, ...],
               value: str) -> Choice | None:
        """The project of this code, if the actor may see it and it is in one of the stages."""
        project = uow.session.get(Project, value)
        if (project is None or (only and project.stage not in only)
                or not scope_of(actor).sees_project(project)):
            return None
        return Choice(project.code, project_label(project), start_data(project))


# What the county answers for the engine's pickers, by what they pick.
CHOICE_SOURCES = {"project": ProjectChoices()}
