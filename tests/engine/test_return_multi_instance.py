"""撤回 inside a multi-instance user task (会签): one signer takes back a signature, the
signer's instance opens again in its place, and the result counts each signer once — also
when the signature withdrawn was the last, after which the activity had finished.

Each step runs through save → restore, and the parsed specs are dropped between steps as a
new worker process starts without them.
"""

from __future__ import annotations

from sqlalchemy import select

from engine.bpm import inbox, task_actions
from engine.bpm.definitions import SPEC_CACHE
from engine.core.audit import verify_audit
from engine.core.identity import Actor
from engine.core.models import HumanTask

from .test_countersign import SIGNERS, _data_at, _next, _run, _sign, _waiting_signers


def _withdraw(platform, user: str) -> None:
    actor = Actor.of(user)
    with platform.uow() as uow:
        done = uow.session.execute(select(HumanTask.id).where(
            HumanTask.element_id == "sign", HumanTask.ended_by == user,
            HumanTask.state == "completed")).scalar_one()
    SPEC_CACHE._items.clear()
    with platform.uow() as uow:
        reopened = task_actions.withdraw(uow, done, actor, "签错了")
    assert reopened.element_id == "sign" and reopened.assignee == user
    SPEC_CACHE._items.clear()


def test_a_signer_withdraws_while_the_others_have_not_signed(platform):
    instance = _run(platform, "countersign_all")
    _sign(platform, "fgj", "reject")
    _withdraw(platform, "fgj")
    assert _waiting_signers(platform) == sorted(SIGNERS)
    for signer in SIGNERS:
        _sign(platform, signer, "approve")
    assert _next(platform) == ["carry_out"]
    data = _data_at(platform, instance, "carry_out")
    assert [r["decision"] for r in data["sign_results"]] == ["approve"] * 3
    assert [r["signer"] for r in data["sign_results"]] == list(SIGNERS)


def test_the_last_signature_withdrawn_takes_back_what_followed(platform):
    instance = _run(platform, "countersign_all")
    for signer in SIGNERS:
        _sign(platform, signer, "approve")
    assert _next(platform) == ["carry_out"]
    _withdraw(platform, "sthj")
    assert _next(platform) == [] and _waiting_signers(platform) == ["sthj"]
    _sign(platform, "sthj", "reject")
    assert _next(platform) == ["revise"]
    data = _data_at(platform, instance, "revise")
    assert [r["decision"] for r in data["sign_results"]] == ["approve", "approve", "reject"]
    with platform.uow() as uow:
        assert verify_audit(uow.session).ok
        assert [t.element_id for t in inbox.list_tasks(uow, Actor.of("bangongshi", "office"))
                ] == ["revise"]


def test_the_supervisor_returns_a_result_into_the_embedded_rectification(platform):
    """退回 from 核验销号 (after the embedded subprocess 责任单位限期整改) to the unit's 整改承诺
    inside it: the subprocess runs again from there, with the plan as it was committed."""
    from ..processes.helpers import SUPERVISOR, complete, deploy_all, elements_of, start, \
        unit_member

    deploy_all(platform)
    unit = unit_member("t_magedang")
    start(platform, "issue_lifecycle", {
        "title": "进场道路征地补偿未落实", "project_code": "XM-2026-006", "scope": "unit",
        "severity": "normal", "responsible_unit": "t_magedang", "sub_command": "sc_culture"},
        business_key="XM-2026-006", actor=SUPERVISOR)
    complete(platform, unit, "commit_plan", {"plan": "限期完成补偿", "promised_date": "2026-12-10"})
    complete(platform, unit, "report_resolution", {"resolution": "已发放", "evidence": "清单"})
    SPEC_CACHE._items.clear()
    with platform.uow() as uow:
        [verify] = [t for t in inbox.list_tasks(uow, SUPERVISOR) if t.element_id == "verify_issue"]
        targets = [e for e, _name in task_actions.return_targets(uow, verify.id, SUPERVISOR)]
        assert targets[:2] == ["report_resolution", "commit_plan"]
        reopened = task_actions.return_task(uow, verify.id, SUPERVISOR, "commit_plan",
                                            "方案不具体，请重新承诺")
    defaults = {f["id"]: f.get("default") for f in reopened.form["fields"] if f["type"] != "file"}
    assert defaults == {"plan": "限期完成补偿", "promised_date": "2026-12-10"}
    SPEC_CACHE._items.clear()
    assert elements_of(platform, SUPERVISOR) == []
    complete(platform, unit, "commit_plan", {"plan": "十日内完成补偿", "promised_date": "2026-12-10"})
    complete(platform, unit, "report_resolution", {"resolution": "已发放", "evidence": "清单"})
    complete(platform, SUPERVISOR, "verify_issue",
             {"verify_decision": "cleared", "verify_opinion": "已整改"})
