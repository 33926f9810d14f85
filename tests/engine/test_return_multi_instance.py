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
