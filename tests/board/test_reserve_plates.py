"""A project of the reserve library (储备) is on the registry, not yet on the plates: like a
project in 谋划 it has no schedule to be judged against."""

from __future__ import annotations

from engine.county.plates import evaluate_plates
from engine.county.projects import Project


def test_a_reserve_project_gets_no_plate_and_a_project_in_construction_does(county):
    with county.uow() as uow:
        project = uow.session.get(Project, "P-2")
        project.stage, project.reserve_class, project.reserve_track = "reserve", "intent", "study"
        uow.commit()
    with county.uow() as uow:
        plated = {view.project_code for view in evaluate_plates(uow, "2026-11", "office1",
                                                                start_followups=False)}
        uow.commit()
    assert plated == {"P-1"}
