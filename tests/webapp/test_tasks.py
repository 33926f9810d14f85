"""The inbox and the task page through the test client, on real BPMN files."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.bpm import runtime, task_actions
from engine.core.identity import Actor
from engine.core.models import HumanTask, ProcessInstance

SPECIALIST = Actor.of("zhuanyuan1", "specialist", "unit:fgj")


def start(platform, key="approval", business_key="XM-001", data=None):
    with platform.uow() as uow:
        return runtime.start_instance(uow, key, SPECIALIST, business_key=business_key,
                                      data=data or {"project_name": "光伏电站"})


def open_task(platform, instance_id, element_id=None):
    with platform.uow() as uow:
        query = select(HumanTask).where(HumanTask.instance_id == instance_id,
                                        HumanTask.state.in_(("open", "claimed")))
        tasks = [runtime.task_view(t) for t in uow.session.execute(query).scalars()]
    if element_id:
        tasks = [t for t in tasks if t.element_id == element_id]
    assert len(tasks) == 1, tasks
    return tasks[0]


def claim_and_prepare(platform, auth, instance):
    task = open_task(platform, instance.id)
    auth.post(f"/tasks/{task.id}/claim")
    auth.post(f"/tasks/{task.id}/complete", {"title": "光伏电站", "amount": "150"},
              page=f"/tasks/{task.id}")
    return task


def test_a_group_task_waits_to_be_claimed_then_is_mine(platform, client, auth):
    instance = start(platform)
    task = open_task(platform, instance.id)
    auth.login()
    group = client.get("/tasks/group").get_data(as_text=True)
    assert "准备材料" in group and "XM-001" in group and "认领" in group
    assert "准备材料" not in client.get("/tasks/").get_data(as_text=True)

    response = auth.post(f"/tasks/{task.id}/claim")
    assert response.status_code == 302
    mine = client.get("/tasks/").get_data(as_text=True)
    assert "准备材料" in mine
    assert 'class="count">1<' in mine


def test_unclaim_gives_the_task_back_to_the_group(platform, client, auth):
    instance = start(platform)
    task = open_task(platform, instance.id)
    auth.login()
    auth.post(f"/tasks/{task.id}/claim")
    auth.post(f"/tasks/{task.id}/unclaim", page=f"/tasks/{task.id}")
    assert "准备材料" in client.get("/tasks/group").get_data(as_text=True)


def test_the_inbox_shows_a_due_badge_and_filters_by_process_and_due_state(platform, client,
                                                                          auth, clock):
    start(platform)
    auth.login()
    page = client.get("/tasks/group").get_data(as_text=True)
    assert "未到期" in page
    clock.advance(days=1, hours=12)
    auth.login()  # the idle session ended with the day and a half the clock moved
    assert "即将到期" in client.get("/tasks/group").get_data(as_text=True)
    clock.advance(days=1)
    auth.login()
    assert "超期 1 个工作日" in client.get("/tasks/group?sla=overdue").get_data(as_text=True)
    assert "准备材料" not in client.get("/tasks/group?sla=due_soon").get_data(as_text=True)
    assert "准备材料" in client.get("/tasks/group?process=approval").get_data(as_text=True)
    assert "准备材料" not in client.get("/tasks/group?process=lanes_gateway").get_data(as_text=True)


def test_a_form_error_is_shown_at_the_field_then_the_corrected_form_completes(platform, client,
                                                                              auth):
    instance = start(platform)
    task = open_task(platform, instance.id)
    auth.login()
    auth.post(f"/tasks/{task.id}/claim")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'name="title"' in page and 'name="amount"' in page and 'type="date"' in page

    response = auth.post(f"/tasks/{task.id}/complete", {"title": "", "amount": "-5"},
                         page=f"/tasks/{task.id}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="field-title"' in html and "此项必填" in html
    assert "不能小于 0" in html
    assert open_task(platform, instance.id).state == "claimed"

    response = auth.post(f"/tasks/{task.id}/complete",
                         {"title": "光伏电站", "amount": "150", "start_date": "2027-03-01",
                          "key_project": "on"}, page=f"/tasks/{task.id}")
    assert response.status_code == 302
    review = open_task(platform, instance.id)
    assert review.element_id == "review"
    done = client.get("/tasks/done").get_data(as_text=True)
    assert "准备材料" in done


def test_the_approver_returns_with_an_opinion_and_the_history_shows_it(platform, client, auth):
    instance = start(platform)
    auth.login()
    claim_and_prepare(platform, auth, instance)
    auth.logout()
    auth.login("shenpi1")
    review = open_task(platform, instance.id)
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert "同意" in page and "退回" in page and "不同意" in page and "审批意见" in page

    refused = auth.post(f"/tasks/{review.id}/complete", {"decision": "return", "opinion": " "},
                        page=f"/tasks/{review.id}")
    assert refused.status_code == 400
    assert "退回或不同意时必须填写审批意见" in refused.get_data(as_text=True)

    auth.post(f"/tasks/{review.id}/complete", {"decision": "return", "opinion": "投资额需核实"},
              page=f"/tasks/{review.id}")
    again = open_task(platform, instance.id)
    assert again.element_id == "prepare"
    history = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert "投资额需核实" in history and "退回" in history


def test_approve_ends_the_process(platform, client, auth):
    instance = start(platform)
    auth.login()
    claim_and_prepare(platform, auth, instance)
    auth.logout()
    auth.login("shenpi1")
    review = open_task(platform, instance.id)
    auth.post(f"/tasks/{review.id}/claim")
    auth.post(f"/tasks/{review.id}/complete", {"decision": "approve"}, page=f"/tasks/{review.id}")
    with platform.uow() as uow:
        assert uow.session.get(ProcessInstance, instance.id).status == "completed"


def test_another_units_task_is_not_found(platform, client, auth):
    instance = start(platform)
    task = open_task(platform, instance.id)
    auth.login("xiangzhen1")
    assert client.get(f"/tasks/{task.id}").status_code == 404
    assert auth.post(f"/tasks/{task.id}/claim").status_code == 404
    assert client.get("/tasks/no-such-task").status_code == 404


def test_a_supervisor_reads_any_open_task_but_cannot_claim_it(platform, client, auth):
    instance = start(platform)
    task = open_task(platform, instance.id)
    auth.login("ducha1")
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and "催办" in page.get_data(as_text=True)
    assert auth.post(f"/tasks/{task.id}/claim").status_code in (403, 409)


def test_remind_is_offered_and_allowed_by_the_table_only(platform, client, auth):
    from engine.county.supervision import reminders

    instance = start(platform)
    task = open_task(platform, instance.id)
    auth.login()
    assert "催办" not in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert auth.post(f"/tasks/{task.id}/remind", {"message": "快"}).status_code == 403
    auth.logout()
    auth.login("ducha1")
    response = auth.post(f"/tasks/{task.id}/remind", {"message": "请加快"},
                         page=f"/tasks/{task.id}")
    assert response.status_code == 302
    with platform.uow() as uow:
        assert [(r.by, r.message) for r in reminders(uow.session, "task", task.id)] \
            == [("ducha1", "请加快")]


def test_a_task_completed_by_someone_else_gives_a_clear_message_and_changes_nothing(
        platform, client, auth):
    instance = start(platform)
    task = open_task(platform, instance.id)
    auth.login()
    token_page = f"/tasks/{task.id}"
    from .conftest import csrf_token_of
    token = csrf_token_of(client.get(token_page).get_data(as_text=True))
    # Meanwhile a colleague completes it.
    with platform.uow() as uow:
        task_actions.complete(uow, task.id, Actor.of("zhuanyuan2", "specialist"),
                              {"title": "别人填的", "amount": 1})
    response = client.post(f"/tasks/{task.id}/complete",
                           data={"title": "我填的", "amount": "2", "csrf_token": token})
    assert response.status_code == 409
    assert "有人先一步处理了这项工作" in response.get_data(as_text=True)
    with platform.uow() as uow:
        row = uow.session.get(HumanTask, task.id)
        assert (row.state, row.ended_by) == ("completed", "zhuanyuan2")
        completions = [h for h in runtime.instance_history(uow, instance.id)
                       if h.action == "task_completed"]
    assert len(completions) == 1 and "别人填的" in completions[0].detail
    assert open_task(platform, instance.id).element_id == "review"


def test_a_task_claimed_by_someone_else_cannot_be_claimed_again(platform, client, auth):
    instance = start(platform)
    task = open_task(platform, instance.id)
    auth.login()
    from .conftest import csrf_token_of
    token = csrf_token_of(client.get("/tasks/group").get_data(as_text=True))
    with platform.uow() as uow:
        task_actions.claim(uow, task.id, Actor.of("zhuanyuan2", "specialist"))
    response = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token})
    assert response.status_code == 409
    assert "有人先一步处理了这项工作" in response.get_data(as_text=True)
    assert open_task(platform, instance.id).assignee == "zhuanyuan2"


def test_transfer_hands_the_task_to_another_user(platform, client, auth):
    instance = start(platform)
    task = open_task(platform, instance.id)
    auth.login()
    auth.post(f"/tasks/{task.id}/claim")
    response = auth.post(f"/tasks/{task.id}/transfer", {"to_user": "zhuanyuan2", "why": "出差"},
                         page=f"/tasks/{task.id}")
    assert response.status_code == 302
    assert open_task(platform, instance.id).assignee == "zhuanyuan2"
    bad = auth.post(f"/tasks/{task.id}/transfer", {"to_user": "nobody"}, page="/tasks/")
    assert bad.status_code in (403, 404)


@pytest.mark.parametrize("url", ["/tasks/", "/tasks/group", "/tasks/done", "/tasks/copied",
                                 "/processes/", "/processes/started"])
def test_every_list_page_renders(platform, client, auth, url):
    start(platform)
    auth.login()
    assert client.get(url).status_code == 200


def test_the_web_counts_with_an_override_another_process_made(platform, client, auth, clock):
    """A day off set through the CLI (another process) reaches the web within a minute."""
    from datetime import date

    from engine.core import calendar_admin
    from engine.core.identity import Actor
    from engine.core.workcalendar import WorkingCalendar

    auth.login()
    client.get("/tasks/")  # the web process loads the calendar
    monday = date(2026, 12, 7)
    assert calendar_admin.current_calendar().is_working_day(monday)
    with platform.uow() as uow:
        calendar_admin.set_override(uow, monday, False, Actor.of("admin1", "admin"), "临时调休")
    calendar_admin.install_calendar(WorkingCalendar())  # as the web process still knows it
    clock.advance(minutes=2)
    auth.login()
    client.get("/tasks/")
    try:
        assert not calendar_admin.current_calendar().is_working_day(monday)
    finally:
        calendar_admin.install_calendar(WorkingCalendar())  # this process, for later tests


def test_a_task_shows_its_matter_its_holder_by_name_and_why_it_came_back(platform, client,
                                                                         auth):
    instance = start(platform)
    auth.login()
    task = claim_and_prepare(platform, auth, instance)
    auth.logout()
    auth.login("shenpi1")
    review = open_task(platform, instance.id)
    auth.post(f"/tasks/{review.id}/claim")
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert "办理人 审批人（发改局）（县发改局）" in page and "shenpi1" not in page
    matter = page[page.index('id="matter"'):page.index("</section>", page.index('id="matter"'))]
    assert "项目名称" in matter and "光伏电站" in matter and "投资额（万元）" in matter
    outcomes = page[page.index('id="outcomes"'):]
    assert "下一步“准备材料”" not in outcomes and "回到“准备材料”" in outcomes
    auth.post(f"/tasks/{review.id}/complete", {"decision": "return", "opinion": "投资额需核实"},
              page=f"/tasks/{review.id}")
    auth.logout()
    auth.login()
    again = open_task(platform, instance.id)
    page = client.get(f"/tasks/{again.id}").get_data(as_text=True)
    came_back = page[page.index('id="came-back"'):page.index('id="matter"')]
    assert "再次办理的原因" in came_back and "投资额需核实" in came_back
    assert "审批人（发改局）（县发改局）" in came_back and "上次填报" in came_back
    assert task.id != again.id


def test_a_badge_of_a_hundred_or_more_reads_99_plus(platform, client, auth):
    """The navigation's unread badge stops counting at 100 (a county's groups pile up
    thousands), and says so."""
    from engine.core.notifications import notify

    auth.login("zhuanyuan1")
    with platform.uow() as uow:
        for n in range(99):
            notify(uow, kind="info", title=f"消息{n}", users=["zhuanyuan1"])
        uow.commit()
    page = client.get("/tasks/").get_data(as_text=True)
    assert '<span class="count" aria-label="未读">99</span>' in page
    with platform.uow() as uow:
        notify(uow, kind="info", title="第一百条", users=["zhuanyuan1"])
        uow.commit()
    page = client.get("/tasks/").get_data(as_text=True)
    assert '<span class="count" aria-label="未读">99+</span>' in page
