"""The engine wired up: database, session factory, clock, and the county's hooks.

This is the one place where the BPM engine meets the county: the platform hands every unit
of work the county's save hooks (engine.county.hooks.SAVE_HOOKS, in their order) and listens
on its sessions with the county's flush listeners (FLUSH_LISTENERS: the desk's lines), its rule
for who may remind a task's handlers (engine.county.supervision.may_remind_task, asked by
the task-action table), the audit subscribers (webhook queueing) and the county's lists for
form pickers (projects: engine.county.project_choices.CHOICE_SOURCES), and the services
find them there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from sqlalchemy import Engine, event

from ..bpm.hooks import SaveHook
from ..bpm.pickers import ChoiceSource
from ..bpm.task_actions import Oversight
from ..core.audit import AppendSubscriber
from ..core.checkpoints import CheckpointPolicy
from ..core.clock import Clock, SystemClock
from ..core.config import SmtpSettings, host_list
from ..core.db import make_engine, make_session_factory, upgrade_database
from ..core.uow import UnitOfWork
from ..county.hooks import FLUSH_LISTENERS, SAVE_HOOKS
from ..county.project_choices import CHOICE_SOURCES
from ..county.supervision import may_remind_task
from .webhooks import TargetPolicy, queue_for
from ..county.audit_trails import index_started

AUDIT_SUBSCRIBERS: tuple[AppendSubscriber, ...] = (queue_for, index_started)


class Platform:
    """One database and one clock; `platform.uow()` starts a unit of work on them.

    `webhook_allow_hosts` (the setting GONGJIAN_WEBHOOK_ALLOW_HOSTS) are the hosts webhooks
    may reach although they resolve to private addresses; `webhook_targets` is that policy.
    `checkpoints` says where the audit key and the export file are, for the worker that
    signs the chain's checkpoints and for `gongjian init` that makes the key (None: neither).
    `smtp` is where the e-mail channel sends (no host: no e-mail).
    """

    def __init__(self, database_url: str, clock: Clock | None = None, *,
                 save_hooks: Sequence[SaveHook] = SAVE_HOOKS,
                 flush_listeners: Sequence[Callable] = FLUSH_LISTENERS,
                 audit_subscribers: Sequence[AppendSubscriber] = AUDIT_SUBSCRIBERS,
                 oversight: Oversight | None = may_remind_task,
                 choice_sources: Mapping[str, ChoiceSource] = CHOICE_SOURCES,
                 webhook_allow_hosts: str | Iterable[str] = (),
                 checkpoints: CheckpointPolicy | None = None,
                 smtp: SmtpSettings = SmtpSettings()):
        self.database_url = database_url
        self.checkpoints = checkpoints
        self.smtp = smtp
        self.webhook_targets = TargetPolicy(host_list(webhook_allow_hosts))
        self.clock: Clock = clock or SystemClock()
        self.save_hooks = tuple(save_hooks)
        self.audit_subscribers = tuple(audit_subscribers)
        self.oversight = oversight
        self.choice_sources = dict(choice_sources)
        self.db: Engine = make_engine(database_url)
        self.session_factory = make_session_factory(self.db)
        for listener in flush_listeners:  # on this platform's sessions only
            event.listen(self.session_factory, "after_flush", listener)

    def uow(self) -> UnitOfWork:
        """A new unit of work (use it in a `with` block)."""
        return UnitOfWork(self.session_factory, self.clock, save_hooks=self.save_hooks,
                          audit_subscribers=self.audit_subscribers, oversight=self.oversight,
                          choice_sources=self.choice_sources)

    def upgrade(self) -> None:
        """Create or migrate the schema."""
        upgrade_database(self.database_url)

    def close(self) -> None:
        """Release the connection pool."""
        self.db.dispose()
