"""The county's recurring work (周期性工作): what runs, on which working day, for which period.

- 月度进度填报 `progress_reports` — on the fifth-last working day of each month, a
  `progress_report` instance for that month to the unit of every project in construction and
  of every battle-map project in pre-work (the projects the plates judge), so the reports are
  in (5 working days) before the month ends;
- 三色牌月度评定 `monthly_plates` — on the first working day of each month, last month's
  plates (rules/plate_colour.dmn), with the interview and statement follow-ups;
- 季度评奖 `award_round` — on the first working day of each quarter, last quarter's
  `quarterly_awards` round (nominations by every sub-command, then 羚羊奖 and 蜗牛奖);
- 周调度 `weekly_dispatch` — on the first working day of each week, last week's dispatch
  report is announced to the headquarters office with its figures (engine/county/dispatch.py
  builds it on demand from tables that keep their dates, so it is not copied).

Run days are working days of the calendar passed in, at 09:00 Lingchuan time. Each piece of
work takes the caller's unit of work (one transaction with the schedule's bookkeeping, see
engine/ops/schedule.py) and is keyed by its period, so doing a period twice starts nothing
twice (business keys such as PROGRESS-<project>-<month>). It answers (did something, what,
in Chinese).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..bpm import runtime
from ..bpm.definitions import latest_deployment
from ..core import attachments
from ..core.errors import GongjianError
from ..core.identity import Actor
from ..core.models import ProcessInstance
from ..core.notifications import notify
from ..core.organisation import OrgUnit
from ..core.uow import UnitOfWork
from ..core.workcalendar import SHANGHAI, WorkingCalendar
from ..county import awards, dispatch, plates
from ..county.projects import Project, month_of, shift_month
from ..county.projects import start_data as project_start_data

RUN_AT = time(9, 0)  # Lingchuan time on a run day
LOOK_AHEAD_DAYS = 400  # the longest cadence is a quarter; a year of days off is not a calendar


class ScheduleError(GongjianError):
    """Scheduled work cannot run; the message is in Chinese, for the administrator."""


# ---------------------------------------------------------------- run days and periods

def _first_working_day_of(day: date, start: date, calendar: WorkingCalendar) -> bool:
    """Whether `day` is the first working day on or after `start` (the days between are off)."""
    if day < start or not calendar.is_working_day(day):
        return False
    between = start
    while between < day:
        if calendar.is_working_day(between):
            return False
        between += timedelta(days=1)
    return True


def _first_of_month(day: date, calendar: WorkingCalendar) -> bool:
    return _first_working_day_of(day, day.replace(day=1), calendar)


def _first_of_quarter(day: date, calendar: WorkingCalendar) -> bool:
    return day.month in (1, 4, 7, 10) and _first_of_month(day, calendar)


def _first_of_week(day: date, calendar: WorkingCalendar) -> bool:
    return _first_working_day_of(day, day - timedelta(days=day.weekday()), calendar)


def _fifth_last_of_month(day: date, calendar: WorkingCalendar) -> bool:
    """The fifth-last working day of its month: four working days follow it in the month."""
    if not calendar.is_working_day(day):
        return False
    following, later = 0, day + timedelta(days=1)
    while later.month == day.month:
        following += calendar.is_working_day(later)
        later += timedelta(days=1)
    return following == 4


def _last_working_week(day: date, calendar: WorkingCalendar) -> str:
    """The Monday of the last week before `day`'s week that had a working day: after the
    Spring Festival's week off, the report is of the week before it, not of the holiday."""
    monday = day - timedelta(days=day.weekday() + 7)
    for _ in range(8):
        if any(calendar.is_working_day(monday + timedelta(days=n)) for n in range(7)):
            break
        monday -= timedelta(days=7)
    return monday.isoformat()


def local_day(moment: datetime) -> date:
    """The Lingchuan calendar day of a moment."""
    return moment.astimezone(SHANGHAI).date()


def _week_label(period: str) -> str:
    monday = date.fromisoformat(period)
    sunday = monday + timedelta(days=6)
    return f"{monday:%Y-%m-%d} 至 {sunday:%Y-%m-%d}"


def _day_label(period: str) -> str:
    day = date.fromisoformat(period)
    return f"{day.year}年{day.month}月{day.day}日"


def _month_label(period: str) -> str:
    return f"{period[:4]}年{int(period[5:])}月"


def _quarter_label(period: str) -> str:
    return f"{period[:4]}年第{'一二三四'[int(period[-1]) - 1]}季度"


# ---------------------------------------------------------------- the work

def _eligible_for_report(project: Project) -> bool:
    """Projects whose month the plates judge, or whose investment the dispatch sums."""
    return project.stage == "construction" or (
        project.stage == "prework" and plates.on_battle_map(project))


def _require_deployed(session: Session, key: str, what: str) -> None:
    if latest_deployment(session, key) is None:
        raise ScheduleError(f"{what}流程尚未部署，请先部署 bpmn/ 目录（gongjian init）")


def _instance_exists(session: Session, business_key: str) -> bool:
    return session.execute(select(ProcessInstance.id).where(
        ProcessInstance.business_key == business_key).limit(1)).first() is not None


def request_progress_reports(uow: UnitOfWork, month: str, actor: Actor) -> tuple[bool, str]:
    """Start the month's progress report of each eligible project (once per project)."""
    _require_deployed(uow.session, "progress_report", "项目月度进度填报")
    projects = [p for p in uow.session.execute(select(Project).order_by(Project.code)).scalars()
                if _eligible_for_report(p)]
    started = already = 0
    for project in projects:
        key = f"PROGRESS-{project.code}-{month}"
        if _instance_exists(uow.session, key):
            already += 1
            continue
        runtime.start_instance(uow, "progress_report", actor, business_key=key,
                               data=project_start_data(project) | {"month": month})
        started += 1
    label = _month_label(month)
    if not projects:
        return False, f"没有需要填报{label}进度的在建项目"
    if not started:
        return False, f"{label}进度填报已全部发出（{already} 个项目），未重复发出"
    more = f"，{already} 个此前已发出" if already else ""
    return True, f"已为 {started} 个项目向其项目单位发出{label}进度填报{more}"


def evaluate_month_plates(uow: UnitOfWork, month: str, actor: Actor) -> tuple[bool, str]:
    """Give last month's plates, unless that month was evaluated already."""
    label = _month_label(month)
    if plates.plates_of_month(uow.session, month):
        return False, f"{label}三色牌已评定，未重复评定"
    _require_deployed(uow.session, plates.FOLLOWUP_PROCESS, "三色牌约谈、表态发言")
    views = plates.evaluate_plates(uow, month, actor.username)
    if not views:
        return False, f"没有需要评定{label}三色牌的项目"
    counts = {name: sum(v.plate == code for v in views) for code, name in plates.PLATES.items()}
    told = "、".join(f"{name} {n} 个" for name, n in counts.items() if n)
    return True, f"已评定 {len(views)} 个项目的{label}三色牌：{told or '均未评定出颜色'}"


def start_quarter_awards(uow: UnitOfWork, quarter: str, actor: Actor) -> tuple[bool, str]:
    """Start last quarter's award round, unless it was started or published already."""
    label = _quarter_label(quarter)
    if _instance_exists(uow.session, f"AWARDS-{quarter}") or awards.awards_of(uow.session,
                                                                               quarter):
        return False, f"{label}评奖已发起，未重复发起"
    fields = uow.session.execute(select(func.count()).select_from(OrgUnit).where(
        OrgUnit.kind == "sub_command")).scalar_one()
    if not fields:
        return False, f"尚未建立分指挥部，{label}评奖未发起"
    _require_deployed(uow.session, awards.AWARD_PROCESS, "季度评奖")
    awards.start_award_round(uow, quarter, actor)
    return True, f"已发起{label}评奖：{fields} 个分指挥部各推荐最佳、最差项目"


def announce_dispatch(uow: UnitOfWork, week: str, actor: Actor) -> tuple[bool, str]:
    """Tell the headquarters office that last week's dispatch report is ready, with its figures."""
    report = dispatch.dispatch_report(uow, "week", date.fromisoformat(week))
    total = report.totals
    label = _week_label(week)
    if not report.rows:
        return False, f"尚未建立分指挥部，{label} 没有调度报告"
    figures = (f"{len(report.rows)} 个分指挥部、{total.projects} 个项目；本周新增问题 "
               f"{total.opened} 个，销号 {total.cleared} 个，逾期 {total.overdue} 个")
    notify(uow, kind="info", title=f"周调度报告（{label}）已生成", groups=["office"],
           body=f"{figures}。请到“挂图作战 › 调度报告”查看、打印或导出 Excel。")
    return True, f"已通知指挥部办公室：{label} 的周调度报告已生成（{figures}）"


def purge_attachments(uow: UnitOfWork, day: str, actor: Actor) -> tuple[bool, str]:
    """Delete the uploads whose form was never submitted (older than a day), and their files."""
    purged = attachments.purge_unbound(uow, actor.username)
    if not purged.rows:
        return False, "没有超过一天仍未提交的附件"
    megabytes = purged.bytes / (1024 * 1024)
    return True, (f"已清理 {purged.rows} 个超过一天仍未随表单提交的附件，"
                  f"释放 {purged.contents} 个文件（{megabytes:.1f} MB）")


@dataclass(frozen=True)
class Job:
    """What one entry does, when, and for which period."""

    name: str
    title: str
    cadence: str
    is_run_day: Callable[[date, WorkingCalendar], bool]
    period_of: Callable[[date, WorkingCalendar], str]  # the period a run on that day is for
    period_label: Callable[[str], str]
    work: Callable[[UnitOfWork, str, Actor], tuple[bool, str]]


JOBS: dict[str, Job] = {job.name: job for job in (
    Job("progress_reports", "月度进度填报", "每月倒数第五个工作日 9:00，向在建项目和挂图作战的前期项目"
        "的项目单位发出本月进度填报（5 个工作日内填报）",
        _fifth_last_of_month, lambda day, _calendar: month_of(day), _month_label,
        request_progress_reports),
    Job("monthly_plates", "三色牌月度评定", "每月第一个工作日 9:00，评定上月三色牌，黄牌、红牌发起约谈、表态发言",
        _first_of_month, lambda day, _calendar: shift_month(month_of(day), -1), _month_label,
        evaluate_month_plates),
    Job("award_round", "季度评奖", "每季度第一个工作日 9:00，发起上季度羚羊奖、蜗牛奖评选",
        _first_of_quarter,
        lambda day, _calendar: awards.previous_quarter(awards.quarter_of(day)),
        _quarter_label, start_quarter_awards),
    Job("weekly_dispatch", "周调度", "每周第一个工作日 9:00，生成上周调度报告并通知指挥部办公室",
        _first_of_week, _last_working_week, _week_label, announce_dispatch),
    Job("attachment_purge", "清理未提交的附件", "每天 9:00，删除上传超过一天、表单却始终未提交的附件及其文件",
        lambda _day, _calendar: True, lambda day, _calendar: day.isoformat(), _day_label,
        purge_attachments),
)}


def latest_run_by(job: Job, moment: datetime, calendar: WorkingCalendar) -> date | None:
    """The last run day of the job whose 09:00 is at or before `moment` (None: none in reach)."""
    day = local_day(moment)
    for _ in range(LOOK_AHEAD_DAYS):
        if job.is_run_day(day, calendar) and datetime.combine(day, RUN_AT,
                                                              tzinfo=SHANGHAI) <= moment:
            return day
        day -= timedelta(days=1)
    return None


def next_run_after(job: Job, moment: datetime, calendar: WorkingCalendar) -> datetime:
    """The first run of the job strictly after `moment` (09:00 on its next run day)."""
    day = local_day(moment)
    for _ in range(LOOK_AHEAD_DAYS):
        if job.is_run_day(day, calendar):
            run_at = datetime.combine(day, RUN_AT, tzinfo=SHANGHAI)
            if run_at > moment:
                return run_at
        day += timedelta(days=1)
    raise ScheduleError(f"{job.title}在 {LOOK_AHEAD_DAYS} 天内没有运行日，请检查工作日历的调整")
