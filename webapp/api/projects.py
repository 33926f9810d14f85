"""Projects: the registry, and one project with its issue list and open tasks."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from engine.core.errors import NotFoundError
from engine.core.models import HumanTask, ProcessInstance
from engine.bpm.projection import OPEN_STATES
from engine.county.projects import Project

from ..db import get_uow
from .base import api_blueprint
from .issues import ISSUE_PROCESS, issue_views, open_tasks
from .paging import decode_cursor, encode_cursor
from .schemas import ProjectListArgs, ProjectPageSchema, ProjectSchema

bp = api_blueprint("api_projects", __name__, "/projects",
                   "The county's projects (项目)")
COLUMNS = ("code", "name", "sub_command", "stage", "township", "lead_department",
           "project_unit", "specialist", "key_level", "funding", "planned_investment")


def _plain(row: Project) -> dict:
    return {c: getattr(row, c) for c in COLUMNS}


@bp.route("")
class Projects(MethodView):
    """The registry."""

    @bp.arguments(ProjectListArgs, location="query")
    @bp.response(200, ProjectPageSchema)
    def get(self, args):
        """Projects by code, optionally of one sub-command or stage."""
        query = select(Project).order_by(Project.code).limit(args["limit"] + 1)
        for name in ("sub_command", "stage"):
            if args.get(name):
                query = query.where(getattr(Project, name) == args[name])
        after = decode_cursor(args["cursor"])
        if after is not None:
            query = query.where(Project.code > str(after[0]))
        rows = list(get_uow().session.execute(query).scalars())
        more, rows = len(rows) > args["limit"], rows[:args["limit"]]
        return {"items": [_plain(r) for r in rows],
                "next_cursor": encode_cursor([rows[-1].code]) if more and rows else None}


@bp.route("/<code>")
class OneProject(MethodView):
    """One project."""

    @bp.response(200, ProjectSchema)
    @bp.alt_response(404, description="No such project")
    def get(self, code):
        """A project with its issues (问题清单) and open tasks (任务清单)."""
        session = get_uow().session
        row = session.get(Project, code)
        if row is None:
            raise NotFoundError(f"project {code} does not exist")
        issues = list(session.execute(select(ProcessInstance).where(
            ProcessInstance.process_key == ISSUE_PROCESS, ProcessInstance.business_key == code)
            .order_by(ProcessInstance.id.desc())).scalars())
        tasks = session.execute(select(HumanTask).where(
            HumanTask.business_key == code, HumanTask.state.in_(OPEN_STATES))
            .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at)
            ).scalars()
        return {**_plain(row), "issues": issue_views(session, issues),
                "open_tasks": open_tasks(list(tasks))}
