"""ETags for optimistic updates: an instance's row version, a task's state fingerprint."""

from __future__ import annotations

import hashlib

from flask import request
from flask_smorest import abort


def instance_etag(row_version: int) -> str:
    """The ETag of an instance (its row version)."""
    return f'"rv-{row_version}"'


def task_etag(task) -> str:
    """The ETag of a task: changes whenever its state, holder or candidates change."""
    parts = [task.id, task.state, task.assignee or "", task.ended_by or "",
             ",".join(sorted(f"{c.kind}:{c.name}" for c in task.candidates))]
    return '"t-' + hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:20] + '"'


def check_if_match(current: str) -> None:
    """412 when the client sent If-Match and the resource has changed since."""
    wanted = request.headers.get("If-Match")
    if not wanted:
        return
    tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
    if "*" not in tags and current not in tags:
        abort(412, message="the resource changed since you read it (ETag "
                           f"{current}); read it again and retry")
