"""Versions with instance counts, diffs, validation, rollback, pinning and the Camunda round trip."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.bpm import definition_admin as admin
from engine.core import organisation
from engine.bpm import inbox, runtime, task_actions
from engine.core.errors import InvalidStateError
from engine.core.identity import Actor
from engine.core.models import AuditEvent, ProcessInstance

from .conftest import deploy_as, read

SPECIALIST = Actor.of("zhuanyuan1", "specialist")


def test_a_camunda_modeler_file_deploys_and_runs_unchanged(platform):
    result = deploy_as(platform, "camunda_modeler.bpmn")
    with platform.uow() as uow:
        started = runtime.start_instance(uow, result.key, SPECIALIST,
                                         data={"title": "路灯", "dueDate": "2026-12-10"})
    office = Actor.of("bangongshi", "office")
    with platform.uow() as uow:
        task = inbox.list_tasks(uow, office)[0]
        assert task.element_id == "Task_review"
        task_actions.claim(uow, task.id, office)
    with platform.uow() as uow:
        done = task_actions.complete(uow, task.id, office, {"approved": True})
    assert done.status == "completed" and started.version == 1


def test_versions_list_who_when_hash_and_instance_counts(platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        runtime.start_instance(uow, "migrate_me", SPECIALIST)
    deploy_as(platform, "migrate_v2.bpmn", "migrate.bpmn", user="designer2")
    with platform.uow() as uow:
        summary = admin.get_definition(uow, "migrate_me")
    v2, v1 = summary.versions
    assert (v2.version, v2.deployed_by, v2.is_latest, v2.running) == (2, "designer2", True, 0)
    assert (v1.version, v1.deployed_by, v1.is_latest, v1.running, v1.finished) == \
        (1, "designer", False, 1, 0)
    assert len(v1.sha256) == 64 and summary.latest is v2


def test_the_diff_names_added_removed_and_changed_elements(platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    deploy_as(platform, "migrate_v2.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        diff = admin.diff_versions(uow, "migrate_me", 1, 2)
    assert {e.element_id for e in diff.added} == {"check", "f2b", "amount3"}
    assert diff.removed == []
    changed = {c.element_id: c.changes for c in diff.changed}
    assert changed["f2"] == [("targetRef", "review", "check")]


def test_validation_lists_every_finding_and_deploys_only_without_errors(platform):
    with platform.uow() as uow:
        report = admin.validate_definition(uow, read("lint/unknown_group.bpmn"), "g.bpmn")
    assert not report.ok
    assert {f.rule for f in report.errors} == {"candidate-group"}
    assert any("'nosuch'" in f.message for f in report.errors)
    with platform.uow() as uow:
        organisation.add_unit(uow.session, "fgj", "县发改局", "department")
        uow.session.commit()
    with platform.uow() as uow:
        report, result = admin.deploy_validated(uow, read("lint/gateway_no_default.bpmn"),
                                                "gw.bpmn", "designer")
    assert report.ok and report.warnings and result.version == 1


def test_a_broken_file_is_one_finding_with_its_line(platform):
    with platform.uow() as uow:
        report = admin.validate_definition(uow, b"<bpmn:definitions", "broken.bpmn")
    assert len(report.errors) == 1 and report.key is None


def test_rollback_deploys_the_old_content_as_a_new_version_and_keeps_instances(platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        on_v1 = runtime.start_instance(uow, "migrate_me", SPECIALIST)
    deploy_as(platform, "migrate_v2.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        on_v2 = runtime.start_instance(uow, "migrate_me", SPECIALIST)
    with platform.uow() as uow:
        result = admin.rollback_to(uow, "migrate_me", 1, "designer", "核对步骤有误")
    assert (result.version, result.created) == (3, True)
    with platform.uow() as uow:
        v3, v2, v1 = admin.get_definition(uow, "migrate_me").versions
        assert v3.sha256 == v1.sha256 and v3.is_latest and not v2.is_latest
        versions = {r.id: r.deployment.version
                    for r in uow.session.execute(select(ProcessInstance)).scalars()}
        assert versions == {on_v1.id: 1, on_v2.id: 2}
        actions = [e.action for e in uow.session.execute(select(AuditEvent)).scalars()]
        assert actions[-2:] == ["rollback", "deploy"]
        fresh = runtime.start_instance(uow, "migrate_me", SPECIALIST)
    assert fresh.version == 3


def test_rolling_back_to_the_latest_is_refused(platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    with platform.uow() as uow, pytest.raises(InvalidStateError):
        admin.rollback_to(uow, "migrate_me", 1, "designer")


def test_the_heat_map_counts_instances_per_waiting_element(platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        for _ in range(2):
            runtime.start_instance(uow, "migrate_me", SPECIALIST)
        dep_id = admin.deployment_of(uow, "migrate_me").id
        assert admin.heat_map(uow, dep_id) == {"prepare": 2}
        assert admin.incidents(uow, dep_id) == []
