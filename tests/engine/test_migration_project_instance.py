"""Migration 0026 fills project_instance from the start events a county's chain already holds;
from then on each start that names a project is kept as its event is appended."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select, text

from engine.core.db import upgrade_database
from engine.county.audit_trails import ProjectInstance, project_instances
from engine.ops.platform import Platform

T = "2026-12-01 01:00:00.000000"
STARTS = [  # event id, instance, start data
    (1, 1, {"project_code": "XM-1", "title": "问题"}),
    (2, 2, {"project_code": "XM-2"}),
    (3, 3, None),  # no data
    (4, 4, {"title": "no project"}),
    (5, None, {"project_code": "XM-1"}),  # not an instance's
    (6, 6, {"project_code": 7}),  # not a code
]


@pytest.fixture
def url(tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("builds its own database at an older revision (SQLite file)")
    return f"sqlite:///{tmp_path}/old.db"


def test_the_table_is_filled_from_the_start_events_already_in_the_chain(url):
    upgrade_database(url, "0025_history_indexes")
    engine = create_engine(url)
    with engine.begin() as connection:
        for event_id, instance, data in STARTS:
            detail = json.dumps({"data": data, "process_key": "p"} if data else {"process_key": "p"})
            connection.execute(text(
                "INSERT INTO audit_event (id, seq, at, actor, action, subject, instance_id, detail, "
                "prev_hash, hash) VALUES (:id, :id, :t, 'u', 'instance_started', 's', :i, :d, "
                "'0', '0')"), {"id": event_id, "t": T, "i": instance, "d": detail})
        connection.execute(text(
            "INSERT INTO audit_event (id, seq, at, actor, action, subject, instance_id, detail, "
            "prev_hash, hash) VALUES (9, 9, :t, 'u', 'task_completed', 's', 9, :d, '0', '0')"),
            {"t": T, "d": json.dumps({"data": {"project_code": "XM-1"}})})
    engine.dispose()
    platform = Platform(url)
    platform.upgrade()
    with platform.uow() as uow:
        rows = uow.session.execute(select(ProjectInstance.project_code,
                                          ProjectInstance.instance_id)).all()
        assert sorted(rows) == [("XM-1", 1), ("XM-2", 2)]
        assert project_instances(uow.session, "XM-1") == [1]
    platform.close()
