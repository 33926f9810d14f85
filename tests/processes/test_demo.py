"""The demo organisation, accounts, projects and running instances."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.bpm.inbox import list_tasks
from engine.ops.demo import DEMO_PASSWORD, GUIDE_ACCOUNTS, load_demo
from engine.core.models import AuditEvent, HumanTask, ProcessInstance
from engine.core.organisation import OrgUnit, UserAccount, actor_for, authenticate
from engine.county.projects import STAGES, Project, projects


def _counts(platform) -> dict:
    tables = {"units": OrgUnit, "accounts": UserAccount, "projects": Project,
              "instances": ProcessInstance, "tasks": HumanTask, "audit": AuditEvent}
    with platform.uow() as uow:
        return {name: uow.session.execute(select(func.count()).select_from(t)).scalar()
                for name, t in tables.items()}


def test_loading_the_demo_twice_changes_nothing(platform):
    first = load_demo(platform)
    before = _counts(platform)
    with platform.uow() as uow:
        hashes = dict(uow.session.execute(select(UserAccount.username, UserAccount.password_hash)).all())
    second = load_demo(platform)
    assert _counts(platform) == before
    with platform.uow() as uow:
        assert dict(uow.session.execute(
            select(UserAccount.username, UserAccount.password_hash)).all()) == hashes
    assert first.instances_started == 10 and second.instances_started == 0
    assert second.accounts_created == 0 and first.accounts_created == first.accounts


def test_demo_accounts_log_in_with_the_shared_password_and_carry_no_personal_names(platform):
    load_demo(platform)
    with platform.uow() as uow:
        actor = authenticate(uow.session, "county_head", DEMO_PASSWORD)
        assert actor is not None and "county_head" in actor.groups
        assert authenticate(uow.session, "approver_sthj", DEMO_PASSWORD).groups >= {
            "approver", "approver@sthj", "unit:sthj"}
        assert authenticate(uow.session, "county_head", "wrong") is None
        names = [a.display_name for a in uow.session.execute(select(UserAccount)).scalars()]
    for personal in ("王丽", "龚运林", "杨文革", "毋胜利", "肖新德", "吴春梅", "郭秀军", "赵永胜"):
        assert not any(personal in n for n in names)


def test_demo_projects_cover_every_field_and_every_stage(platform):
    load_demo(platform)
    with platform.uow() as uow:
        rows = [(p.sub_command, p.stage) for p in projects(uow.session)]
        fields = {u.code for u in uow.session.execute(
            select(OrgUnit).where(OrgUnit.kind == "sub_command")).scalars()}
    assert len(rows) == 12
    assert {field for field, _stage in rows} == fields and len(fields) == 7
    assert {stage for _field, stage in rows} == set(STAGES)


def test_demo_instances_of_all_three_processes_wait_in_inboxes(platform):
    load_demo(platform)
    with platform.uow() as uow:
        keys = {row.process_key for row in uow.session.execute(
            select(ProcessInstance).where(ProcessInstance.status == "running")).scalars()}
        # the recurring work is the schedule's, not a running instance the demo started
        assert keys == {"permit_approval", "issue_lifecycle", "instruction_13710"}
        inbox = {name: {t.element_id for t in list_tasks(uow, actor_for(uow.session, name))}
                 for name in ("office_window", "specialist2", "approver_zrzy", "supervisor1",
                              "head_magedang", "county_head", "head_zj", "unit_materials")}
    assert inbox["office_window"] == {"receive_request"}
    assert "file_for_unit" in inbox["specialist2"]
    assert "approval" in inbox["approver_zrzy"]
    assert {"assign_instruction", "review_report", "verify_issue"} <= inbox["supervisor1"]
    assert inbox["head_magedang"] == {"report_resolution"}
    assert inbox["county_head"] == {"decide_issue"}  # 研究解决 at the top rung
    assert inbox["unit_materials"] == {"commit_plan"}


def test_every_account_the_guide_prints_exists_and_logs_in(platform):
    load_demo(platform)
    with platform.uow() as uow:
        for username, _what in GUIDE_ACCOUNTS:
            assert authenticate(uow.session, username, DEMO_PASSWORD) is not None, username


def test_a_demo_with_history_has_overdue_tasks_reminders_and_escalations(platform, clock):
    from sqlalchemy import func, select

    from engine.core.models import HumanTask
    from engine.county.supervision import Escalation, Reminder

    load_demo(platform, history_days=21)
    with platform.uow() as uow:
        overdue = uow.session.execute(
            select(func.count()).select_from(HumanTask).where(
                HumanTask.state.in_(("open", "claimed")), HumanTask.due_at < clock.now())
        ).scalar_one()
        reminders = uow.session.execute(select(func.count()).select_from(Reminder)).scalar_one()
        escalations = uow.session.execute(select(func.count()).select_from(Escalation)).scalar_one()
    assert overdue > 0 and reminders > 0 and escalations > 0
