"""How codes are shown to people: the one display layer for pages, Excel exports,
notifications and the audit trail.

A person is 张三（县自然资源局）, a unit its name, a candidate group its role at its unit
(县发展和改革局 审批人) or its unit, an enum value its label, a variable its label.
Codes, usernames, role keys and English values never reach a reader: what cannot be named
is said to be unknown rather than shown raw (task ids, for instance, become a count).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..bpm.xmlsafe import parse_definition_xml
from ..bpm.start_forms import latest_start_forms
from ..core.organisation import ROLES, UNIT_KINDS, OrgUnit, UserAccount
from ..core.workcalendar import SHANGHAI
from .plates import PLATES
from .projects import FUNDING, KEY_LEVELS, RESERVE_CLASSES, RESERVE_TRACKS, STAGES

# Accounts of the system itself, which no person holds.
SYSTEM_ACTORS = {"timer": "定时器（系统）", "system": "系统", "anonymous": "未登录用户",
                 "worker": "后台任务（系统）", "demo": "演示数据（系统）"}
ISSUE_STEPS = {"registered": "已登记", "assigned": "已交办", "committed": "已承诺",
               "reported": "已报告待核验", "cleared": "已销号", "cancelled": "已撤销"}
INSTRUCTION_STEPS = {"registered": "待交办", "assigned": "已交办",
                     "progress_reported": "已反馈进展", "result_reported": "已报送结果",
                     "plan_accepted": "方案跟踪中", "closed": "已办结", "cancelled": "已撤销"}
RUNGS = {1: "立即整改", 2: "主责单位限期整改", 3: "分指挥部研究解决", 4: "县长亲自解决"}
TASK_STATES = {"open": "待认领", "claimed": "办理中", "completed": "已办结",
               "cancelled": "已取消", "running": "进行中"}
INSTANCE_STATES = {"running": "进行中", "completed": "已办结", "cancelled": "已撤销",
                   "failed": "出错", "suspended": "已挂起"}
DECISIONS = {"approve": "同意", "return": "退回", "reject": "不同意"}
# Values whose meaning holds whatever key carries them.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "stage": STAGES, "from_stage": STAGES, "to_stage": STAGES, "key_level": KEY_LEVELS,
    "funding": FUNDING, "reserve_class": RESERVE_CLASSES, "reserve_track": RESERVE_TRACKS,
    "plate": PLATES, "colour": PLATES, "decision": DECISIONS, "step": ISSUE_STEPS,
    "state": TASK_STATES, "status": INSTANCE_STATES, "kind": UNIT_KINDS, "role": ROLES,
}
# The variables the engine and the county's processes write, by their label.
VARIABLE_LABELS = {
    "before": "原为", "after": "改为", "to": "给", "to_user": "交回给",
    "business_key": "业务编号", "version": "版本", "assignee": "办理人",
    "candidates": "候选", "due_at": "办理时限", "decision": "结论",
    "month": "月份", "actual_investment": "本月完成投资（万元）",
    "milestone_done": "节点完成", "months": "月度计划", "inputs": "评定依据",
    "automatic": "自动", "notified": "已通知", "tasks": "涉及待办",
    "sub_command": "分指挥部", "best": "最佳项目", "worst": "最差项目",
    "antelope": "羚羊奖", "snail": "蜗牛奖", "item": "议题",
    "message": "消息", "payload": "消息内容", "attempts": "尝试次数",
    "error": "错误", "last_error": "错误", "provisional": "预估",
    "from_version": "原版本", "to_version": "新版本", "waiting_at": "停留环节",
    "project_code": "项目编号", "project_name": "项目名称", "project_unit": "项目单位",
    "lead_department": "主管部门", "township": "乡镇", "funding": "投资性质",
    "title": "标题", "responsible_unit": "责任单位", "scope": "问题范围",
    "severity": "严重程度", "plate": "三色牌", "source": "批示人",
    "complexity": "事项类型", "instruction": "批示内容",
    "code": "项目编号", "name": "名称", "stage": "阶段",
    "reserve_class": "储备类别", "reserve_track": "储备方向", "specialist": "项目专员",
    "key_level": "重点级别", "planned_investment": "总投资（万元）",
    "completed_by": "办结人", "process": "流程", "filename": "文件",
    "sha256": "文件校验值", "added": "新增", "changed": "修改",
    "moved": "转阶段", "schedules": "更新月度计划",
    # the plate decision table's inputs (engine/county/plates.py)
    "actual_to_date": "累计完成投资（万元）", "planned_to_date": "累计计划投资（万元）",
    "on_schedule": "按计划推进", "reminders_last_two_months": "近两个月催办次数",
    "yellow_months_in_a_row": "连续黄牌月数", "reported": "已填报", "reminders": "催办次数",
    # the ladder and the desk
    "rung": "处置层级", "from_rung": "原层级", "to_rung": "新层级", "reason": "理由",
    "listed": "挂牌督办", "promised_date": "承诺完成日期", "opinion": "意见",
    "note": "说明", "why": "理由", "by": "操作人", "actor": "操作人", "user": "人员",
    "unit": "单位", "group": "候选", "role": "角色", "roles": "角色", "kind": "类别",
    "parent": "上级单位", "sort": "排序", "display_name": "姓名", "username": "账户",
    "active": "启用", "element": "环节", "next_signer": "下一位会签人",
    "signers": "会签人", "on_behalf_of": "代办对象", "quarter": "季度",
    "meeting": "会议", "date": "日期", "text": "内容", "result": "结果",
    "result_kind": "报送内容", "review_decision": "审核结论", "rating": "办理评价",
    "escalate_issue": "提级", "list_issue": "挂牌督办", "lift_listing": "摘牌",
    "count": "数量", "instance_id": "流程实例", "task_id": "待办",
    # 附件 (engine/core/attachments.py)
    "size": "大小（字节）", "field": "表单项", "content_type": "文件类型",
}
UNIT_KEYS = {"sub_command", "project_unit", "lead_department", "township", "responsible_unit",
             "unit", "parent", "unit_code"}
PERSON_KEYS = {"specialist", "completed_by", "assignee", "to_user", "by", "actor", "user",
               "on_behalf_of", "next_signer", "delegator", "owner", "username"}
GROUP_KEYS = {"candidates", "notified", "group", "groups", "to"}
COUNTED_KEYS = {"tasks"}  # task ids: what a reader can use of them is how many there were
REF_KINDS = {"issue": "问题", "instance": "流程实例", "statement": "表态发言",
             "awards": "季度评奖", "meeting": "会议", "headquarters": "指挥部会议"}
MESSAGE_NAMES = {"escalate_issue": "提级", "list_issue": "挂牌督办", "lift_listing": "摘牌",
                 "issue_listed": "挂牌督办", "issue_listing_lifted": "摘牌"}


def person_label(display_name: str, unit_name: str | None) -> str:
    """How a person is named: 张三（县自然资源局）; the unit once, if the name holds it already."""
    if not unit_name or unit_name in display_name:
        return display_name
    return f"{display_name}（{unit_name}）"


class Names:
    """Names of one database's people, units and groups, read once on first use."""

    def __init__(self, session: Session):
        self._session = session
        self._units: dict[str, str] | None = None
        self._people: dict[str, str] | None = None
        self._options: dict[str, dict[str, str]] | None = None
        self._projects: dict[str, str] | None = None

    # ------------------------------------------------------------ the organisation

    @property
    def units(self) -> dict[str, str]:
        """Unit code → name."""
        if self._units is None:
            self._units = dict(self._session.execute(select(OrgUnit.code, OrgUnit.name)).all())
        return self._units

    @property
    def people(self) -> dict[str, str]:
        """Username → 张三（单位）."""
        if self._people is None:
            rows = self._session.execute(select(UserAccount.username,
                                                UserAccount.display_name,
                                                UserAccount.unit_code)).all()
            self._people = {u: person_label(d, self.units.get(c or "")) for u, d, c in rows}
        return self._people

    def unit(self, code: str | None) -> str:
        """A unit's name ('' for none; an unknown code is said to be unknown)."""
        if not code:
            return ""
        return self.units.get(code) or f"未知单位（{code}）"

    def person(self, username: str | None) -> str:
        """A person as 张三（单位）; the system's own accounts by what they are."""
        if not username:
            return ""
        if username in SYSTEM_ACTORS:
            return SYSTEM_ACTORS[username]
        return self.people.get(username) or username  # an account never made here

    def group(self, group: str | None) -> str:
        """A candidate group: 县发改局 审批人, 礼义镇, 项目专员 (as engine/county/matter.py
        names them); a user: the person."""
        if not group:
            return ""
        if group.startswith("unit:"):
            return self.unit(group[5:])
        if group.startswith("user:"):
            return self.person(group[5:])
        role, _at, unit = group.partition("@")
        if role in ROLES:
            return f"{self.unit(unit)} {ROLES[role]}" if unit else ROLES[role]
        if group in self.people:
            return self.people[group]
        return group  # a lane's Chinese name (项目专员) or a group of another system

    def groups(self, groups) -> str:
        """Candidate groups joined with 、."""
        if isinstance(groups, str):
            groups = [g for g in groups.replace(",", " ").split() if g]
        return "、".join(self.group(g) for g in groups or [])

    # ------------------------------------------------------------ values

    @property
    def options(self) -> dict[str, dict[str, str]]:
        """Enum field id → {value: label}, from the start forms of the deployed processes."""
        if self._options is None:
            found: dict[str, dict[str, str]] = {}
            for form in latest_start_forms(self._session).values():
                for field in form.get("fields", []):
                    for option in field.get("options") or []:
                        if option.get("id") and option.get("name"):
                            found.setdefault(field["id"], {})[option["id"]] = option["name"]
            self._options = found
        return self._options

    def variable(self, key: str, form_label: str | None = None) -> str:
        """A variable's label: the form's own first, then the engine's."""
        return form_label or VARIABLE_LABELS.get(key) or key

    def value(self, key: str, value: Any, options: dict[str, str] | None = None) -> str:
        """One value as people read it: codes named, times local, yes/no, lists joined."""
        if isinstance(value, bool):
            return "是" if value else "否"
        if value is None:
            return "（空）"
        if key in COUNTED_KEYS and isinstance(value, list):
            return f"{len(value)} 项"
        if isinstance(value, list):
            return "、".join(self.value(key, v, options) for v in value)
        if isinstance(value, dict):
            return "；".join(f"{self.variable(k)}：{self.value(k, v)}" for k, v in value.items())
        if key in ("rung", "from_rung", "to_rung") and isinstance(value, int):
            return f"第{value}级（{RUNGS[value]}）" if value in RUNGS else str(value)
        if not isinstance(value, str):
            return str(value)
        if options and value in options:
            return options[value]
        if key in ("item", "item_ref", "ref", "subject"):
            return self.ref(value)
        if key in GROUP_KEYS:
            return self.group(value)
        if key in PERSON_KEYS:
            return self.person(value) if value in self.people or value in SYSTEM_ACTORS \
                else value
        if key in UNIT_KEYS:
            return self.unit(value) if value in self.units else value
        if key in ("before", "after") and value in self.people:
            return self.people[value]  # a task handed from one person to another
        labels = VALUE_LABELS.get(key) or self.options.get(key) or {}
        if value in labels:
            return labels[value]
        if key.endswith("_at") or (key in ("before", "after") and "T" in value[:11]):
            try:
                return datetime.fromisoformat(value).astimezone(SHANGHAI).strftime(
                    "%Y-%m-%d %H:%M")
            except ValueError:
                return value
        return value

    @property
    def projects(self) -> dict[str, str]:
        """Project code → name."""
        if self._projects is None:
            from .projects import Project
            self._projects = dict(self._session.execute(select(Project.code,
                                                               Project.name)).all())
        return self._projects

    def ref(self, ref: str) -> str:
        """What an agenda item or an event's subject refers to: 项目 名称, 问题 #12 …"""
        kind, _sep, key = ref.partition(":")
        if kind == "project":
            return f"{self.projects.get(key, '')}（{key}）" if key in self.projects else key
        if kind in ("issue", "instance"):
            return f"{REF_KINDS[kind]} #{key}"
        if kind == "user":
            return self.person(key)
        if kind == "unit" or kind == "sub_command":
            return self.unit(key)
        if kind in REF_KINDS:
            return REF_KINDS[kind]
        return ref

    def message(self, name: str) -> str:
        """A BPMN message's name as an action (escalate_issue → 提级)."""
        return MESSAGE_NAMES.get(name) or VARIABLE_LABELS.get(name) or name


@functools.lru_cache(maxsize=64)
def _element_names(sha256: str, xml: str, filename: str) -> dict[str, str]:
    root = parse_definition_xml(xml.encode("utf-8"), filename).root
    return {el.get("id"): el.get("name") for el in root.iter()
            if isinstance(el.tag, str) and el.get("id") and el.get("name")}


def element_names(deployment) -> dict[str, str]:
    """Element id → name of a deployed definition (cached by its content hash)."""
    if deployment is None:
        return {}
    return _element_names(deployment.sha256, deployment.xml, deployment.filename)
