"""Setting up a real county (`gongjian init`): schema, definitions, first administrator, schedule.

Without any demo data: the schema is migrated, every file of `bpmn/` and `rules/` is deployed,
the first administrator is created with a one-time password that the first login must change,
the recurring work is scheduled (engine/ops/schedule.py), and the audit key that signs the
chain's checkpoints is made where the settings say (engine/core/audit_keys.py). Idempotent:
a second run deploys nothing unchanged, creates no administrator once one exists (and so
never shows a password again), and leaves the schedule and the key as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from ..bpm import definitions
from ..core import org_admin
from ..core.audit_keys import KeyInfo, ensure_key
from ..core.errors import InvalidStateError
from ..core.identity import SYSTEM
from ..core.organisation import RoleGrant, UserAccount, hash_one_time_password
from . import schedule
from .platform import Platform

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class InitReport:
    """What `init_county` did; `password` is set only when it created the administrator."""

    deployed: list[str] = field(default_factory=list)
    unchanged: int = 0
    admin: str = ""
    admin_created: bool = False
    password: str | None = None
    scheduled: list[str] = field(default_factory=list)
    audit_key: KeyInfo | None = None

    def lines(self) -> list[str]:
        """The report as the command prints it."""
        out = [f"deployed: {name}" for name in self.deployed]
        out.append(f"definitions: {len(self.deployed)} deployed, {self.unchanged} unchanged")
        if self.admin_created:
            out += [f"administrator created: {self.admin}",
                    f"one-time password (shown once, to be changed at first login): "
                    f"{self.password}"]
        else:
            out.append(f"administrator exists: {self.admin} (no password shown)")
        out.append(f"schedule: {len(self.scheduled)} entries added" if self.scheduled
                   else "schedule: unchanged")
        if self.audit_key is not None:
            key = self.audit_key
            out.append(f"audit key {'created' if key.created else 'exists'}: {key.path} "
                       f"(fingerprint {key.key_id}; public key {key.public_path}); keep it "
                       "off the database host, owner-only (0600), and backed up")
        return out


def _existing_admin(session) -> str | None:
    return session.execute(select(UserAccount.username).join(
        RoleGrant, RoleGrant.username == UserAccount.username).where(
        RoleGrant.role == "admin", UserAccount.active.is_(True))
        .order_by(UserAccount.username).limit(1)).scalar()


def ensure_first_admin(platform: Platform, username: str = "admin",
                       display_name: str = "系统管理员") -> tuple[str, str | None]:
    """The administrator's name, and a one-time password when this call created it."""
    with platform.uow() as uow:
        uow.begin_write()
        existing = _existing_admin(uow.session)
        if existing is not None:
            return existing, None
        if uow.session.get(UserAccount, username) is not None:
            raise InvalidStateError(
                f"账号 {username} 已存在但不是有效的管理员；请用 --admin 另取一个用户名")
        # A one-time password as an administrator's new account gets (engine/core/org_admin.py),
        # but without a unit: a fresh county has none yet, the administrator makes them.
        password = org_admin.one_time_password()
        uow.session.add(UserAccount(
            username=username, display_name=display_name, unit_code=None,
            password_hash=hash_one_time_password(password), active=True,
            created_at=uow.clock.now(), session_generation=0, must_change_password=True,
            grants=[RoleGrant(role="admin", unit_code=None)]))
        uow.session.flush()
        uow.audit.record(SYSTEM, "account_created", subject=f"account:{username}",
                         after={"display_name": display_name, "unit": None,
                                "roles": ["admin"]},
                         why="gongjian init：首个系统管理员")
        uow.commit()
    return username, password


def init_county(platform: Platform, *, admin: str = "admin", admin_name: str = "系统管理员",
                bpmn: Path = ROOT / "bpmn", rules: Path = ROOT / "rules") -> InitReport:
    """Set up a county with no demo data; running it again changes nothing."""
    report = InitReport()
    platform.upgrade()
    for folder in (rules, bpmn):  # decisions first: processes call them
        with platform.uow() as uow:
            for result in definitions.deploy_path(uow, folder, SYSTEM):
                if result.created:
                    report.deployed.append(f"{result.kind} {result.key} v{result.version}")
                else:
                    report.unchanged += 1
    report.admin, report.password = ensure_first_admin(platform, admin, admin_name)
    report.admin_created = report.password is not None
    with platform.uow() as uow:
        report.scheduled = schedule.ensure_schedule(uow)
        uow.commit()
    if platform.checkpoints is not None:
        report.audit_key = ensure_key(platform.checkpoints.key_path)
    return report
