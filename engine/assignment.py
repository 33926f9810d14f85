"""Who a human task is for: candidate groups, candidate users and the assignee.

The rules live here, in one place. A user task names its people with the Camunda
attributes `camunda:candidateGroups`, `camunda:candidateUsers` and `camunda:assignee`:
comma-separated literals, or `${expression}` tokens evaluated against the task's data
(a token may yield one name or a list of names). A task that names nobody is for the
role of its lane.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import WorkflowExecutionError

_TOKEN = re.compile(r"\$\{(.+?)\}|#\{(.+?)\}|([^,]+)")


@dataclass(frozen=True)
class Candidates:
    """The people a task is offered to, resolved for one task."""

    groups: tuple[str, ...]
    users: tuple[str, ...]
    assignee: str | None


def _names(text: str | None, evaluate) -> list[str]:
    if not text:
        return []
    names: list[str] = []
    for expr, hash_expr, literal in _TOKEN.findall(text):
        if literal.strip():
            names.append(literal.strip())
            continue
        value = evaluate((expr or hash_expr).strip())
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple, set)) else [value]
        names.extend(str(v).strip() for v in values if str(v).strip())
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
        groups = [spec.lane]
    return Candidates(tuple(groups), tuple(users), assignees[0] if assignees else None)
