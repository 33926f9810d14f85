"""Projects: the registry, and one project with its issue list, open tasks and schedule — the
projects in the caller's scope only (engine/county/policy.py; a project out of scope is not
found); registering, editing and stage moves for those who keep the registry (the office,
administrators, the field's sub-commander: policy.may_manage_projects), checked and audited
by engine/county/registry.py exactly as on the pages."""

from __future__ import annotations

from dataclasses import asdict

from flask.views import MethodView

from engine.core.errors import PermissionDeniedError, TaskDataError
from engine.county import policy, registry, reports

from ..db import get_uow, write_uow
from .auth import before_body, current_actor
from .base import api_blueprint
from .etags import check_if_match
from .issues import issue_body
from .paging import decode_cursor, encode_cursor
from .schemas import (
    ProjectCreateArgs, ProjectEditArgs, ProjectListArgs, ProjectPageSchema, ProjectSchema,
    StageMoveArgs,
)

bp = api_blueprint("api_projects", __name__, "/projects",
                   "The county's projects (项目)")


def project_etag(row_version: int) -> str:
    """The ETag of a project (its row version)."""
    return f'"pv-{row_version}"'


def _one(code: str, status: int = 200):
    """A project in the caller's scope as ProjectSchema reads it, with its ETag."""
    uow = get_uow()
    uow.rollback()  # read what the service just committed
    record = reports.project_record(uow, current_actor(), code)
    version = registry.managed_version(uow, code)
    body = {**asdict(record.project), "issues": [issue_body(i) for i in record.issues],
            "open_tasks": [asdict(t) for t in record.open_tasks],
            "schedule": [asdict(m) for m in record.schedule]}
    return body, status, {"ETag": project_etag(version)}


def _keeper(**_view_args) -> None:
    """Before the body: 403 unless the caller keeps the projects of some field."""
    actor = current_actor()
    if not policy.may_manage_projects(actor):
        raise PermissionDeniedError(f"{actor.username} does not keep the project registry; "
                                    "the office, administrators and sub-commanders do")


def _kept(code: str) -> None:
    """Before the body: 404 for a project not seen, 403 for one the caller does not keep."""
    registry.managed_project(get_uow(), current_actor(), code)


def _schedule(rows: list[dict]) -> list[dict]:
    return [{"month": r["month"], "planned": str(r["planned_investment"]),
             "milestone": r.get("milestone") or ""} for r in rows]


def _replace_schedule(uow, code: str, rows: list[dict] | None) -> None:
    """Replace the schedule, naming a bad cell `schedule.<n>.<month|planned_investment|milestone>`."""
    if rows is None:
        return
    try:
        registry.replace_schedule(uow, current_actor(), code, _schedule(rows))
    except TaskDataError as exc:
        errors = {}
        for key, messages in exc.field_errors.items():
            _prefix, n, name = key.split("-", 2)
            name = "planned_investment" if name == "planned" else name
            errors[f"schedule.{n}.{name}"] = messages
        raise TaskDataError(str(exc), errors) from exc


def _current(code: str) -> None:
    """412 when If-Match names another version of the project."""
    check_if_match(project_etag(registry.managed_version(get_uow(), code)))


@bp.route("")
class Projects(MethodView):
    """The registry."""

    @bp.arguments(ProjectListArgs, location="query")
    @bp.response(200, ProjectPageSchema)
    def get(self, args):
        """Projects in the caller's scope by code, optionally of one sub-command or stage."""
        after = decode_cursor(args["cursor"])
        rows = reports.project_list(get_uow(), current_actor(),
                                    sub_command=args.get("sub_command"), stage=args.get("stage"),
                                    after=str(after[0]) if after is not None else None,
                                    limit=args["limit"] + 1)
        more, rows = len(rows) > args["limit"], rows[:args["limit"]]
        return {"items": [asdict(r) for r in rows],
                "next_cursor": encode_cursor([rows[-1].code]) if more and rows else None}

    @before_body(_keeper)
    @bp.arguments(ProjectCreateArgs)
    @bp.response(201, ProjectSchema)
    @bp.alt_response(403, description="The caller does not keep the registry")
    def post(self, args):
        """登记项目: register a project (and its monthly schedule); every value is checked
        against the organisation and a bad one is refused at its field (422)."""
        uow = write_uow()
        schedule = args.pop("schedule", None)
        project = registry.register_project(uow, current_actor(), args)
        uow.session.flush()
        _replace_schedule(uow, project.code, schedule)
        uow.commit()
        body, status, headers = _one(project.code, 201)
        return body, status, {**headers, "Location": f"/api/v1/projects/{project.code}"}


@bp.route("/<code>")
class OneProject(MethodView):
    """One project."""

    @bp.response(200, ProjectSchema)
    @bp.alt_response(404, description="No such project, or not yours to see")
    def get(self, code):
        """A project with its issues (问题清单), open tasks (任务清单) and monthly schedule;
        ETag = its row version."""
        return _one(code)

    @before_body(_kept)
    @bp.arguments(ProjectEditArgs)
    @bp.response(200, ProjectSchema)
    @bp.alt_response(403, description="The caller does not keep this project's field")
    @bp.alt_response(404, description="No such project, or not yours to see")
    @bp.alt_response(409, description="Changed by someone else meanwhile")
    @bp.alt_response(412, description="If-Match does not match the project's ETag")
    def patch(self, args, code):
        """编辑项目: change the fields given (not the code; not the stage) and, if given,
        replace the monthly schedule; audited with before → after."""
        uow = write_uow()
        _current(code)
        schedule = args.pop("schedule", None)
        registry.update_project(uow, current_actor(), code, args)
        _replace_schedule(uow, code, schedule)
        uow.commit()
        return _one(code)


@bp.route("/<code>/stage")
class Stage(MethodView):
    """转阶段."""

    @before_body(_kept)
    @bp.arguments(StageMoveArgs)
    @bp.response(200, ProjectSchema)
    @bp.alt_response(403, description="The caller does not keep this project's field")
    @bp.alt_response(404, description="No such project, or not yours to see")
    @bp.alt_response(409, description="Changed by someone else meanwhile")
    @bp.alt_response(412, description="If-Match does not match the project's ETag")
    def post(self, args, code):
        """Move the project to another stage with the reason (into 储备 with its class and
        track); audited with before → after and why."""
        uow = write_uow()
        _current(code)
        registry.move_project_stage(uow, current_actor(), code, args["stage"], args["reason"],
                                    reserve_class=args.get("reserve_class"),
                                    reserve_track=args.get("reserve_track"))
        uow.commit()
        return _one(code)
