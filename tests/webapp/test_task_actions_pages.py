"""The approval actions on the task page, the 已办 list's 撤回 and the 站内消息 page."""

from __future__ import annotations

from sqlalchemy import select

from engine.core.models import HumanTask
from engine.core.notifications import notifications_for
from engine.core.organisation import actor_for

from .test_tasks import claim_and_prepare, open_task, start


def _approver_holds_review(platform, client, auth):
    """zhuanyuan1 prepares, then shenpi1 claims the review; returns the instance and review."""
    instance = start(platform)
    auth.login()
    prepared = claim_and_prepare(platform, auth, instance)
    auth.logout()
    review = open_task(platform, instance.id, "review")
    auth.login("shenpi1")
    auth.post(f"/tasks/{review.id}/claim", page="/tasks/group")
    return instance, prepared, review


def test_return_to_an_earlier_task_needs_an_opinion_then_reopens_it_for_its_handler(
        platform, client, auth):
    instance, prepared, review = _approver_holds_review(platform, client, auth)
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert "退回到之前的环节" in page and 'value="prepare"' in page

    missing = auth.post(f"/tasks/{review.id}/return", {"to_element_id": "prepare", "opinion": ""},
                        page=f"/tasks/{review.id}")
    assert missing.status_code == 400
    assert "退回时必须填写退回意见" in missing.get_data(as_text=True)
    assert open_task(platform, instance.id).id == review.id  # nothing changed

    done = auth.post(f"/tasks/{review.id}/return",
                     {"to_element_id": "prepare", "opinion": "请补充可研报告"},
                     page=f"/tasks/{review.id}")
    assert done.status_code == 302
    reopened = open_task(platform, instance.id)
    assert (reopened.element_id, reopened.assignee) == ("prepare", "zhuanyuan1")

    auth.logout()
    auth.login()
    notes = client.get("/notifications/").get_data(as_text=True)
    assert "被退回：准备材料" in notes and "请补充可研报告" in notes


def test_a_completed_task_can_be_withdrawn_until_the_next_handler_acts(platform, client, auth):
    instance = start(platform)
    auth.login()
    prepared = claim_and_prepare(platform, auth, instance)
    done_page = client.get("/tasks/done").get_data(as_text=True)
    assert f"/tasks/{prepared.id}/withdraw" in done_page
    assert "撤回" in client.get(f"/tasks/{prepared.id}").get_data(as_text=True)

    response = auth.post(f"/tasks/{prepared.id}/withdraw", {"why": "金额填错"}, page="/tasks/done")
    assert response.status_code == 302
    again = open_task(platform, instance.id)
    assert (again.element_id, again.assignee) == ("prepare", "zhuanyuan1")

    # Once the approver has claimed the next task, 撤回 is gone and refused.
    auth.post(f"/tasks/{again.id}/complete", {"title": "光伏电站", "amount": "160"},
              page=f"/tasks/{again.id}")
    auth.logout()
    auth.login("shenpi1")
    review = open_task(platform, instance.id, "review")
    auth.post(f"/tasks/{review.id}/claim", page="/tasks/group")
    auth.logout()
    auth.login()
    assert f"/tasks/{again.id}/withdraw" not in client.get("/tasks/done").get_data(as_text=True)
    refused = auth.post(f"/tasks/{again.id}/withdraw", page="/tasks/done")
    assert refused.status_code == 302
    assert "不能撤回" in client.get("/tasks/done").get_data(as_text=True)
    assert open_task(platform, instance.id).id == review.id


def test_add_a_signer_before_then_the_signer_hands_it_back(platform, client, auth):
    instance, _prepared, review = _approver_holds_review(platform, client, auth)
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    for label in ("前加签", "后加签", "转办", "委派", "抄送"):
        assert label in page
    unknown = auth.post(f"/tasks/{review.id}/sign-before", {"to_user": ""},
                        page=f"/tasks/{review.id}")
    assert unknown.status_code == 400 and "此项必填" in unknown.get_data(as_text=True)

    auth.post(f"/tasks/{review.id}/sign-before", {"to_user": "zhuanyuan2", "why": "请先核对"},
              page=f"/tasks/{review.id}")
    assert open_task(platform, instance.id).assignee == "zhuanyuan2"
    auth.logout()
    auth.login("zhuanyuan2")
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert "办理完毕交回" in page
    auth.post(f"/tasks/{review.id}/resolve", {"opinion": "已核对"}, page=f"/tasks/{review.id}")
    assert open_task(platform, instance.id).assignee == "shenpi1"


def test_add_a_signer_after_leaves_the_task_with_the_next_signer(platform, client, auth):
    instance, _prepared, review = _approver_holds_review(platform, client, auth)
    auth.post(f"/tasks/{review.id}/sign-after", {"to_user": "zhuanyuan2", "why": "同意"},
              page=f"/tasks/{review.id}")
    assert open_task(platform, instance.id).assignee == "zhuanyuan2"


def test_a_supervisor_reminds_a_task_copied_to_them_and_the_handler_is_notified(
        platform, client, auth):
    instance, _prepared, review = _approver_holds_review(platform, client, auth)
    auth.post(f"/tasks/{review.id}/cc", {"to_user": "ducha1"}, page=f"/tasks/{review.id}")
    assert f"/tasks/{review.id}/remind" not in client.get(f"/tasks/{review.id}").get_data(as_text=True)
    auth.logout()
    auth.login("ducha1")
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert f"/tasks/{review.id}/remind" in page
    assert auth.post(f"/tasks/{review.id}/remind", {"message": "请今日办结"},
                     page=f"/tasks/{review.id}").status_code == 302
    auth.logout()
    auth.login("shenpi1")
    assert f"/tasks/{review.id}/remind" not in client.get(f"/tasks/{review.id}").get_data(as_text=True)
    notes = client.get("/notifications/").get_data(as_text=True)
    assert "催办：审批" in notes and "请今日办结" in notes


def test_notifications_are_listed_newest_first_counted_and_marked_read(platform, client, auth):
    instance, _prepared, review = _approver_holds_review(platform, client, auth)
    auth.post(f"/tasks/{review.id}/cc", {"to_user": "zhuanyuan2"}, page=f"/tasks/{review.id}")
    auth.post(f"/tasks/{review.id}/transfer", {"to_user": "zhuanyuan2"}, page=f"/tasks/{review.id}")
    auth.logout()
    auth.login("zhuanyuan2")
    with platform.uow() as uow:
        mine = notifications_for(uow.session, actor_for(uow.session, "zhuanyuan2"))
    page = client.get("/notifications/").get_data(as_text=True)
    assert page.index("转办给您：审批") < page.index("抄送：审批")  # newest first
    assert page.count('class="notice unread"') == len(mine) >= 2
    nav = client.get("/tasks/").get_data(as_text=True).split("</nav>")[0]
    assert f'站内消息 <span class="count" aria-label="未读">{len(mine)}</span>' in nav
    first = mine[0]
    opened = auth.post(f"/notifications/{first.id}/read", {"next": f"/tasks/{review.id}"},
                       page="/notifications/")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/tasks/{review.id}")
    auth.post("/notifications/read-all", page="/notifications/")
    page = client.get("/notifications/").get_data(as_text=True)
    assert "notice unread" not in page and "已读" in page
    assert "暂无消息" in client.get("/notifications/?unread=1").get_data(as_text=True)
    # Marking read needs the CSRF token.
    assert client.post("/notifications/read-all").status_code == 400


def test_the_task_diagram_xml_is_served_only_to_those_who_may_see_the_task(platform, client, auth):
    instance = start(platform)
    task = open_task(platform, instance.id)
    auth.login()
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="canvas"' in page and "designer/pages/viewer.js" in page
    assert "&#34;prepare&#34;" in page or '"prepare"' in page
    xml = client.get(f"/tasks/{task.id}/diagram.xml")
    assert xml.status_code == 200 and b'id="prepare"' in xml.data
    auth.logout()
    auth.login("shenpi1")
    assert client.get(f"/tasks/{task.id}/diagram.xml").status_code == 404
    with platform.uow() as uow:
        assert uow.session.execute(select(HumanTask)).scalars().first() is not None
