"""POST /api/v1/messages/{name}: correlated by the engine to the one waiting instance."""

from __future__ import annotations

import pytest

from .conftest import ISSUE
from .test_auth import assert_problem

@pytest.fixture
def issue(client, supervisor):
    return client.post("/api/v1/issues", headers=supervisor, json=ISSUE).get_json()


def test_a_message_reaches_the_waiting_instance_by_business_key(issue, client, supervisor):
    response = client.post("/api/v1/messages/escalate_issue", headers=supervisor,
                           json={"business_key": ISSUE["project_code"],
                                 "payload": {"reason": "跨部门"}})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["instance_id"] == issue["id"]


def test_nothing_waiting_is_404_with_a_clear_problem(client, supervisor):
    body = assert_problem(client.post("/api/v1/messages/escalate_issue", headers=supervisor,
                                      json={"business_key": "XM-NONE"}), 404)
    assert "escalate_issue" in body["detail"]


def test_two_waiting_instances_are_ambiguous_409(issue, client, supervisor):
    client.post("/api/v1/issues", headers=supervisor, json=ISSUE)
    assert_problem(client.post("/api/v1/messages/escalate_issue", headers=supervisor,
                               json={"business_key": ISSUE["project_code"]}), 409)


def test_a_message_body_is_validated(client, supervisor):
    body = assert_problem(client.post("/api/v1/messages/escalate_issue", headers=supervisor,
                                      json={"instance_id": "one", "payload": []}), 422)
    assert {"instance_id", "payload"} <= set(body["errors"])
