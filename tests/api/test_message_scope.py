"""Messages go through the policy of the action they trigger (security issue, finding 2)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.core import organisation
from engine.core.models import AuditEvent

from .conftest import ISSUE
from .test_auth import assert_problem


@pytest.fixture
def issue(client, supervisor):
    return client.post("/api/v1/issues", headers=supervisor, json=ISSUE).get_json()


def _escalations(platform) -> int:
    with platform.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "issue_escalation_requested"))


def test_a_sub_commander_cannot_escalate_another_field_s_issue_by_message(issue, client,
                                                                          make_token, platform):
    with platform.uow() as uow:
        organisation.add_unit(uow.session, "sc_industry", "工业分指挥部", "sub_command")
        uow.commit()
    other_field = make_token(roles=("sub_commander",), unit="sc_industry", name="fenzhi-gy")
    refused = client.post("/api/v1/messages/escalate_issue", headers=other_field,
                          json={"instance_id": issue["id"], "payload": {"reason": "越权"}})
    assert_problem(refused, 404)
    assert _escalations(platform) == 0

    own_field = make_token(roles=("sub_commander",), unit=ISSUE["sub_command"], name="fenzhi-wl")
    sent = client.post("/api/v1/messages/escalate_issue", headers=own_field,
                       json={"instance_id": issue["id"], "payload": {"reason": "跨部门协调"}})
    assert sent.status_code == 200, sent.get_json()
    assert _escalations(platform) == 1


def test_an_escalation_by_message_needs_a_reason_like_the_desk(issue, client, supervisor):
    assert_problem(client.post("/api/v1/messages/escalate_issue", headers=supervisor,
                               json={"instance_id": issue["id"]}), 422)


def test_only_supervisors_list_an_issue_by_message(issue, client, make_token, supervisor):
    field = make_token(roles=("sub_commander",), unit=ISSUE["sub_command"], name="fenzhi-wl")
    assert_problem(client.post("/api/v1/messages/list_issue", headers=field,
                               json={"instance_id": issue["id"], "payload": {"reason": "r"}}),
                   403)
    listed = client.post("/api/v1/messages/list_issue", headers=supervisor,
                         json={"instance_id": issue["id"], "payload": {"reason": "挂牌"}})
    assert listed.status_code == 200, listed.get_json()


def test_a_message_that_is_no_desk_action_needs_the_integration_role(issue, client, supervisor,
                                                                     make_token):
    assert_problem(client.post("/api/v1/messages/clarified", headers=supervisor,
                               json={"instance_id": issue["id"]}), 403)
    system = make_token(roles=("integration",), unit=None, name="13710-sync")
    assert_problem(client.post("/api/v1/messages/clarified", headers=system,
                               json={"instance_id": issue["id"]}), 404)  # nothing waits for it
    assert_problem(client.post("/api/v1/messages/escalate_issue", headers=system,
                               json={"instance_id": issue["id"], "payload": {"reason": "r"}}),
                   404)  # the desk's action: the issue is not in a system's scope
