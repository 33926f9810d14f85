"""附件: files people attach to forms, kept by the SHA-256 of their content.

Where the content lives depends on the database:
- embedded SQLite in a file: a folder beside the database file (the instance folder,
  `GONGJIAN_INSTANCE_DIR/attachments/ab/cdef…`), each file written to a temporary name,
  fsync'ed and renamed, so a crash leaves either the whole file or none; the backup copies
  the folder with the database (engine/ops/backup.py);
- PostgreSQL (and an SQLite database in memory): the table `attachment_blob`, so that every
  web node sees the same files without a shared disk and `pg_dump` keeps them with the rest.
Equal content is kept once. The `attachment` row says who uploaded what, under which name,
and — once its form was submitted — which instance, task and field it belongs to.

What is accepted is decided by the content, never by the name: PDF, PNG, JPEG, OOXML
(docx/xlsx/pptx: a zip with `[Content_Types].xml`), OLE2 (doc/xls/ppt), OFD (a zip with
`OFD.xml`) and plain UTF-8 text that is not markup; the name's extension must agree with
what the content is. Zip-based files are checked for zip bombs from their central directory
(entry count, total uncompressed size, compression ratio of each entry) without extracting
anything. Limits: `MAX_BYTES` a file, `MAX_FILES` a field.

A file uploaded with a form that was never submitted (refused, abandoned) stays unbound; after
`UNBOUND_KEPT` it can no longer be attached and `purge_unbound` (the schedule's daily
clean-up, engine/ops/recurring.py) deletes its row and, when no other row keeps the same
content, the content itself.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Mapped, Session, mapped_column

from .errors import ConflictError, GongjianError, NotFoundError
from .models import Base, UTCDateTime
from .uow import UnitOfWork

MAX_BYTES = 20 * 1024 * 1024            # one file
MAX_FILES = 10                          # one field
MAX_NAME = 150                          # characters of a kept file name
MAX_ZIP_ENTRIES = 2_000                 # entries of a zip-based file
MAX_ZIP_TOTAL = 100 * 1024 * 1024       # their uncompressed bytes together
MAX_ZIP_RATIO = 100                     # uncompressed / compressed, each entry
UNBOUND_KEPT = timedelta(days=1)        # how long an upload waits for its form (a session
                                        # lasts at most 10 h: its form cannot come later)
FOLDER = "attachments"


class Attachment(Base):
    """One uploaded file: its content's hash, its name, who uploaded it, where it is bound."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_instance", "instance_id"),
                      Index("ix_attachment_sha256", "sha256"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(MAX_NAME))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(120))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    field: Mapped[str | None] = mapped_column(String(200))


class AttachmentBlob(Base):
    """The content of an attachment, on deployments that keep it in the database."""

    __tablename__ = "attachment_blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class AttachmentRefused(GongjianError):
    """A file is not accepted; `rule` names the check (for the message in another language)
    and `params` what it found."""

    def __init__(self, message: str, rule: str, **params):
        self.rule, self.params = rule, params
        super().__init__(message)


@dataclass(frozen=True)
class Kind:
    """What a file's content is: its content type and the extensions its name may have."""

    content_type: str
    extensions: tuple[str, ...]


PDF = Kind("application/pdf", ("pdf",))
PNG = Kind("image/png", ("png",))
JPEG = Kind("image/jpeg", ("jpg", "jpeg"))
DOCX = Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",))
XLSX = Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",))
PPTX = Kind("application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ("pptx",))
OFD = Kind("application/ofd", ("ofd",))
TEXT = Kind("text/plain; charset=utf-8", ("txt", "csv", "md", "log"))
OLE2 = {"doc": "application/msword", "xls": "application/vnd.ms-excel",
        "ppt": "application/vnd.ms-powerpoint"}
ALLOWED = "PDF, PNG, JPEG, Word/Excel/PowerPoint (docx, xlsx, pptx, doc, xls, ppt), OFD, text"

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MARKUP = re.compile(rb"<\s*(!doctype|html|script|svg|iframe|object|embed|body|head|meta|\?xml)",
                     re.IGNORECASE)
_UNFIT_NAME = re.compile("[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clean_name(name: str) -> str:
    """The name to keep: its last path part only, no control or direction characters, at most
    `MAX_NAME` characters (the extension kept); AttachmentRefused when nothing is left."""
    if _UNFIT_NAME.search(name or ""):
        raise AttachmentRefused("the file name holds control characters", "name_unfit")
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", name or "")[-1]).strip(" .")
    if not base or base in (".", ".."):
        raise AttachmentRefused("the file has no name", "name_missing")
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:MAX_NAME - len(ext) - 1] + dot + ext if dot and len(ext) <= 10
                else base[:MAX_NAME])
    return base


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _zip_kind(data: bytes) -> Kind:
    """The kind of a zip-based file, after checking it is no zip bomb (nothing extracted)."""
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise AttachmentRefused(f"the file is a damaged zip ({exc})", "zip_damaged") from exc
    if len(entries) > MAX_ZIP_ENTRIES:
        raise AttachmentRefused(f"the file holds {len(entries)} entries; at most "
                                f"{MAX_ZIP_ENTRIES}", "zip_bomb", entries=len(entries))
    total = 0
    for entry in entries:
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if ratio > MAX_ZIP_RATIO:
            raise AttachmentRefused(f"the entry {entry.filename!r} expands {ratio:.0f} times; "
                                    f"at most {MAX_ZIP_RATIO}", "zip_bomb")
    if total > MAX_ZIP_TOTAL:
        raise AttachmentRefused(f"the file expands to {total} bytes; at most {MAX_ZIP_TOTAL}",
                                "zip_bomb")
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" in names:
        for prefix, kind in (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX)):
            if any(n.startswith(prefix) for n in names):
                return kind
    if "OFD.xml" in names:
        return OFD
    raise AttachmentRefused("the file is a zip archive but not an Office or OFD document",
                            "type_refused")


def sniff(data: bytes, name: str) -> str:
    """The content type of `data` judged by its content, checked against the extension of
    `name`; AttachmentRefused for content not accepted or a name that says otherwise."""
    ext = _extension(name)
    if data.startswith(b"%PDF-"):
        kind = PDF
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = PNG
    elif data.startswith(b"\xff\xd8\xff"):
        kind = JPEG
    elif data.startswith(_OLE2_MAGIC):
        if ext not in OLE2:
            raise AttachmentRefused(f"the content is an old Office document, not .{ext}",
                                    "name_mismatch", ext=ext)
        return OLE2[ext]
    elif data.startswith(b"PK\x03\x04"):
        kind = _zip_kind(data)
    else:
        kind = _text_kind(data)
    if ext not in kind.extensions:
        raise AttachmentRefused(f"the content is {kind.content_type}, not .{ext or '(none)'}",
                                "name_mismatch", ext=ext)
    return kind.content_type


def _text_kind(data: bytes) -> Kind:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AttachmentRefused(f"the content is of a type not accepted (accepted: {ALLOWED})",
                                "type_refused") from None
    if re.search("[\x00-\x08\x0b\x0e-\x1f\x7f]", text):
        raise AttachmentRefused("the content is binary, of a type not accepted",
                                "type_refused")
    if _MARKUP.search(data[:65536]) or text.lstrip("\ufeff \t\r\n").startswith("<"):
        raise AttachmentRefused("the content is markup (HTML, SVG or XML), which is not "
                                "accepted", "type_refused")
    return TEXT


def check(name: str, data: bytes) -> tuple[str, str]:
    """The kept name and the sniffed content type of a file, or AttachmentRefused."""
    filename = clean_name(name)
    if len(data) > MAX_BYTES:
        raise AttachmentRefused(f"the file has {len(data)} bytes; at most {MAX_BYTES}",
                                "too_large", size=len(data))
    if not data:
        raise AttachmentRefused("the file is empty", "empty")
    return filename, sniff(data, filename)


def folder_of(session: Session) -> Path | None:
    """The folder of the attachments when the database is an SQLite file; None when their
    content lives in the database (PostgreSQL, SQLite in memory)."""
    url = make_url(str(session.get_bind().url))
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve().parent / FOLDER


def _path(folder: Path, sha256: str) -> Path:
    return folder / sha256[:2] / sha256[2:]


def _write_file(folder: Path, sha256: str, data: bytes) -> None:
    """Write once, atomically: a temporary file in the same folder, fsync'ed, renamed."""
    target = _path(folder, sha256)
    if target.exists() and target.stat().st_size == len(data):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o640)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def store(uow: UnitOfWork, actor: str, name: str, data: bytes, *, field: str | None = None) -> Attachment:
    """Check and keep one uploaded file (not yet bound to an instance); audited
    `attachment_added`. The caller commits (the row goes with the form it came with)."""
    filename, content_type = check(name, data)
    sha256 = hashlib.sha256(data).hexdigest()
    uow.begin_write()  # before the file: a clean-up (purge_unbound) cannot unlink it under us
    session = uow.session
    folder = folder_of(session)
    if folder is not None:
        _write_file(folder, sha256, data)
    else:
        # Kept once; a clean-up deleting the same content concurrently (PostgreSQL) is waited
        # for, and the content inserted again once its delete commits.
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(AttachmentBlob).values(sha256=sha256, data=data)
                        .on_conflict_do_nothing(index_elements=["sha256"]))
    row = Attachment(id=str(uuid.uuid4()), sha256=sha256, filename=filename, size=len(data),
                     content_type=content_type, uploaded_by=actor,
                     uploaded_at=uow.clock.now(), field=field)
    session.add(row)
    session.flush()
    uow.audit.record(actor, "attachment_added", subject=f"attachment:{row.id}",
                     name=filename, size=len(data), content_type=content_type, sha256=sha256,
                     field=field)
    return row


def store_field(uow: UnitOfWork, actor: str, field: str, files: list[tuple[str, bytes]]) -> list[str]:
    """Keep the files uploaded in one form field (at most `MAX_FILES`); their ids."""
    if len(files) > MAX_FILES:
        raise AttachmentRefused(f"{len(files)} files; at most {MAX_FILES} a field",
                                "too_many", count=len(files))
    return [store(uow, actor, name, data, field=field).id for name, data in files]


def content(session: Session, row: Attachment) -> bytes:
    """The bytes of an attachment, checked against its hash."""
    folder = folder_of(session)
    if folder is not None:
        try:
            data = _path(folder, row.sha256).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"the content of attachment {row.id} is missing") from None
    else:
        blob = session.get(AttachmentBlob, row.sha256)
        if blob is None:
            raise NotFoundError(f"the content of attachment {row.id} is missing")
        data = blob.data
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise NotFoundError(f"the content of attachment {row.id} does not match its hash")
    return data


def bind(uow: UnitOfWork, actor: str, ids: list[str], *, instance_id: int, task_id: str | None,
         field: str, label: str | None = None) -> list[Attachment]:
    """Bind the actor's unbound attachments to an instance (and task); audited
    `attachment_bound`. The ids were checked by `unbound_of`; each is bound by an update
    that finds it still unbound, so of two submissions racing for one file the second is a
    ConflictError (on PostgreSQL it waits for the first and then finds it bound)."""
    rows = unbound_of(uow.session, actor, ids, uow.clock.now())
    for row in rows:
        taken = uow.session.execute(
            update(Attachment).where(Attachment.id == row.id, Attachment.uploaded_by == actor,
                                     Attachment.instance_id.is_(None))
            .values(instance_id=instance_id, task_id=task_id, field=field)
            .execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            raise ConflictError(f"the attachment {row.filename} was just attached elsewhere; "
                                "reload and try again")
        row.instance_id, row.task_id, row.field = instance_id, task_id, field
        # The audit names the field as the form labels it (the row keeps its id).
        uow.audit.record(actor, "attachment_bound", subject=f"attachment:{row.id}",
                         instance_id=instance_id, task_id=task_id, field=label or field,
                         name=row.filename, size=row.size, sha256=row.sha256)
    uow.session.flush()
    return rows


def unbound_of(session: Session, actor: str, ids: list[str],
               now: datetime | None = None) -> list[Attachment]:
    """The attachments of `ids`, each uploaded by `actor`, bound nowhere yet and (given `now`)
    uploaded within `UNBOUND_KEPT`, in order; NotFoundError naming the first that is not
    (another's id reveals nothing)."""
    rows = {row.id: row for row in session.execute(
        select(Attachment).where(Attachment.id.in_(list(ids)))).scalars()}
    found = []
    for attachment_id in ids:
        row = rows.get(attachment_id)
        if (row is None or row.uploaded_by != actor or row.instance_id is not None
                or (now is not None and row.uploaded_at < now - UNBOUND_KEPT)):
            raise NotFoundError(f"no attachment {attachment_id} of yours waits to be attached")
        found.append(row)
    return found


@dataclass(frozen=True)
class Purged:
    """What a clean-up removed: unbound rows, and contents no row keeps any more."""

    rows: int
    contents: int
    bytes: int


def purge_unbound(uow: UnitOfWork, actor: str) -> Purged:
    """Delete the attachments left unbound for longer than `UNBOUND_KEPT`, and each content
    no other row keeps; audited `attachments_purged`. The caller commits.

    Runs under the write lock (SQLite) or with the rows locked (PostgreSQL); a file is
    unlinked only after its rows are gone and none refers to its hash, while no upload can
    add one (an upload writes under the same lock). Should the commit then fail, the rows
    come back without their file — rows nobody can attach any more (`unbound_of` refuses
    them by age) and nobody can read (`get` serves bound ones only)."""
    uow.begin_write()
    session = uow.session
    cutoff = uow.clock.now() - UNBOUND_KEPT
    stale = list(session.execute(
        select(Attachment.id, Attachment.sha256, Attachment.size)
        .where(Attachment.instance_id.is_(None), Attachment.uploaded_at < cutoff)
        .with_for_update()))
    if not stale:
        return Purged(0, 0, 0)
    for start in range(0, len(stale), 500):
        session.execute(delete(Attachment).where(
            Attachment.id.in_([row.id for row in stale[start:start + 500]]))
            .execution_options(synchronize_session=False))
    sizes = {row.sha256: row.size for row in stale}
    kept = set(session.execute(select(Attachment.sha256).where(
        Attachment.sha256.in_(list(sizes))).group_by(Attachment.sha256)).scalars())
    gone = sorted(set(sizes) - kept)
    folder = folder_of(session)
    if folder is None:
        session.execute(delete(AttachmentBlob).where(AttachmentBlob.sha256.in_(gone))
                        .execution_options(synchronize_session=False))
    session.flush()
    purged = Purged(len(stale), len(gone), sum(sizes[sha] for sha in gone))
    uow.audit.record(actor, "attachments_purged", subject="attachments",
                     rows=purged.rows, contents=purged.contents, bytes=purged.bytes,
                     uploaded_before=cutoff.isoformat())
    if folder is not None:
        for sha256 in gone:
            _path(folder, sha256).unlink(missing_ok=True)
    return purged


def of_instance(session: Session, instance_id: int) -> list[Attachment]:
    """The attachments bound to an instance, in the order they were uploaded."""
    return list(session.execute(
        select(Attachment).where(Attachment.instance_id == instance_id)
        .order_by(Attachment.uploaded_at, Attachment.filename)).scalars())


def get(session: Session, attachment_id: str) -> Attachment:
    """One attachment bound to an instance; NotFoundError otherwise (unbound ones are
    served to nobody: they belong to a form not yet submitted)."""
    row = session.get(Attachment, attachment_id) if len(attachment_id) <= 36 else None
    if row is None or row.instance_id is None:
        raise NotFoundError(f"attachment {attachment_id} does not exist")
    return row
