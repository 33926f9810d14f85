"""Who a human task is for: candidate groups, candidate users and the assignee.

The rules live here, in one place. A user task names its people with the Camunda
attributes `camunda:candidateGroups`, `camunda:candidateUsers` and `camunda:assignee`:
comma-separated names, each of which may embed `${expression}` parts evaluated against
the task's data — `supervisor`, `approver@${department}`, `unit:${responsible_unit}`. A
name that is one whole `${expression}` may yield a list of names. A task that names
nobody is for the role of its lane (lane names may be role codes or their Chinese labels;
see `engine.organisation` for the groups a user acts in).

The rules the county's processes use (bpmn/):

| who                                   | candidate group                  | where it comes from            |
|---------------------------------------|----------------------------------|--------------------------------|
| the one window (受理 / 反馈)            | `office`                         | literal                        |
| the project's specialist (代办)         | `specialist`                     | literal                        |
| the project unit (承诺)                 | `unit:${project_unit}`           | the project's start data       |
| the approving department (审批 / 核验)  | `approver@${department}`         | rules/permit_items.dmn         |
| the pre-work group (会商)               | `unit:wg_prework`                | literal                        |
| the issue's handler on its rung         | `${handler}`: rung 1–2 `unit:<responsible unit>`, rung 3 `sub_commander@<sub-command>`, rung 4 `county_head` | script "确定责任主体" from rules/issue_routing.dmn |
| the supervision group (核验 / 13710 审核) | `supervisor`                   | literal                        |
| the unit acting on an instruction     | `unit:${responsible_unit}`       | the instruction's start data   |
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.errors import WorkflowExecutionError
from ..core.organisation import role_code

_PART = re.compile(r"[$#]\{(.+?)\}")


@dataclass(frozen=True)
class Candidates:
    """The people a task is offered to, resolved for one task."""

    groups: tuple[str, ...]
    users: tuple[str, ...]
    assignee: str | None


def _split(text: str) -> list[str]:
    """Split on commas that are not inside a `${...}` part."""
    tokens, depth, current = [], 0, []
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            tokens.append("".join(current))
            current = []
        else:
            current.append(char)
    tokens.append("".join(current))
    return [t.strip() for t in tokens if t.strip()]


def _names(text: str | None, evaluate) -> list[str]:
    if not text:
        return []
    names: list[str] = []
    for token in _split(text):
        whole = _PART.fullmatch(token)
        if whole:
            value = evaluate(whole.group(1).strip())
            values = value if isinstance(value, (list, tuple, set)) else [value]
            names.extend(str(v).strip() for v in values if v is not None and str(v).strip())
            continue
        name = _PART.sub(lambda m: str(evaluate(m.group(1).strip())), token).strip()
        if name:
            names.append(name)
    return list(dict.fromkeys(names))  # keep order, drop repeats


def resolve_candidates(task, script_engine) -> Candidates:
    """The candidates of a ready SpiffWorkflow user task, from its attributes, data and lane."""
    spec = task.task_spec

    def evaluate(expression: str):
        try:
            return script_engine.evaluate(task, expression)
        except Exception as exc:  # the designer's expression failed on this data
            raise WorkflowExecutionError(
                f"task '{spec.bpmn_id}': the assignment expression '{expression}' failed: {exc}"
            ) from exc

    groups = _names(getattr(spec, "candidate_groups", None), evaluate)
    users = _names(getattr(spec, "candidate_users", None), evaluate)
    assignees = _names(getattr(spec, "assignee", None), evaluate)
    if not groups and not users and not assignees and spec.lane:
        groups = [role_code(spec.lane)]
    return Candidates(tuple(groups), tuple(users), assignees[0] if assignees else None)


def skip_disabled(who: Candidates, disabled: set[str], lane: str | None,
                  element_id: str) -> Candidates:
    """The candidates without the disabled accounts among its users and assignee (a
    disabled account holds no new work). A task that named only disabled people goes to its
    lane's role; without a lane it is refused (WorkflowExecutionError, nothing written)."""
    if not disabled:
        return who
    users = tuple(u for u in who.users if u not in disabled)
    assignee = None if who.assignee in disabled else who.assignee
    groups = who.groups
    if not groups and not users and assignee is None:
        if not lane:
            named = "、".join(sorted(disabled))
            raise WorkflowExecutionError(
                f"task '{element_id}': it is assigned only to disabled accounts ({named}); "
                "an administrator enables the account, or a designer changes the assignment")
        groups = (role_code(lane),)
    return Candidates(groups, users, assignee)
