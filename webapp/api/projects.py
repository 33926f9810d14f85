"""Projects: the registry, and one project with its issue list and open tasks — the projects
in the caller's scope only (engine/county/policy.py; a project out of scope is not found)."""

from __future__ import annotations

from dataclasses import asdict

from flask.views import MethodView

from engine.county import reports

from ..db import get_uow
from .auth import current_actor
from .base import api_blueprint
from .issues import issue_body
from .paging import decode_cursor, encode_cursor
from .schemas import ProjectListArgs, ProjectPageSchema, ProjectSchema

bp = api_blueprint("api_projects", __name__, "/projects",
                   "The county's projects (项目)")


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


@bp.route("/<code>")
class OneProject(MethodView):
    """One project."""

    @bp.response(200, ProjectSchema)
    @bp.alt_response(404, description="No such project, or not yours to see")
    def get(self, code):
        """A project with its issues (问题清单) and open tasks (任务清单)."""
        record = reports.project_record(get_uow(), current_actor(), code)
        return {**asdict(record.project), "issues": [issue_body(i) for i in record.issues],
                "open_tasks": [asdict(t) for t in record.open_tasks]}
