"""附件 on pages: the uploads of a form's `file` fields, the list of an instance's attachments,
and their download.

A form with a file field is sent as multipart; each field's files are checked and kept in
the request's unit of work (engine/core/attachments.py) and their ids handed to the engine
with the rest of the form, which binds them when it takes the form; a refused file is named
at its field in Chinese and nothing is kept (the unit of work is rolled back). A download is
served as an attachment (never shown in the browser), with `nosniff` and the content type
judged from the content at upload, only to those who may read the instance (the approval
sheet's rule); anyone else, and any unknown id, gets 404.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, g, request, url_for
from flask_babel import gettext as _

from engine.bpm.approval_sheet import readable_instance
from engine.bpm.forms import file_fields, is_multiple
from engine.core import attachments
from engine.core.attachments import AttachmentRefused
from engine.core.errors import NotFoundError
from engine.core.uow import UnitOfWork
from engine.county import policy

from .auth import login_required
from .db import get_uow
from .downloads import send_download

bp = Blueprint("attachments", __name__, url_prefix="/attachments")

# A page form with files may be this large (the other pages keep security.MAX_CONTENT_LENGTH):
# a few files of up to 20 MB each in one submission.
MAX_UPLOAD_REQUEST = 60 * 1024 * 1024
UPLOAD_ENDPOINTS = frozenset({"tasks.complete", "processes.start",
                              "api_attachments.Attachments"})


def refusal(exc: AttachmentRefused) -> str:
    """Why a file was refused, in Chinese."""
    limit_mb = attachments.MAX_BYTES // (1024 * 1024)
    return {
        "too_large": _("文件超过 %(n)s MB，未保存", n=limit_mb),
        "too_many": _("每项最多上传 %(n)s 个文件", n=attachments.MAX_FILES),
        "empty": _("文件是空的"),
        "name_unfit": _("文件名含有控制字符，请改名后上传"),
        "name_missing": _("文件没有名称"),
        "name_mismatch": _("文件内容与扩展名不符，请确认文件类型"),
        "zip_bomb": _("文件解压后过大或条目过多，疑似压缩炸弹，未保存"),
        "zip_damaged": _("文件已损坏，无法识别"),
    }.get(exc.rule, _("不支持的文件类型：仅接受 PDF、图片（PNG、JPEG）、Word、Excel、"
                      "PowerPoint、OFD 和纯文本文件"))


def has_file_field(form: dict) -> bool:
    """Whether a form takes files (its page form is then sent as multipart)."""
    return bool(file_fields(form))


def take_uploads(uow: UnitOfWork, form: dict) -> tuple[dict[str, list[str]],
                                                       dict[str, list[str]]]:
    """Keep the files sent in each `file` field of `form` (in the unit of work, not yet
    committed): (ids by field, Chinese errors by field). With any error the caller discards
    the unit of work, so nothing is kept."""
    ids: dict[str, list[str]] = {}
    errors: dict[str, list[str]] = {}
    for spec in file_fields(form):
        fid = spec["id"]
        sent = [f for f in request.files.getlist(fid) if f and f.filename]
        if not sent:
            continue
        if not is_multiple(spec) and len(sent) > 1:
            errors[fid] = [_("此项只能上传一个文件")]
            continue
        try:
            if len(sent) > attachments.MAX_FILES:
                raise AttachmentRefused("too many files", "too_many")
            files = [(f.filename, f.stream.read(attachments.MAX_BYTES + 1)) for f in sent]
            ids[fid] = attachments.store_field(uow, g.actor.username, fid, files)
        except AttachmentRefused as exc:
            name = next((f.filename for f in sent), "")
            errors[fid] = [f"{refusal(exc)}（{name}）" if len(sent) == 1 else refusal(exc)]
    return ids, errors


def listed(uow: UnitOfWork, instance_id: int, names) -> list[dict]:
    """An instance's attachments as pages list them: name, size, who, when, link, field."""
    rows = attachments.of_instance(uow.session, instance_id)
    return [{"name": row.filename, "size": size_text(row.size), "who": names.actor(row.uploaded_by),
             "at": row.uploaded_at, "field": row.field,
             "url": url_for("attachments.download", attachment_id=row.id)} for row in rows]


def size_text(size: int) -> str:
    """A file size as people read it: 812 字节, 35.2 KB, 4.1 MB."""
    if size < 1024:
        return f"{size} 字节"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


@bp.get("/<attachment_id>")
@login_required
def download(attachment_id: str):
    """One attachment, to save; 404 unless the reader may read its instance."""
    uow = get_uow()
    try:
        row = attachments.get(uow.session, attachment_id)
        readable_instance(uow, row.instance_id, g.actor, oversees=policy.oversees(g.actor))
        data = attachments.content(uow.session, row)
    except NotFoundError:
        abort(404)
    return send_download(data, row.filename, row.content_type)


def allow_uploads() -> None:
    """Before the forms that may carry files: their larger request limit."""
    if request.endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
        configured = request.max_content_length or 0
        request.max_content_length = max(configured, MAX_UPLOAD_REQUEST)


def init_app(app: Flask) -> None:
    """The download route and the upload forms' request limit."""
    # First of all: CSRF and the form checks read the body, under the limit set here.
    app.before_request_funcs.setdefault(None, []).insert(0, allow_uploads)
    app.jinja_env.filters["filesize"] = size_text
    app.register_blueprint(bp)
