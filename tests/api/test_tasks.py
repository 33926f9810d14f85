"""Tasks through the API: lists and pages, one task, claim, complete, decide and hand over."""

from __future__ import annotations

from .conftest import start_approval
from .test_auth import assert_problem

PREPARE = {"title": "光伏电站", "amount": 150, "start_date": "2027-01-04", "key_project": True}


def group_task(client, headers, instance_id=None):
    items = client.get("/api/v1/tasks", headers=headers).get_json()["items"]
    if instance_id is not None:
        items = [t for t in items if t["instance_id"] == instance_id]
    return items[0]


def test_my_open_tasks_come_in_stable_pages(client, platform, specialist):
    ids = {start_approval(platform, f"XM-00{n}").id for n in range(3)}
    first = client.get("/api/v1/tasks?limit=2", headers=specialist).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = client.get(f"/api/v1/tasks?limit=2&cursor={first['next_cursor']}",
                        headers=specialist).get_json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    seen = [t["instance_id"] for t in first["items"] + second["items"]]
    assert set(seen) == ids and len(seen) == 3
    again = client.get("/api/v1/tasks?limit=2", headers=specialist).get_json()
    assert again["items"] == first["items"]


def test_task_list_filters_and_bad_arguments(client, platform, specialist):
    start_approval(platform)
    assert client.get("/api/v1/tasks?scope=mine", headers=specialist).get_json()["items"] == []
    assert len(client.get("/api/v1/tasks?scope=group&process=approval",
                          headers=specialist).get_json()["items"]) == 1
    assert client.get("/api/v1/tasks?process=other", headers=specialist).get_json()["items"] == []
    assert "scope" in assert_problem(client.get("/api/v1/tasks?scope=everything",
                                                headers=specialist), 422)["errors"]
    assert "cursor" in assert_problem(client.get("/api/v1/tasks?cursor=%%%",
                                                 headers=specialist), 422)["errors"]
    assert_problem(client.get("/api/v1/tasks?limit=0", headers=specialist), 422)


def test_a_task_shows_its_form_and_the_actions_i_may_take(client, platform, specialist):
    start_approval(platform)
    task = group_task(client, specialist)
    response = client.get(f"/api/v1/tasks/{task['id']}", headers=specialist)
    body = response.get_json()
    assert response.headers["ETag"]
    assert [f["id"] for f in body["form_fields"]] == ["title", "amount", "start_date",
                                                      "key_project"]
    assert "claim" in body["actions"] and body["decision"] is False


def test_a_task_of_another_unit_is_not_found(client, platform, specialist, township):
    start_approval(platform)
    task = group_task(client, specialist)
    assert_problem(client.get(f"/api/v1/tasks/{task['id']}", headers=township), 404)
    assert_problem(client.post(f"/api/v1/tasks/{task['id']}/claim", headers=township), 404)
    assert_problem(client.get("/api/v1/tasks/no-such-task", headers=specialist), 404)


def test_claim_then_a_second_claim_is_a_conflict(client, platform, specialist, make_token):
    start_approval(platform)
    other = make_token(("specialist",), "fgj", name="second-system")
    task = group_task(client, specialist)
    claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=specialist)
    assert claimed.get_json()["assignee"] == "api:t-specialist-fgj"
    assert_problem(client.post(f"/api/v1/tasks/{task['id']}/claim", headers=other), 409)
    assert_problem(client.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=other), 403)
    back = client.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=specialist)
    assert back.get_json()["state"] == "open"


def test_a_stale_etag_is_refused_with_412(client, platform, specialist):
    start_approval(platform)
    task = group_task(client, specialist)
    etag = client.get(f"/api/v1/tasks/{task['id']}", headers=specialist).headers["ETag"]
    client.post(f"/api/v1/tasks/{task['id']}/claim", headers={**specialist, "If-Match": etag})
    stale = client.post(f"/api/v1/tasks/{task['id']}/unclaim",
                        headers={**specialist, "If-Match": etag})
    assert_problem(stale, 412)


def test_completing_with_bad_data_is_422_with_the_field_errors(client, platform, specialist):
    start_approval(platform)
    task = group_task(client, specialist)
    body = assert_problem(client.post(f"/api/v1/tasks/{task['id']}/complete", headers=specialist,
                                      json={"data": {"amount": "lots", "nonsense": 1}}), 422)
    assert "amount" in body["errors"]
    assert_problem(client.post(f"/api/v1/tasks/{task['id']}/complete", headers=specialist,
                               json={"data": "not an object"}), 422)
    assert_problem(client.post(f"/api/v1/tasks/{task['id']}/complete", headers=specialist,
                               data="{broken", content_type="application/json"), 400)


def test_complete_then_the_approver_decides(client, platform, specialist, approver):
    instance = start_approval(platform)
    task = group_task(client, specialist)
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=specialist,
                       json={"data": PREPARE})
    assert done.status_code == 200 and done.get_json()["open_tasks"] == ["审批"]
    assert_problem(client.post(f"/api/v1/tasks/{task['id']}/complete", headers=specialist,
                               json={"data": PREPARE}), 409)
    review = group_task(client, approver, instance.id)
    assert review["decision"] is True
    needs = assert_problem(client.post(f"/api/v1/tasks/{review['id']}/complete",
                                       headers=approver, json={}), 422)
    assert "decision" in needs["errors"]
    opinion = assert_problem(client.post(f"/api/v1/tasks/{review['id']}/complete",
                                         headers=approver, json={"decision": "reject"}), 422)
    assert "opinion" in opinion["errors"]
    approved = client.post(f"/api/v1/tasks/{review['id']}/complete", headers=approver,
                           json={"decision": "approve", "opinion": "同意"}).get_json()
    assert approved["status"] == "completed"
    done_list = client.get("/api/v1/tasks?scope=done", headers=approver).get_json()["items"]
    assert [t["name"] for t in done_list] == ["审批"]


def test_transfer_delegate_cc_and_resolve(client, platform, specialist, accounts):
    start_approval(platform)
    task = group_task(client, specialist)
    url = f"/api/v1/tasks/{task['id']}"
    body = assert_problem(client.post(f"{url}/transfer", headers=specialist,
                                      json={"to_user": "nobody"}), 422)
    assert "to_user" in body["errors"]
    assert_problem(client.post(f"{url}/transfer", headers=specialist, json={}), 422)
    copied = client.post(f"{url}/cc", headers=specialist, json={"to_user": "shenpi1"})
    assert copied.status_code == 200
    delegated = client.post(f"{url}/delegate", headers=specialist,
                            json={"to_user": "zhuanyuan2", "why": "请协助"}).get_json()
    assert delegated["assignee"] == "zhuanyuan2"
    # the delegator waits: only the delegate may hand it back
    assert_problem(client.post(f"{url}/resolve", headers=specialist, json={}), 403)
    assert_problem(client.post(f"{url}/transfer", headers=specialist,
                               json={"to_user": "zhuanyuan2"}), 403)


def _to_review(client, platform, specialist, approver):
    instance = start_approval(platform)
    task = group_task(client, specialist)
    client.post(f"/api/v1/tasks/{task['id']}/complete", headers=specialist,
                json={"data": PREPARE})
    return task, group_task(client, approver, instance.id)


def test_the_completer_withdraws_while_nothing_followed(client, platform, specialist, approver):
    prepare, review = _to_review(client, platform, specialist, approver)
    assert_problem(client.post(f"/api/v1/tasks/{prepare['id']}/withdraw", headers=approver,
                               json={}), 404)
    withdrawn = client.post(f"/api/v1/tasks/{prepare['id']}/withdraw", headers=specialist,
                            json={"why": "金额填错"})
    assert withdrawn.status_code == 200, withdrawn.get_data(as_text=True)
    after = client.get(f"/api/v1/tasks/{review['id']}", headers=approver).get_json()
    assert after["state"] == "withdrawn" and after["actions"] == []


def test_the_approver_returns_to_an_earlier_task_with_an_opinion(client, platform, specialist,
                                                                  approver):
    _, review = _to_review(client, platform, specialist, approver)
    url = f"/api/v1/tasks/{review['id']}/return"
    assert "opinion" in assert_problem(client.post(url, headers=approver,
                                                   json={"to_element_id": "prepare"}),
                                       422)["errors"]
    returned = client.post(url, headers=approver,
                           json={"to_element_id": "prepare", "opinion": "请补充材料"})
    assert returned.status_code == 200, returned.get_data(as_text=True)
    assert [t["element_id"] for t in client.get("/api/v1/tasks", headers=specialist)
            .get_json()["items"]] == ["prepare"]


def test_the_approver_asks_another_to_sign_first(client, platform, specialist, approver):
    _, review = _to_review(client, platform, specialist, approver)
    signed = client.post(f"/api/v1/tasks/{review['id']}/add-signer-before", headers=approver,
                         json={"to_user": "shenpi1", "why": "请先会签"})
    assert signed.status_code == 200 and signed.get_json()["assignee"] == "shenpi1"
    assert_problem(client.post(f"/api/v1/tasks/{review['id']}/add-signer-after",
                               headers=approver, json={"to_user": "shenpi1"}), 403)


def test_a_completion_reads_the_task_once_and_takes_the_write_lock_once(client, app, platform,
                                                                       specialist):
    from sqlalchemy import event

    start_approval(platform)
    task = group_task(client, specialist)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    engine = app.extensions["gongjian"].db
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=specialist,
                               json={"data": PREPARE})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.get_json()
    task_reads = [s for s in statements if s.startswith("SELECT human_task.id, human_task.spiff")]
    assert len(task_reads) == 1, task_reads
    assert sum(s.startswith("BEGIN IMMEDIATE") for s in statements) <= 1
