"""Incidents on the diagram: a version's and an instance's failing elements carry a badge, and
a timer incident is retried from there."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from engine.bpm import definition_admin as admin
from engine.bpm import incidents, runtime
from engine.bpm.timers import BACKOFF, MAX_ATTEMPTS, fire_due_timers
from engine.core.errors import WorkflowExecutionError
from engine.core.identity import Actor
from engine.core.models import HumanTask, TimerJob

from ..conftest import FIXTURES
from .conftest import deploy_as
from .test_web import designer, designers, post_form  # noqa: F401  (fixtures)
from ..webapp.conftest import accounts, app, auth, client  # noqa: F401

STARTER = Actor.of("zy1", "specialist")


def _broken_timer(platform, clock) -> tuple[int, int]:
    """Two instances of wait_timer: one whose timer failed into an incident, one healthy."""
    deploy_as(platform, FIXTURES / "supervision" / "wait_timer.bpmn")
    with platform.uow() as uow:
        healthy = runtime.start_instance(uow, "wait_timer", STARTER, data={"amount": 5}).id
    with platform.uow() as uow:
        broken = runtime.start_instance(uow, "wait_timer", STARTER, data={"amount": 0}).id
    clock.advance(days=1, seconds=1)
    fire_due_timers(platform.uow)
    for attempt in range(2, MAX_ATTEMPTS + 1):
        clock.advance(BACKOFF * 2 ** (attempt - 2))
        fire_due_timers(platform.uow)
    return broken, healthy


def _failed_step(platform, instance_id: int) -> int:
    """A failed step of the instance's task, recorded as the web layer does."""
    with platform.uow() as uow:
        task = uow.session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id)).scalar_one()
    with platform.uow() as uow:
        return incidents.record_failure(uow, "zy1", WorkflowExecutionError(
            "division by zero", element_id="handle", element_name="办理"),
            process_key="wait_timer", task_id=task)


def test_the_incidents_of_a_version_and_of_an_instance_are_on_their_elements(platform, clock):
    broken, healthy = _broken_timer(platform, clock)
    number = _failed_step(platform, healthy)
    with platform.uow() as uow:
        dep = admin.deployment_of(uow, "wait_timer")
        on_version = admin.element_incidents(uow, deployment_id=dep.id)
        assert {(i.element_id, i.kind, i.instance_id) for i in on_version} == {
            ("wait", "timer", broken), ("handle", "workflow", healthy)}
        timer = next(i for i in on_version if i.kind == "timer")
        assert timer.attempts == MAX_ATTEMPTS and timer.job_id and timer.message
        [only] = admin.element_incidents(uow, instance_id=healthy)
        assert (only.element_id, only.number) == ("handle", number)
        assert [i.kind for i in admin.element_incidents(uow, instance_id=broken)] == ["timer"]
    with platform.uow() as uow:
        incidents.resolve_incident(uow, number, "designer", "已修正脚本")
    with platform.uow() as uow:
        assert admin.element_incidents(uow, instance_id=healthy) == []


def _marks(page: str) -> list[dict]:
    raw = re.search(r"data-incidents='([^']*)'", page)[1]
    return json.loads(raw.replace("&#34;", '"').replace("&amp;", "&"))


def test_the_diagram_pages_carry_the_badges_and_a_timer_is_retried_from_there(
        designer, auth, platform, clock):  # noqa: F811
    broken, healthy = _broken_timer(platform, clock)
    number = _failed_step(platform, healthy)
    auth.login("sheji1")  # again: the clock moved a day on
    version = designer.get("/designer/wait_timer/v1/").get_data(as_text=True)
    marks = {m["element_id"]: m for m in _marks(version)}
    assert marks["wait"]["label"] == f"定时器失败 {MAX_ATTEMPTS} 次"
    assert marks["handle"]["label"] == f"步骤失败（事件 {number}）"
    assert marks["handle"]["resolve_url"] == f"/admin/incidents/#incident-{number}"
    page = designer.get(f"/designer/instances/{broken}").get_data(as_text=True)
    [mark] = _marks(page)
    assert "designer/pages/viewer.js" in page and "进行中" in page
    response = post_form(designer, mark["retry_url"], {"next": f"/designer/instances/{broken}"})
    assert response.status_code == 302 and response.location.endswith(f"/designer/instances/{broken}")
    with platform.uow() as uow:
        job = uow.session.execute(select(TimerJob).where(TimerJob.instance_id == broken)).scalar_one()
        assert (job.incident, job.attempts) == (False, 0)
    assert _marks(designer.get(f"/designer/instances/{broken}").get_data(as_text=True)) == []
