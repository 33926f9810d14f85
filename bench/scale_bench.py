"""Scale: the inbox with 100,000 open tasks, a timer pass among 10,000 waiting timers, and a
worker's memory while it fires many timers. Rows are seeded with bulk INSERTs, not services."""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import timedelta

from sqlalchemy import insert, select

from engine.bpm import inbox as inbox_queries, runtime
from engine.core.clock import FrozenClock
from engine.core.identity import Actor
from engine.core.models import NO_DUE, HumanTask, ProcessInstance, TaskCandidate, TimerJob
from engine.bpm.timers import fire_due_timers

from common import HERE, T0, deploy, fresh_ids, median_ms, sqlite_platform, tempdir

FIVE = HERE / "five_tasks.bpmn"
ONE_TIMER = HERE / "one_timer.bpmn"
USERS, GROUPS = 500, 50
PAGE = 50  # the inbox page's length (webapp.tasks.PAGE)


def _seed_tasks(platform, count: int, rng: random.Random) -> None:
    with platform.uow() as uow:
        instance_id = runtime.start_instance(uow, "five_tasks", Actor.of("seed", "nobody")).id
    now = T0
    for start in range(0, count, 5000):
        tasks, candidates = [], []
        for n in range(start, min(count, start + 5000)):
            task_id = str(uuid.uuid4())
            assigned = rng.random() < 0.3
            created = now - timedelta(minutes=n)
            due = now + timedelta(hours=rng.randrange(2000)) if rng.random() < 0.8 else None
            tasks.append({
                "id": task_id, "spiff_task_id": str(uuid.uuid4()), "instance_id": instance_id,
                "process_key": "five_tasks", "business_key": f"B-{n}", "element_id": "t1",
                "name": "第1步", "lane": None,
                "assignee": f"u{rng.randrange(USERS)}" if assigned else None,
                "state": "claimed" if assigned else "open",
                "created_at": created, "due_at": due, "due_provisional": False, "form": {},
                "documentation": None})
            if not assigned:  # the engine's copies of the offer state (see TaskCandidate)
                candidates.append({"task_id": task_id, "kind": "group",
                                   "name": f"g{rng.randrange(GROUPS)}", "offered": True,
                                   "due_sort": due or NO_DUE, "created_at": created})
        with platform.uow() as uow:
            uow.session.execute(insert(HumanTask.__table__), tasks)
            uow.session.execute(insert(TaskCandidate.__table__), candidates)
            uow.session.commit()


def inbox(rounds: int, small: int = 1_000, big: int = 100_000) -> dict[str, float]:
    """One user's first inbox page (inbox.list_tasks, as the inbox page calls it): big vs small.

    The user is in five of the fifty groups, so that the small county too fills the page (in
    two, it was offered 20 tasks of 1,000 against a full page of 50 in the big one, and the
    ratio measured the page's length, not the county's size)."""
    result = {}
    actor = Actor.of("u7", "g7", "g8", "g9", "g10", "g11")
    for label, count in (("small", small), ("big", big)):
        with tempdir() as tmp:
            platform = sqlite_platform(tmp)
            deploy(platform, FIVE)
            _seed_tasks(platform, count, random.Random(count))
            with platform.db.connect() as connection:
                connection.exec_driver_sql("ANALYZE")

            def page():
                with platform.uow() as uow:
                    return inbox_queries.list_tasks(uow, actor, limit=PAGE)

            result[f"{label}_rows"] = len(page())
            result[f"{label}_ms"] = median_ms(page, rounds)
            platform.close()
    if result["small_rows"] != result["big_rows"]:
        raise SystemExit(f"inbox row: pages of {result['small_rows']} and {result['big_rows']} "
                         "tasks do not compare")
    result["ratio"] = result["big_ms"] / result["small_ms"]
    return result


def _timer_template(platform):
    with platform.uow() as uow:
        view = runtime.start_instance(uow, "one_timer", Actor.of("seed", "nobody"))
        row = uow.session.get(ProcessInstance, view.id)
        job = uow.session.execute(select(TimerJob).where(TimerJob.instance_id == row.id)).scalar_one()
        template = ({c.name: getattr(row, c.key) for c in ProcessInstance.__table__.columns
                 if c.name not in ("id",)}, job.id, job.element_id, job.due_at)
        # The template instance itself waits out of the way of the measured passes.
        job.due_at = job.next_run_at = T0 + timedelta(days=3650)
        uow.session.commit()
        return template


def seed_timers(platform, count: int, due_at) -> None:
    """`count` waiting one_timer instances whose timer rows are due at `due_at`, in bulk."""
    template, timer_id, element_id, _due = _timer_template(platform)
    with platform.uow() as uow:
        next_id = (uow.session.execute(select(ProcessInstance.id)
                                       .order_by(ProcessInstance.id.desc())).scalar() or 0) + 1
    for start in range(0, count, 2000):
        instances, jobs = [], []
        for n in range(start, min(count, start + 2000)):
            state, mapping = fresh_ids(template["state"])
            instances.append({**template, "id": next_id, "state": state})
            jobs.append({"id": mapping[timer_id.encode()].decode(), "instance_id": next_id,
                         "element_id": element_id, "due_at": due_at, "next_run_at": due_at,
                         "attempts": 0, "incident": False})
            next_id += 1
        with platform.uow() as uow:
            uow.session.execute(insert(ProcessInstance.__table__), instances)
            uow.session.execute(insert(TimerJob.__table__), jobs)
            uow.session.commit()


def timer_pass(rounds: int, small: int = 100, big: int = 10_000, due: int = 10) -> dict:
    """A worker pass firing `due` timers among `small` vs `big` waiting ones."""
    result = {}
    for label, waiting in (("small", small), ("big", big)):
        with tempdir() as tmp:
            clock = FrozenClock(T0)
            platform = sqlite_platform(tmp, clock=clock)
            deploy(platform, ONE_TIMER)
            fire_at = T0 + timedelta(hours=1)  # the template's own timer time
            seed_timers(platform, waiting, T0 + timedelta(days=365))
            times = []
            for _ in range(rounds):
                seed_timers(platform, due, fire_at)
                pass_clock = FrozenClock(fire_at + timedelta(minutes=1))
                t0 = time.perf_counter()
                report = fire_due_timers(lambda: _uow(platform, pass_clock))
                times.append((time.perf_counter() - t0) * 1000)
                assert len(report.fired) == due, report
            platform.close()
        times.sort()
        result[f"{label}_ms"] = times[len(times) // 2]
    result["ratio"] = result["big_ms"] / result["small_ms"]
    return result


def _uow(platform, clock):
    from engine.core.uow import UnitOfWork
    return UnitOfWork(platform.session_factory, clock, save_hooks=platform.save_hooks,
                      audit_subscribers=platform.audit_subscribers)


def memory_child(checkpoints: list[int]) -> None:
    """(in a child process) fire timers in a row; print peak RSS in MB at each checkpoint."""
    with tempdir() as tmp:
        platform = sqlite_platform(tmp)
        deploy(platform, ONE_TIMER)
        fire_at = T0 + timedelta(hours=1)
        seed_timers(platform, checkpoints[-1], fire_at)
        clock = FrozenClock(fire_at + timedelta(minutes=1))
        fired, out = 0, {}
        t0 = time.perf_counter()
        for checkpoint in checkpoints:
            while fired < checkpoint:
                report = fire_due_timers(lambda: _uow(platform, clock),
                                         limit=min(500, checkpoint - fired))
                if not report.fired:
                    raise SystemExit(f"only {fired} timers fired")
                fired += len(report.fired)
            out[str(checkpoint)] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out["seconds"] = time.perf_counter() - t0
        platform.close()
    print(json.dumps(out))


def memory(checkpoints: list[int]) -> dict:
    """Peak RSS of a worker process at each checkpoint of timers fired in a row."""
    done = subprocess.run([sys.executable, __file__, "memory", *map(str, checkpoints)],
                          capture_output=True, text=True, check=True, cwd=HERE)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__" and sys.argv[1:2] == ["memory"]:
    memory_child([int(n) for n in sys.argv[2:]])
