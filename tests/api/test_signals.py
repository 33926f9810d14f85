"""POST /api/v1/signals/{name}: a BPMN signal to every instance in scope that waits for it."""

from __future__ import annotations

import pytest

from engine.bpm import definitions, runtime
from engine.core.identity import Actor

from ..conftest import FIXTURES
from .test_auth import assert_problem

SPECIALIST = Actor.of("zhuanyuan1", "specialist")


@pytest.fixture
def integration(make_token):
    """Another system's token with the integration role (系统对接)."""
    return make_token(("integration",), None, name="caizheng")


@pytest.fixture
def waiting(platform, app):
    """Three instances waiting for the signal funds_arrived: XM-1, XM-2, XM-2."""
    with platform.uow() as uow:
        definitions.deploy_files(uow, [("signal_wait.bpmn", (
            FIXTURES / "signals" / "signal_wait.bpmn").read_bytes())], "designer")
    ids = []
    for key in ("XM-1", "XM-2", "XM-2"):
        with platform.uow() as uow:
            ids.append(runtime.start_instance(uow, "signal_wait", SPECIALIST, business_key=key,
                                              data={"budget": 1}).id)
    return ids


def test_a_signal_reaches_every_waiting_instance(waiting, client, integration):
    response = client.post("/api/v1/signals/funds_arrived", headers=integration,
                           json={"scope": "all", "payload": {"amount": 500}})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"signal": "funds_arrived", "scope": "all",
                                   "delivered": waiting, "failed": []}


def test_a_signal_by_business_key_or_instance_id(waiting, client, admin):
    response = client.post("/api/v1/signals/funds_arrived", headers=admin,
                           json={"scope": "business_key", "business_key": "XM-2"})
    assert response.get_json()["delivered"] == waiting[1:]
    response = client.post("/api/v1/signals/funds_arrived", headers=admin,
                           json={"scope": "instance", "instance_id": waiting[0]})
    assert response.get_json()["delivered"] == waiting[:1]


def test_nobody_waiting_is_404_with_a_clear_problem(waiting, client, integration):
    body = assert_problem(client.post("/api/v1/signals/no_such_signal", headers=integration,
                                      json={"scope": "all"}), 404)
    assert "no_such_signal" in body["detail"]


def test_the_body_is_validated(client, integration):
    body = assert_problem(client.post("/api/v1/signals/funds_arrived", headers=integration,
                                      json={"scope": "everyone", "payload": []}), 422)
    assert {"scope", "payload"} <= set(body["errors"])
    body = assert_problem(client.post("/api/v1/signals/funds_arrived", headers=integration,
                                      json={"scope": "business_key"}), 422)
    assert "business_key" in body["errors"]


@pytest.mark.parametrize("role", ["specialist", "supervisor", "approver"])
def test_only_integrated_systems_and_administrators_send_signals(
        waiting, client, request, role):
    headers = request.getfixturevalue(role)
    assert_problem(client.post("/api/v1/signals/funds_arrived", headers=headers,
                               json={"scope": "all"}), 403)
