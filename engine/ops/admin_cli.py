"""`gongjian user add|disable|reset-password|enable` and `gongjian unit add`: the
administration services from the command line, acting as an administrator (`--user`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ..core import org_admin
from ..core.organisation import UNIT_KINDS
from . import administration
from .platform import Platform


def _grants(text: str) -> list[tuple[str, str | None]]:
    """`approver,sub_commander@sc_industry` → [(approver, None), (sub_commander, sc_industry)]."""
    grants = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        role, _at, unit = part.partition("@")
        grants.append((role.strip(), unit.strip() or None))
    return grants


def _fields(exc: org_admin.OrgInputError) -> str:
    return "; ".join(f"{field}: {'；'.join(messages)}"
                     for field, messages in exc.field_errors.items())


def add_commands(sub: argparse._SubParsersAction,
                 actor_of: Callable[..., object]) -> None:
    """Add `user` and `unit` to the CLI; `actor_of(uow, args)` is who acts (cli._actor)."""

    def run(service):
        def command(platform: Platform, args: argparse.Namespace) -> int:
            with platform.uow() as uow:
                try:
                    return service(uow, actor_of(uow, args), args)
                except org_admin.OrgInputError as exc:
                    print(f"error: {_fields(exc)}", file=sys.stderr)
                    return 2
        return command

    def user_add(uow, actor, args) -> int:
        password = org_admin.create_account(uow, actor, args.username, args.name, args.unit,
                                            _grants(args.roles), args.why)
        print(f"account {args.username} created; one-time password (shown once, to be "
              f"changed at the first login): {password}")
        return 0

    def user_disable(uow, actor, args) -> int:
        result = administration.disable_account(uow, actor, args.username, args.why,
                                                args.reassign_to)
        print(f"account {args.username} disabled; {len(result.reassigned)} open tasks "
              f"reassigned{' to ' + result.reassigned_to if result.reassigned_to else ''}; "
              f"API tokens revoked: {', '.join(result.tokens_revoked) or 'none'}")
        return 0

    def user_enable(uow, actor, args) -> int:
        org_admin.enable_account(uow, actor, args.username, args.why)
        print(f"account {args.username} enabled")
        return 0

    def user_reset(uow, actor, args) -> int:
        password = org_admin.reset_password(uow, actor, args.username, args.why)
        print(f"one-time password of {args.username} (shown once, to be changed at the next "
              f"login; its sessions have ended): {password}")
        return 0

    def unit_add(uow, actor, args) -> int:
        unit = org_admin.create_unit(uow, actor, args.code, args.name, args.kind, args.parent,
                                     args.sort, args.why)
        print(f"unit {unit.code} created: {unit.name} ({UNIT_KINDS[unit.kind]})")
        return 0

    def who(p: argparse.ArgumentParser) -> None:
        p.add_argument("--user", default="admin", help="the administrator acting")
        p.add_argument("--groups", default="")
        p.add_argument("--why", default=None, help="why (kept in the audit log)")

    users = sub.add_parser("user", help="accounts (administrators)").add_subparsers(
        dest="user_command", required=True)
    p = users.add_parser("add", help="create an account with a one-time password")
    p.set_defaults(func=run(user_add))
    p.add_argument("username")
    p.add_argument("--name", required=True, help="the person's name")
    p.add_argument("--unit", required=True, help="the unit's code")
    p.add_argument("--roles", required=True,
                   help="comma-separated roles, each optionally @unit, e.g. "
                        "approver,sub_commander@sc_industry; one of " + ", ".join(
                            org_admin.PERSON_ROLES))
    who(p)
    p = users.add_parser("disable", help="disable an account and hand on its open work")
    p.set_defaults(func=run(user_disable))
    p.add_argument("username")
    p.add_argument("--reassign-to", help="who takes its open tasks (required when it has any)")
    who(p)
    p = users.add_parser("enable", help="enable a disabled account again")
    p.set_defaults(func=run(user_enable))
    p.add_argument("username")
    who(p)
    p = users.add_parser("reset-password", help="a new one-time password")
    p.set_defaults(func=run(user_reset))
    p.add_argument("username")
    who(p)
    unit_parsers = sub.add_parser("unit", help="units (administrators)").add_subparsers(
        dest="unit_command", required=True)
    p = unit_parsers.add_parser("add", help="create a unit")
    p.set_defaults(func=run(unit_add))
    p.add_argument("code")
    p.add_argument("--name", required=True)
    p.add_argument("--kind", required=True, choices=list(UNIT_KINDS))
    p.add_argument("--parent", help="the parent unit's code")
    p.add_argument("--sort", type=int)
    who(p)
