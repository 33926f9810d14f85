"""An instance's audit history as a timeline for people: who, when, what, and their opinion."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from engine.bpm import matter as bpm_matter
from engine.bpm import runtime
from engine.bpm.process_model import instance_model
from engine.core.models import HumanTask, ProcessInstance
from engine.core.uow import UnitOfWork
from engine.county import matter

ACTIONS = {
    "instance_started": _l("发起流程"),
    "task_created": _l("生成待办"),
    "task_claimed": _l("认领"),
    "task_unclaimed": _l("取消认领"),
    "task_completed": _l("办理"),
    "task_decided": _l("审批"),
    "task_transferred": _l("转办"),
    "task_delegated": _l("委派"),
    "task_delegation_resolved": _l("委派办结交回"),
    "task_carbon_copied": _l("抄送"),
    "instance_completed": _l("流程办结"),
    "instance_cancelled": _l("流程撤销"),
    "timer_fired": _l("定时触发"),
    "task_returned": _l("退回"),
    "task_withdrawn": _l("撤回"),
    "task_signer_added_before": _l("前加签"),
    "task_signed": _l("会签"),
    "task_due_recomputed": _l("重算办理时限"),
    "message_received": _l("收到消息"),
    "instance_migrated": _l("迁移流程版本"),
    "task_migrated": _l("待办随新版本更新"),
    "task_cancelled": _l("待办无需再办"),
    "signal_received": _l("收到信号"),
    "timer_failed": _l("定时任务出错"),
    "timer_incident": _l("定时任务故障"),
    "workflow_failed": _l("流程执行出错"),
    "request_failed": _l("系统处理请求出错"),
    "incident_resolved": _l("故障已处理"),
    "timer_retried": _l("重试定时任务"),
    "reminded": _l("催办"),
    "escalated": _l("提级"),
    "issue_escalation_requested": _l("申请提级"),
    "issue_listed": _l("挂牌督办"),
    "issue_listing_lifted": _l("摘牌"),
    "schedule_set": _l("制定月度计划"),
    "progress_reported": _l("填报月度进展"),
    "project_stage_moved": _l("项目转阶段"),
    "project_stage_unchanged": _l("项目阶段无需变更"),
    "issue_raised": _l("承诺撤销，登记问题入台账"),
    "project_registered": _l("登记项目"),
    "project_updated": _l("修改项目信息"),
    "projects_imported": _l("导入项目库"),
    "plate_evaluated": _l("三色牌评定"),
    "award_nominated": _l("推荐季度评奖项目"),
    "awards_published": _l("公布季度评奖"),
    "meeting_decision_recorded": _l("记录会议决定"),
    "deploy": _l("部署流程"),
    "rollback": _l("回退流程版本"),
    "calendar_override_set": _l("调整工作日"),
    "calendar_override_removed": _l("撤销工作日调整"),
    "calendar_year_published": _l("发布年度节假日"),
    "calendar_year_withdrawn": _l("撤回年度节假日"),
    "api_token_created": _l("签发接口令牌"),
    "api_token_revoked": _l("吊销接口令牌"),
    "webhook_registered": _l("登记事件推送"),
    "webhook_removed": _l("删除事件推送"),
    "audit_checkpoint": _l("审计链签名检查点"),
    "unit_created": _l("新建单位"),
    "unit_changed": _l("修改单位"),
    "unit_deactivated": _l("停用单位"),
    "unit_activated": _l("启用单位"),
    "unit_post_set": _l("任命分指挥部指挥长、副指挥长"),
    "account_created": _l("新建账户"),
    "account_changed": _l("修改账户"),
    "account_password_reset": _l("重置密码"),
    "account_disabled": _l("停用账户"),
    "account_enabled": _l("启用账户"),
    "organisation_imported": _l("导入组织机构与账户"),
    "task_reassigned": _l("改派"),
    "schedule_created": _l("登记定时任务"),
    "schedule_run": _l("运行定时任务"),
    "schedule_run_failed": _l("定时任务运行失败"),
    "schedule_rescheduled": _l("定时任务随工作日历改期"),
}
ACTIONS.update({
    "standing_delegation_set": _l("设置委托"),
    "standing_delegation_changed": _l("修改委托"),
    "standing_delegation_ended": _l("结束委托"),
})
ACTIONS.update({
    "attachment_added": _l("上传附件"),
    "attachment_bound": _l("提交附件"),
    "attachments_purged": _l("清理未提交的附件"),
    "channel_added": _l("添加接收渠道"),
    "channel_removed": _l("删除接收渠道"),
    "deadline_extension_requested": _l("申请延期"),
    "deadline_extension_approved": _l("同意延期"),
    "deadline_extension_refused": _l("不同意延期"),
    "instance_suspended": _l("挂起流程"),
    "instance_resumed": _l("恢复流程"),
})
DECISIONS = {"approve": _l("同意"), "return": _l("退回"), "reject": _l("不同意")}


def acting(names, actor: str, on_behalf_of: str | None) -> str:
    """Who acted, by name: 李四（县发改局）, or 李四（代 张三） for a stand-in acting for
    another (委托). `names` is a matter.Names (or a username → name mapping)."""
    name_of = names.actor if hasattr(names, "actor") else (lambda u: names.get(u, u))
    who = name_of(actor)
    if not on_behalf_of:
        return who
    return _("%(actor)s（代 %(user)s）", actor=who, user=name_of(on_behalf_of))


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline: who (or the process), when, what, on which step, for whom,
    the decision and opinion, and the fields submitted (label, value in words)."""

    at: datetime
    actor: str
    action: str
    subject: str
    decision: str | None
    opinion: str | None
    fields: tuple[tuple[str, str], ...] = ()
    by_process: bool = False


def _subject(detail: dict, subjects: dict, task_id: str | None) -> str:
    subject = detail.get("name") or ""
    about = subjects.get(task_id)
    return f"{subject}（{about}）" if subject and about else subject


def timeline(uow: UnitOfWork, instance_id: int, names: matter.Names | None = None
             ) -> list[TimelineEntry]:
    """The instance's history, oldest first; the completion that follows a decision is folded
    in. A task the process opened is shown as the process's, with the people or groups it
    went to; a completion shows the fields submitted under their labels; steps of the same
    name are told apart by their subject (the permit item) when the instance still holds it."""
    names = names or matter.Names(uow)
    row = uow.session.get(ProcessInstance, instance_id)
    model = instance_model(uow, row) if row is not None else None
    rows = list(uow.session.execute(select(HumanTask).where(
        HumanTask.instance_id == instance_id)).scalars())
    try:
        subjects = {task_id: matter.display(names, shown) for task_id, shown in
                    bpm_matter.subjects_of(uow, instance_id, rows, matter.DEFAULTS).items()}
    except Exception:  # an instance that cannot be restored still has its history
        subjects = {}
    entries: list[TimelineEntry] = []
    decided: set[str | None] = set()
    for item in runtime.instance_history(uow, instance_id):
        detail = json.loads(item.detail or "{}")
        if item.action == "task_completed" and item.task_id in decided:
            continue
        if item.action == "task_decided":
            decided.add(item.task_id)
        data = detail.get("data") or {}
        decision = detail.get("decision") or data.get("decision")
        subject = _subject(detail, subjects, item.task_id)
        if item.action in ("task_transferred", "task_delegated", "task_carbon_copied",
                           "task_reassigned"):
            target = detail.get("after") or detail.get("to")
            subject = f"{subject} → {names.actor(target or '')}"
        by_process = item.action == "task_created"
        fields = _fields(names, model, data, skip=("decision", "opinion"))
        if by_process:
            who = ([names.actor(detail["assignee"])] if detail.get("assignee") else
                   [f"「{names.group(c)}」" if names.person(c) is None else names.person(c)
                    for c in detail.get("candidates") or []])
            fields = ((str(_l("交由")), "、".join(who)),) if who else ()
        entries.append(TimelineEntry(
            at=item.at,
            actor=str(_l("流程")) if by_process else acting(
                names, item.actor, detail.get("on_behalf_of")),
            action=str(ACTIONS.get(item.action, _l("其他操作"))), subject=subject,
            decision=str(DECISIONS[decision]) if decision in DECISIONS else None,
            opinion=detail.get("opinion") or data.get("opinion") or detail.get("why"),
            fields=fields, by_process=by_process))
    return entries


def _fields(names: matter.Names, model, data: dict, skip=()) -> tuple[tuple[str, str], ...]:
    """The submitted fields that have a label, in words."""
    if model is None or not data:
        return ()
    shown = bpm_matter.shown([(k, None) for k in data if k not in skip], model,
                             matter.DEFAULTS, data)
    return tuple((s.label, matter.display(names, s)) for s in shown)
