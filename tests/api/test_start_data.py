"""Start data is checked against the start form on every path: a start (or a task) without a
form takes no data from outside (security issue, finding 1)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from engine.bpm import definitions
from engine.core.models import AuditEvent, ProcessInstance

ROOT = Path(__file__).parents[2]


def _deploy_progress_report(platform):
    path = ROOT / "bpmn" / "progress_report.bpmn"
    with platform.uow() as uow:
        definitions.deploy_files(uow, [(path.name, path.read_bytes())], "designer")


def _instances(platform, key: str) -> int:
    with platform.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.process_key == key))


def test_a_company_cannot_start_a_progress_report_with_forged_facts(app, platform, client,
                                                                    make_token):
    _deploy_progress_report(platform)
    co_solar = make_token(roles=("project_unit",), unit="t_magedang", name="co_solar")
    response = client.post("/api/v1/instances", headers=co_solar, json={
        "process_key": "progress_report", "business_key": "XM-2026-006",
        "data": {"project_code": "XM-2026-006", "project_unit": "co_solar", "month": "2026-11"}})
    # The system starts progress reports (its start event is marked startable=false): no
    # one starts one by hand, with or without facts.
    assert response.status_code == 403, response.get_json()
    assert "not started by hand" in response.get_json()["detail"]
    assert _instances(platform, "progress_report") == 0
    with platform.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "instance_started",
            AuditEvent.detail.contains("progress_report"))) == 0


def test_an_eleven_megabyte_start_is_refused_before_anything_is_stored(app, platform, client,
                                                                       specialist):
    big = {"notes": "x" * (11 * 1024 * 1024)}
    response = client.post("/api/v1/instances", headers=specialist, json={
        "process_key": "approval", "data": big})
    assert response.status_code in (413, 422)
    assert _instances(platform, "approval") == 0


def test_a_start_with_a_form_takes_only_its_fields(app, platform, client, specialist):
    response = client.post("/api/v1/instances", headers=specialist, json={
        "process_key": "approval", "data": {"project_name": "x", "rung": 4}})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["rung"]
    assert _instances(platform, "approval") == 0


def test_a_task_without_a_form_takes_no_data_either():
    from engine.bpm.forms import validate_task_data
    from engine.core.errors import TaskDataError
    import pytest

    assert validate_task_data({}, {}) == {}
    with pytest.raises(TaskDataError, match="no form") as refused:
        validate_task_data({"fields": []}, {"project_code": "XM-2026-006", "rung": 4})
    assert set(refused.value.field_errors) == {"project_code", "rung"}
