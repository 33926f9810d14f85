"""The audit chain: every edit, deletion or reordering of a row is found."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from engine.bpm import definitions, inbox, runtime, task_actions
from engine.ops import cli
from engine.core.audit import verify_audit
from engine.core.identity import Actor

from ..conftest import FIXTURES

SPECIALIST = Actor.of("zhuanyuan1", "specialist")


@pytest.fixture
def audited(platform):
    """A platform whose audit log holds a deploy, a start and a completion (7 events)."""
    with platform.uow() as uow:
        definitions.deploy_path(uow, FIXTURES / "engine" / "lanes_gateway.bpmn", "designer")
    for amount in (5, 7):
        with platform.uow() as uow:
            runtime.start_instance(uow, "lanes_gateway", SPECIALIST)
    with platform.uow() as uow:
        task = inbox.list_tasks(uow, SPECIALIST)[0]
        task_actions.complete(uow, task.id, SPECIALIST, {"title": "t", "amount": amount})
    with platform.uow() as uow:
        assert verify_audit(uow.session).ok
    return platform


def tamper(platform, sql: str, **params) -> list[str]:
    with platform.db.begin() as conn:
        conn.execute(text(sql), params)
    with platform.uow() as uow:
        return verify_audit(uow.session).problems


def test_an_edited_row_is_detected(audited):
    problems = tamper(audited, "UPDATE audit_event SET actor = 'someone_else' WHERE seq = 3")
    assert any("seq 3" in p and "changed" in p for p in problems)


def test_an_edited_detail_is_detected(audited):
    problems = tamper(audited, "UPDATE audit_event SET detail = '{}' WHERE seq = 2")
    assert any("seq 2" in p for p in problems)


def test_a_deleted_row_is_detected(audited):
    problems = tamper(audited, "DELETE FROM audit_event WHERE seq = 4")
    assert any("sequence 5 where 4" in p for p in problems)


def test_a_deleted_last_row_is_detected(audited):
    problems = tamper(audited, "DELETE FROM audit_event WHERE seq = "
                               "(SELECT MAX(seq) FROM audit_event)")
    assert any("deleted" in p for p in problems)


def test_reordered_rows_are_detected(audited):
    # Swap the contents of two rows, keeping their ids and sequence numbers in place.
    problems = tamper(audited, """
        UPDATE audit_event SET
          actor = CASE seq WHEN 2 THEN (SELECT actor FROM audit_event WHERE seq = 3)
                           ELSE (SELECT actor FROM audit_event WHERE seq = 2) END,
          action = CASE seq WHEN 2 THEN (SELECT action FROM audit_event WHERE seq = 3)
                            ELSE (SELECT action FROM audit_event WHERE seq = 2) END,
          detail = CASE seq WHEN 2 THEN (SELECT detail FROM audit_event WHERE seq = 3)
                            ELSE (SELECT detail FROM audit_event WHERE seq = 2) END,
          hash = CASE seq WHEN 2 THEN (SELECT hash FROM audit_event WHERE seq = 3)
                          ELSE (SELECT hash FROM audit_event WHERE seq = 2) END
        WHERE seq IN (2, 3)""")
    assert problems


def test_audit_verify_command_reports_the_break(audited, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", audited.database_url)
    assert cli.main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    tamper(audited, "UPDATE audit_event SET action = 'nothing' WHERE seq = 1")
    assert cli.main(["audit", "verify"]) == 1
    assert "BROKEN" in capsys.readouterr().out
