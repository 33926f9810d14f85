"""Excel workbooks the platform hands out: a bold header row, and text never taken as a formula.

openpyxl stores a string that starts with "=" as a formula, so a title or an opinion typed
as `=HYPERLINK(...)` would run in the reader's Excel (formula injection). Every export
writes its rows through `append_rows`, which keeps such text as text.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence


def append_rows(sheet, rows: Iterable[Sequence], header: Sequence | None = None) -> None:
    """Append the header (bold) and the rows; a cell that would be a formula stays text."""
    from openpyxl.styles import Font

    if header is not None:
        sheet.append([str(label) for label in header])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":
                cell.data_type = "s"


def workbook_bytes(book) -> bytes:
    """The workbook as .xlsx bytes."""
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
