"""附件 for other systems: upload a file for a form's `file` field, then complete the task (or
start the process) with its id in that field; download an instance's files.

An uploaded file is the caller's until a form binds it: only its uploader can put it on a
form, once. Files are checked as on the pages (engine/core/attachments.py): type by
content, the name's extension agreeing, 20 MB, zip bombs refused; a refused file is a 422
problem naming the reason. A download is served as an attachment with `nosniff`, to those
who may read the instance; anyone else, and an unknown or unbound id, gets 404.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import fields, validate

from engine.bpm.approval_sheet import readable_instance
from engine.core import attachments
from engine.core.attachments import AttachmentRefused

from ..db import get_uow, write_uow
from ..downloads import send_download
from .auth import current_actor, oversees
from .base import api_blueprint
from .dumping import Schema

bp = api_blueprint("api_attachments", __name__, "/attachments",
                   "附件: files for form fields of type `file`")


class UploadArgs(Schema):
    """One file, and the form field it is meant for (optional, kept for the record)."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class UploadFieldArgs(Schema):
    """The form field the file is meant for."""

    field = fields.String(load_default=None, validate=validate.Length(max=200))


class AttachmentSchema(Schema):
    """An uploaded file: its id (to put in a `file` field's list), name, size and type."""

    id = fields.String()
    filename = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    sha256 = fields.String()


@bp.route("")
class Attachments(MethodView):
    """Upload a file for a form."""

    @bp.arguments(UploadArgs, location="files")
    @bp.arguments(UploadFieldArgs, location="form")
    @bp.response(201, AttachmentSchema)
    @bp.alt_response(422, description="The file is refused (type, name, size, zip bomb)")
    def post(self, files, form):
        """Keep one file for the caller; put its id in a `file` field of a form to attach it."""
        upload = files["file"]
        if not hasattr(upload, "read"):
            abort(422, errors={"file": ["the part must be a file"]})
        uow = write_uow()
        try:
            row = attachments.store(uow, current_actor().username, upload.filename or "",
                                    upload.read(attachments.MAX_BYTES + 1), field=form["field"])
        except AttachmentRefused as exc:
            abort(422, message=str(exc), errors={"file": [str(exc)]})
        uow.commit()
        return row


@bp.route("/<attachment_id>")
class OneAttachment(MethodView):
    """Download one file of an instance."""

    @bp.alt_response(404, description="No such file, or not one the caller may read")
    def get(self, attachment_id):
        """The file, as a download (`Content-Disposition: attachment`, `nosniff`)."""
        uow, actor = get_uow(), current_actor()
        row = attachments.get(uow.session, attachment_id)  # NotFoundError: a 404 problem
        readable_instance(uow, row.instance_id, actor, oversees=oversees(actor))
        data = attachments.content(uow.session, row)
        return send_download(data, row.filename, row.content_type)
