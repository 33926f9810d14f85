"""Messages correlated to the one waiting instance by business key or instance id."""

from __future__ import annotations

import pytest

from engine.bpm import definitions, messages, runtime
from engine.core.errors import ConflictError, NotFoundError, TaskDataError
from engine.core.identity import Actor

from ..conftest import FIXTURES

SUPERVISOR = Actor.of("ducha1", "supervisor")


@pytest.fixture
def issue_platform(platform):
    with platform.uow() as uow:
        definitions.deploy_path(uow, FIXTURES.parent.parent / "rules", "designer")
    with platform.uow() as uow:
        definitions.deploy_path(uow, FIXTURES.parent.parent / "bpmn" / "issue_lifecycle.bpmn",
                                "designer")
    return platform


def start_issue(platform, key):
    data = {"title": "征地协调", "project_code": "LC-001", "scope": "unit", "severity": "normal",
            "responsible_unit": "zrzy", "sub_command": "industry"}
    with platform.uow() as uow:
        return runtime.start_instance(uow, "issue_lifecycle", SUPERVISOR, business_key=key,
                                      data=data)


def test_a_message_reaches_the_instance_of_its_business_key(issue_platform):
    start_issue(issue_platform, "WT-1")
    other = start_issue(issue_platform, "WT-2")
    with issue_platform.uow() as uow:
        view = messages.send_message(uow, "list_issue", SUPERVISOR, business_key="WT-2",
                                     payload={"why": "群众反映强烈"})
    assert view.id == other.id
    with issue_platform.uow() as uow:
        actions = [h.action for h in runtime.instance_history(uow, other.id)]
    assert "message_received" in actions


def test_nothing_waiting_is_not_found_and_changes_nothing(issue_platform):
    start_issue(issue_platform, "WT-1")
    with issue_platform.uow() as uow, pytest.raises(NotFoundError, match="no_such_message"):
        messages.send_message(uow, "no_such_message", SUPERVISOR, business_key="WT-1")
    with issue_platform.uow() as uow, pytest.raises(NotFoundError):
        messages.send_message(uow, "list_issue", SUPERVISOR, business_key="NOBODY")


def test_two_waiting_instances_of_one_key_are_ambiguous(issue_platform):
    start_issue(issue_platform, "SAME")
    start_issue(issue_platform, "SAME")
    with issue_platform.uow() as uow, pytest.raises(ConflictError, match="several instances"):
        messages.send_message(uow, "list_issue", SUPERVISOR, business_key="SAME")


def test_a_message_needs_exactly_one_address(issue_platform):
    with issue_platform.uow() as uow, pytest.raises(TaskDataError):
        messages.send_message(uow, "list_issue", SUPERVISOR)
