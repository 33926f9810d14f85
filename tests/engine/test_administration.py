"""Disabling an account in one step: no login, sessions and tokens end, its work reassigned,
and no new work reaches it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bpm import definitions, inbox, runtime, task_actions
from engine.core import login_sessions, org_admin, organisation
from engine.core.audit import verify_audit
from engine.core.errors import InvalidStateError, PermissionDeniedError, WorkflowExecutionError
from engine.core.identity import Actor
from engine.core.models import HumanTask
from engine.core.org_admin import OrgInputError
from engine.ops import administration, tokens

from ..conftest import FIXTURES

ADMIN = Actor.of("admin1", "admin")
APPROVAL = FIXTURES / "engine" / "approval.bpmn"
NAMED = FIXTURES / "engine" / "named_handler.bpmn"
PASSWORD = "mima-2026-test"


@pytest.fixture
def county(platform, clock):
    """Two specialists, an approver and an administrator, with the approval deployed."""
    with platform.uow() as uow:
        organisation.add_unit(uow.session, "fgj", "县发改局", "department")
        uow.session.flush()
        for username, name, role in (("zhuanyuan1", "项目专员一", "specialist"),
                                     ("zhuanyuan2", "项目专员二", "specialist"),
                                     ("shenpi1", "审批人", "approver"),
                                     ("admin1", "系统管理员", "admin"),
                                     ("admin2", "另一位管理员", "admin")):
            organisation.add_user(uow.session, username, name, PASSWORD, unit="fgj",
                                  roles=[role], now=clock.now())
        uow.commit()
    with platform.uow() as uow:
        definitions.deploy_files(uow, [(p.name, p.read_bytes()) for p in (APPROVAL, NAMED)],
                                 "designer")
    return platform


def actor(platform, username):
    with platform.uow() as uow:
        return organisation.actor_for(uow.session, username)


def held_task(platform, username):
    """Start an approval and let `username` claim its first task."""
    me = actor(platform, username)
    with platform.uow() as uow:
        runtime.start_instance(uow, "approval", me, data={"project_name": "光伏"})
    with platform.uow() as uow:
        task = next(t for t in inbox.list_tasks(uow, me) if t.state == "open")
    with platform.uow() as uow:
        task_actions.claim(uow, task.id, me)
    return task.id


def test_disabling_reassigns_the_open_work_in_one_step(county):
    first, second = held_task(county, "zhuanyuan1"), held_task(county, "zhuanyuan1")
    with county.uow() as uow:
        named = runtime.start_instance(uow, "named_handler", actor(county, "admin1"),
                                       data={"handler": "zhuanyuan1"})
    with county.uow() as uow:
        work = administration.account_work(uow, ADMIN, "zhuanyuan1")
    assert {w.id for w in work.own} >= {first, second}
    assert sorted(w.how_label for w in work.own) == ["办理中", "办理中", "办理中"]
    with county.uow() as uow:
        result = administration.disable_account(uow, ADMIN, "zhuanyuan1", "调离", "zhuanyuan2")
    assert len(result.reassigned) == 3 and result.reassigned_to == "zhuanyuan2"
    with county.uow() as uow:
        tasks = uow.session.execute(select(HumanTask).where(
            HumanTask.state.in_(("open", "claimed")))).scalars().all()
        assert {t.assignee for t in tasks} == {"zhuanyuan2"}
        assert not uow.session.get(organisation.UserAccount, "zhuanyuan1").active
        actions = [h.action for h in runtime.instance_history(uow, named.id)]
        assert "task_reassigned" in actions
        assert verify_audit(uow.session).ok
    with county.uow() as uow:  # the new holder works on it
        colleague = actor(county, "zhuanyuan2")
        assert len(inbox.list_tasks(uow, colleague)) == 3


def test_an_account_with_open_work_is_not_disabled_without_someone_to_take_it(county):
    held_task(county, "zhuanyuan1")
    with county.uow() as uow:
        with pytest.raises(OrgInputError) as refused:
            administration.disable_account(uow, ADMIN, "zhuanyuan1", "调离")
    assert "1 项待办" in refused.value.field_errors["reassign_to"][0]
    with county.uow() as uow:
        with pytest.raises(OrgInputError) as missing_reason:
            administration.disable_account(uow, ADMIN, "zhuanyuan1", " ", "zhuanyuan2")
        assert missing_reason.value.field_errors["why"] == ["请填写停用原因"]
        with pytest.raises(OrgInputError):
            administration.disable_account(uow, ADMIN, "zhuanyuan1", "调离", "nobody")
        with pytest.raises(PermissionDeniedError):
            administration.disable_account(uow, Actor.of("zhuanyuan2", "specialist"),
                                           "zhuanyuan1", "调离", "zhuanyuan2")
    with county.uow() as uow:
        assert uow.session.get(organisation.UserAccount, "zhuanyuan1").active


def test_a_disabled_account_cannot_log_in_and_its_sessions_end_at_once(county, clock):
    with county.uow() as uow:
        token = login_sessions.start_session(uow.session, "zhuanyuan1", clock.now(),
                                             timedelta(hours=8))
        uow.commit()
    with county.uow() as uow:
        administration.disable_account(uow, ADMIN, "zhuanyuan1", "离职")
    with county.uow() as uow:
        assert not login_sessions.session_is_live(uow.session, "zhuanyuan1", token, clock.now())
        assert organisation.login(uow, "zhuanyuan1", PASSWORD, "10.0.0.1") is None
    with county.uow() as uow:
        assert organisation.session_generation(uow.session, "zhuanyuan1") is None
    with county.uow() as uow:  # enabled again, the same password works
        org_admin.enable_account(uow, ADMIN, "zhuanyuan1", "返岗")
    with county.uow() as uow:
        assert organisation.login(uow, "zhuanyuan1", PASSWORD, "10.0.0.2") is not None


def test_the_api_tokens_a_disabled_administrator_issued_stop_working(county):
    admin2 = actor(county, "admin2")
    with county.uow() as uow:
        issued = tokens.create_token(uow, admin2, "supervision-13710", ["supervisor"])
    with county.uow() as uow:
        other = tokens.create_token(uow, ADMIN, "registry", ["office"])
    with county.uow() as uow:
        assert tokens.authenticate_token(uow, issued.secret) is not None
    with county.uow() as uow:
        result = administration.disable_account(uow, ADMIN, "admin2", "离职")
    assert result.tokens_revoked == ["supervision-13710"]
    with county.uow() as uow:
        assert tokens.authenticate_token(uow, issued.secret) is None
        assert tokens.authenticate_token(uow, other.secret) is not None


def test_the_last_administrator_is_not_disabled(county):
    with county.uow() as uow:
        administration.disable_account(uow, ADMIN, "admin2", "离职")
    with county.uow() as uow:
        org_admin.create_account(uow, ADMIN, "admin3", "第三位管理员", "fgj", [("office", None)])
    with county.uow() as uow:
        with pytest.raises(OrgInputError) as refused:
            administration.disable_account(uow, Actor.of("admin2x", "admin"), "admin1", "离职")
    assert "最后一个" in refused.value.field_errors["username"][0]


def test_new_work_named_for_a_disabled_account_goes_to_its_lane_or_is_refused(county):
    with county.uow() as uow:
        administration.disable_account(uow, ADMIN, "shenpi1", "离职")
    # named with no lane: nobody could do it, so the start is refused and nothing is written
    with county.uow() as uow:
        with pytest.raises(WorkflowExecutionError) as refused:
            runtime.start_instance(uow, "named_handler", ADMIN, data={"handler": "shenpi1"})
    assert "disabled" in str(refused.value)
    with county.uow() as uow:
        assert uow.session.scalar(select(HumanTask.id)) is None
    # a disabled account is never a transfer target either
    task_id = held_task(county, "zhuanyuan1")
    with county.uow() as uow:
        with pytest.raises(Exception) as not_a_target:
            task_actions.transfer(uow, task_id, actor(county, "zhuanyuan1"), "shenpi1")
    assert "to_user" in not_a_target.value.field_errors


def test_a_disabled_assignee_is_skipped_when_the_task_has_groups(platform):
    from engine.bpm.assignment import Candidates, skip_disabled
    who = Candidates(("approver",), ("shenpi1", "shenpi2"), "shenpi1")
    kept = skip_disabled(who, {"shenpi1"}, None, "review")
    assert kept == Candidates(("approver",), ("shenpi2",), None)
    only = Candidates((), (), "shenpi1")
    assert skip_disabled(only, {"shenpi1"}, "审批人", "review").groups == ("approver",)
    with pytest.raises(WorkflowExecutionError):
        skip_disabled(only, {"shenpi1"}, None, "review")


def test_reassign_is_for_administrators_and_disabled_accounts_only(county):
    task_id = held_task(county, "zhuanyuan1")
    with county.uow() as uow:
        with pytest.raises(InvalidStateError):  # zhuanyuan1 is still active
            task_actions.reassign(uow, task_id, ADMIN, "zhuanyuan1", "zhuanyuan2")
    with county.uow() as uow:
        with pytest.raises(Exception):
            task_actions.reassign(uow, task_id, Actor.of("zhuanyuan2", "specialist"),
                                  "zhuanyuan1", "zhuanyuan2")
    with county.uow() as uow:
        administration.disable_account(uow, ADMIN, "zhuanyuan1", "调离", "zhuanyuan2")
    with county.uow() as uow:  # again on the disabled account: nothing left to hand on
        again = administration.disable_account(uow, ADMIN, "zhuanyuan1", "调离")
    assert again.reassigned == [] and again.tokens_revoked == []


def test_work_returned_to_a_disabled_account_is_offered_to_its_group_again(county):
    specialist, approver = actor(county, "zhuanyuan1"), actor(county, "shenpi1")
    prepare = held_task(county, "zhuanyuan1")
    with county.uow() as uow:
        task_actions.complete(uow, prepare, specialist, {"title": "光伏", "amount": 5})
    with county.uow() as uow:
        review = inbox.list_tasks(uow, approver)[0]
    with county.uow() as uow:
        administration.disable_account(uow, ADMIN, "zhuanyuan1", "调离")
    with county.uow() as uow:
        back = task_actions.return_task(uow, review.id, approver, "prepare", "材料不全")
    assert (back.assignee, back.state) == (None, "open")
    with county.uow() as uow:  # the colleague sees it among the group's tasks
        assert [t.id for t in inbox.list_tasks(uow, actor(county, "zhuanyuan2"))] == [back.id]
