"""`gongjian user …` and `gongjian unit add` on a test database."""

from __future__ import annotations

import re

from engine.core import organisation
from engine.ops import cli
from engine.ops.platform import Platform


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_administrator_adds_units_and_users_disables_and_resets(database_url, monkeypatch,
                                                                     capsys, clock):
    monkeypatch.setenv("DATABASE_URL", database_url)
    platform = Platform(database_url, clock)
    with platform.uow() as uow:
        organisation.add_unit(uow.session, "hq", "县项目攻坚指挥部", "headquarters")
        uow.session.flush()
        organisation.add_user(uow.session, "admin", "系统管理员", "mima-2026-admin", unit="hq",
                              roles=["admin"], now=clock.now())
        uow.commit()
    code, out, _err = run(capsys, "unit", "add", "sc_industry", "--name", "产业分指挥部",
                          "--kind", "sub_command", "--parent", "hq")
    assert code == 0 and "产业分指挥部" in out
    code, out, _err = run(capsys, "user", "add", "zhangsan", "--name", "张三", "--unit", "hq",
                          "--roles", "office,sub_commander@sc_industry")
    assert code == 0
    password = re.search(r"one-time password .*: (\S+)$", out.strip())[1]
    with platform.uow() as uow:
        actor = organisation.authenticate(uow.session, "zhangsan", password)
        assert "sub_commander@sc_industry" in actor.groups
        assert uow.session.get(organisation.UserAccount, "zhangsan").must_change_password
    code, _out, err = run(capsys, "user", "add", "zhangsan", "--name", "张三", "--unit", "nowhere",
                          "--roles", "wizard")
    assert code == 2 and "username" in err and "没有这个单位" in err and "wizard" in err
    code, out, _err = run(capsys, "user", "reset-password", "zhangsan", "--why", "遗忘")
    assert code == 0 and "one-time password of zhangsan" in out
    code, _out, err = run(capsys, "user", "disable", "zhangsan")
    assert code == 2 and "请填写停用原因" in err
    code, out, _err = run(capsys, "user", "disable", "zhangsan", "--why", "调离")
    assert code == 0 and "disabled" in out
    code, _out, err = run(capsys, "user", "add", "lisi", "--name", "李四", "--unit", "hq",
                          "--roles", "office", "--user", "zhangsan")
    assert code == 2 and "administrator" in err
    platform.close()
