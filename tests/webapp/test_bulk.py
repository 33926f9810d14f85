"""批量 (issue 19): claim, approve and transfer several tasks at once; each is its own action,
a failure on one leaves the others done and says which failed and why."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.core.models import AuditEvent, HumanTask

from .test_tasks import claim_and_prepare, open_task, start


def _tasks(platform, element_id):
    with platform.uow() as uow:
        return uow.session.execute(select(HumanTask.id, HumanTask.assignee).where(
            HumanTask.element_id == element_id,
            HumanTask.state.in_(("open", "claimed")))).all()


def _events(platform, action):
    with platform.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == action))


def test_a_specialist_claims_three_tasks_at_once_each_audited(platform, client, auth):
    for n in range(3):
        start(platform, business_key=f"XM-{n}")
    auth.login()
    page = client.get("/tasks/group").get_data(as_text=True)
    assert 'id="bulk"' in page and page.count('form="bulk"') == 3
    ids = [t.id for t in _tasks(platform, "prepare")]
    done = auth.post("/tasks/bulk", {"action": "claim", "task_ids": ids, "next": "/tasks/group"},
                     page="/tasks/group")
    assert done.status_code == 302 and done.headers["Location"] == "/tasks/group"
    assert all(t.assignee == "zhuanyuan1" for t in _tasks(platform, "prepare"))
    assert _events(platform, "task_claimed") == 3
    assert "已批量认领 3 件" in client.get("/tasks/").get_data(as_text=True)


def test_bulk_approval_leaves_the_others_done_when_one_was_taken_meanwhile(
        platform, client, auth):
    instances = [start(platform, business_key=f"XM-{n}") for n in range(3)]
    auth.login()
    for instance in instances:
        claim_and_prepare(platform, auth, instance)
    auth.login("shenpi1")
    reviews = [open_task(platform, i.id) for i in instances]
    for review in reviews:
        auth.post(f"/tasks/{review.id}/claim")
    # one of them is approved on its own page before the bulk request arrives
    auth.post(f"/tasks/{reviews[0].id}/complete", {"decision": "approve", "opinion": "先批"},
              page=f"/tasks/{reviews[0].id}")
    response = auth.post("/tasks/bulk", {
        "action": "approve", "opinion": "材料齐全，同意", "next": "/tasks/",
        "task_ids": [r.id for r in reviews] + ["00000000-0000-0000-0000-000000000000"]})
    assert response.status_code == 302
    page = client.get("/tasks/").get_data(as_text=True)
    assert "已批量同意 2 件" in page
    assert "未同意“审批”：他人刚刚办理或修改了此待办" in page
    assert "未同意“（无权查看的事项）”：待办不存在或您无权查看" in page
    with platform.uow() as uow:
        states = {r.id: uow.session.get(HumanTask, r.id).state for r in reviews}
    assert list(states.values()) == ["completed"] * 3
    assert _events(platform, "task_decided") == 3


def test_a_task_whose_form_needs_more_is_not_approved_in_bulk(platform, client, auth):
    instance = start(platform)
    auth.login()
    task = open_task(platform, instance.id)
    auth.post(f"/tasks/{task.id}/claim")
    auth.post("/tasks/bulk", {"action": "approve", "task_ids": [task.id], "next": "/tasks/"})
    page = client.get("/tasks/").get_data(as_text=True)
    assert "未同意“准备材料”" in page and "请打开逐件办理" in page
    assert open_task(platform, instance.id).state == "claimed"


def test_bulk_transfer_hands_each_task_to_the_person_chosen(platform, client, auth):
    instances = [start(platform, business_key=f"XM-{n}") for n in range(2)]
    auth.login()
    for instance in instances:
        auth.post(f"/tasks/{open_task(platform, instance.id).id}/claim")
    ids = [open_task(platform, i.id).id for i in instances]
    page = client.get("/tasks/").get_data(as_text=True)
    assert 'id="bulk-to"' in page and "项目专员二" in page
    refused = auth.post("/tasks/bulk", {"action": "transfer", "task_ids": ids, "next": "/tasks/"})
    assert "请选择转办给谁，没有做任何更改" in client.get("/tasks/").get_data(as_text=True)
    assert refused.status_code == 302
    auth.post("/tasks/bulk", {"action": "transfer", "task_ids": ids, "to_user": "zhuanyuan2",
                              "next": "/tasks/"})
    assert {open_task(platform, i.id).assignee for i in instances} == {"zhuanyuan2"}
    assert _events(platform, "task_transferred") == 2


def test_nothing_ticked_changes_nothing_and_says_so(platform, client, auth):
    start(platform)
    auth.login()
    auth.post("/tasks/bulk", {"action": "claim", "next": "/tasks/group"}, page="/tasks/group")
    assert "请先勾选要办理的事项" in client.get("/tasks/group").get_data(as_text=True)
    assert _events(platform, "task_claimed") == 0
    away = auth.post("/tasks/bulk", {"action": "claim", "next": "https://evil.example/"})
    assert away.headers["Location"] == "/tasks/"
