"""Definitions through the API: list, versions, deploy (designers and administrators only)."""

from __future__ import annotations

import io

from ..conftest import FIXTURES
from .test_auth import assert_problem

APPROVAL = (FIXTURES / "engine" / "approval.bpmn").read_bytes()


def _files(*items):
    return {"files": [(io.BytesIO(data), name) for name, data in items]}


def test_definitions_are_listed_by_key_in_pages(client, specialist):
    page = client.get("/api/v1/definitions?limit=2", headers=specialist).get_json()
    rest = client.get(f"/api/v1/definitions?cursor={page['next_cursor']}",
                      headers=specialist).get_json()
    keys = [d["key"] for d in page["items"] + rest["items"]]
    assert keys == sorted(keys) and "approval" in keys and "issue_lifecycle" in keys
    processes = client.get("/api/v1/definitions?kind=process", headers=specialist).get_json()
    assert {d["kind"] for d in processes["items"]} == {"process"}


def test_versions_of_a_key(client, specialist):
    versions = client.get("/api/v1/definitions/approval/versions", headers=specialist).get_json()
    assert [v["version"] for v in versions["items"]] == [1]
    assert_problem(client.get("/api/v1/definitions/nothing/versions", headers=specialist), 404)


def test_a_designer_deploys_and_an_unchanged_file_keeps_its_version(client, make_token):
    designer = make_token(("designer",), "fgj")
    changed = APPROVAL.replace("立项审批（测试）".encode(), "立项审批（第二版）".encode())
    response = client.post("/api/v1/definitions", headers=designer,
                           data=_files(("approval.bpmn", changed)),
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()[0]["version"] == 2 and response.get_json()[0]["created"]
    again = client.post("/api/v1/definitions", headers=designer,
                        data=_files(("approval.bpmn", changed)), content_type="multipart/form-data")
    assert again.get_json()[0]["created"] is False


def test_others_may_not_deploy(client, specialist):
    assert_problem(client.post("/api/v1/definitions", headers=specialist,
                               data=_files(("approval.bpmn", APPROVAL)),
                               content_type="multipart/form-data"), 403)


def test_a_broken_file_is_422_and_nothing_is_deployed(client, admin, specialist):
    body = assert_problem(client.post("/api/v1/definitions", headers=admin,
                                      data=_files(("bad.bpmn", b"<definitions><oops")),
                                      content_type="multipart/form-data"), 422)
    assert body["filename"] == "bad.bpmn"
    assert_problem(client.post("/api/v1/definitions", headers=admin, data={},
                               content_type="multipart/form-data"), 422)
