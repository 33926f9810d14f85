"""Meeting agendas (会议议程) and the decisions recorded against their items.

A sub-command's monthly meeting takes the issues escalated to rung 3 of its field and its
yellow and red projects; the headquarters' quarterly meeting takes the rung-4 issues, every
red project and the open statement tasks (表态发言) of plate_followup. Items are generated
from the ledgers each time; only the decisions are stored (`meeting_decision`, audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from ..core.errors import NotFoundError, PermissionDeniedError, TaskDataError
from ..core.identity import Actor
from .issue_ledger import IssueLedgerRow
from ..core.models import Base, HumanTask, UTCDateTime
from ..core.organisation import OrgUnit
from .plates import latest_plate_month, plates_of_month
from .policy import may_decide_meeting
from ..bpm.projection import OPEN_STATES
from .projects import Project
from ..core.uow import UnitOfWork

SUB_COMMAND_RUNG, HEADQUARTERS_RUNG = 3, 4
CLOSED_STEPS = ("cleared", "cancelled")


class MeetingDecision(Base):
    """A decision a meeting took on one agenda item."""

    __tablename__ = "meeting_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_key: Mapped[str] = mapped_column(String(100), index=True)
    item_ref: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class DecisionView:
    """A recorded decision."""

    item_ref: str
    decision: str
    by: str
    at: datetime


@dataclass(frozen=True)
class AgendaItem:
    """One item on a meeting's agenda: an escalated issue, a plated project or a statement."""

    ref: str  # issue:<instance>, project:<code>, statement:<task id>
    kind: str
    title: str
    detail: str
    link_code: str | None
    decisions: list[DecisionView]


@dataclass(frozen=True)
class Agenda:
    """A meeting's agenda, generated from the ledgers on the day."""

    meeting: str  # "sub_command:<code>" or "headquarters"
    meeting_key: str  # the meeting and its period: "sub_command:sc_industry@2026-12"
    title: str
    period: str
    field: str | None
    items: list[AgendaItem]


def period_of(meeting: str, day: date) -> str:
    """Sub-commands meet monthly (YYYY-MM), headquarters quarterly (YYYY-Qn)."""
    if meeting == "headquarters":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}-{day.month:02d}"


def meeting_field(meeting: str) -> str | None:
    """The field of a meeting key (`sub_command:<code>`), None for the headquarters'."""
    if meeting == "headquarters":
        return None
    kind, _, code = meeting.partition(":")
    if kind != "sub_command" or not code:
        raise NotFoundError(f"meeting {meeting!r} is unknown; use 'headquarters' or "
                            "'sub_command:<code>'")
    return code


def _decisions(session, meeting_key: str) -> dict[str, list[DecisionView]]:
    found: dict[str, list[DecisionView]] = {}
    for row in session.execute(select(MeetingDecision).where(
            MeetingDecision.meeting_key == meeting_key).order_by(MeetingDecision.id)).scalars():
        found.setdefault(row.item_ref, []).append(
            DecisionView(row.item_ref, row.decision, row.by, row.at))
    return found


def agenda(uow: UnitOfWork, meeting: str, day: date) -> Agenda:
    """The agenda of a sub-command's monthly or the headquarters' quarterly meeting."""
    session, field = uow.session, meeting_field(meeting)
    names = dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())
    if field is not None and field not in names:
        raise NotFoundError(f"sub-command {field} does not exist")
    period = period_of(meeting, day)
    key = f"{meeting}@{period}"
    decided = _decisions(session, key)
    rung = HEADQUARTERS_RUNG if field is None else SUB_COMMAND_RUNG
    query = select(IssueLedgerRow).where(IssueLedgerRow.rung == rung,
                                         IssueLedgerRow.step.not_in(CLOSED_STEPS))
    if field:
        query = query.where(IssueLedgerRow.sub_command == field)
    raw: list[tuple[str, str, str, str, str | None]] = []
    for row in session.execute(query.order_by(IssueLedgerRow.opened_at)).scalars():
        raw.append((f"issue:{row.instance_id}", "问题（已升级至第%d级）" % rung, row.title,
                    f"{row.project_name or ''} · {names.get(row.responsible_unit or '', row.responsible_unit or '')}",
                    row.project_code))
    month = latest_plate_month(session)
    plates = plates_of_month(session, month) if month else {}
    wanted = ("red",) if field is None else ("yellow", "red")
    for project in session.execute(select(Project).order_by(Project.code)).scalars():
        plate = plates.get(project.code)
        if plate and plate.plate in wanted and (field is None or project.sub_command == field):
            raw.append((f"project:{project.code}", plate.label, project.name,
                        f"{month} · {names.get(project.lead_department, project.lead_department)}",
                        project.code))
    if field is None:
        for task in session.execute(select(HumanTask).where(
                HumanTask.element_id == "make_statement", HumanTask.state.in_(OPEN_STATES))
                .order_by(HumanTask.created_at)).scalars():
            raw.append((f"statement:{task.id}", "表态发言", task.name,
                        "、".join(c.name for c in task.candidates), None))
    title = ("县项目建设指挥部季度会议" if field is None
             else f"{names.get(field, field)}月度会议")
    items = [AgendaItem(ref, kind, text, detail, code, decided.get(ref, []))
             for ref, kind, text, detail, code in raw]
    return Agenda(meeting, key, title, period, field, items)


AGENDA_HEADERS = ("序号", "议题类别", "议题", "说明", "会议决定")


def to_xlsx(agenda: Agenda, person) -> bytes:
    """The agenda as on the screen, as an .xlsx workbook: one row an item with its decisions
    (`person` names who recorded each: username → 张三（单位）)."""
    from openpyxl import Workbook

    from ..core.spreadsheets import append_rows, workbook_bytes

    book = Workbook()
    sheet = book.active
    sheet.title = "会议议程"
    sheet.append([f"{agenda.title} {agenda.period}"])
    append_rows(sheet, ([n, item.kind, item.title, item.detail,
                         "；".join(f"{d.decision}（{person(d.by)}）" for d in item.decisions)]
                        for n, item in enumerate(agenda.items, 1)), AGENDA_HEADERS)
    return workbook_bytes(book)


def record_decision(uow: UnitOfWork, actor: Actor, meeting: str, day: date, item_ref: str,
                    decision: str) -> DecisionView:
    """Record a meeting's decision on one of its agenda items (audited) and commit."""
    if not may_decide_meeting(actor, meeting_field(meeting)):
        raise PermissionDeniedError(f"{actor.username} may not record decisions of {meeting}; "
                                    "only the office, the county head or that sub-commander may")
    text = (decision or "").strip()
    if not text:
        raise TaskDataError("a decision needs its text", {"decision": ["请填写会议决定"]})
    uow.begin_write()
    current = agenda(uow, meeting, day)
    if item_ref not in {item.ref for item in current.items}:
        raise NotFoundError(f"item {item_ref} is not on the agenda of {current.meeting_key}")
    row = MeetingDecision(meeting_key=current.meeting_key, item_ref=item_ref, decision=text,
                          by=actor.username, at=uow.clock.now())
    uow.session.add(row)
    uow.audit.record(actor.username, "meeting_decision_recorded",
                     subject=f"meeting:{current.meeting_key}", item=item_ref, decision=text)
    uow.commit()
    return DecisionView(row.item_ref, row.decision, row.by, row.at)
