"""PostgreSQL: worker processes completing tasks side by side, and racing on one instance.

Each worker is a separate process with its own connection pool, as gunicorn workers and
`gongjian worker` processes are. Skipped (with a note) when no server answers.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import time
import uuid

from sqlalchemy import create_engine, func, select, text

from engine.bpm import runtime, task_actions
from engine.core.audit import verify_audit
from engine.core.clock import FrozenClock
from engine.core.errors import ConflictError
from engine.core.identity import Actor
from engine.core.models import AuditEvent, HumanTask, ProcessInstance
from engine.ops.platform import Platform

from common import HERE, T0, deploy

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ACTOR = Actor.of("bench", "specialist")


def _admin(statement: str) -> None:
    engine = create_engine(ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def available() -> bool:
    """Whether a PostgreSQL server answers at the admin URL."""
    try:
        _admin("SELECT 1")
        return True
    except Exception:
        return False


class ThrowawayDatabase:
    """A migrated database created for one benchmark and dropped after it."""

    def __enter__(self) -> str:
        self.name = f"gongjian_bench_{uuid.uuid4().hex[:8]}"
        _admin(f"CREATE DATABASE {self.name}")
        self.url = ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name
        return self.url

    def __exit__(self, *exc) -> None:
        _admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def complete_all(url: str, task_ids: list[str], queue, ready, go) -> None:
    """(in a worker process) complete each task; retry conflicts, report tasks done by others."""
    platform = Platform(url, FrozenClock(T0))
    with platform.uow() as uow:  # connect and warm the spec cache before the clock starts
        uow.session.execute(select(HumanTask.id).limit(1)).all()
    ready.release()
    go.wait()
    done = retried = by_other = 0
    t0 = time.perf_counter()
    for task_id in task_ids:
        for _attempt in range(50):
            try:
                with platform.uow() as uow:
                    task_actions.complete(uow, task_id, ACTOR)
                done += 1
                break
            except ConflictError:
                with platform.uow() as uow:
                    state = uow.session.get(HumanTask, task_id).state
                if state != "open":
                    by_other += 1
                    break
                retried += 1
        else:
            raise RuntimeError(f"task {task_id} still conflicting after 50 attempts")
    queue.put({"done": done, "retried": retried, "by_other": by_other,
               "seconds": time.perf_counter() - t0})
    platform.close()


def _run(url: str, batches: list[list[str]]) -> tuple[float, list[dict]]:
    context = multiprocessing.get_context("spawn")
    queue, ready, go = context.Queue(), context.Semaphore(0), context.Event()
    workers = [context.Process(target=complete_all, args=(url, batch, queue, ready, go))
               for batch in batches]
    for worker in workers:
        worker.start()
    for _ in workers:  # start-up (imports, connections) is not what is measured
        ready.acquire(timeout=120)
    t0 = time.perf_counter()
    go.set()
    results = [queue.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
        if worker.exitcode:
            raise RuntimeError(f"a worker process failed with exit code {worker.exitcode}")
    return time.perf_counter() - t0, results


def _start(url: str, process_key: str, count: int) -> list[int]:
    platform = Platform(url, FrozenClock(T0))
    ids = []
    for _ in range(count):
        with platform.uow() as uow:
            ids.append(runtime.start_instance(uow, process_key, ACTOR).id)
    platform.close()
    return ids


def _open_tasks(url: str, ids: list[int]) -> list[list[str]]:
    platform = Platform(url)
    with platform.uow() as uow:
        rows = uow.session.execute(select(HumanTask.instance_id, HumanTask.id).where(
            HumanTask.instance_id.in_(ids), HumanTask.state == "open")
            .order_by(HumanTask.instance_id, HumanTask.element_id)).all()
    platform.close()
    by_instance: dict[int, list[str]] = {}
    for instance_id, task_id in rows:
        by_instance.setdefault(instance_id, []).append(task_id)
    return list(by_instance.values())


def throughput(instances: int = 40, rounds: int = 3) -> dict:
    """Tasks per second of one process vs two, each on its own instances (8 tasks each).

    One and two processes take turns, `rounds` times on fresh instances, and the medians
    are compared: a checkpoint or a noisy neighbour during one run does not decide the ratio.
    """
    one_rates, two_rates, conflicts = [], [], 0
    with ThrowawayDatabase() as url:
        platform = Platform(url, FrozenClock(T0))
        platform.upgrade()
        deploy(platform, HERE / "parallel_tasks.bpmn")
        platform.close()
        for _round in range(rounds):
            per_instance = _open_tasks(url, _start(url, "parallel_tasks", 2 * instances))
            one = [t for tasks in per_instance[:instances] for t in tasks]
            two_a = [t for tasks in per_instance[instances::2] for t in tasks]
            two_b = [t for tasks in per_instance[instances + 1::2] for t in tasks]
            seconds_one, _ = _run(url, [one])
            seconds_two, results = _run(url, [two_a, two_b])
            one_rates.append(len(one) / seconds_one)
            two_rates.append((len(two_a) + len(two_b)) / seconds_two)
            conflicts += sum(r["retried"] for r in results)
    one_rate, two_rate = statistics.median(one_rates), statistics.median(two_rates)
    return {"one_per_s": one_rate, "two_per_s": two_rate, "ratio": two_rate / one_rate,
            "rounds": rounds, "conflicts_two": conflicts}


def _mine_first(group: list[str], i: int, processes: int) -> list[str]:
    mine = group[i::processes]
    return mine + [t for t in group if t not in mine]


def race(instances: int = 10, processes: int = 2) -> dict:
    """Processes completing the same instances' tasks at once: nothing lost or doubled."""
    with ThrowawayDatabase() as url:
        platform = Platform(url, FrozenClock(T0))
        platform.upgrade()
        deploy(platform, HERE / "parallel_tasks.bpmn")
        platform.close()
        ids = _start(url, "parallel_tasks", instances)
        groups = _open_tasks(url, ids)
        tasks = [t for group in groups for t in group]
        # Every process goes through every task, instance by instance in the same order, each
        # starting at another of the instance's parallel tasks: they collide on the row version.
        batches = [[t for group in groups for t in _mine_first(group, i, processes)]
                   for i in range(processes)]
        _seconds, results = _run(url, batches)
        platform = Platform(url)
        with platform.uow() as uow:
            completed = uow.session.execute(select(func.count()).select_from(HumanTask).where(
                HumanTask.instance_id.in_(ids), HumanTask.state == "completed")).scalar()
            events = uow.session.execute(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "task_completed")).scalar()
            ended = uow.session.execute(select(func.count()).select_from(ProcessInstance).where(
                ProcessInstance.id.in_(ids), ProcessInstance.status == "completed")).scalar()
            chain_ok = verify_audit(uow.session).ok
        platform.close()
    done = sum(r["done"] for r in results)
    return {"tasks": len(tasks), "completed_once": done, "rows_completed": completed,
            "audit_events": events, "instances_ended": f"{ended}/{instances}",
            "retried": sum(r["retried"] for r in results),
            "reported": sum(r["by_other"] for r in results), "chain_ok": chain_ok,
            "lost": len(tasks) - completed,
            "ok": done == completed == events == len(tasks) and ended == instances and chain_ok}


if __name__ == "__main__":
    print(json.dumps({"throughput": throughput(20), "race": race(4)}, indent=1))
