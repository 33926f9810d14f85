"""Engine settings, read from the environment by the entry points (never by services)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoints import CheckpointPolicy

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"
# Hosts that webhooks may reach although they resolve to private, loopback or other
# non-public addresses: host names (or address literals) exactly as written in the URL.
WEBHOOK_ALLOW_HOSTS = "GONGJIAN_WEBHOOK_ALLOW_HOSTS"
# The audit key's file (signs the chain's checkpoints; keep it off the database host), the
# file the checkpoints are exported to (outside the database folder), and how many events
# may pass between two checkpoints (engine/core/checkpoints.py).
AUDIT_KEY = "GONGJIAN_AUDIT_KEY"
AUDIT_EXPORT = "GONGJIAN_AUDIT_EXPORT"
AUDIT_CHECKPOINT_EVERY = "GONGJIAN_AUDIT_CHECKPOINT_EVERY"


def normal_host(host: str) -> str:
    """A host as compared with the allow-list: lower-case, no brackets, no final dot."""
    return host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")


def host_list(value: str | Iterable[str] | None) -> frozenset[str]:
    """The hosts of a comma-separated setting (or of a list), each in its normal form."""
    if value is None:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else value
    return frozenset(host for host in (normal_host(item) for item in items) if host)


def webhook_allow_hosts_from_env() -> frozenset[str]:
    """`GONGJIAN_WEBHOOK_ALLOW_HOSTS`: the hosts an administrator lets webhooks reach."""
    return host_list(os.environ.get(WEBHOOK_ALLOW_HOSTS))


@dataclass(frozen=True)
class SmtpSettings:
    """Where e-mail goes out (GONGJIAN_SMTP_HOST, _PORT, _FROM, _USER, _PASSWORD, _STARTTLS);
    `host` None: the e-mail channel is not offered."""

    host: str | None = None
    port: int = 25
    sender: str = "gongjian@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False

    @classmethod
    def from_env(cls) -> SmtpSettings:
        """The settings from the environment (no host: no e-mail)."""
        env = os.environ.get
        return cls(host=env("GONGJIAN_SMTP_HOST") or None,
                   port=int(env("GONGJIAN_SMTP_PORT") or 25),
                   sender=env("GONGJIAN_SMTP_FROM") or "gongjian@localhost",
                   user=env("GONGJIAN_SMTP_USER") or None,
                   password=env("GONGJIAN_SMTP_PASSWORD") or None,
                   starttls=(env("GONGJIAN_SMTP_STARTTLS") or "").lower() in ("1", "true", "yes"))


@dataclass(frozen=True)
class Settings:
    """Where the database is, where the definitions to deploy live, which hosts webhooks may
    reach, where the audit key and the checkpoints' export file are."""

    database_url: str
    bpmn_dir: Path = PROJECT_ROOT / "bpmn"
    rules_dir: Path = PROJECT_ROOT / "rules"
    webhook_allow_hosts: frozenset[str] = field(default_factory=frozenset)
    audit_key: Path = DEFAULT_INSTANCE_DIR / "audit_key.pem"
    audit_export: Path | None = None
    checkpoint_every: int = 1000
    smtp: SmtpSettings = field(default_factory=SmtpSettings)

    def checkpoints(self) -> CheckpointPolicy:
        """What the worker needs to sign and export the audit chain's checkpoints."""
        return CheckpointPolicy(self.audit_key, self.audit_export, self.checkpoint_every)

    @classmethod
    def from_env(cls) -> Settings:
        """`DATABASE_URL`, or an SQLite file in ./instance when it is not set; the allow-list;
        the audit key (default instance/audit_key.pem) and export file (none by default)."""
        url = os.environ.get("DATABASE_URL")
        instance_dir = Path(os.environ.get("GONGJIAN_INSTANCE_DIR", DEFAULT_INSTANCE_DIR))
        if not url:
            instance_dir.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{instance_dir / 'gongjian.db'}"
        export = os.environ.get(AUDIT_EXPORT)
        return cls(database_url=url, webhook_allow_hosts=webhook_allow_hosts_from_env(),
                   audit_key=Path(os.environ.get(AUDIT_KEY) or instance_dir / "audit_key.pem"),
                   audit_export=Path(export) if export else None,
                   checkpoint_every=int(os.environ.get(AUDIT_CHECKPOINT_EVERY) or 1000),
                   smtp=SmtpSettings.from_env())
