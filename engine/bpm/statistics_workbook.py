"""The statistics as an Excel workbook: one sheet per table of the page, in Chinese."""

from __future__ import annotations

from .statistics import Durations, Statistics


def _days(value: float | None):
    return "" if value is None else round(value, 1)


def _percent(rate: float | None):
    return "" if rate is None else f"{rate * 100:.1f}%"


def _durations(d: Durations) -> list:
    return [_days(d.median), _days(d.p90)]


def workbook(figures: Statistics) -> bytes:
    """The .xlsx bytes of the figures."""
    from openpyxl import Workbook

    from engine.core.spreadsheets import append_rows, workbook_bytes

    book = Workbook()
    period = f"{figures.period.first} 至 {figures.period.last}"
    sheet = book.active
    sheet.title = "流程"
    append_rows(sheet, [[p.name, p.started, p.completed, p.cancelled, p.running_now,
                         *_durations(p.duration)] for p in figures.processes],
                [f"流程（{period}）", "发起", "办结", "撤销", "当前在办",
                 "办结用时中位数（工作日）", "办结用时90%分位（工作日）"])
    append_rows(book.create_sheet("环节"), [
        [s.process_name, s.name, s.ended, *_durations(s.duration), _percent(s.overdue_rate),
         s.open_now, s.overdue_now] for s in figures.steps],
        ["流程", "环节", "办结件数", "用时中位数（工作日）", "用时90%分位（工作日）", "超期率",
         "当前在办", "当前超期"])
    append_rows(book.create_sheet("单位"), [
        [u.name, u.ended, *_durations(u.duration), _percent(u.overdue_rate), u.open_now,
         u.overdue_now] for u in figures.units],
        ["单位", "办结件数", "用时中位数（工作日）", "用时90%分位（工作日）", "超期率",
         "当前在办", "当前超期"])
    append_rows(book.create_sheet("个人"), [
        [p.name, p.unit, p.ended, p.open_now, p.overdue_now] for p in figures.people],
        ["姓名", "单位", "办结件数", "当前在办", "当前超期"])
    return workbook_bytes(book)
