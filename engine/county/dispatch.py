"""Dispatch reports (周/旬调度报告) and the monthly bulletin (月通报: 晒工作、亮成绩、揭短板).

One row per sub-command: its projects by stage and plate, investment completed against
the schedule, issues opened and cleared in the period, overdue issues and awards. The
screen, the print view and the .xlsx all take the same rows from `dispatch_report`. The
bulletin also prints the audit chain's newest signed checkpoint (event, hash, time), so that
the paper record anchors the chain (engine/core/checkpoints.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from .awards import awards_of, latest_award_quarter
from .issue_ledger import ISSUE_STEPS, IssueLedgerRow
from ..core.checkpoints import Checkpoint, latest_checkpoint
from ..core.organisation import OrgUnit
from .field_months import field_investment_to_date, field_plate_counts
from .plates import PLATES
from .projects import STAGES, Project, ProjectPlate
from ..core.spreadsheets import append_rows, workbook_bytes
from ..core.uow import UnitOfWork
from ..core.workcalendar import SHANGHAI

PERIODS = {"week": "周调度", "tenday": "旬调度", "month": "月通报"}
CLOSED_STEPS = ("cleared", "cancelled")
HIGHLIGHT_NAMES = 30  # a bulletin's page names this many projects per list of plates
HEADERS = ["分指挥部", "项目数", *[f"{v}阶段" for v in STAGES.values()],
           *[v for v in PLATES.values()], "序时计划投资（万元）", "累计完成投资（万元）", "完成率（%）",
           "本期新增问题", "本期销号问题", "逾期问题", "羚羊奖", "蜗牛奖"]


@dataclass(frozen=True)
class DispatchRow:
    """One sub-command's figures for the period."""

    code: str
    name: str
    projects: int
    stages: dict[str, int]
    plates: dict[str, int]
    planned: int
    actual: int
    opened: int
    cleared: int
    overdue: int
    antelope: int
    snail: int

    @property
    def percent(self) -> int | None:
        """Completed investment as a share of the schedule to date."""
        return round(self.actual * 100 / self.planned) if self.planned else None

    def cells(self) -> list:
        """The row as the .xlsx and the table show it, in HEADERS order."""
        return [self.name, self.projects, *[self.stages[s] for s in STAGES],
                *[self.plates[p] for p in PLATES], self.planned, self.actual,
                self.percent if self.percent is not None else "", self.opened, self.cleared,
                self.overdue, self.antelope, self.snail]


@dataclass(frozen=True)
class DispatchReport:
    """A dispatch report or bulletin for one period."""

    kind: str
    title: str
    start: date
    end: date  # inclusive
    plate_month: str
    award_quarter: str | None
    rows: list[DispatchRow]
    totals: DispatchRow
    highlights: dict[str, list[str]] = field(default_factory=dict)
    audit_anchor: Checkpoint | None = None  # the bulletin's: the newest signed checkpoint

    @property
    def anchor_line(self) -> str | None:
        """The checkpoint as the bulletin prints it, in Lingchuan time."""
        anchor = self.audit_anchor
        if anchor is None:
            return None
        return (f"审计链签名检查点：截至第 {anchor.seq} 号事件，哈希 {anchor.hash}，"
                f"{anchor.at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 签名（密钥 {anchor.key_id}）")


def period_bounds(kind: str, day: date) -> tuple[date, date]:
    """The first and last day of the week, ten-day period or month containing `day`."""
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if kind == "month":
        return first, last
    if kind == "tenday":
        if day.day <= 10:
            return first, first.replace(day=10)
        if day.day <= 20:
            return first.replace(day=11), first.replace(day=20)
        return first.replace(day=21), last
    raise ValueError(f"unknown period {kind!r}; one of {sorted(PERIODS)}")


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def _sum_rows(rows: list[DispatchRow]) -> DispatchRow:
    def total(attr):
        return sum(getattr(r, attr) for r in rows)
    return DispatchRow("total", "合计", total("projects"),
                       {s: sum(r.stages[s] for r in rows) for s in STAGES},
                       {p: sum(r.plates[p] for r in rows) for p in PLATES},
                       total("planned"), total("actual"), total("opened"), total("cleared"),
                       total("overdue"), total("antelope"), total("snail"))


def dispatch_report(uow: UnitOfWork, kind: str, day: date, *,
                    names_limit: int | None = HIGHLIGHT_NAMES) -> DispatchReport:
    """The period's figures per sub-command (kind: week, tenday or month); a bulletin's lists
    of plates name the first `names_limit` projects of each (None: all, as the .xlsx does)."""
    session = uow.session
    start, end = period_bounds(kind, day)
    begin, finish = _moment(start), _moment(end + timedelta(days=1))
    now = min(uow.clock.now(), finish)
    # the newest plates given by the period's end (plates of a month come early the next)
    end_month = f"{end.year:04d}-{end.month:02d}"
    plate_month = session.execute(select(func.max(ProjectPlate.month)).where(
        ProjectPlate.month <= end_month)).scalar() or end_month
    plate_counts = field_plate_counts(session, plate_month)
    quarter = latest_award_quarter(session)
    prizes = awards_of(session, quarter) if quarter else []
    # the fields' investment to date and plates, from the projections kept at save
    to_date = field_investment_to_date(session, plate_month)
    ledger = IssueLedgerRow
    field_ = ledger.sub_command
    # the period's issues per field, counted in SQL over index ranges, not read one by one
    opened = dict(session.execute(select(field_, func.count()).where(
        ledger.opened_at >= begin, ledger.opened_at < finish).group_by(field_)).all())
    cleared = dict(session.execute(select(field_, func.count()).where(
        ledger.cleared_at >= begin, ledger.cleared_at < finish).group_by(field_)).all())
    overdue = dict(session.execute(select(field_, func.count()).where(
        ledger.step.in_([s for s in ISSUE_STEPS if s not in CLOSED_STEPS]),
        ledger.due_at < now).group_by(field_)).all())
    stages: dict[str, dict[str, int]] = {}
    for code, stage, count in session.execute(select(
            Project.sub_command, Project.stage, func.count()).group_by(
            Project.sub_command, Project.stage)):
        stages.setdefault(code, dict.fromkeys(STAGES, 0))[stage] = count
    rows = []
    for unit in session.execute(select(OrgUnit).where(OrgUnit.kind == "sub_command")
                                .order_by(OrgUnit.sort, OrgUnit.code)).scalars():
        field_stages = stages.get(unit.code, dict.fromkeys(STAGES, 0))
        planned, actual = to_date.get(unit.code, (0, 0))
        rows.append(DispatchRow(
            unit.code, unit.name, sum(field_stages.values()),
            {s: field_stages.get(s, 0) for s in STAGES},
            {p: plate_counts.get(unit.code, {}).get(p, 0) for p in PLATES}, planned, actual,
            opened.get(unit.code, 0), cleared.get(unit.code, 0), overdue.get(unit.code, 0),
            sum(a.sub_command == unit.code and a.award == "antelope" for a in prizes),
            sum(a.sub_command == unit.code and a.award == "snail" for a in prizes)))
    report = DispatchReport(kind, PERIODS[kind], start, end, plate_month, quarter, rows,
                            _sum_rows(rows), audit_anchor=latest_checkpoint(session)
                            if kind == "month" else None)
    if kind == "month":
        report.highlights.update(_highlights(session, plate_month, prizes, rows, names_limit))
    return report


def _plate_names(session, month: str, colours: tuple[str, ...],
                 limit: int | None) -> list[tuple[str, str]]:
    """(project name, plate) of the month's plates of these colours, by project code; the
    first `limit` of them (all when None), each colour read from the index of month, plate
    and code."""
    found = []
    for colour in colours:
        query = (select(ProjectPlate.project_code, Project.name, ProjectPlate.plate)
                 .join(Project, Project.code == ProjectPlate.project_code)
                 .where(ProjectPlate.month == month, ProjectPlate.plate == colour)
                 .order_by(ProjectPlate.project_code))
        found += session.execute(query.limit(limit) if limit is not None else query).all()
    return [(name, plate) for _code, name, plate in sorted(found)[:limit]]


def _more(count: int, shown: int, what: str) -> list[str]:
    """The line that says how many more projects of a list the page leaves out."""
    return [f"……另有 {count - shown} 个{what}项目，全部名单见导出的 Excel"] if count > shown else []


def _highlights(session, month: str, prizes, rows: list[DispatchRow],
                limit: int | None) -> dict[str, list[str]]:
    """晒工作 (the best fields), 亮成绩 (blue plates, antelope awards) and 揭短板 (yellow and
    red plates, snail awards, fields with overdue issues); the plates' lists name the first
    `limit` projects of each (by code) and say how many more there are."""
    best = sorted((r for r in rows if r.percent is not None), key=lambda r: -r.percent)
    blue = _plate_names(session, month, ("blue",), limit)
    behind = _plate_names(session, month, ("red", "yellow"), limit)
    blue_count = sum(r.plates["blue"] for r in rows)
    behind_count = sum(r.plates["yellow"] + r.plates["red"] for r in rows)
    return {
        "晒工作": [f"{r.name}：累计完成投资 {r.actual} 万元，完成序时计划 {r.percent}%"
                for r in best[:3]],
        "亮成绩": [f"{name}（蓝牌）" for name, _plate in blue]
        + _more(blue_count, len(blue), "蓝牌")
        + [f"{a.project_name}（{a.label}）" for a in prizes if a.award == "antelope"],
        "揭短板": [f"{name}（{PLATES[plate]}）" for name, plate in behind]
        + _more(behind_count, len(behind), "黄牌、红牌")
        + [f"{a.project_name}（{a.label}）" for a in prizes if a.award == "snail"]
        + [f"{r.name}：逾期问题 {r.overdue} 个" for r in rows if r.overdue],
    }


def to_xlsx(report: DispatchReport) -> bytes:
    """The report's rows as an .xlsx workbook with Chinese headers."""
    from openpyxl import Workbook
    book = Workbook()
    sheet = book.active
    sheet.title = report.title
    sheet.append([f"{report.title} {report.start:%Y-%m-%d} 至 {report.end:%Y-%m-%d}"
                  f"（三色牌 {report.plate_month}）"])
    append_rows(sheet, (row.cells() for row in [*report.rows, report.totals]), HEADERS)
    if report.anchor_line:
        sheet.append([report.anchor_line])
    sheet.column_dimensions["A"].width = 34
    if report.highlights:  # the bulletin's lists, whole (the page names the first of each)
        lists = book.create_sheet("通报要点")
        append_rows(lists, ([title, line] for title, lines in report.highlights.items()
                            for line in lines), ["要点", "内容"])
        lists.column_dimensions["B"].width = 60
    return workbook_bytes(book)
