"""Process instances through the API: start, list, get with history, cancel with If-Match."""

from __future__ import annotations

from .conftest import start_approval
from .test_auth import assert_problem
from .test_tasks import PREPARE, group_task

START = {"process_key": "approval", "business_key": "XM-101", "data": {"project_name": "风电"}}


def test_starting_a_process_answers_201_with_etag_and_location(client, specialist):
    response = client.post("/api/v1/instances", headers=specialist, json=START)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "running" and body["open_tasks"] == ["准备材料"]
    assert response.headers["ETag"] == f'"rv-{body["row_version"]}"'
    assert response.headers["Location"].endswith(f"/instances/{body['id']}")
    assert body["history"][0]["action"] == "instance_started"


def test_start_validation_not_found_and_forbidden(client, specialist, approver):
    body = assert_problem(client.post("/api/v1/instances", headers=specialist,
                                      json={**START, "data": {"project_name": 7, "extra": 1}}), 422)
    assert {"project_name", "extra"} <= set(body["errors"])
    assert_problem(client.post("/api/v1/instances", headers=specialist, json={}), 422)
    assert_problem(client.post("/api/v1/instances", headers=specialist,
                               json={**START, "process_key": "no_such"}), 404)
    assert_problem(client.post("/api/v1/instances", headers=approver, json=START), 403)


def test_i_list_and_read_only_instances_i_am_part_of(client, platform, specialist, township,
                                                      supervisor):
    mine = client.post("/api/v1/instances", headers=specialist, json=START).get_json()
    start_approval(platform, "XM-999")
    listed = client.get("/api/v1/instances?process_key=approval", headers=specialist).get_json()
    assert len(listed["items"]) == 2  # both offer tasks to the specialists
    assert [i["id"] for i in client.get("/api/v1/instances?business_key=XM-101",
                                        headers=specialist).get_json()["items"]] == [mine["id"]]
    assert client.get("/api/v1/instances", headers=township).get_json()["items"] == []
    assert_problem(client.get(f"/api/v1/instances/{mine['id']}", headers=township), 404)
    assert client.get(f"/api/v1/instances/{mine['id']}", headers=supervisor).status_code == 200
    assert_problem(client.get("/api/v1/instances/424242", headers=specialist), 404)
    assert_problem(client.get("/api/v1/instances?status=lost", headers=specialist), 422)


def test_instance_pages_follow_the_cursor_newest_first(client, specialist):
    ids = [client.post("/api/v1/instances", headers=specialist, json=START).get_json()["id"]
           for _ in range(3)]
    page = client.get("/api/v1/instances?limit=2", headers=specialist).get_json()
    rest = client.get(f"/api/v1/instances?limit=2&cursor={page['next_cursor']}",
                      headers=specialist).get_json()
    assert [i["id"] for i in page["items"] + rest["items"]] == sorted(ids, reverse=True)
    assert rest["next_cursor"] is None


def test_cancel_guards_with_if_match_and_permissions(client, specialist, approver, admin):
    created = client.post("/api/v1/instances", headers=specialist, json=START)
    instance, etag = created.get_json(), created.headers["ETag"]
    url = f"/api/v1/instances/{instance['id']}/cancel"
    task = group_task(client, specialist, instance["id"])
    client.post(f"/api/v1/tasks/{task['id']}/complete", headers=specialist,
                json={"data": PREPARE})
    # the instance moved on: the ETag read before is stale
    assert_problem(client.post(url, headers={**specialist, "If-Match": etag},
                               json={"reason": "重复登记"}), 412)
    assert_problem(client.post(url, headers=specialist, json={}), 422)
    # the approver sees it (a task is offered to them) but did not start it
    assert_problem(client.post(url, headers=approver, json={"reason": "x"}), 403)
    fresh = client.get(f"/api/v1/instances/{instance['id']}", headers=specialist).headers["ETag"]
    cancelled = client.post(url, headers={**specialist, "If-Match": fresh},
                            json={"reason": "重复登记"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert_problem(client.post(url, headers=admin, json={"reason": "again"}), 409)


def test_an_instance_says_who_acts_next_and_a_task_its_matter(client, specialist, supervisor):
    started = client.post("/api/v1/instances", headers=specialist, json=START).get_json()
    [step] = started["next_steps"]
    assert (step["name"], step["holders"], step["assignee"]) == ("准备材料", ["「项目专员」"], None)
    assert step["subject"] is None and step["sla"] in ("ok", "due_soon", "overdue")
    read = client.get(f"/api/v1/instances/{started['id']}", headers=supervisor).get_json()
    assert read["next_steps"] == [{**step, "created_at": read["next_steps"][0]["created_at"]}]
    task = client.get(f"/api/v1/tasks/{step['task_id']}", headers=specialist).get_json()
    assert task["matter"]["came_back"] is None and task["matter"]["earlier"] == []
    assert task["matter"]["fields"] == [
        {"name": "project_name", "label": "项目名称", "value": "风电", "text": "风电"}]
    assert [o["steps"][0]["name"] for o in task["matter"]["outcomes"]] == ["审批"]
