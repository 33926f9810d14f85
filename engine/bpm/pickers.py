"""Pickers: form fields that name a unit, a person or a project, chosen from a list of names.

A `camunda:formField` of type `string` becomes a picker with one field property (Camunda
Modeler: the form field's "Properties", id and value):

    <camunda:properties><camunda:property id="picker" value="unit:township" /></camunda:properties>

The value names what is picked, and optionally narrows the list after a colon
(several narrowings separated by commas):

- `unit` — any org unit; `unit:township`, `unit:department,township,zone` — units of those
  kinds (engine/core/organisation.py UNIT_KINDS); `sub_command` is `unit:sub_command`;
- `user` — any active account; `user:specialist` — the accounts holding one of those roles;
- `project` — the projects the person filling in the form may see; `project:prework` —
  those of these stages. Projects are the domain's: the platform hands their source in
  (engine/county/project_choices.py), as it hands in the save hooks.

The page draws a searchable list of names (张三（县自然资源局）, 县自然资源局) and submits the
code; the server checks the code against the same list (forms.validate_task_data) and
refuses any other value at its field. A choice may carry facts: on a start form, a picked
project brings the project's data (name, field, township, lead department, unit, funding)
into the new instance, under the names the form does not set itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from ..core.organisation import ROLES, UNIT_KINDS, OrgUnit, RoleGrant, UserAccount

if TYPE_CHECKING:
    from ..core.identity import Actor
    from ..core.uow import UnitOfWork

PICKER = "picker"  # the form field property that makes a picker
FAMILIES = ("unit", "user", "project")
ALIASES = {"sub_command": "unit:sub_command"}
NOUNS = {"unit": "unit", "user": "person", "project": "project", "unusable": "choice"}


@dataclass(frozen=True)
class Choice:
    """One entry of a picker's list: the value submitted, the name shown, facts it brings."""

    value: str
    label: str
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PickerKind:
    """What a picker picks (`family`) and the kinds, roles or stages it narrows to."""

    family: str
    only: tuple[str, ...] = ()

    @property
    def noun(self) -> str:
        """The English noun of the family, as field errors name it."""
        return NOUNS[self.family]


UNUSABLE = PickerKind("unusable")  # a malformed picker: its list is empty


class ChoiceSource(Protocol):
    """A list a picker draws from (units, people, projects), for one actor."""

    def choices(self, uow: UnitOfWork, actor: Actor, only: tuple[str, ...]) -> list[Choice]:
        """Every choice the actor may pick, in display order."""

    def choice(self, uow: UnitOfWork, actor: Actor, only: tuple[str, ...],
               value: str) -> Choice | None:
        """The choice with this value if the actor may pick it, else None."""


def parse_kind(text: str) -> PickerKind:
    """The picker kind a property value names; ValueError saying what is wrong otherwise."""
    text = ALIASES.get(text.strip(), text.strip())
    family, _, narrowing = text.partition(":")
    family = family.strip()
    if family not in FAMILIES:
        raise ValueError(f"the picker '{text}' names nothing to pick; write one of "
                         f"{', '.join(FAMILIES)} (e.g. unit:township, user:specialist)")
    only = tuple(n.strip() for n in narrowing.split(",") if n.strip())
    known = {"unit": UNIT_KINDS, "user": ROLES}.get(family)
    unknown = [n for n in only if known is not None and n not in known]
    if unknown:
        what = "unit kinds" if family == "unit" else "roles"
        raise ValueError(f"the picker '{text}' narrows to {', '.join(unknown)}, which are no "
                         f"{what} ({', '.join(known)})")
    return PickerKind(family, only)


def picker_of(spec: Mapping[str, Any]) -> PickerKind | None:
    """The picker of a form field (as forms keep it: properties by id), or None.

    A malformed picker (which the lint refuses at deploy) picks from an empty list, so
    nothing can be submitted through it.
    """
    text = (spec.get("properties") or {}).get(PICKER)
    if not text:
        return None
    try:
        return parse_kind(text)
    except ValueError:
        return UNUSABLE


# ---------------------------------------------------------------- the lists core can answer

class UnitChoices:
    """Org units by name, in display order, of the kinds asked for."""

    def choices(self, uow: UnitOfWork, actor: Actor, only: tuple[str, ...]) -> list[Choice]:
        """The units of these kinds (all when none are named)."""
        query = select(OrgUnit.code, OrgUnit.name).order_by(OrgUnit.sort, OrgUnit.code)
        if only:
            query = query.where(OrgUnit.kind.in_(only))
        return [Choice(code, name) for code, name in uow.session.execute(query)]

    def choice(self, uow: UnitOfWork, actor: Actor, only: tuple[str, ...],
               value: str) -> Choice | None:
        """The unit of this code, if it is of one of these kinds."""
        unit = uow.session.get(OrgUnit, value)
        if unit is None or (only and unit.kind not in only):
            return None
        return Choice(unit.code, unit.name)


class UserChoices:
    """Active accounts as 名字（单位）, holding one of the roles asked for."""

    def _query(self, only: tuple[str, ...]):
        query = (select(UserAccount.username, UserAccount.display_name, OrgUnit.name)
                 .outerjoin(OrgUnit, OrgUnit.code == UserAccount.unit_code)
                 .where(UserAccount.active.is_(True)))
        if only:
            query = query.where(UserAccount.username.in_(
                select(RoleGrant.username).where(RoleGrant.role.in_(only))))
        return query

    def choices(self, uow: UnitOfWork, actor: Actor, only: tuple[str, ...]) -> list[Choice]:
        """The active accounts with these roles (all when none are named), by unit."""
        rows = uow.session.execute(self._query(only).order_by(
            OrgUnit.sort, OrgUnit.code, UserAccount.username))
        return [Choice(username, person_label(name, unit)) for username, name, unit in rows]

    def choice(self, uow: UnitOfWork, actor: Actor, only: tuple[str, ...],
               value: str) -> Choice | None:
        """The active account of this username, if it holds one of these roles."""
        row = uow.session.execute(self._query(only).where(UserAccount.username == value)).first()
        return Choice(row[0], person_label(row[1], row[2])) if row else None


def person_label(display_name: str, unit_name: str | None) -> str:
    """How a person is named on pages: 张三（县自然资源局）."""
    return f"{display_name}（{unit_name}）" if unit_name else display_name


BUILT_IN: dict[str, ChoiceSource] = {"unit": UnitChoices(), "user": UserChoices()}


# ---------------------------------------------------------------- what callers use

def _source(uow: UnitOfWork, family: str) -> ChoiceSource | None:
    return uow.choice_sources.get(family) or BUILT_IN.get(family)


def choices(uow: UnitOfWork, actor: Actor, kind: PickerKind) -> list[Choice]:
    """The list a picker of this kind shows the actor (empty when nobody answers for it)."""
    source = _source(uow, kind.family)
    return source.choices(uow, actor, kind.only) if source else []


def choice(uow: UnitOfWork, actor: Actor, kind: PickerKind, value: str) -> Choice | None:
    """The actor's choice of this value in a picker of this kind, or None when not in its list."""
    source = _source(uow, kind.family)
    return source.choice(uow, actor, kind.only, value) if source else None


def checker(uow: UnitOfWork, actor: Actor) -> Callable[[PickerKind, str], Choice | None]:
    """The check forms.validate_task_data makes of each picked value, for this actor."""
    return lambda kind, value: choice(uow, actor, kind, value)


def choices_for(uow: UnitOfWork, actor: Actor, form: Mapping[str, Any]) -> dict[str, list[Choice]]:
    """The list of each picker field of a form, by field id."""
    lists = {}
    for spec in form.get("fields", []):
        kind = picker_of(spec)
        if kind is not None:
            lists[spec["id"]] = choices(uow, actor, kind)
    return lists


def facts_of(uow: UnitOfWork, actor: Actor, form: Mapping[str, Any],
             data: Mapping[str, Any]) -> dict[str, Any]:
    """The facts the picked values of a (checked) form bring, in field order."""
    facts: dict[str, Any] = {}
    for spec in form.get("fields", []):
        kind, value = picker_of(spec), data.get(spec["id"])
        if kind is None or not isinstance(value, str) or not value:
            continue
        picked = choice(uow, actor, kind, value)
        if picked is not None:
            facts.update(picked.facts)
    return facts


def people(uow: UnitOfWork, actor: Actor) -> list[Choice]:
    """Everyone else the actor may hand work to (转办, 委派, 加签, 抄送), by unit and name."""
    return [c for c in choices(uow, actor, PickerKind("user")) if c.value != actor.username]
