"""The background worker: fires due timers, runs the due entries of the schedule (the county's
recurring work, engine/ops/schedule.py), signs and exports the audit chain's checkpoints
(engine/ops/checkpoints.py), sends due webhook deliveries and the messages that go to
people's DingTalk, WeCom and e-mail (engine/ops/channels.py), until stopped.

`gongjian worker` runs it as a process (several may run against one PostgreSQL database);
`gongjian serve` runs it in a thread beside the web server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..core.checkpoints import CheckpointPolicy
from ..core.clock import Clock
from ..core.config import SmtpSettings
from ..bpm.timers import fire_due_timers, next_due_time
from ..core.uow import UnitOfWork
from ..county.issue_ledger import refresh_projections
from . import schedule
from .checkpoints import CheckpointDuty
from .channels import run_channels
from .webhooks import TargetPolicy, deliver_due_webhooks


def run_worker(make_uow: Callable[[], UnitOfWork], clock: Clock, *, poll: float,
               stop: threading.Event, log: Callable[[str], None] = print,
               targets: TargetPolicy = TargetPolicy(),
               checkpoints: CheckpointPolicy | None = None,
               smtp: SmtpSettings = SmtpSettings()) -> None:
    """Work until `stop` is set, sleeping until the next due timer or at most `poll` seconds.

    A failing pass is logged and retried on the next one, so a web process that runs the
    worker in a thread keeps serving while the database is away for a moment. Webhooks go
    only where `targets` (the platform's `webhook_targets`) lets them. With `checkpoints`
    (the platform's), each pass signs a checkpoint when one is due and exports it.
    """
    duty = CheckpointDuty(checkpoints) if checkpoints is not None else None
    try:  # saves the issue ledger missed (written before its hook existed): once, at start
        with make_uow() as uow:
            caught_up = refresh_projections(uow)
        if caught_up:
            log(f"issue ledger caught up with {caught_up} instances")
    except Exception as exc:  # the database may be away for a moment: the pages do not wait
        log(f"worker error: {type(exc).__name__}: {exc}")
    while not stop.is_set():
        wait = poll
        try:
            report = fire_due_timers(make_uow)
            if report.fired or report.failed:
                log(f"timers fired {len(report.fired)}, failed {len(report.failed)}, "
                    f"incidents {len(report.incidents)}")
            ran = schedule.run_due(make_uow)
            for result in ran.results:
                log(f"schedule {result.name} {result.period}: {result.outcome}")
            for line in duty.run(make_uow) if duty is not None else ():
                log(line)
            sent = deliver_due_webhooks(make_uow, targets=targets)
            if sent.delivered or sent.failed:
                log(f"webhooks delivered {sent.delivered}, retried {sent.retried}, "
                    f"failed {sent.failed}")
            messages = run_channels(make_uow, targets=targets, smtp=smtp)
            if messages.delivered or messages.failed:
                log(f"messages delivered {messages.delivered}, retried {messages.retried}, "
                    f"failed {messages.failed}")
            next_due = next_due_time(make_uow)
            if next_due is not None:
                wait = max(0.05, min(poll, (next_due - clock.now()).total_seconds()))
        except Exception as exc:  # the database may be away for a moment; try again later
            log(f"worker error: {type(exc).__name__}: {exc}")
        _nap(stop, wait)


def _nap(stop: threading.Event, seconds: float) -> None:
    """Sleep up to `seconds`, waking within 50 ms once `stop` is set.

    Short sleeps rather than `stop.wait(seconds)`: a timed wait on a lock never returns
    under libfaketime, which the test suite is run under to check it passes on any date.
    """
    end = time.monotonic() + seconds
    while not stop.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))
