"""The headquarters' matters: what each process's tasks show by default, and values by name.

engine/bpm/matter.py reads which variables a task shows (the `gongjian:matter` property of a
user task) and why it came back; here are the county's defaults for tasks that name nothing
(by process, or by "process:element"), the labels of variables no form field labels (those
set by decision tables and scripts: the permit item's name, the issue's rung …), and the one
place where a value becomes words on a page or in the API: a unit, person or project by its
name, an enum value by its Chinese name, yes or no, a date as a date.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ..bpm import matter
from ..bpm.pickers import parse_kind
from ..bpm.process_model import Variable
from ..core.attachments import Attachment
from ..core.models import HumanTask
from ..core.uow import UnitOfWork
from .names import SYSTEM_ACTORS
from .names import Names as DisplayNames

_PROJECT = ("project_name", "project_code")
_ISSUE = ("title", "project_name", "project_code", "scope", "severity", "responsible_unit",
          "sub_command", "rung", "due_at", "listed", "carry_out_unit")
_PERMIT_ITEM = ("item_name", "project_name", "project_code", "kind", "department",
                "limit_days", "funding", "filing_note", "commitment_text", "fulfil_date")

DEFAULTS = matter.Defaults(
    shown={
        # The issue: what, where, whose, at which rung; then the promise and the result.
        "issue_lifecycle": (*_ISSUE, "plan", "promised_date", "resolution", "evidence",
                            "verify_decision", "verify_opinion"),
        # A permit item: which item of which project, who approves it in how many days,
        # what was filed or promised.
        "permit_item": _PERMIT_ITEM,
        "permit_item:approval": (*_PERMIT_ITEM, "consultation_result"),
        "permit_approval": (*_PROJECT, "funding", "project_unit", "lead_department",
                            "sub_command", "township", "need_planning", "need_land",
                            "need_energy", "need_environment", "need_construction",
                            "receive_note"),
        "plate_followup": (*_PROJECT, "month", "plate_name", "plate", "sub_command",
                           "lead_department", "project_unit", "interview_date",
                           "interview_record"),
        "progress_report": (*_PROJECT, "month", "project_unit", "sub_command"),
        "quarterly_awards": ("quarter", "sub_command"),
        "instruction_13710": ("title", "source", "instruction", "complexity",
                              "responsible_unit", "assign_note", "progress", "result_kind",
                              "report", "plan_date", "review_decision", "review_opinion"),
    },
    vocabulary={variable.name: variable for variable in (
        Variable("project_name", "项目名称"),
        Variable("project_code", "项目", picker="project"),
        Variable("project_unit", "项目单位", picker="unit"),
        Variable("lead_department", "主管部门", picker="unit"),
        Variable("township", "所在乡镇", picker="unit"),
        Variable("sub_command", "分指挥部", picker="sub_command"),
        Variable("responsible_unit", "责任单位", picker="unit"),
        Variable("funding", "投资类型", "enum",
                 {"government": "政府投资", "enterprise": "企业投资"}),
        Variable("item_name", "审批事项"),
        Variable("kind", "办理方式", "enum", {"commitment": "承诺制（先批后补）",
                                           "agency": "全代办（专员代办申报）"}),
        Variable("department", "审批部门", picker="unit"),
        Variable("limit_days", "办理时限（工作日）", "long"),
        # The rung as it stands (rung_name is the routing's first answer, not moved by 提级).
        Variable("rung", "处置层级", "enum", {"1": "立即整改", "2": "主责单位限期整改",
                                           "3": "分指挥部研究解决", "4": "县长亲自解决"}),
        Variable("due_at", "本级办理期限", "date"),
        Variable("listed", "挂牌督办", "boolean"),
        Variable("month", "月份"),
        Variable("quarter", "季度"),
        Variable("plate_name", "牌色"),
        Variable("plate", "牌色", "enum", {"blue": "蓝牌", "yellow": "黄牌", "red": "红牌"}),
    )})


def task_matter(uow: UnitOfWork, task: HumanTask) -> matter.Matter:
    """The matter of a task with the county's defaults."""
    return matter.matter_of(uow, task, DEFAULTS)


class Names:
    """Units, people, projects and groups by name for the matter, from the one display layer
    (engine/county/names.py), read once per request."""

    def __init__(self, uow: UnitOfWork, display: DisplayNames | None = None):
        self.display = display or DisplayNames(uow.session)
        self._session = uow.session
        self._files: dict[str, str | None] = {}

    def attachment(self, attachment_id: str) -> str | None:
        """An attachment's file name (a `file` field's value), or None for an unknown id."""
        if attachment_id not in self._files:
            row = self._session.get(Attachment, attachment_id) if len(attachment_id) <= 36 else None
            self._files[attachment_id] = row.filename if row is not None else None
        return self._files[attachment_id]

    def unit(self, code: str) -> str | None:
        """A unit's name, or None for a code that names none."""
        return self.display.units.get(code)

    def person(self, username: str) -> str | None:
        """张三（县自然资源局）, or None for an unknown username."""
        return self.display.people.get(username)

    def project(self, code: str) -> str | None:
        """A project's name, or None."""
        return self.display.projects.get(code)

    def actor(self, username: str) -> str:
        """Who acted, by name; the system and other systems' accounts in words."""
        if not username or username in SYSTEM_ACTORS:
            return SYSTEM_ACTORS.get(username or "system", "系统")
        if username.startswith("api:"):
            return f"对接系统 {username[4:]}"
        return self.person(username) or "未知人员"

    def group(self, group: str) -> str:
        """A candidate group in words: 县发改局, 县发改局 审批人, 督办人员."""
        return self.display.group(group)


def display(names: Names, shown: matter.Shown) -> str:
    """A shown variable's value in words (the one place values are named)."""
    return display_value(names, shown.variable, shown.value)


def display_value(names: Names, variable: Variable, value: Any) -> str:
    """A value of a variable in words."""
    if isinstance(value, list | tuple):
        return "、".join(display_value(names, variable, v) for v in value
                        if not isinstance(v, dict | list))
    if isinstance(value, bool):
        return "是" if value else "否"
    if variable.type == "file":
        return names.attachment(str(value)) or "附件"
    if variable.options:
        return variable.options.get(str(value), "其他")
    if variable.picker:
        try:
            family = parse_kind(variable.picker).family
        except ValueError:
            family = None
        found = {"unit": names.unit, "user": names.person, "project": names.project}.get(
            family, lambda _v: None)(str(value))
        if found:
            return f"{found}（{value}）" if family == "project" else found
        return "未知单位" if family == "unit" else str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if variable.type == "date" and isinstance(value, str) and "T" in value:
        return value.split("T")[0]
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _field(names: Names, item: matter.Shown) -> dict:
    return {"name": item.name, "label": item.label, "value": _json_value(item.value),
            "text": display(names, item)}


def matter_view(uow: UnitOfWork, task: HumanTask, names: Names | None = None) -> dict:
    """The matter of a task as plain data for the task page and the API: fields with their
    values in words, why it came back, the task's own fields as last submitted, and what
    happens after each choice (`back`: a step already done once, 回到)."""
    names = names or Names(uow)
    found = task_matter(uow, task)
    back = found.came_back
    return {
        "fields": [_field(names, item) for item in found.fields],
        "came_back": None if back is None else {
            "how": back.how, "step": back.step, "actor": names.actor(back.actor),
            "on_behalf_of": names.actor(back.on_behalf_of) if back.on_behalf_of else None,
            "at": back.at.isoformat(), "opinion": back.opinion,
            "fields": [_field(names, item) for item in back.fields]},
        "earlier": [_field(names, item) for item in found.earlier],
        "outcomes": [{"choice": o.choice, "steps": [
            {"name": s.name, "lane": s.lane, "ends": s.element_id is None,
             "back": s.back} for s in o.steps]}
            for o in found.outcomes],
    }


def holders(names: Names, task) -> list[str]:
    """Who holds an open task, by name: its assignee (and who stands in), else its candidate
    people and groups — 张三（县自然资源局）, 「县发改局 审批人」."""
    standing = dict(getattr(task, "standing", ()))
    def person(username: str) -> str:
        label = names.person(username) or "未知人员"
        stand_in = standing.get(username)
        return f"{label}（委托 {names.person(stand_in) or '未知人员'} 代办）" if stand_in else label
    if task.assignee:
        return [person(task.assignee)]
    return ([person(u) for u in task.candidate_users]
            + [f"「{names.group(g)}」" for g in task.candidate_groups])


def next_steps(uow: UnitOfWork, instance_id: int, names: Names | None = None) -> list[dict]:
    """Who acts next on an instance: each open step with its subject (when names repeat), the
    people or groups holding it, its due time and its time limit in working days."""
    names = names or Names(uow)
    steps = []
    for step in matter.open_steps(uow, instance_id, DEFAULTS):
        task = step.task
        steps.append({
            "task_id": task.id, "name": task.name, "element_id": task.element_id,
            "subject": _field(names, step.subject) if step.subject else None,
            "state": task.state, "holders": holders(names, task),
            "assignee": task.assignee, "candidate_groups": list(task.candidate_groups),
            "candidate_users": list(task.candidate_users),
            "created_at": task.created_at, "due_at": task.due_at,
            "working_days": step.working_days})
    return steps
