"""定时任务: the schedule of the county's recurring work, for administrators.

Each entry with its next run and its last result (engine/ops/schedule.py); "run now" runs
one entry for today's period, audited in the administrator's name.
"""

from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.ops import schedule

from .auth import login_required
from .db import get_platform, get_uow

bp = Blueprint("schedule", __name__, url_prefix="/admin/schedule")

TITLES = {
    "progress_reports": _l("月度进度填报"), "monthly_plates": _l("三色牌月度评定"),
    "award_round": _l("季度评奖"), "weekly_dispatch": _l("周调度"),
}
CADENCES = {
    "progress_reports": _l("每月倒数第五个工作日 9:00，向在建项目和挂图作战的前期项目的项目单位发出"
                           "本月进度填报（5 个工作日内填报）"),
    "monthly_plates": _l("每月第一个工作日 9:00，评定上月三色牌，黄牌、红牌发起约谈、表态发言"),
    "award_round": _l("每季度第一个工作日 9:00，发起上季度羚羊奖、蜗牛奖评选"),
    "weekly_dispatch": _l("每周第一个工作日 9:00，生成上周调度报告并通知指挥部办公室"),
}
OUTCOMES = {"done": _l("已完成"), "nothing": _l("无需运行"), "failed": _l("失败")}


def admin_required(view):
    """Logged-in administrators only (others get 403)."""
    @functools.wraps(view)
    @login_required
    def wrapped(**kwargs):
        if "admin" not in g.actor.groups:
            abort(403)
        return view(**kwargs)
    return wrapped


def _page(status: int = 200):
    entries = schedule.list_entries(get_uow().session)
    return render_template("schedule/index.html", entries=entries, titles=TITLES,
                           cadences=CADENCES, outcomes=OUTCOMES), status


@bp.get("/")
@admin_required
def index():
    """Every entry: what it does and when, its next run, its last run and result."""
    return _page()


@bp.post("/run")
@admin_required
def run_now():
    """Run one entry now, for today's period; a period already done does nothing."""
    name = request.form.get("entry", "")
    if name not in schedule.JOBS:
        flash(_("没有这个定时任务，请从列表中选择。"), "error")
        return _page(400)
    result = schedule.run_entry(get_platform().uow, name, g.actor, manual=True)
    flash(f"{TITLES[name]}：{result.message}", "error" if result.outcome == "failed" else "success")
    return redirect(url_for("schedule.index"))
