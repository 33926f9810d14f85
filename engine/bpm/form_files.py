"""The `file` fields of a form (附件): their values are attachment ids, which must be the
submitter's own uploads, bound nowhere yet; taking the form binds them to the instance and
the task (engine/core/attachments.py keeps the files)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core import attachments
from ..core.errors import NotFoundError, TaskDataError
from ..core.identity import Actor
from ..core.uow import UnitOfWork
from .forms import file_fields

NOT_YOURS = "Not an attachment of yours waiting to be attached."


@dataclass(frozen=True)
class FieldFiles:
    """The checked attachments of one `file` field: its id, its label, the ids."""

    field: str
    label: str | None
    ids: tuple[str, ...]


def checked_files(uow: UnitOfWork, form: dict, data: dict[str, Any],
                  actor: Actor) -> list[FieldFiles]:
    """The attachment ids of each `file` field in validated data, each checked to be the
    actor's and bound nowhere; TaskDataError at the field otherwise (nothing is bound)."""
    found: list[FieldFiles] = []
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for spec in file_fields(form):
        ids = data.get(spec["id"]) or []
        if len(set(ids)) != len(ids) or seen & set(ids):
            errors[spec["id"]] = ["The same attachment is given twice."]
            continue
        seen |= set(ids)
        try:
            attachments.unbound_of(uow.session, actor.username, ids, uow.clock.now())
        except NotFoundError:
            errors[spec["id"]] = [NOT_YOURS]
            continue
        if ids:
            found.append(FieldFiles(spec["id"], spec.get("label"), tuple(ids)))
    if errors:
        raise TaskDataError("the form has errors: " + "; ".join(
            f"{k}: {' '.join(v)}" for k, v in errors.items()), errors)
    return found


def bind_files(uow: UnitOfWork, actor: Actor, files: list[FieldFiles], *,
               instance_id: int, task_id: str | None) -> None:
    """Bind the checked attachments of each field to the instance (and task); audited."""
    for one in files:
        attachments.bind(uow, actor.username, list(one.ids), instance_id=instance_id,
                         task_id=task_id, field=one.field, label=one.label)
