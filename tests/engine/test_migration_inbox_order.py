"""Migration 0012 fills the candidate rows' copies from the task rows a county already has."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from engine.bpm import inbox
from engine.core.db import upgrade_database
from engine.core.identity import Actor
from engine.core.models import NO_DUE
from engine.ops.platform import Platform

T = "2026-12-01 01:00:00.000000"
TASKS = [  # id, assignee, state, due_at: offered, held, ended, and one with no due time
    ("t-open", None, "open", "2026-12-03 09:00:00.000000"),
    ("t-held", "u1", "claimed", "2026-12-02 09:00:00.000000"),
    ("t-done", None, "completed", "2026-12-01 09:00:00.000000"),
    ("t-nodue", None, "open", None),
]


@pytest.fixture
def url(tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("builds its own database at an older revision (SQLite file)")
    return f"sqlite:///{tmp_path}/old.db"


def test_the_copies_are_filled_from_the_existing_task_rows(url):
    upgrade_database(url, "0005")  # the schema before the inbox index
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO deployment (id, key, kind, version, sha256, filename, xml, requires, "
            "deployed_by, deployed_at, is_latest) VALUES (1, 'p', 'process', 1, 'x', 'p.bpmn', "
            "'<x/>', '[]', 'designer', :t, 1)"), {"t": T})
        connection.execute(text(
            "INSERT INTO process_instance (id, process_key, deployment_id, bundle, status, state, "
            "started_by, started_at, row_version) VALUES (1, 'p', 1, '[1]', 'running', x'7b7d', "
            "'u0', :t, 1)"), {"t": T})
        for task_id, assignee, state, due in TASKS:
            connection.execute(text(
                "INSERT INTO human_task (id, spiff_task_id, instance_id, process_key, element_id, "
                "name, assignee, state, created_at, due_at, form) VALUES (:id, :id, 1, 'p', 'e', "
                "'办理', :assignee, :state, :t, :due, '{}')"),
                {"id": task_id, "assignee": assignee, "state": state, "t": T, "due": due})
            for kind, name in (("group", "specialist"), ("cc", "u9")):
                connection.execute(text("INSERT INTO task_candidate (task_id, kind, name) "
                                        "VALUES (:id, :kind, :name)"),
                                   {"id": task_id, "kind": kind, "name": name})
    engine.dispose()

    platform = Platform(url)
    platform.upgrade()
    with platform.uow() as uow:
        rows = uow.session.execute(text(
            "SELECT task_id, kind, offered FROM task_candidate ORDER BY task_id, kind")).all()
        assert [(t, k, bool(o)) for t, k, o in rows] == [
            ("t-done", "cc", False), ("t-done", "group", False),
            ("t-held", "cc", False), ("t-held", "group", False),
            ("t-nodue", "cc", False), ("t-nodue", "group", True),
            ("t-open", "cc", False), ("t-open", "group", True)]
        listed = inbox.list_tasks(uow, Actor.of("u2", "specialist"))
        assert [t.id for t in listed] == ["t-open", "t-nodue"]  # no due time last
        assert inbox.task_key(listed[-1])[0] == NO_DUE
        assert listed[0].due_at == datetime(2026, 12, 3, 9, tzinfo=timezone.utc)
        assert inbox.count_tasks(uow, Actor.of("u1", "specialist")) == {"mine": 1, "group": 2}
    platform.close()
