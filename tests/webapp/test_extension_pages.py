"""延期申请 pages (issue 19): asked on the task page, decided on 督办台 → 延期申请."""

from __future__ import annotations

from engine.core.models import HumanTask

from .test_tasks import open_task, start


def test_the_holder_asks_on_the_task_page_and_a_supervisor_approves(platform, client, auth):
    instance = start(platform)
    auth.login()
    task = open_task(platform, instance.id)
    auth.post(f"/tasks/{task.id}/claim")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="form-extension"' in page
    empty = auth.post(f"/extensions/tasks/{task.id}", {"days": "", "reason": ""},
                      page=f"/tasks/{task.id}")
    assert empty.status_code == 302
    assert "延期申请未提交" in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    auth.post(f"/extensions/tasks/{task.id}", {"days": "3", "reason": "等待规划部门出具意见"},
              page=f"/tasks/{task.id}")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "申请延长 3 个工作日" in page and "待审批" in page and 'id="form-extension"' not in page
    with platform.uow() as uow:
        before = uow.session.get(HumanTask, task.id).due_at
    auth.login("ducha1")
    pending = client.get("/extensions/").get_data(as_text=True)
    assert "等待规划部门出具意见" in pending and "项目专员一（县发改局）" in pending
    request_id = pending.split('id="extension-')[1].split('"')[0]
    refused = auth.post(f"/extensions/{request_id}/decide", {"approve": "0", "opinion": ""},
                        page="/extensions/")
    assert refused.status_code == 302
    assert "不同意延期时请填写理由" in client.get("/extensions/").get_data(as_text=True)
    auth.post(f"/extensions/{request_id}/decide", {"approve": "1", "opinion": "同意"},
              page="/extensions/")
    with platform.uow() as uow:
        after = uow.session.get(HumanTask, task.id).due_at
    assert after > before
    assert "没有待审批的延期申请" in client.get("/extensions/").get_data(as_text=True)
