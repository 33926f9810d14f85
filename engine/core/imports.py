"""Importing a workbook: read an uploaded .xlsx safely, preview what it would change, confirm.

The mechanism any import shares (the organisation and accounts, projects):

1. `read_workbook` takes the uploaded bytes and the sheets it expects (`SheetSpec`) and
   returns the rows as text, with every problem of the file as a `CellError` (sheet, row,
   column, reason in Chinese). A file that is not an .xlsx, too big, a zip bomb, carries a
   DTD, or has too many rows or columns is refused whole with `ImportFileError`; formulas
   are never evaluated — their text is taken as the cell's text.
2. The importing domain turns the rows into a `Plan` against the database: each row is an
   addition, a change (with before → after) or unchanged, or an error.
3. `save_preview` keeps the parsed rows and the plan's fingerprint server-side under a
   random id, for the administrator who uploaded them; the page shows the plan.
4. On confirmation `load_preview` gives the rows back (only to that administrator, once,
   within `PREVIEW_LIFETIME`); the domain plans them again inside its write transaction and
   applies the plan only when its fingerprint is the one previewed — so what is written is
   what was shown, and a second upload of the same file plans nothing to change.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import JSON, Index, String, delete
from sqlalchemy.orm import Mapped, mapped_column

from .errors import GongjianError, NotFoundError, PermissionDeniedError
from .identity import Actor
from .models import Base, UTCDateTime
from .uow import UnitOfWork

MAX_FILE_BYTES = 10 * 1024 * 1024          # the upload itself
MAX_UNPACKED_BYTES = 100 * 1024 * 1024     # all its parts, unpacked
MAX_PARTS = 200                            # files inside the .xlsx
MAX_ROWS = 10_000                          # data rows per sheet
MAX_COLUMNS = 40                           # columns read per row
MAX_CELL_CHARS = 500
PREVIEW_LIFETIME = timedelta(hours=2)


class ImportFileError(GongjianError):
    """The uploaded file is refused whole; the message says why, in Chinese."""


@dataclass(frozen=True)
class Column:
    """One column a sheet expects, found by its header text."""

    key: str
    header: str
    required: bool = False
    max_chars: int = 200
    example: str = ""
    note: str = ""


@dataclass(frozen=True)
class SheetSpec:
    """A sheet an import reads: its name and columns (the header is the first row)."""

    name: str
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        """The column of a key."""
        return next(c for c in self.columns if c.key == key)


@dataclass(frozen=True, order=True)
class CellError:
    """One problem in the file: where (sheet, row, column header) and why, in Chinese."""

    sheet: str
    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class Row:
    """One data row: its number in the sheet (as Excel shows it) and its cells as text."""

    number: int
    values: dict[str, str]


@dataclass
class Workbook:
    """The rows read from an upload, sheet by sheet, and the problems found reading them."""

    sheets: dict[str, list[Row]]
    errors: list[CellError] = field(default_factory=list)

    def content(self) -> dict[str, Any]:
        """The rows and the reading errors as plain JSON data (kept between preview and
        confirmation)."""
        return {"sheets": {name: [[row.number, row.values] for row in rows]
                           for name, rows in self.sheets.items()},
                "errors": [[e.sheet, e.row, e.column, e.reason] for e in self.errors]}

    @classmethod
    def from_content(cls, content: dict[str, Any]) -> Workbook:
        """The workbook `content()` described."""
        return cls({name: [Row(int(n), dict(values)) for n, values in rows]
                    for name, rows in content["sheets"].items()},
                   [CellError(str(s), int(r), str(c), str(m)) for s, r, c, m in content["errors"]])


# ---------------------------------------------------------------- reading a file safely

def _check_package(data: bytes) -> None:
    """Refuse what is not a plain .xlsx package: not a zip, a zip bomb, a DTD inside."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(f"文件过大（{len(data) // 1024 // 1024} MB），"
                              f"上限为 {MAX_FILE_BYTES // 1024 // 1024} MB")
    if not data.startswith(b"PK\x03\x04"):
        raise ImportFileError("文件不是 Excel 工作簿（.xlsx）；请用本页下载的模板填写后上传")
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        parts = package.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise ImportFileError("文件已损坏或不是 Excel 工作簿（.xlsx）") from exc
    names = {part.filename for part in parts}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise ImportFileError("文件不是 Excel 工作簿（.xlsx）；.xls 等旧格式请先另存为 .xlsx")
    if len(parts) > MAX_PARTS:
        raise ImportFileError(f"工作簿内部文件过多（{len(parts)} 个），无法读取")
    # The sizes a zip declares can lie: count what actually unpacks, and look for DTDs
    # (entity expansion, external entities) in every XML part on the way.
    unpacked = 0
    try:
        for part in parts:
            if part.flag_bits & 0x1:
                raise ImportFileError("工作簿已加密；请取消密码保护后再上传")
            tail = b""
            with package.open(part) as stream:
                while chunk := stream.read(1 << 20):
                    unpacked += len(chunk)
                    if unpacked > MAX_UNPACKED_BYTES:
                        raise ImportFileError("文件解压后过大（疑似压缩炸弹），已拒绝")
                    window = (tail + chunk).upper()
                    if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                        raise ImportFileError("工作簿中含有 DTD 声明，已拒绝（可能是恶意文件）")
                    tail = chunk[-16:]
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as exc:
        raise ImportFileError("文件已损坏或不是 Excel 工作簿（.xlsx）") from exc


def _text(value: Any) -> str:
    """A cell's value as the text the import reads (formulas stay their text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value).strip()


def read_workbook(data: bytes, specs: tuple[SheetSpec, ...] | list[SheetSpec], *,
                  max_rows: int = MAX_ROWS) -> Workbook:
    """The rows of the expected sheets of an uploaded .xlsx; ImportFileError for a bad file.

    A sheet that is absent is read as empty (an upload may carry only some sheets); a sheet
    with no expected column at all is an error; blank rows are skipped.
    """
    _check_package(data)
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False,
                             keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds on a damaged package
        raise ImportFileError("无法读取该工作簿；请用本页下载的模板填写后上传") from exc
    try:
        found = {name.strip(): name for name in book.sheetnames}
        if not any(spec.name in found for spec in specs):
            expected = "、".join(f"“{spec.name}”" for spec in specs)
            raise ImportFileError(f"工作簿中没有 {expected} 工作表；请用本页下载的模板填写")
        result = Workbook({})
        for spec in specs:
            if spec.name not in found:
                result.sheets[spec.name] = []
                continue
            rows, errors = _read_sheet(book[found[spec.name]], spec, max_rows)
            result.sheets[spec.name] = rows
            result.errors.extend(errors)
        return result
    finally:
        book.close()


def _read_sheet(sheet, spec: SheetSpec, max_rows: int) -> tuple[list[Row], list[CellError]]:
    lines = sheet.iter_rows(min_row=1, max_col=MAX_COLUMNS, values_only=True)
    header = next(lines, None) or ()
    headers = [_text(value) for value in header]
    where = {}
    for index, text in enumerate(headers):
        for column in spec.columns:
            if text == column.header and column.key not in where:
                where[column.key] = index
    errors = [CellError(spec.name, 1, column.header, "缺少此列；请用本页下载的模板")
              for column in spec.columns if column.required and column.key not in where]
    if errors:
        return [], errors
    rows: list[Row] = []
    for number, line in enumerate(lines, start=2):
        values = {key: _text(line[index]) if index < len(line) else ""
                  for key, index in where.items()}
        if not any(values.values()):
            continue
        if len(rows) >= max_rows:
            raise ImportFileError(f"工作表“{spec.name}”超过 {max_rows} 行，请分批导入")
        for column in spec.columns:
            value = values.get(column.key, "")
            if len(value) > column.max_chars:
                errors.append(CellError(spec.name, number, column.header,
                                        f"内容过长（{len(value)} 字），最多 {column.max_chars} 字"))
                values[column.key] = value[:column.max_chars]
            elif column.required and not value:
                errors.append(CellError(spec.name, number, column.header, "必须填写"))
        rows.append(Row(number, values))
    return rows, errors


# ---------------------------------------------------------------- the plan

@dataclass(frozen=True)
class Change:
    """One field a row changes: its label, the value before and after (as shown)."""

    label: str
    before: str
    after: str


@dataclass(frozen=True)
class PlannedRow:
    """What one row of the file would do: add, change or nothing (unchanged)."""

    sheet: str
    row: int
    action: str  # "add", "change" or "unchanged"
    what: str    # what the row is about, by name (e.g. 县自然资源局, 张三（县自然资源局）)
    changes: tuple[Change, ...] = ()


ACTION_LABELS = {"add": "新增", "change": "修改", "unchanged": "无变化"}


@dataclass
class Plan:
    """Everything an upload would change, and every row in error; only valid plans apply."""

    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the plan has no error (an upload with errors writes nothing)."""
        return not self.errors

    def count(self, action: str) -> int:
        """How many rows would do `action`."""
        return sum(1 for row in self.rows if row.action == action)

    def summary(self) -> dict[str, int]:
        """The counts the preview shows."""
        return {"add": self.count("add"), "change": self.count("change"),
                "unchanged": self.count("unchanged"), "errors": len(self.errors)}

    def fingerprint(self) -> str:
        """A hash of what the plan would write: equal plans, equal fingerprints."""
        payload = [[r.sheet, r.row, r.action, r.what,
                    [[c.label, c.before, c.after] for c in r.changes]]
                   for r in self.rows if r.action != "unchanged"]
        payload.append([[e.sheet, e.row, e.column, e.reason] for e in sorted(self.errors)])
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- keeping a preview

class ImportBatch(Base):
    """An uploaded file's parsed rows between its preview and its confirmation."""

    __tablename__ = "import_batch"
    __table_args__ = (Index("ix_import_batch_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict] = mapped_column(JSON)
    summary: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PreviewGoneError(NotFoundError):
    """The preview to confirm does not exist any more (expired, confirmed, someone else's)."""


class PreviewOutdatedError(GongjianError):
    """The data changed since the preview: what would be written is not what was shown."""


def file_sha256(data: bytes) -> str:
    """The content hash of an upload."""
    return hashlib.sha256(data).hexdigest()


def save_preview(uow: UnitOfWork, actor: Actor, kind: str, filename: str, data: bytes,
                 book: Workbook, plan: Plan) -> str:
    """Keep the parsed rows of a previewed upload; the id to confirm it with. Commits.

    Previews older than `PREVIEW_LIFETIME` are removed on the way.
    """
    now = uow.clock.now()
    uow.rollback()  # the planning reads are done: the write starts afresh (SQLite's lock)
    uow.begin_write()
    uow.session.execute(delete(ImportBatch).where(ImportBatch.created_at < now - PREVIEW_LIFETIME,
                                                  ImportBatch.applied_at.is_(None)))
    batch = ImportBatch(id=secrets.token_urlsafe(24), kind=kind, filename=filename[:200],
                        sha256=file_sha256(data), fingerprint=plan.fingerprint(),
                        content=book.content(), summary=plan.summary(),
                        created_by=actor.username, created_at=now)
    uow.session.add(batch)
    uow.commit()
    return batch.id


def load_preview(uow: UnitOfWork, actor: Actor, kind: str, batch_id: str) -> ImportBatch:
    """The kept preview to confirm: the actor's own, of this kind, unapplied and unexpired."""
    batch = uow.session.get(ImportBatch, str(batch_id or "")[:64])
    if batch is None or batch.kind != kind or batch.applied_at is not None \
            or batch.created_at < uow.clock.now() - PREVIEW_LIFETIME:
        raise PreviewGoneError("该预览已失效（已确认、已过期或不存在）；请重新上传文件")
    if batch.created_by != actor.username:
        raise PermissionDeniedError("只能确认自己上传的预览")
    return batch


def check_unchanged(batch: ImportBatch, plan: Plan) -> None:
    """PreviewOutdatedError unless `plan` (made again now) is the plan that was previewed."""
    if plan.fingerprint() != batch.fingerprint:
        raise PreviewOutdatedError("预览之后数据已有变化，确认的内容与预览不一致；"
                                   "未写入任何内容，请重新上传文件预览")


# ---------------------------------------------------------------- templates

def template_bytes(specs: tuple[SheetSpec, ...] | list[SheetSpec],
                   examples: dict[str, list[list[str]]] | None = None,
                   notes: list[tuple[str, str]] | None = None) -> bytes:
    """An .xlsx template: one sheet per spec (header, example rows), and a 说明 sheet."""
    from openpyxl import Workbook as OpenpyxlWorkbook
    from openpyxl.styles import Font

    from .spreadsheets import append_rows, workbook_bytes

    book = OpenpyxlWorkbook()
    book.remove(book.active)
    for spec in specs:
        sheet = book.create_sheet(spec.name)
        append_rows(sheet, (examples or {}).get(spec.name, []),
                    header=[c.header for c in spec.columns])
        for index, column in enumerate(spec.columns, start=1):
            letter = sheet.cell(row=1, column=index).column_letter
            sheet.column_dimensions[letter].width = max(12, min(40, len(column.header) * 3))
    guide = book.create_sheet("说明")
    rows = [[spec.name, c.header, "是" if c.required else "否", c.note]
            for spec in specs for c in spec.columns]
    append_rows(guide, rows, header=["工作表", "列", "必填", "说明"])
    if notes:
        guide.append([])
        append_rows(guide, [[title, text] for title, text in notes])
        for cell in guide["A"]:
            if cell.value and cell.row > len(rows) + 2:
                cell.font = Font(bold=True)
    for letter, width in (("A", 16), ("B", 22), ("C", 8), ("D", 80)):
        guide.column_dimensions[letter].width = width
    return workbook_bytes(book)
