"""Compaction: a looping instance keeps only the latest round of its loop, and loses nothing."""

from __future__ import annotations

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from engine.bpm import task_actions
from engine.bpm.parser import GongjianParser
from engine.bpm.changes import finished_ids
from engine.bpm.compaction import compact
from engine.bpm.expression_helpers import HELPERS
from engine.core.models import AuditEvent, ProcessInstance
from engine.bpm.sandbox import make_script_engine
from engine.bpm.state import dump_state, load_state
from engine.county.supervision import escalation_history

from ..conftest import FIXTURES
from ..processes.helpers import (
    SUPERVISOR, complete, data_of, deploy_all, send_message, start, unit_member,
)

LOOP = FIXTURES / "engine" / "loop.bpmn"
TOWNSHIP = unit_member("t_magedang")
COMMIT = {"plan": "明确责任人，限期完成补偿", "promised_date": "2026-12-10"}
REPORT = {"resolution": "补偿款已发放", "evidence": "发放清单"}
ISSUE = {"title": "进场道路征地补偿未落实", "project_code": "XM-2026-006", "scope": "unit",
         "severity": "normal", "responsible_unit": "t_magedang", "sub_command": "sc_culture"}


# ---------------------------------------------------------------- in memory

def _specs():
    parser = GongjianParser()
    parser.add_bpmn_file(str(LOOP))
    return parser.get_spec("loop"), parser.get_subprocess_specs("loop")


def _saved(workflow, finished_before, *, compacting: bool):
    """Save and restore as a service call does: compact (finished before the call), dump, load.

    Returns the restored workflow and the tasks finished at its restore.
    """
    if compacting:
        compact(workflow, finished_before)
    spec, subs = _specs()
    restored = load_state(dump_state(workflow), spec, subs)
    restored.script_engine = make_script_engine(HELPERS)
    return restored, finished_ids(restored)


def _complete(workflow, element_id, data=None):
    ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
             if t.task_spec.bpmn_id == element_id]
    assert len(ready) == 1, [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY)]
    ready[0].data.update(data or {})
    ready[0].run()
    workflow.do_engine_steps()


def _run_loop(rounds: int, *, compacting: bool, sizes: list | None = None):
    spec, subs = _specs()
    workflow = BpmnWorkflow(spec, subs, script_engine=make_script_engine(HELPERS))
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update({"rounds_done": 0, "rounds": rounds})
    workflow.do_engine_steps()
    workflow, finished = _saved(workflow, frozenset(), compacting=compacting)
    _complete(workflow, "register", {"registered_by": "督查室"})
    workflow, finished = _saved(workflow, finished, compacting=compacting)
    for n in range(1, rounds + 1):
        work = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True))
        # 退回 from this round still finds the step before the loop
        assert "register" in [t.task_spec.bpmn_id for t in task_actions._earlier_user_tasks(workflow, work)]
        _complete(workflow, "work", {f"note_{n}": f"第{n}轮整改"})
        workflow, finished = _saved(workflow, finished, compacting=compacting)
        _complete(workflow, "check")
        workflow, finished = _saved(workflow, finished, compacting=compacting)
        if sizes is not None:
            sizes.append((len(workflow.tasks), len(workflow.subprocesses)))
    assert workflow.is_completed()
    return workflow


def test_the_rounds_of_a_loop_do_not_pile_up():
    sizes = []
    _run_loop(20, compacting=True, sizes=sizes)
    # after the first rounds the tree holds the same number of tasks whatever the round
    assert sizes[4] == sizes[18], sizes
    assert sizes[18][1] <= 1  # only the current round's subprocess (none once it ended)

    grown = []
    _run_loop(20, compacting=False, sizes=grown)
    assert grown[18][0] > 3 * sizes[18][0]  # what the tree would hold without compaction


def test_the_data_of_every_round_survives_compaction():
    compacted = _run_loop(12, compacting=True)
    kept = _run_loop(12, compacting=False)
    assert compacted.data == kept.data
    assert compacted.data["registered_by"] == "督查室" and compacted.data["rounds_done"] == 12
    assert [compacted.data[f"note_{n}"] for n in (1, 6, 12)] == ["第1轮整改", "第6轮整改", "第12轮整改"]


def test_nothing_finished_during_the_current_call_is_dropped():
    spec, subs = _specs()
    workflow = BpmnWorkflow(spec, subs, script_engine=make_script_engine(HELPERS))
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update({"rounds_done": 0, "rounds": 8})
    workflow.do_engine_steps()
    _complete(workflow, "register")
    for _ in range(6):
        _complete(workflow, "work")
        _complete(workflow, "check")
    before = len(workflow.tasks)
    assert compact(workflow, frozenset()) == 0  # every round finished in "this call"
    assert len(workflow.tasks) == before
    assert compact(workflow, finished_ids(workflow)) > 0


# ---------------------------------------------------------------- through the services

def _state_size(platform, instance_id) -> int:
    with platform.uow() as uow:
        return len(uow.session.get(ProcessInstance, instance_id).state)


def test_an_issue_escalated_forty_times_stays_small_and_keeps_its_history(platform):
    deploy_all(platform)
    issue = start(platform, "issue_lifecycle", ISSUE, business_key="XM-2026-006", actor=SUPERVISOR)
    sizes = []
    for n in range(40):
        send_message(platform, issue.id, "escalate_issue", SUPERVISOR, {"reason": f"第{n + 1}次催办无果"})
        sizes.append(_state_size(platform, issue.id))
    assert sizes[-1] < 1.3 * sizes[3], sizes
    with platform.uow() as uow:
        # two rungs up to the county head, then every further request reminds the county head
        assert [(e.from_rung, e.to_rung) for e in escalation_history(
            uow.session, instance_id=issue.id)] == [("2", "3"), ("3", "4")]
        actions = list(uow.session.execute(select(AuditEvent.action).where(
            AuditEvent.instance_id == issue.id)).scalars())
    assert actions.count("message_received") == 40 and actions.count("reminded") == 38
    assert data_of(platform, issue.id)["title"] == ISSUE["title"]


def test_a_resolution_sent_back_again_and_again_stays_small_and_is_cleared(platform):
    deploy_all(platform)
    issue = start(platform, "issue_lifecycle", ISSUE, business_key="XM-2026-006", actor=SUPERVISOR)
    complete(platform, TOWNSHIP, "commit_plan", COMMIT)
    sizes = []
    for n in range(15):
        complete(platform, TOWNSHIP, "report_resolution", REPORT)
        complete(platform, SUPERVISOR, "verify_issue",
                 {"verify_decision": "returned", "verify_opinion": f"第{n + 1}次核查：仍未到位"})
        sizes.append(_state_size(platform, issue.id))
    assert sizes[-1] < 1.3 * sizes[3], sizes

    complete(platform, TOWNSHIP, "report_resolution", REPORT)
    done = complete(platform, SUPERVISOR, "verify_issue",
                    {"verify_decision": "cleared", "verify_opinion": "已整改到位"})
    assert done.status == "completed" and done.data["status"] == "cleared"
    # the commitment was made once, before every round; its data is still there
    assert done.data["plan"] == COMMIT["plan"] and done.data["title"] == ISSUE["title"]
    with platform.uow() as uow:
        reports = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.instance_id == issue.id, AuditEvent.action == "task_completed",
            AuditEvent.detail.contains("report_resolution")))
    assert reports == 16  # every round is still in the audit log
