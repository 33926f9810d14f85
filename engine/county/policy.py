"""Who may see or do what in the county's domain: the one policy the pages and the API ask.

An actor (engine/core/identity.py) is a username and the candidate groups of its account or
API token (engine/core/organisation.py `groups_of`, engine/ops/tokens.py `groups_for`): each
role (`supervisor`), each role at a unit (`sub_commander@sc_industry`) and the unit
(`unit:zj`). From those groups an actor has a scope:

- **the county** — the oversight roles (`OVERSIGHT_ROLES`): the supervision group (督办人员)
  and the headquarters office (指挥部办公室), who supervise every project and issue; the
  commander-in-chief (县长) and the deputy commanders (副总指挥), at the top of the escalation
  ladder; and the administrators, who run the platform and repair any instance;
- **the fields** of a sub-commander (`sub_commander@<field>`, the commander or a deputy
  commander of a sub-command): the sub-command owns its field's projects and is the third rung
  of the ladder, so it sees every project, issue and trail of the field;
- **its units** (`unit:<code>`) for everyone else: a project company, a lead department or a
  township sees the projects where it is the project unit (项目单位), the lead department
  (主管部门) or the township (属地乡镇, whose head is the first responsible person); a
  specialist (项目专员) also the projects he or she serves (`Project.specialist`); issues and
  instructions are seen by the unit responsible for them.

A project's sheet (一图三单, on the page and in the API) lists the project's issues and open
tasks to whoever may see the project: the issue list is part of the project's sheet. Opening
one issue — its detail, its history, acting on it — follows the issue's own scope.

An issue is registered (问题登记) by whoever the issue process names as its candidate starters
(bpmn/issue_lifecycle.bpmn: supervisors, the office, sub-commanders, department and township
heads, specialists) for a project in their scope (`Scope.sees_project`): the project picker
of its start form offers and accepts only those (engine/county/project_choices.py), so a
township registers for the projects on its ground, a specialist for those it serves, the
supervision group for any.

Rows out of scope are "not found", never "forbidden", so ids reveal nothing. Pages of the
headquarters as a whole (agendas, dispatch reports, bulletins, awards, the double assessment)
are refused outright to those who do not command or supervise (see `may_read_headquarters`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, or_, true

from ..core.identity import TIMER, Actor
from .projects import Project

# The roles that see the whole county (and so every project, issue, instance and trail).
OVERSIGHT_ROLES = ("supervisor", "office", "county_head", "deputy_commander", "admin")
# The commanders: the commander-in-chief, the deputies and the sub-commanders (分指挥长).
COMMANDER_ROLES = ("county_head", "deputy_commander", "sub_commander")
# Who records decisions at any meeting: the office keeps the minutes, the county head chairs.
MEETING_RECORDERS = ("office", "county_head")

_SUB_COMMANDER = "sub_commander@"
_UNIT = "unit:"


@dataclass(frozen=True)
class Scope:
    """The part of the county an actor sees: everything, some fields (sub-commands), own units."""

    username: str
    everything: bool
    sub_commands: frozenset[str]
    units: frozenset[str]

    # ------------------------------------------------ issues, instructions, board lines

    def sees(self, sub_command: str | None, unit: str | None) -> bool:
        """Whether an issue (or board line) of this field and responsible unit is in scope."""
        return (self.everything or (sub_command is not None and sub_command in self.sub_commands)
                or (unit is not None and unit in self.units))

    def condition(self, sub_command_column, unit_column):
        """The same test as `sees`, as SQL on a field column and a responsible-unit column."""
        if self.everything:
            return true()
        parts = []
        if self.sub_commands:
            parts.append(sub_command_column.in_(sorted(self.sub_commands)))
        if self.units:
            parts.append(unit_column.in_(sorted(self.units)))
        return or_(*parts) if parts else false()

    def unit_condition(self, unit_column):
        """SQL: work whose responsible unit is in scope (a 13710 instruction is its unit's)."""
        if self.everything:
            return true()
        return unit_column.in_(sorted(self.units)) if self.units else false()

    # ------------------------------------------------ projects

    def sees_project(self, project: Project) -> bool:
        """Whether the project is in scope: the county, the field, or a unit or person of it."""
        return (self.everything or project.sub_command in self.sub_commands
                or bool({project.project_unit, project.lead_department, project.township}
                        & self.units)
                or (project.specialist is not None and project.specialist == self.username))

    def project_condition(self):
        """The same test as `sees_project`, as SQL on the project table."""
        if self.everything:
            return true()
        parts = [Project.specialist == self.username]
        if self.sub_commands:
            parts.append(Project.sub_command.in_(sorted(self.sub_commands)))
        if self.units:
            units = sorted(self.units)
            parts += [Project.project_unit.in_(units), Project.lead_department.in_(units),
                      Project.township.in_(units)]
        return or_(*parts)

    # ------------------------------------------------ acting on issues

    @property
    def may_remind(self) -> bool:
        """Whether the scope may remind (催办): oversight and sub-commanders; a unit does its own."""
        return self.everything or bool(self.sub_commands)

    @property
    def may_escalate(self) -> bool:
        """Whether the scope may escalate (提级) an issue in it one rung: as for reminding."""
        return self.may_remind

    @property
    def may_list(self) -> bool:
        """Whether the scope may list (挂牌督办) and lift: oversight only."""
        return self.everything


COUNTY = Scope("", True, frozenset(), frozenset())
"""The scope that sees everything: for the lines of a sheet whose project was already let
through `may_see_project`."""


def scope_of(actor: Actor) -> Scope:
    """The scope of an actor from its groups: oversight role, `sub_commander@<field>`, `unit:`."""
    groups = actor.groups
    return Scope(actor.username, oversees(actor),
                 frozenset(g[len(_SUB_COMMANDER):] for g in groups
                           if g.startswith(_SUB_COMMANDER)),
                 frozenset(g[len(_UNIT):] for g in groups if g.startswith(_UNIT)))


def oversees(actor: Actor) -> bool:
    """Whether the actor sees the whole county (every project, issue, instance and trail)."""
    return any(role in actor.groups for role in OVERSIGHT_ROLES)


def may_see_project(actor: Actor, project: Project) -> bool:
    """Whether the actor may see the project (its sheet, its row in lists)."""
    return scope_of(actor).sees_project(project)


def may_report_progress(actor: Actor, project: Project) -> bool:
    """Whether the actor may write a project's monthly progress: its own unit, the office
    and administrators (who correct a report), or the worker acting for the process."""
    return (f"{_UNIT}{project.project_unit}" in actor.groups
            or any(role in actor.groups for role in ("office", "admin"))
            or actor == TIMER)


# Who keeps the project registry (registers, edits, moves stages, imports) anywhere.
REGISTRY_ROLES = ("office", "admin")


def may_manage_projects(actor: Actor, sub_command: str | None = None) -> bool:
    """Whether the actor keeps the registry's projects of a field (None: of any field): the
    office and administrators everywhere, a sub-commander in the field it commands."""
    if any(role in actor.groups for role in REGISTRY_ROLES):
        return True
    fields = scope_of(actor).sub_commands
    return bool(fields) if sub_command is None else sub_command in fields


def may_supervise(actor: Actor) -> bool:
    """Whether the actor reminds, escalates and sends supervision messages at all.

    Oversight and the sub-commanders do; which issues, the actor's scope says.
    """
    return scope_of(actor).may_remind


# ---------------------------------------------------------------- the headquarters' pages

def is_commander(actor: Actor) -> bool:
    """Whether the actor commands: county head, a deputy commander or a sub-commander."""
    return (any(role in actor.groups for role in COMMANDER_ROLES)
            or bool(scope_of(actor).sub_commands))


def may_read_headquarters(actor: Actor) -> bool:
    """Whether the actor reads the headquarters' papers (dispatch, bulletin, agenda, awards...).

    The papers are the dispatch reports and monthly bulletins, the headquarters meeting's
    agenda, the quarterly awards and the double assessment: the headquarters' instruments of
    command over the whole county. The dispatch ranks every sub-command, the headquarters
    meeting is where escalated issues and red plates land, the awards are decided by
    headquarters from the sub-commands' nominations, and the assessment rates the member units.
    They are read by those who supervise (the oversight roles) and those who command: the
    sub-commanders sit in the headquarters, nominate for the awards and answer for their
    fields there. A project company, a department, a township or a specialist sees its own
    projects and its own work, not the county's rankings and meeting papers.
    """
    return oversees(actor) or is_commander(actor)


def may_read_statistics(actor: Actor) -> bool:
    """Whether the actor reads the statistics (统计): the headquarters' readers, who compare
    units and people, and the process designers, who improve the steps the figures show."""
    return may_read_headquarters(actor) or "designer" in actor.groups


def may_read_meeting(actor: Actor, field: str | None) -> bool:
    """Whether the actor reads the agenda of a meeting (`field` None: the headquarters').

    The headquarters' quarterly meeting is one of its papers; a sub-command's monthly meeting
    is read by oversight and that field's sub-commanders.
    """
    if field is None:
        return may_read_headquarters(actor)
    return oversees(actor) or field in scope_of(actor).sub_commands


def may_decide_meeting(actor: Actor, field: str | None) -> bool:
    """Whether the actor records decisions of a meeting (`field` None: the headquarters').

    The office and the county head record at any meeting, a sub-commander at the field's own.
    """
    if any(role in actor.groups for role in MEETING_RECORDERS):
        return True
    return field is not None and field in scope_of(actor).sub_commands


# ---------------------------------------------------------------- 查账: audit trails

def may_read_trails(actor: Actor) -> bool:
    """Whether the actor reads audit trails at all: oversight, and sub-commanders (the field's).

    Project units, departments and townships follow their work in the inbox and on the desk.
    """
    return oversees(actor) or bool(scope_of(actor).sub_commands)


def may_read_trail(actor: Actor, sub_commands: set[str | None]) -> bool:
    """Whether the actor reads the trail of a project or instance of these fields."""
    if oversees(actor):
        return True
    return bool(scope_of(actor).sub_commands & (sub_commands - {None}))
