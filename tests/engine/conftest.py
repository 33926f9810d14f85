"""Engine-test fixtures: every test starts from the package calendar, without overrides."""

from __future__ import annotations

import pytest

from engine.bpm.expression_helpers import use_calendar
from engine.core.workcalendar import WorkingCalendar


@pytest.fixture(autouse=True)
def _package_calendar():
    """Overrides written by one test must not move another test's deadlines."""
    use_calendar(WorkingCalendar())
    yield
    use_calendar(WorkingCalendar())
