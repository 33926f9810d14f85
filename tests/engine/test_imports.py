"""Reading an uploaded workbook safely (engine/core/imports.py): hostile files are refused whole,
formulas stay text, rows and columns are bounded, problems come with sheet, row and column."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from engine.core import imports
from engine.core.imports import Column, ImportFileError, SheetSpec

SHEET = SheetSpec("账户", (Column("username", "用户名", required=True, max_chars=20),
                          Column("name", "姓名", required=True),
                          Column("note", "备注")))


def book_bytes(rows, title="账户", header=("用户名", "姓名", "备注")) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_rows_are_read_as_text_with_their_row_numbers():
    data = book_bytes([("zhang", "张三", 12.0), (None, None, None), ("li", "李四", "=1+1")])
    read = imports.read_workbook(data, [SHEET])
    assert [(r.number, r.values) for r in read.sheets["账户"]] == [
        (2, {"username": "zhang", "name": "张三", "note": "12"}),
        (4, {"username": "li", "name": "李四", "note": "=1+1"})]  # the formula, as text
    assert read.errors == []


def test_missing_values_and_headers_are_errors_at_their_cells():
    read = imports.read_workbook(book_bytes([("", "张三", ""), ("x" * 30, "李四", "")]), [SHEET])
    assert read.errors == [imports.CellError("账户", 2, "用户名", "必须填写"),
                           imports.CellError("账户", 3, "用户名", "内容过长（30 字），最多 20 字")]
    no_header = imports.read_workbook(book_bytes([("a", "b", "c")], header=("名字", "姓名")),
                                      [SHEET])
    assert no_header.errors == [imports.CellError("账户", 1, "用户名", "缺少此列；请用本页下载的模板")]


def test_a_workbook_without_the_expected_sheet_is_refused():
    with pytest.raises(ImportFileError, match="没有 “账户” 工作表"):
        imports.read_workbook(book_bytes([], title="Sheet1"), [SHEET])


@pytest.mark.parametrize("data, message", [
    (b"", "不是 Excel 工作簿"),
    (b"<html><script>alert(1)</script></html>", "不是 Excel 工作簿"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "不是 Excel 工作簿"),  # an old .xls
    (b"PK\x03\x04" + b"\0" * 100, "已损坏"),
])
def test_what_is_not_an_xlsx_is_refused(data, message):
    with pytest.raises(ImportFileError, match=message):
        imports.read_workbook(data, [SHEET])


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
    return out.getvalue()


def _with_part(name: str, data: bytes) -> bytes:
    """A real workbook with one part replaced or added."""
    source = zipfile.ZipFile(io.BytesIO(book_bytes([("a", "b", "")])))
    parts = {info.filename: source.read(info) for info in source.infolist()}
    parts[name] = data
    return _zip(parts)


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    bomb = _with_part("xl/media/bomb.bin", b"\0" * (imports.MAX_UNPACKED_BYTES + 1))
    assert len(bomb) < 1_000_000  # it is small packed
    with pytest.raises(ImportFileError, match="压缩炸弹"):
        imports.read_workbook(bomb, [SHEET])


def test_a_dtd_anywhere_in_the_package_is_refused():
    entity = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              b'<!ENTITY lol2 "&lol;&lol;&lol;">]><sst>&lol2;</sst>')
    with pytest.raises(ImportFileError, match="DTD"):
        imports.read_workbook(_with_part("xl/sharedStrings.xml", entity), [SHEET])
    external = b'<?xml version="1.0"?><!doctype x SYSTEM "file:///etc/passwd"><x/>'
    with pytest.raises(ImportFileError, match="DTD"):
        imports.read_workbook(_with_part("xl/extra.xml", external), [SHEET])


def test_too_big_and_too_many_rows_are_refused():
    with pytest.raises(ImportFileError, match="文件过大"):
        imports.read_workbook(b"PK\x03\x04" + b"\0" * imports.MAX_FILE_BYTES, [SHEET])
    rows = [(f"u{n}", "某人", "") for n in range(30)]
    with pytest.raises(ImportFileError, match="超过 20 行"):
        imports.read_workbook(book_bytes(rows), [SHEET], max_rows=20)


def test_columns_beyond_the_bound_are_not_read():
    header = ["用户名", "姓名"] + [f"c{n}" for n in range(100)] + ["备注"]
    data = book_bytes([["zhang", "张三"] + ["x"] * 100 + ["far away"]], header=header)
    [row] = imports.read_workbook(data, [SHEET]).sheets["账户"]
    assert row.values == {"username": "zhang", "name": "张三"}  # 备注 is past column 40


def test_the_template_has_the_sheets_examples_and_a_guide():
    from openpyxl import load_workbook
    data = imports.template_bytes([SHEET], {"账户": [["=cmd|' /C calc'!A0", "张三", ""]]},
                                  [("说明", "文字")])
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["账户", "说明"]
    cell = book["账户"]["A2"]
    assert cell.data_type == "s"  # an example that looks like a formula stays text
