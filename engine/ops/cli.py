"""The `gongjian` command: database, deployments, instances, tasks, timers and audit."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import date

from ..core import calendar_admin, organisation
from ..bpm import definitions, inbox, runtime, sla, task_actions, timers
from . import tokens, backup, schedule, worker
from . import init as county_init
from . import admin_cli, audit_cli
from .demo import load_demo
from ..core.clock import Clock
from ..core.config import Settings
from ..core.workcalendar import SHANGHAI
from ..bpm.finding_texts import tell_error
from ..core.errors import DefinitionError, GongjianError, NotFoundError
from ..core.identity import Actor
from .platform import Platform


def _json_arg(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"amount\": 5}'")
    return value


def _actor(uow, args: argparse.Namespace) -> Actor:
    """The user's actor from the organisation (with its groups), plus any --groups given."""
    extra = frozenset(g.strip() for g in (args.groups or "").split(",") if g.strip())
    try:
        known = organisation.actor_for(uow.session, args.user)
    except NotFoundError:
        return Actor(args.user, extra)
    return Actor(known.username, known.groups | extra)


def _print(value) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def cmd_db_upgrade(platform: Platform, args: argparse.Namespace) -> int:
    """Create or migrate the database schema."""
    platform.upgrade()
    print(f"database is up to date: {platform.database_url}")
    return 0


def cmd_deploy(platform: Platform, args: argparse.Namespace) -> int:
    """Deploy BPMN/DMN files or folders; a refused file's finding in the language of --lang."""
    for path in args.paths:
        try:
            with platform.uow() as uow:
                for result in definitions.deploy_path(uow, path, args.user):
                    state = "deployed" if result.created else "unchanged"
                    print(f"{state}: {result.kind} {result.key} v{result.version} "
                          f"({result.filename})")
        except DefinitionError as exc:
            print(f"error: {tell_error(exc, args.lang)}", file=sys.stderr)
            return 2
    return 0


def cmd_start(platform: Platform, args: argparse.Namespace) -> int:
    """Start a process instance."""
    with platform.uow() as uow:
        view = runtime.start_instance(uow, args.key, _actor(uow, args),
                                      business_key=args.business_key, data=args.data)
    _print(view.__dict__)
    return 0


def cmd_tasks(platform: Platform, args: argparse.Namespace) -> int:
    """List a user's open tasks."""
    with platform.uow() as uow:
        tasks = inbox.list_tasks(uow, _actor(uow, args))
    _print([{"id": t.id, "name": t.name, "process": t.process_key, "instance": t.instance_id,
             "assignee": t.assignee, "groups": t.candidate_groups, "due_at": t.due_at}
            for t in tasks])
    return 0


def cmd_complete(platform: Platform, args: argparse.Namespace) -> int:
    """Complete a task with data."""
    with platform.uow() as uow:
        view = task_actions.complete(uow, args.task_id, _actor(uow, args), args.data)
    _print({"instance": view.id, "status": view.status})
    return 0


def cmd_timers_fire(platform: Platform, args: argparse.Namespace) -> int:
    """Fire the timers that are due now."""
    report = timers.fire_due_timers(platform.uow)
    _print(report.__dict__)
    return 1 if report.failed else 0


def cmd_worker(platform: Platform, args: argparse.Namespace) -> int:
    """Fire due timers until stopped, sleeping until the next due time or the poll interval."""
    print(f"worker on {platform.database_url}, polling every {args.poll}s", flush=True)
    stop = threading.Event()
    try:
        worker.run_worker(platform.uow, platform.clock, poll=args.poll, stop=stop,
                          log=functools.partial(_log, platform.clock),
                          targets=platform.webhook_targets, checkpoints=platform.checkpoints,
                          smtp=platform.smtp)
    except KeyboardInterrupt:
        stop.set()
    return 0


def _log(clock: Clock, line: str) -> None:
    print(f"{clock.now():%Y-%m-%d %H:%M:%S} {line}", flush=True)


def cmd_demo_load(platform: Platform, args: argparse.Namespace) -> int:
    """Load the demo organisation, projects and running instances (idempotent)."""
    load_demo(platform, history_days=args.history_days, url=args.url)
    return 0


def cmd_init(platform: Platform, args: argparse.Namespace) -> int:
    """Set up a county without demo data: schema, definitions, first administrator, schedule."""
    for line in county_init.init_county(platform, admin=args.admin).lines():
        print(line)
    return 0


def cmd_schedule_list(platform: Platform, args: argparse.Namespace) -> int:
    """Show the schedule: each entry's next run and its last result."""
    with platform.uow() as uow:
        entries = schedule.list_entries(uow.session)
    _print([{"name": e.name, "title": e.title, "next_run_at": _local(e.next_run_at),
             "next_period": e.next_period, "last_run_at": _local(e.last_run_at),
             "last_outcome": e.last_outcome_label, "last_result": e.last_result}
            for e in entries])
    return 0


def _local(moment):
    return None if moment is None else f"{moment.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def cmd_schedule_run(platform: Platform, args: argparse.Namespace) -> int:
    """Run one schedule entry now (for today's period); exit 1 when it fails."""
    with platform.uow() as uow:
        actor = _actor(uow, args)
    result = schedule.run_entry(platform.uow, args.name, actor, manual=True)
    print(f"{result.name} {result.period}: {result.message}")
    return 1 if result.outcome == "failed" else 0


def cmd_calendar_set(platform: Platform, args: argparse.Namespace) -> int:
    """Make a day a working day or a day off (an administrator's override)."""
    with platform.uow() as uow:
        calendar_admin.set_override(uow, args.day, args.working, _actor(uow, args), args.note)
    print(f"{args.day}: {'working day' if args.working else 'day off'}")
    return 0


def cmd_calendar_remove(platform: Platform, args: argparse.Namespace) -> int:
    """Remove an administrator's override of a day."""
    with platform.uow() as uow:
        calendar_admin.remove_override(uow, args.day, _actor(uow, args), args.note)
    print(f"{args.day}: override removed")
    return 0


def cmd_calendar_publish(platform: Platform, args: argparse.Namespace) -> int:
    """Mark a year's holiday schedule as entered in full, then recompute provisional deadlines."""
    with platform.uow() as uow:
        calendar_admin.mark_year_published(uow, args.year, _actor(uow, args))
    return cmd_deadlines_recompute(platform, args)


def cmd_deadlines_recompute(platform: Platform, args: argparse.Namespace) -> int:
    """Recompute the provisional deadlines of open tasks with the current calendar."""
    with platform.uow() as uow:
        changed = sla.recompute_provisional_deadlines(uow)
    print(f"provisional deadlines recomputed: {changed}")
    return 0


def cmd_backup(platform: Platform, args: argparse.Namespace) -> int:
    """Back up the SQLite database online (the app keeps running)."""
    platform.close()
    result = backup.backup_sqlite(platform.database_url, args.to, platform.clock.now())
    print(f"backup written: {result.path} ({result.bytes} bytes, audit chain intact with "
          f"{result.audit_events} events; {result.attachment_files} attachment files copied "
          f"to {backup.attachments_of_backup(result.path)})")
    return 0


def cmd_restore(platform: Platform, args: argparse.Namespace) -> int:
    """Replace the SQLite database with a verified backup (stop the app first)."""
    platform.close()
    result = backup.restore_sqlite(platform.database_url, args.backup)
    print(f"restored {result.path} from {args.backup} ({result.audit_events} audit events, "
          f"{result.attachment_files} attachment files in place); "
          "the replaced database was kept as *.before-restore")
    return 0


def cmd_token_create(platform: Platform, args: argparse.Namespace) -> int:
    """Issue an API token for another system (shown once)."""
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    with platform.uow() as uow:
        issued = tokens.create_token(uow, _actor(uow, args), args.name, roles,
                                         unit_code=args.unit)
    print(f"token for {args.name} (shown once, keep it safe): {issued.secret}")
    return 0


def build_parser(extend: Callable[[argparse._SubParsersAction], None] | None = None
                 ) -> argparse.ArgumentParser:
    """The argument parser of every sub-command; `extend` may add more (the web layer's)."""
    parser = argparse.ArgumentParser(prog="gongjian", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func, help_text: str, *, user: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(func=func)
        if user:
            p.add_argument("--user", default="admin", help="who acts (default: admin)")
            p.add_argument("--groups", default="", help="comma-separated groups of the user")
        return p

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or migrate the schema").set_defaults(func=cmd_db_upgrade)

    p = command("deploy", cmd_deploy, "deploy BPMN/DMN files or folders", user=True)
    p.add_argument("paths", nargs="+")
    p.add_argument("--lang", choices=("en", "zh_CN"), default="en",
                   help="language of a refused file's finding (default: en; zh_CN: Chinese "
                        "with a hint for the fix)")
    p = command("start", cmd_start, "start a process instance", user=True)
    p.add_argument("key")
    p.add_argument("--data", type=_json_arg, default={})
    p.add_argument("--business-key")
    command("tasks", cmd_tasks, "list a user's open tasks", user=True)
    p = command("complete", cmd_complete, "complete a task", user=True)
    p.add_argument("task_id")
    p.add_argument("--data", type=_json_arg, default={})
    tm = sub.add_parser("timers", help="timers").add_subparsers(dest="timers_command", required=True)
    tm.add_parser("fire", help="fire the timers due now").set_defaults(func=cmd_timers_fire)
    p = command("worker", cmd_worker, "fire due timers and send webhooks until stopped")
    p.add_argument("--poll", type=float, default=5.0, help="longest sleep in seconds")
    demo = sub.add_parser("demo", help="demo data").add_subparsers(dest="demo_command",
                                                                  required=True)
    p = demo.add_parser("load", help="load the demo county (idempotent)")
    p.set_defaults(func=cmd_demo_load)
    p.add_argument("--history-days", type=int, default=21,
                   help="start the demo instances this many days ago and replay the timers")
    p.add_argument("--url", default=os.environ.get("GONGJIAN_URL") or "http://{}:{}/".format(
        os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "5000")),
                   help="where the app is served, for the login hint (default from HOST, PORT)")
    p = sub.add_parser("init", help="set up a county without demo data (idempotent)")
    p.set_defaults(func=cmd_init)
    p.add_argument("--admin", default="admin", help="the first administrator's user name")
    sc = sub.add_parser("schedule", help="the recurring work the worker runs").add_subparsers(
        dest="schedule_command", required=True)
    sc.add_parser("list", help="each entry's next run and last result").set_defaults(
        func=cmd_schedule_list)
    p = sc.add_parser("run", help="run one entry now (administrators)")
    p.set_defaults(func=cmd_schedule_run)
    p.add_argument("name", choices=sorted(schedule.JOBS))
    p.add_argument("--user", default="admin")
    p.add_argument("--groups", default="")
    cal = sub.add_parser("calendar", help="working-day calendar").add_subparsers(
        dest="calendar_command", required=True)
    p = cal.add_parser("set", help="override one day")
    p.set_defaults(func=cmd_calendar_set)
    p.add_argument("day", type=date.fromisoformat)
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--working", dest="working", action="store_true")
    kind.add_argument("--off", dest="working", action="store_false")
    p = cal.add_parser("remove", help="remove a day's override")
    p.set_defaults(func=cmd_calendar_remove)
    p.add_argument("day", type=date.fromisoformat)
    p = cal.add_parser("publish", help="mark a year's schedule as entered in full")
    p.set_defaults(func=cmd_calendar_publish)
    p.add_argument("year", type=int)
    for p in cal.choices.values():
        p.add_argument("--user", default="admin")
        p.add_argument("--groups", default="")
        p.add_argument("--note")
    dl = sub.add_parser("deadlines", help="deadlines").add_subparsers(dest="deadlines_command",
                                                                     required=True)
    dl.add_parser("recompute", help="recompute provisional deadlines").set_defaults(
        func=cmd_deadlines_recompute)
    au = sub.add_parser("audit", help="audit log").add_subparsers(dest="audit_command", required=True)
    audit_cli.add_commands(au)  # verify (with the signed checkpoints), keygen, checkpoint
    tk = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command",
                                                                  required=True)
    p = tk.add_parser("create", help="issue an API token scoped to roles (administrators)")
    p.set_defaults(func=cmd_token_create)
    p.add_argument("name", help="the system's name, e.g. supervision-13710")
    p.add_argument("--roles", required=True, help="comma-separated roles, e.g. supervisor")
    p.add_argument("--unit", help="the unit the token acts for")
    p.add_argument("--user", default="admin", help="the administrator issuing it")
    p.add_argument("--groups", default="")
    p = sub.add_parser("backup", help="back up the SQLite database online")
    p.set_defaults(func=cmd_backup)
    p.add_argument("--to", help="backup file (default: instance/backups/gongjian-<time>.db)")
    p = sub.add_parser("restore", help="restore the SQLite database from a backup")
    p.set_defaults(func=cmd_restore)
    p.add_argument("backup")
    admin_cli.add_commands(sub, _actor)  # user add|disable|enable|reset-password, unit add
    if extend is not None:
        extend(sub)
    return parser


def main(argv: Sequence[str] | None = None,
         parser: argparse.ArgumentParser | None = None) -> int:
    """Entry point of the console script (the web layer passes a parser with `serve`)."""
    args = (parser or build_parser()).parse_args(argv)
    settings = Settings.from_env()
    platform = Platform(settings.database_url, webhook_allow_hosts=settings.webhook_allow_hosts,
                        checkpoints=settings.checkpoints(), smtp=settings.smtp)
    try:
        return args.func(platform, args)
    except GongjianError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        platform.close()


if __name__ == "__main__":
    sys.exit(main())
