"""The organisation and its accounts (administrators only): units as a tree with the posts of
the sub-commands, accounts with their roles, one-time passwords, disabling with the account's
open work reassigned in the same call. Calls engine/core/org_admin.py and
engine/ops/administration.py; input errors are 422 problems naming their fields."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from engine.core import org_admin
from engine.core.organisation import UNIT_KINDS
from engine.ops import administration

from ..db import get_uow, write_uow
from . import paging
from .auth import current_actor, roles
from .base import api_blueprint
from .dumping import Schema
from .schemas import PageArgs, PageSchema

bp = api_blueprint("api_org", __name__, "/org",
                   "The organisation: units, sub-command posts and accounts (administrators)")
FORBIDDEN = "Administrators only"
NAME = validate.Length(min=1, max=100)
CODE = validate.Length(min=1, max=60)
SORT = validate.Range(min=-org_admin.MAX_SORT, max=org_admin.MAX_SORT)
WHY = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500),
                    metadata={"description": "why (kept in the audit log)"})


# ---------------------------------------------------------------- schemas

class UnitSchema(Schema):
    """A unit of the organisation, with the holders of its posts (sub-commands)."""

    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(UNIT_KINDS)})
    kind_label = fields.String(required=True)
    parent_code = fields.String(allow_none=True)
    sort = fields.Integer(required=True)
    active = fields.Boolean(required=True)
    depth = fields.Integer(required=True, metadata={"description": "0 at the top of the tree"})
    commander = fields.String(allow_none=True, metadata={"description": "username"})
    deputy = fields.String(allow_none=True, metadata={"description": "username"})


class UnitArgs(Schema):
    """A new unit."""

    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=NAME)
    kind = fields.String(required=True, validate=validate.OneOf(list(UNIT_KINDS)))
    parent_code = fields.String(load_default=None, allow_none=True, validate=CODE)
    sort = fields.Integer(load_default=None, allow_none=True, validate=SORT)
    why = WHY


class UnitChangeArgs(Schema):
    """What to change of a unit (only the fields given); `active` deactivates or activates it,
    `commander` / `deputy` set a sub-command's posts (null: vacant)."""

    name = fields.String(validate=NAME)
    kind = fields.String(validate=validate.OneOf(list(UNIT_KINDS)))
    parent_code = fields.String(allow_none=True, validate=CODE)
    sort = fields.Integer(validate=SORT)
    active = fields.Boolean()
    commander = fields.String(allow_none=True, validate=CODE)
    deputy = fields.String(allow_none=True, validate=CODE)
    why = WHY


class GrantSchema(Schema):
    """One role, at a unit (null: the account's own unit)."""

    role = fields.String(required=True, validate=validate.OneOf(list(org_admin.PERSON_ROLES)))
    unit_code = fields.String(load_default=None, allow_none=True, validate=CODE)


class AccountSchema(Schema):
    """An account (never its password)."""

    username = fields.String(required=True)
    display_name = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "张三（县自然资源局）"})
    unit_code = fields.String(allow_none=True)
    unit_name = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    must_change_password = fields.Boolean(required=True)
    roles = fields.List(fields.Nested(GrantSchema), required=True)
    role_labels = fields.List(fields.String(), required=True)
    posts = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    one_time_password = fields.String(metadata={"description": "only when just created"})


class AccountPageSchema(PageSchema):
    """A page of accounts."""

    items = fields.List(fields.Nested(AccountSchema), required=True)
    total = fields.Integer(required=True)


class AccountListArgs(PageArgs):
    """Search and filters of the account list."""

    q = fields.String(load_default="", validate=validate.Length(max=100))
    unit = fields.String(load_default=None, validate=CODE)
    role = fields.String(load_default=None, validate=validate.OneOf(list(org_admin.PERSON_ROLES)))
    status = fields.String(load_default=None, validate=validate.OneOf(["active", "disabled"]))


class AccountArgs(Schema):
    """A new account; its one-time password is in the answer, once."""

    username = fields.String(required=True, validate=CODE)
    display_name = fields.String(required=True, validate=NAME)
    unit_code = fields.String(required=True, validate=CODE)
    roles = fields.List(fields.Nested(GrantSchema), required=True,
                        validate=validate.Length(min=1, max=20))
    why = WHY


class AccountChangeArgs(Schema):
    """What to change of an account (only the fields given)."""

    display_name = fields.String(validate=NAME)
    unit_code = fields.String(validate=CODE)
    roles = fields.List(fields.Nested(GrantSchema), validate=validate.Length(min=1, max=20))
    why = WHY


class PasswordSchema(Schema):
    """A one-time password, shown once."""

    username = fields.String(required=True)
    one_time_password = fields.String(required=True)


class ReasonArgs(Schema):
    """Why (optional)."""

    why = WHY


class DisableArgs(Schema):
    """Disable an account: why, and who takes its open work (required when it has any)."""

    why = fields.String(required=True, validate=validate.Length(min=1, max=500))
    reassign_to = fields.String(load_default=None, allow_none=True, validate=CODE)


class WorkItemSchema(Schema):
    """An open task of an account."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    process_key = fields.String(required=True)
    instance_id = fields.Integer(required=True)
    business_key = fields.String(allow_none=True)
    state = fields.String(required=True)
    due_at = fields.DateTime(allow_none=True)
    how = fields.String(required=True, metadata={"enum": list(administration.HOW)})


class WorkSchema(Schema):
    """An account's open work: its own, and group tasks no other active account could take."""

    own = fields.List(fields.Nested(WorkItemSchema), required=True)
    orphaned = fields.List(fields.Nested(WorkItemSchema), required=True)


class DisableResultSchema(Schema):
    """What disabling did."""

    account = fields.Nested(AccountSchema, required=True)
    reassigned = fields.List(fields.Nested(WorkItemSchema), required=True)
    reassigned_to = fields.String(allow_none=True)
    tokens_revoked = fields.List(fields.String(), required=True)


# ---------------------------------------------------------------- helpers

def _unit(code: str) -> dict:
    node = next((n for n in org_admin.unit_tree(get_uow().session) if n.code == code), None)
    if node is None:
        org_admin.get_unit(get_uow().session, code)  # NotFoundError
    return _unit_body(node)


def _unit_body(node: org_admin.UnitNode) -> dict:
    held = org_admin.posts_of_unit(get_uow().session, node.code)
    return {**node.__dict__, "kind_label": node.kind_label, "commander": held.get("commander"),
            "deputy": held.get("deputy")}


def _account(username: str) -> dict:
    return _account_body(org_admin.get_account(get_uow().session, username))


def _account_body(row: org_admin.AccountRow) -> dict:
    return {**row.__dict__, "label": row.label,
            "roles": [{"role": r, "unit_code": u} for r, u in row.grants]}


def _grants(items) -> list[tuple[str, str | None]]:
    return [(item["role"], item.get("unit_code")) for item in items]


# ---------------------------------------------------------------- units

@bp.route("/units")
class Units(MethodView):
    """The units, as a tree."""

    @roles("admin")
    @bp.response(200, UnitSchema(many=True))
    @bp.alt_response(403, description=FORBIDDEN)
    def get(self):
        """Every unit in tree order (parents first), with `depth`."""
        return [_unit_body(n) for n in org_admin.unit_tree(get_uow().session)]

    @roles("admin")
    @bp.arguments(UnitArgs)
    @bp.response(201, UnitSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(422, description="A field is invalid (errors name it, in Chinese)")
    def post(self, args):
        """Create a unit under a parent (or at the top)."""
        org_admin.create_unit(write_uow(), current_actor(), args["code"], args["name"],
                              args["kind"], args["parent_code"], args["sort"], args["why"])
        return _unit(args["code"].strip())


@bp.route("/units/<unit_code>")
class Unit(MethodView):
    """One unit."""

    @roles("admin")
    @bp.response(200, UnitSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(404, description="No such unit")
    def get(self, unit_code):
        """The unit."""
        return _unit(unit_code)

    @roles("admin")
    @bp.arguments(UnitChangeArgs)
    @bp.response(200, UnitSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(404, description="No such unit")
    @bp.alt_response(422, description="A field is invalid (errors name it, in Chinese)")
    def patch(self, args, unit_code):
        """Rename, move, change kind or order, deactivate/activate, set the posts."""
        uow, actor, why = write_uow(), current_actor(), args.pop("why", None)
        changes = {k: args[k] for k in ("name", "kind", "parent_code", "sort") if k in args}
        if changes:
            org_admin.change_unit(uow, actor, unit_code, why=why, **changes)
        posts = {post: args[post] for post in org_admin.POSTS if post in args}
        if posts:
            org_admin.set_posts(uow, actor, unit_code, posts, why)
        if "active" in args:
            org_admin.set_unit_active(uow, actor, unit_code, args["active"], why)
        return _unit(unit_code)


# ---------------------------------------------------------------- accounts

@bp.route("/accounts")
class Accounts(MethodView):
    """Accounts."""

    @roles("admin")
    @bp.arguments(AccountListArgs, location="query")
    @bp.response(200, AccountPageSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    def get(self, args):
        """Accounts by username, searched (`q`: username or name) and filtered."""
        found, total = org_admin.list_accounts(
            get_uow().session, q=args["q"], unit=args["unit"], role=args["role"],
            status=args["status"], limit=100_000)
        result = paging.page(found, lambda a: [a.username], args["limit"], args["cursor"])
        return {"items": [_account_body(a) for a in result["items"]], "total": total,
                "next_cursor": result["next_cursor"]}

    @roles("admin")
    @bp.arguments(AccountArgs)
    @bp.response(201, AccountSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(422, description="A field is invalid (errors name it, in Chinese)")
    def post(self, args):
        """Create an account; `one_time_password` is in this answer only, and must be changed
        at the first login."""
        password = org_admin.create_account(write_uow(), current_actor(), args["username"],
                                            args["display_name"], args["unit_code"],
                                            _grants(args["roles"]), args["why"])
        return {**_account(args["username"].strip()), "one_time_password": password}


@bp.route("/accounts/<username>")
class Account(MethodView):
    """One account."""

    @roles("admin")
    @bp.response(200, AccountSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(404, description="No such account")
    def get(self, username):
        """The account."""
        return _account(username)

    @roles("admin")
    @bp.arguments(AccountChangeArgs)
    @bp.response(200, AccountSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(404, description="No such account")
    @bp.alt_response(422, description="A field is invalid (errors name it, in Chinese)")
    def patch(self, args, username):
        """Change the name, unit or roles (the fields given)."""
        current = org_admin.get_account(get_uow().session, username)
        org_admin.change_account(
            write_uow(), current_actor(), username,
            args.get("display_name", current.display_name),
            args.get("unit_code", current.unit_code),
            _grants(args["roles"]) if "roles" in args else list(current.grants), args.get("why"))
        return _account(username)


@bp.route("/accounts/<username>/work")
class Work(MethodView):
    """An account's open work."""

    @roles("admin")
    @bp.response(200, WorkSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(404, description="No such account")
    def get(self, username):
        """The tasks it holds, is named for or waits for, and group tasks only it could take."""
        work = administration.account_work(get_uow(), current_actor(), username)
        return {"own": [w.__dict__ for w in work.own],
                "orphaned": [w.__dict__ for w in work.orphaned]}


@bp.route("/accounts/<username>/password-reset")
class PasswordReset(MethodView):
    """A new one-time password."""

    @roles("admin")
    @bp.arguments(ReasonArgs)
    @bp.response(200, PasswordSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(404, description="No such account")
    def post(self, args, username):
        """Reset the password: a one-time password (this answer only); sessions end."""
        password = org_admin.reset_password(write_uow(), current_actor(), username, args["why"])
        return {"username": username, "one_time_password": password}


@bp.route("/accounts/<username>/disable")
class Disable(MethodView):
    """Disable an account."""

    @roles("admin")
    @bp.arguments(DisableArgs)
    @bp.response(200, DisableResultSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(404, description="No such account")
    @bp.alt_response(422, description="No reason, or open work and nobody to take it")
    def post(self, args, username):
        """No login from now on; its sessions and the API tokens it issued end; its open work
        goes to `reassign_to` (required when it has any) — all in one transaction."""
        result = administration.disable_account(write_uow(), current_actor(), username,
                                                args["why"], args["reassign_to"])
        return {"account": _account(username), "reassigned": [w.__dict__ for w in
                                                               result.reassigned],
                "reassigned_to": result.reassigned_to, "tokens_revoked": result.tokens_revoked}


@bp.route("/accounts/<username>/enable")
class Enable(MethodView):
    """Enable an account again."""

    @roles("admin")
    @bp.arguments(ReasonArgs)
    @bp.response(200, AccountSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(404, description="No such account")
    def post(self, args, username):
        """Let a disabled account log in again (its password is unchanged)."""
        org_admin.enable_account(write_uow(), current_actor(), username, args["why"])
        return _account(username)
