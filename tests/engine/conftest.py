"""Engine-test fixtures: every test starts from the package calendar, without overrides."""

from __future__ import annotations

import pytest

from engine.core.calendar_admin import install_calendar
from engine.core.workcalendar import WorkingCalendar


@pytest.fixture(autouse=True)
def _package_calendar():
    """Overrides written by one test must not move another test's deadlines."""
    install_calendar(WorkingCalendar())
    yield
    install_calendar(WorkingCalendar())
