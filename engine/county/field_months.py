"""Each field's months: the command board's projections kept at save (issue 20).

The monthly bulletin sums a field's investment to date and counts its plates; 挂图作战 counts
each field's plates of the month. Read from every project's schedule, report and plate row
those grow with the county's history; kept here per field (sub-command) and month they are
a few rows:

- `FieldInvestment`: the planned and reported investment of the field's projects in a month,
  added to by engine/county/projects.py `set_schedule` and `record_progress`;
- `FieldPlates`: how many of the field's projects got each plate in a month, on the battle
  map and off it apart, added to by engine/county/plates.py `evaluate_plates`.

Both count a project in its field and place on the map now: when a project's field, key level
or funding changes, projects.py `follow_project` moves its months. Each change is added in
the transaction that makes it; `rebuild` fills both again from the base tables in set-based
SQL (the migration's back-fill, bench/county_history.py after its bulk copy).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..core.db import dialect_insert
from ..core.models import Base


class FieldInvestment(Base):
    """One field's planned and reported investment of one month, summed over its projects."""

    __tablename__ = "field_investment"

    sub_command: Mapped[str] = mapped_column(String(50), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    planned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    actual: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class FieldPlates(Base):
    """How many projects of a field (on the battle map, or off it) got a plate in a month."""

    __tablename__ = "field_plates"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    sub_command: Mapped[str] = mapped_column(String(50), primary_key=True)
    on_map: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    plate: Mapped[str] = mapped_column(String(20), primary_key=True)
    projects: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# ---------------------------------------------------------------- kept at save

def add_investment(session: Session, sub_command: str, change: dict[str, list[int]]) -> None:
    """Add month → [planned, actual] amounts to a field's months, one upsert per month."""
    table = FieldInvestment.__table__
    for month, (planned, actual) in sorted(change.items()):
        if not (planned or actual):
            continue
        statement = dialect_insert(session)(table).values(
            sub_command=sub_command, month=month, planned=planned, actual=actual)
        session.execute(statement.on_conflict_do_update(
            index_elements=[table.c.sub_command, table.c.month],
            set_={"planned": table.c.planned + planned, "actual": table.c.actual + actual}))


def count_plates(session: Session, change: dict[tuple[str, str, bool, str | None], int]) -> None:
    """Add (month, field, on the map, plate) → n to the counts, one upsert per cell (no plate
    given: no cell)."""
    table = FieldPlates.__table__
    for (month, field, on_map, plate), n in sorted(change.items(), key=lambda i: str(i[0])):
        if not n or plate is None:
            continue
        statement = dialect_insert(session)(table).values(
            month=month, sub_command=field, on_map=on_map, plate=plate, projects=n)
        session.execute(statement.on_conflict_do_update(
            index_elements=[table.c.month, table.c.sub_command, table.c.on_map, table.c.plate],
            set_={"projects": table.c.projects + n}))


# ---------------------------------------------------------------- read

def field_investment_to_date(session: Session, until: str) -> dict[str, tuple[int, int]]:
    """Each field's cumulative planned and actual investment up to `until`: what
    projects.investment_to_date gives, summed by the projects' field."""
    return {code: (int(planned or 0), int(actual or 0)) for code, planned, actual in
            session.execute(select(FieldInvestment.sub_command, func.sum(FieldInvestment.planned),
                                   func.sum(FieldInvestment.actual))
                            .where(FieldInvestment.month <= until)
                            .group_by(FieldInvestment.sub_command))}


def field_plate_counts(session: Session, month: str, fields: list[str] | None = None, *,
                       on_map_only: bool = False) -> dict[str, dict[str, int]]:
    """Field → plate → how many of its projects (on the map only, when asked) have it for
    the month (of the fields `fields` only, when given)."""
    query = select(FieldPlates.sub_command, FieldPlates.plate, func.sum(FieldPlates.projects))
    query = query.where(FieldPlates.month == month).group_by(FieldPlates.sub_command,
                                                             FieldPlates.plate)
    if fields is not None:
        query = query.where(FieldPlates.sub_command.in_(fields))
    if on_map_only:
        query = query.where(FieldPlates.on_map.is_(True))
    counts: dict[str, dict[str, int]] = {}
    for field, plate, n in session.execute(query):
        counts.setdefault(field, {})[plate] = int(n or 0)
    return counts


# ---------------------------------------------------------------- filled again

def rebuild(session: Session) -> tuple[int, int]:
    """Fill both projections again from the schedules, reports and plate rows; how many rows
    each. The caller commits."""
    counts = []
    for model, statement in ((FieldInvestment, REBUILD_INVESTMENT), (FieldPlates, REBUILD_PLATES)):
        session.execute(model.__table__.delete())
        session.execute(text(statement))
        counts.append(session.execute(select(func.count()).select_from(model)).scalar())
    return counts[0], counts[1]


# The statements, one each on both dialects (the migration's back-fill is the same); on the
# map is projects.on_battle_map in SQL.
REBUILD_INVESTMENT = """
INSERT INTO field_investment (sub_command, month, planned, actual)
SELECT p.sub_command, m.month, SUM(m.planned), SUM(m.actual)
FROM (SELECT project_code, month, planned_investment AS planned, 0 AS actual
        FROM project_schedule
      UNION ALL
      SELECT project_code, month, 0 AS planned, actual_investment AS actual
        FROM project_progress) AS m
JOIN project AS p ON p.code = m.project_code
GROUP BY p.sub_command, m.month
"""
REBUILD_PLATES = """
INSERT INTO field_plates (month, sub_command, on_map, plate, projects)
SELECT pp.month, p.sub_command, (p.key_level <> 'none' OR p.funding = 'government'), pp.plate,
       COUNT(*)
FROM project_plate AS pp JOIN project AS p ON p.code = pp.project_code
WHERE pp.plate IS NOT NULL
GROUP BY pp.month, p.sub_command, (p.key_level <> 'none' OR p.funding = 'government'), pp.plate
"""
