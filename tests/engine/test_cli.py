"""The `gongjian` command end to end on a test database."""

from __future__ import annotations

import json

from engine.ops import cli

from ..conftest import FIXTURES


def run(capsys, *argv) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def test_deploy_start_list_and_complete_from_the_command_line(database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    code, out = run(capsys, "deploy", str(FIXTURES / "engine" / "lanes_gateway.bpmn"))
    assert code == 0 and "deployed: process lanes_gateway v1" in out
    assert "unchanged" in run(capsys, "deploy", str(FIXTURES / "engine" / "lanes_gateway.bpmn"))[1]

    code, out = run(capsys, "start", "lanes_gateway", "--user", "zy1", "--business-key", "XM-9")
    assert code == 0 and json.loads(out)["status"] == "running"
    code, out = run(capsys, "tasks", "--user", "zy1", "--groups", "specialist")
    [task] = json.loads(out)
    assert task["name"] == "准备材料"

    code = cli.main(["complete", task["id"], "--user", "zy1", "--groups", "specialist",
                     "--data", '{"amount": "x"}'])
    assert code == 2 and "amount" in capsys.readouterr().err
    code, out = run(capsys, "complete", task["id"], "--user", "zy1", "--groups", "specialist",
                    "--data", '{"title": "t", "amount": 3}')
    assert code == 0 and json.loads(out)["status"] == "completed"
    assert run(capsys, "audit", "verify")[0] == 0


def test_a_bad_file_is_refused_with_its_location(database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    code = cli.main(["deploy", str(FIXTURES / "hostile" / "duplicate_ids.bpmn")])
    err = capsys.readouterr().err
    assert code == 2 and "duplicate_ids.bpmn" in err and "line" in err
