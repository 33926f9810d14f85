"""/api/v1/org: units and accounts for administrators; problems name the field, in Chinese."""

from __future__ import annotations

from engine.bpm import inbox, runtime, task_actions
from engine.core import organisation
from engine.core.identity import Actor

from .conftest import SPECIALIST


def test_only_administrators_reach_the_organisation(client, admin, specialist):
    assert client.get("/api/v1/org/units", headers=specialist).status_code == 403
    refused = client.post("/api/v1/org/accounts", headers=specialist, json={"nonsense": 1})
    assert refused.status_code == 403  # refused before the body is read
    assert client.get("/api/v1/org/units").status_code == 401
    assert client.get("/api/v1/org/units", headers=admin).status_code == 200


def test_units_are_created_moved_and_given_posts(client, admin):
    created = client.post("/api/v1/org/units", headers=admin, json={
        "code": "sc_industry", "name": "产业分指挥部", "kind": "sub_command"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["kind_label"] == "分指挥部"
    moved = client.patch("/api/v1/org/units/fgj", headers=admin, json={
        "parent_code": "sc_industry", "why": "归口"})
    assert moved.status_code == 200 and moved.get_json()["parent_code"] == "sc_industry"
    posts = client.patch("/api/v1/org/units/sc_industry", headers=admin, json={
        "commander": "zhuanyuan1", "deputy": "shenpi1"})
    assert posts.status_code == 200
    assert (posts.get_json()["commander"], posts.get_json()["deputy"]) == ("zhuanyuan1", "shenpi1")
    tree = client.get("/api/v1/org/units", headers=admin).get_json()
    depth = {u["code"]: u["depth"] for u in tree}
    assert depth["sc_industry"] == 0 and depth["fgj"] == 1
    loop = client.patch("/api/v1/org/units/sc_industry", headers=admin,
                        json={"parent_code": "fgj"})
    assert loop.status_code == 422
    assert "下级" in loop.get_json()["errors"]["parent_code"][0]
    missing = client.get("/api/v1/org/units/nowhere", headers=admin)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_an_account_is_created_with_a_one_time_password_shown_once(client, admin):
    created = client.post("/api/v1/org/accounts", headers=admin, json={
        "username": "wangwu", "display_name": "王五", "unit_code": "fgj",
        "roles": [{"role": "approver"}, {"role": "specialist", "unit_code": "duban"}]})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["label"] == "王五（县发改局）" and body["must_change_password"]
    assert len(body["one_time_password"]) == 19
    assert body["role_labels"] == ["项目专员（督办监督组）", "审批人"]
    again = client.get("/api/v1/org/accounts/wangwu", headers=admin).get_json()
    assert "one_time_password" not in again
    bad = client.post("/api/v1/org/accounts", headers=admin, json={
        "username": "wangwu", "display_name": "王五", "unit_code": "fgj",
        "roles": [{"role": "approver"}]})
    assert bad.status_code == 422 and "已被使用" in bad.get_json()["errors"]["username"][0]
    unknown_role = client.post("/api/v1/org/accounts", headers=admin, json={
        "username": "x1", "display_name": "x", "unit_code": "fgj", "roles": [{"role": "god"}]})
    assert unknown_role.status_code == 422
    listed = client.get("/api/v1/org/accounts?q=王&limit=1", headers=admin).get_json()
    assert [a["username"] for a in listed["items"]] == ["wangwu"] and listed["total"] == 1
    paged = client.get("/api/v1/org/accounts?limit=2", headers=admin).get_json()
    assert len(paged["items"]) == 2 and paged["next_cursor"]
    rest = client.get(f"/api/v1/org/accounts?limit=200&cursor={paged['next_cursor']}",
                      headers=admin).get_json()
    assert {a["username"] for a in rest["items"]}.isdisjoint(
        {a["username"] for a in paged["items"]})


def test_editing_and_resetting_an_account(client, admin, platform):
    changed = client.patch("/api/v1/org/accounts/zhuanyuan2", headers=admin, json={
        "display_name": "项目专员二（调任）", "roles": [{"role": "office"}]})
    assert changed.status_code == 200
    assert changed.get_json()["role_labels"] == ["指挥部办公室"]
    reset = client.post("/api/v1/org/accounts/zhuanyuan2/password-reset", headers=admin, json={})
    password = reset.get_json()["one_time_password"]
    with platform.uow() as uow:
        assert organisation.authenticate(uow.session, "zhuanyuan2", password) is not None


def test_disabling_reassigns_the_work_and_ends_the_tokens(client, admin, platform, make_token):
    with platform.uow() as uow:
        runtime.start_instance(uow, "approval", SPECIALIST, data={"project_name": "光伏"})
    with platform.uow() as uow:
        task = inbox.list_tasks(uow, SPECIALIST)[0]
    with platform.uow() as uow:
        task_actions.claim(uow, task.id, SPECIALIST)
    work = client.get("/api/v1/org/accounts/zhuanyuan1/work", headers=admin).get_json()
    assert [(w["id"], w["how"]) for w in work["own"]] == [(task.id, "held")]
    no_one = client.post("/api/v1/org/accounts/zhuanyuan1/disable", headers=admin,
                         json={"why": "调离"})
    assert no_one.status_code == 422 and "reassign_to" in no_one.get_json()["errors"]
    done = client.post("/api/v1/org/accounts/zhuanyuan1/disable", headers=admin,
                       json={"why": "调离", "reassign_to": "zhuanyuan2"})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["reassigned_to"] == "zhuanyuan2" and not body["account"]["active"]
    assert [w["id"] for w in body["reassigned"]] == [task.id]
    enabled = client.post("/api/v1/org/accounts/zhuanyuan1/enable", headers=admin,
                          json={"why": "返岗"})
    assert enabled.status_code == 200 and enabled.get_json()["active"]


def test_a_disabled_administrators_tokens_stop_at_once(client, admin, platform, clock):
    with platform.uow() as uow:
        organisation.add_user(uow.session, "admin2", "另一位管理员", "mima-2026-x", unit="fgj",
                              roles=["admin"], now=clock.now())
        uow.commit()
    from engine.ops import tokens
    with platform.uow() as uow:
        issued = tokens.create_token(uow, Actor.of("admin2", "admin"), "by-admin2", ["supervisor"])
    theirs = {"Authorization": f"Bearer {issued.secret}"}
    assert client.get("/api/v1/tasks", headers=theirs).status_code == 200
    done = client.post("/api/v1/org/accounts/admin2/disable", headers=admin, json={"why": "离职"})
    assert done.get_json()["tokens_revoked"] == ["by-admin2"]
    assert client.get("/api/v1/tasks", headers=theirs).status_code == 401
