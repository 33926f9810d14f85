"""Task completion: the library alone, the engine services, the JSON API, a long-lived issue.

Figures are medians of repeated runs; every ratio is measured in the same run, because the
machine is noisy. Nothing here is asserted in `make test` (tests/perf runs a small smoke).
"""

from __future__ import annotations

import statistics
import time

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.bpm import messages, runtime, task_actions
from engine.ops import tokens
from engine.bpm.parser import GongjianParser
from engine.bpm.expression_helpers import HELPERS
from engine.core import organisation
from engine.core.identity import Actor
from engine.core.models import HumanTask, ProcessInstance
from engine.bpm.sandbox import make_script_engine
from engine.bpm.state import dump_state, load_state

from common import HERE, ROOT, deploy, sqlite_platform, tempdir

FIVE = HERE / "five_tasks.bpmn"
ACTOR = Actor.of("bench", "specialist")
ADMIN = Actor.of("admin1", "admin")
# Every rung's handler group of issue_lifecycle, so one actor can complete at any rung.
ISSUE_ACTOR = Actor.of("bench", "unit:zrzy", "sub_commander@industry", "county_head",
                       "supervisor")
SUPERVISOR = Actor.of("ducha1", "supervisor")
ISSUE_STEPS = {  # what each step of issue_lifecycle the bench reaches is completed with
    "commit_plan": {"plan": "整改方案", "promised_date": "2026-12-31"},
    "decide_issue": {"plan": "整改方案", "promised_date": "2026-12-31", "carry_out_unit": "zrzy"},
    "report_resolution": {"resolution": "已整改", "evidence": "照片"},
}
ISSUE_DATA = {"title": "征地协调", "project_code": "LC-001", "scope": "unit",
              "severity": "normal", "responsible_unit": "zrzy", "sub_command": "industry"}


def library_only(rounds: int) -> tuple[float, float]:
    """SpiffWorkflow alone: (ms start-to-end in memory, ms per restore→complete→save step)."""
    parser = GongjianParser()
    parser.add_bpmn_file(str(FIVE))
    spec, subs = parser.get_spec("five_tasks"), parser.get_subprocess_specs("five_tasks")
    in_memory, per_step = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        wf = BpmnWorkflow(spec, subs, script_engine=make_script_engine(HELPERS))
        wf.do_engine_steps()
        while not wf.is_completed():
            wf.get_tasks(state=TaskState.READY, manual=True)[0].run()
            wf.do_engine_steps()
        in_memory.append((time.perf_counter() - t0) * 1000)

        wf = BpmnWorkflow(spec, subs, script_engine=make_script_engine(HELPERS))
        wf.do_engine_steps()
        state = dump_state(wf)
        while True:
            t0 = time.perf_counter()
            wf = load_state(state, spec, subs)
            wf.script_engine = make_script_engine(HELPERS)
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            ready[0].run()
            wf.do_engine_steps()
            state = dump_state(wf)
            per_step.append((time.perf_counter() - t0) * 1000)
    return statistics.median(in_memory), statistics.median(per_step)


def _open_tasks(platform, instance_ids) -> list[tuple[str, str]]:
    with platform.uow() as uow:
        return [(task_id, element) for task_id, element in uow.session.execute(
            select(HumanTask.id, HumanTask.element_id).where(
                HumanTask.instance_id.in_(instance_ids), HumanTask.state == "open"))]


def _open_task_ids(platform, instance_ids) -> list[str]:
    with platform.uow() as uow:
        return list(uow.session.execute(select(HumanTask.id).where(
            HumanTask.instance_id.in_(instance_ids), HumanTask.state == "open")).scalars())


def service_completion(rounds: int) -> float:
    """ms per task completion through the engine services on SQLite (median)."""
    with tempdir() as tmp:
        platform = sqlite_platform(tmp)
        deploy(platform, FIVE)
        ids = []
        for _ in range(rounds):
            with platform.uow() as uow:
                ids.append(runtime.start_instance(uow, "five_tasks", ACTOR).id)
        timings = []
        for _step in range(5):
            for task_id in _open_task_ids(platform, ids):
                t0 = time.perf_counter()
                with platform.uow() as uow:
                    task_actions.complete(uow, task_id, ACTOR)
                timings.append((time.perf_counter() - t0) * 1000)
        platform.close()
        return statistics.median(timings)


def api_completion(rounds: int) -> float:
    """ms per POST /api/v1/tasks/<id>/complete with the Flask test client and a token."""
    from webapp import create_app

    with tempdir() as tmp:
        platform = sqlite_platform(tmp)
        deploy(platform, FIVE)
        with platform.uow() as uow:
            issued = tokens.create_token(uow, ADMIN, "bench", ["specialist"])
        ids = []
        for _ in range(rounds):
            with platform.uow() as uow:
                ids.append(runtime.start_instance(uow, "five_tasks", ACTOR).id)
        app = create_app({"TESTING": True, "SECRET_KEY": "bench",
                          "DATABASE_URL": platform.db.url.render_as_string(False),
                          "CLOCK": platform.clock})
        client = app.test_client()
        headers = {"Authorization": f"Bearer {issued.secret}"}
        timings = []
        for _step in range(5):
            for task_id in _open_task_ids(platform, ids):
                t0 = time.perf_counter()
                response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {}},
                                       headers=headers)
                timings.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.get_data(as_text=True)
        app.extensions["gongjian"].close()
        platform.close()
        return statistics.median(timings)


def long_lived_issue(instances: int, cycles: int = 50) -> dict[str, float]:
    """Completing 'commit_plan' on issues after `cycles` escalation/reminder cycles vs fresh."""
    with tempdir() as tmp:
        platform = sqlite_platform(tmp)
        deploy(platform, ROOT / "rules", ROOT / "bpmn" / "issue_lifecycle.bpmn")
        with platform.uow() as uow:  # the unit that 研究解决 hands the issue to (a picker)
            uow.begin_write()
            organisation.add_unit(uow.session, "zrzy", "自然资源局", "department")
            uow.commit()
        fresh, old = [], []
        for n in range(instances):
            for group, key in ((fresh, f"F-{n}"), (old, f"L-{n}")):
                with platform.uow() as uow:
                    group.append(runtime.start_instance(uow, "issue_lifecycle", SUPERVISOR,
                                                        business_key=key, data=ISSUE_DATA).id)
        for n in range(instances):
            for _ in range(cycles):
                with platform.uow() as uow:
                    messages.send_message(uow, "escalate_issue", SUPERVISOR,
                                          business_key=f"L-{n}", payload={"reason": "bench"})
        with platform.uow() as uow:
            sizes = {i: len(s) for i, s in uow.session.execute(
                select(ProcessInstance.id, ProcessInstance.state)
                .where(ProcessInstance.id.in_(fresh + old)))}
        times = {"fresh": [], "old": []}
        # A fresh issue waits at its unit's commitment; after 50 escalations one has climbed
        # to the top rung and waits at 研究解决 (the same form, with the unit that carries out).
        for _round in range(2):  # the commitment or decision, then the report
            for label, group in (("fresh", fresh), ("old", old)):
                for task_id, element in _open_tasks(platform, group):
                    t0 = time.perf_counter()
                    with platform.uow() as uow:
                        task_actions.complete(uow, task_id, ISSUE_ACTOR, ISSUE_STEPS[element])
                    times[label].append((time.perf_counter() - t0) * 1000)
        platform.close()
    fresh_ms, old_ms = statistics.median(times["fresh"]), statistics.median(times["old"])
    return {"fresh_ms": fresh_ms, "old_ms": old_ms, "ratio": old_ms / fresh_ms,
            "fresh_state_kb": statistics.median(sizes[i] for i in fresh) / 1024,
            "old_state_kb": statistics.median(sizes[i] for i in old) / 1024}
