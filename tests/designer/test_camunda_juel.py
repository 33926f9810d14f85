"""A Camunda Modeler 5 file with JUEL deploys unchanged and runs to its end.

tests/fixtures/camunda/juel_approval.bpmn is written as Camunda Modeler 5 writes files: JUEL
conditions (`${empty list}`, `${clarified == 'no'}`, `#{amount > 1000}`,
`${!rejected && score >= 3}`, `${approved}`), a JUEL candidate group and due date, a business
rule task with `camunda:decisionRef` (approval_level.dmn), a multi-instance approval over
`camunda:collection="${approvers}"`, and a timer written as a bare ISO duration (`PT2H`).
"""

from __future__ import annotations

from sqlalchemy import select

from engine.bpm import definition_admin as admin
from engine.bpm import definitions, inbox, runtime, task_actions
from engine.bpm.lint import INFO
from engine.bpm.timers import fire_due_timers
from engine.core.identity import Actor
from engine.core.models import Deployment

from ..conftest import FIXTURES

CAMUNDA = FIXTURES / "camunda"
FILES = ("approval_level.dmn", "juel_approval.bpmn")
STARTER = Actor.of("zhuanyuan1", "specialist")
OFFICE = Actor.of("bangongshi", "office")


def deploy(platform):
    with platform.uow() as uow:
        return definitions.deploy_files(
            uow, [(name, (CAMUNDA / name).read_bytes()) for name in FILES], "designer")


def start(platform, **data):
    base = {"title": "城东路灯改造", "amount": 500, "score": 4, "rejected": False, "list": [],
            "reviewDue": "2026-12-10", "approvers": ["fgj", "zrzy", "sthj"]}
    with platform.uow() as uow:
        return runtime.start_instance(uow, "juel_approval", STARTER, data={**base, **data}).id


def open_tasks(platform, actor):
    with platform.uow() as uow:
        return inbox.list_tasks(uow, actor)


def complete(platform, actor, data=None):
    (task,) = open_tasks(platform, actor)
    with platform.uow() as uow:
        if task.assignee is None:
            task_actions.claim(uow, task.id, actor)
    with platform.uow() as uow:
        return task_actions.complete(uow, task.id, actor, data or {})


def status_of(platform, instance_id):
    with platform.uow() as uow:
        return runtime.get_instance(uow, instance_id)


def pass_the_publicity_timer(platform, clock):
    clock.advance(hours=2, seconds=1)
    return fire_due_timers(platform.uow)


def test_the_file_deploys_byte_for_byte_unchanged(platform):
    deploy(platform)
    with platform.uow() as uow:
        stored = {d.filename: d.xml for d in uow.session.scalars(select(Deployment))}
    for name in FILES:
        assert stored[name] == (CAMUNDA / name).read_text(encoding="utf-8")
    assert "${!rejected &amp;&amp; score &gt;= 3}" in stored["juel_approval.bpmn"]


def test_a_large_project_is_decided_countersigned_and_published(platform, clock):
    deploy(platform)
    instance_id = start(platform, amount=1500)  # `${empty list}`, then `#{amount > 1000}`
    signers = [Actor.of(user) for user in ("fgj", "zrzy", "sthj")]
    for signer in signers:  # the multi-instance approval: one task for each approver
        assert [t.element_id for t in open_tasks(platform, signer)] == ["Task_countersign"]
    for signer in signers:
        complete(platform, signer, {"opinion": "同意"})
    # `${!rejected && score >= 3}` held: the instance waits at the publicity timer.
    assert status_of(platform, instance_id).status == "running"
    assert pass_the_publicity_timer(platform, clock).fired
    view = status_of(platform, instance_id)
    assert view.status == "completed" and view.data["level"] == "county"


def test_a_vetoed_large_project_ends_rejected_without_waiting(platform):
    deploy(platform)
    instance_id = start(platform, amount=1500, rejected=True)
    for user in ("fgj", "zrzy", "sthj"):
        complete(platform, Actor.of(user), {"opinion": "否决"})
    assert status_of(platform, instance_id).status == "completed"


def test_a_small_project_with_missing_documents_is_clarified_and_reviewed(platform, clock):
    deploy(platform)
    instance_id = start(platform, list=["营业执照"])  # not `${empty list}`: clarify first
    clarify = complete(platform, OFFICE, {"clarified": "yes"})  # `${clarified == 'no'}` fails
    assert clarify.status == "running"
    (review,) = open_tasks(platform, OFFICE)  # `#{level == 'county' ? ... : 'office'}`
    assert review.element_id == "Task_review"
    assert review.due_at is not None and review.due_at.date().isoformat() == "2026-12-10"
    complete(platform, OFFICE, {"approved": True})  # `${approved}`
    clock.advance(hours=1)
    assert not fire_due_timers(platform.uow).fired
    assert pass_the_publicity_timer(platform, clock).fired
    view = status_of(platform, instance_id)
    assert view.status == "completed" and view.data["level"] == "town"


def test_a_withdrawn_application_ends_at_once(platform):
    deploy(platform)
    instance_id = start(platform, list=["营业执照"])
    complete(platform, OFFICE, {"clarified": "no"})  # `${clarified == 'no'}`
    assert status_of(platform, instance_id).status == "completed"
    assert open_tasks(platform, OFFICE) == []


def test_validation_shows_each_translation_to_the_designer(platform):
    deploy(platform)
    with platform.uow() as uow:
        report = admin.validate_definition(uow, (CAMUNDA / "juel_approval.bpmn").read_bytes(),
                                           "juel_approval.bpmn")
    assert report.ok
    translated = {f.element_id: f.message for f in report.findings
                  if f.severity == INFO and f.rule == "translated"}
    assert translated["Flow_score_pass"] == ("The condition ${!rejected && score >= 3} is JUEL; "
                                             "it runs as the Python not rejected and score >= 3.")
    assert "not list and list != 0" in translated["Flow_docs_complete"]
    assert "'PT2H'" in translated["Event_publicity"]
