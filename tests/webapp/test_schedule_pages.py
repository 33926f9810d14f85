"""定时任务 for administrators, and the first login of an account with a one-time password."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.core.models import AuditEvent
from engine.core.organisation import UserAccount
from engine.ops import schedule

from ..conftest import add_accounts
from .conftest import PASSWORD, AuthActions, csrf_token_of


@pytest.fixture
def admin(platform, clock, accounts):
    """An administrator, and the schedule as `gongjian init` leaves it."""
    add_accounts(platform, clock.now(), [("sc_infra", "基础设施分指挥部", "sub_command")],
                 {"admin1": ("系统管理员", None, ["admin"])}, PASSWORD)
    with platform.uow() as uow:
        schedule.ensure_schedule(uow)
        uow.commit()
    return "admin1"


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_the_administrator_sees_each_entry_in_chinese_with_its_next_run(client, auth, admin):
    auth.login(admin)
    page = client.get("/admin/schedule/")
    assert page.status_code == 200
    text = _visible(page.get_data(as_text=True))
    for title in ("月度进度填报", "三色牌月度评定", "季度评奖", "周调度"):
        assert title in text
    assert "2026-12-25 09:00" in text and "期次：2026年12月" in text  # the month's requests
    assert "2027-01-04 09:00" in text and "期次：2026年第四季度" in text  # the quarter's awards
    assert "尚未运行" in text
    for code in ("progress_reports", "monthly_plates", "award_round", "weekly_dispatch"):
        assert code not in text


def test_run_now_runs_an_entry_for_today_audited_in_the_administrator_s_name(
        client, auth, admin, platform):
    auth.login(admin)
    response = auth.post("/admin/schedule/run", {"entry": "weekly_dispatch"},
                         page="/admin/schedule/")
    assert response.status_code == 302
    page = _visible(client.get("/admin/schedule/").get_data(as_text=True))
    assert "周调度：已通知指挥部办公室：2026-11-23 至 2026-11-29 的周调度报告已生成" in page
    assert "已完成" in page and "系统管理员" in page
    with platform.uow() as uow:
        [event] = uow.session.execute(select(AuditEvent).where(
            AuditEvent.action == "schedule_run")).scalars().all()
        assert (event.actor, event.subject) == ("admin1", "schedule:weekly_dispatch")
    # again: the week is done, nothing is sent twice
    auth.post("/admin/schedule/run", {"entry": "weekly_dispatch"}, page="/admin/schedule/")
    assert "已运行过，未重复运行" in client.get("/admin/schedule/").get_data(as_text=True)


def test_an_unknown_entry_is_refused_on_the_page(client, auth, admin):
    auth.login(admin)
    response = auth.post("/admin/schedule/run", {"entry": "no_such"}, page="/admin/schedule/")
    assert response.status_code == 400
    assert "没有这个定时任务" in response.get_data(as_text=True)


def test_only_administrators_see_or_run_the_schedule(app, client, auth, admin):
    assert client.get("/admin/schedule/").status_code == 302  # to the login
    auth.login("zhuanyuan1")
    assert client.get("/admin/schedule/").status_code == 403
    token = csrf_token_of(client.get("/tasks/").get_data(as_text=True))
    response = client.post("/admin/schedule/run", data={"entry": "weekly_dispatch",
                                                        "csrf_token": token})
    assert response.status_code == 403


def test_run_now_needs_the_csrf_token(client, auth, admin):
    auth.login(admin)
    assert client.post("/admin/schedule/run", data={"entry": "weekly_dispatch"}).status_code == 400


def test_a_one_time_password_must_be_changed_before_anything_else(app, client, platform, admin):
    with platform.uow() as uow:
        uow.session.get(UserAccount, admin).must_change_password = True
        uow.commit()
    auth = AuthActions(client)
    response = auth.login(admin)
    assert response.headers["Location"] == "/auth/password"
    page = client.get("/auth/password").get_data(as_text=True)
    assert "一次性初始密码" in page
    for url in ("/tasks/", "/admin/schedule/", "/board/"):
        assert client.get(url).headers["Location"] == "/auth/password", url
    assert client.get("/api/v1/tasks").status_code == 401
    token = csrf_token_of(page)
    response = client.post("/auth/password", data={
        "current_password": PASSWORD, "new_password": "县里的新密码-2026",
        "confirm_password": "县里的新密码-2026", "csrf_token": token})
    assert response.status_code == 302
    assert client.get("/admin/schedule/").status_code == 200
    assert client.get("/api/v1/tasks").status_code == 200
    with platform.uow() as uow:
        assert uow.session.get(UserAccount, admin).must_change_password is False
