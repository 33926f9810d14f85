"""Excel exports: text a user typed is never taken as a formula (formula injection)."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from engine.core.spreadsheets import append_rows, workbook_bytes

HOSTILE = ['=HYPERLINK("http://evil.example","点我")', "=1+1", "=cmd|' /C calc'!A0"]


def test_text_that_looks_like_a_formula_is_stored_as_text():
    book = Workbook()
    append_rows(book.active, [[text, 3] for text in HOSTILE], ["问题", "次数"])
    sheet = load_workbook(io.BytesIO(workbook_bytes(book))).active
    assert [c.value for c in sheet[1]] == ["问题", "次数"] and sheet["A1"].font.bold
    for row, text in enumerate(HOSTILE, start=2):
        cell = sheet.cell(row=row, column=1)
        assert (cell.value, cell.data_type) == (text, "s")
        assert sheet.cell(row=row, column=2).value == 3


def test_rows_after_a_title_line_are_kept_as_text_too():
    book = Workbook()
    book.active.append(["月报"])
    append_rows(book.active, [["=SUM(A1:A9)"]], ["内容"])
    sheet = load_workbook(io.BytesIO(workbook_bytes(book))).active
    assert [sheet.cell(row=r, column=1).value for r in (1, 2, 3)] == ["月报", "内容", "=SUM(A1:A9)"]
    assert sheet.cell(row=3, column=1).data_type == "s"
