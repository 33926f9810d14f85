"""Process definitions: list, versions of one key, deploy (designers and administrators)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy import select

from engine.bpm import definitions
from engine.core.errors import NotFoundError
from engine.core.models import Deployment

from ..db import get_uow, write_uow
from .auth import current_actor, roles
from .base import api_blueprint
from .paging import page
from .schemas import (
    DefinitionListArgs, DefinitionPageSchema, DeployArgs, DeployResultSchema,
    PageArgs,
)

bp = api_blueprint("api_definitions", __name__, "/definitions",
                   "Deployed BPMN processes and DMN decision tables")
DEPLOYERS = ("designer", "admin")
MAX_FILE = 5 * 1024 * 1024


def _key(row: Deployment) -> list:
    return [row.key, -row.version]


@bp.route("")
class Definitions(MethodView):
    """The latest version of every definition, and deployment."""

    @bp.arguments(DefinitionListArgs, location="query")
    @bp.response(200, DefinitionPageSchema)
    def get(self, args):
        """List the latest version of each process and decision, by key."""
        query = select(Deployment).where(Deployment.is_latest.is_(True)).order_by(Deployment.key)
        if args.get("kind"):
            query = query.where(Deployment.kind == args["kind"])
        rows = get_uow().session.execute(query).scalars()
        return page(rows, _key, args["limit"], args["cursor"])

    @roles(*DEPLOYERS)
    @bp.arguments(DeployArgs, location="files")
    @bp.response(201, DeployResultSchema(many=True))
    @bp.alt_response(403, description="Only designers and administrators deploy")
    @bp.alt_response(422, description="A file was rejected; nothing was deployed")
    def post(self, args):
        """Deploy BPMN/DMN files together: all or nothing; unchanged files keep their version."""
        files = []
        for upload in args["files"]:
            if not hasattr(upload, "read"):
                abort(422, errors={"files": ["each part must be a file"]})
            data = upload.read(MAX_FILE + 1)
            if len(data) > MAX_FILE:
                abort(413, message=f"{upload.filename}: larger than {MAX_FILE} bytes")
            files.append((upload.filename or "upload.bpmn", data))
        return definitions.deploy_files(write_uow(), files, current_actor().username)


@bp.route("/<key>/versions")
class Versions(MethodView):
    """Every version deployed under one key."""

    @bp.arguments(PageArgs, location="query")
    @bp.response(200, DefinitionPageSchema)
    @bp.alt_response(404, description="Nothing is deployed under the key")
    def get(self, args, key):
        """List the versions of one process or decision, newest first."""
        rows = list(get_uow().session.execute(
            select(Deployment).where(Deployment.key == key)
            .order_by(Deployment.version.desc())).scalars())
        if not rows:
            raise NotFoundError(f"nothing is deployed under the key '{key}'")
        return page(rows, lambda r: [-r.version], args["limit"], args["cursor"])

