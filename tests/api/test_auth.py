"""Who may call the API: tokens, sessions with CSRF, and the problem documents of refusals."""

from __future__ import annotations

from engine.ops import tokens

from .conftest import PASSWORD


def assert_problem(response, status: int) -> dict:
    """The response is an RFC 9457 problem document with this status."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["type"].startswith("urn:gongjian:problem:")
    assert body["title"]
    return body


def test_a_call_without_credentials_is_401_with_a_problem_document(client):
    body = assert_problem(client.get("/api/v1/tasks"), 401)
    assert "Bearer" in body["detail"]
    assert client.get("/api/v1/tasks").headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_or_malformed_token_is_401(client):
    assert_problem(client.get("/api/v1/tasks", headers={"Authorization": "Bearer gj_nope"}), 401)
    assert_problem(client.get("/api/v1/tasks", headers={"Authorization": "Basic eDp5"}), 401)


def test_a_token_works_and_its_last_use_is_shown(client, platform, specialist):
    assert client.get("/api/v1/tasks", headers=specialist).status_code == 200
    with platform.uow() as uow:
        token = tokens.list_tokens(uow, tokens.Actor.of("a", "admin"))[0]
    assert token.last_used_at is not None


def test_tokens_are_stored_hashed(platform, specialist):
    secret = specialist["Authorization"].split()[1]
    with platform.uow() as uow:
        row = uow.session.query(tokens.ApiToken).one()
        assert secret not in (row.token_hash, row.hint) and row.token_hash == tokens.hash_token(secret)


def test_an_unknown_path_or_method_under_api_is_a_problem_not_a_page(client, specialist):
    assert_problem(client.get("/api/v1/nowhere", headers=specialist), 404)
    assert_problem(client.delete("/api/v1/tasks", headers=specialist), 405)
    assert client.get("/nowhere").mimetype == "text/html"


def _login(client, username="zhuanyuan1"):
    import re
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    client.post("/auth/login", data={"username": username, "password": PASSWORD,
                                     "csrf_token": token})
    # The session starts afresh at login, so the token of a page opened after it counts.
    return re.search(r'name="csrf_token" value="([^"]+)"',
                     client.get("/tasks/").get_data(as_text=True))[1]


def test_the_browser_session_reads_the_api_but_must_send_csrf_to_write(client, platform):
    from .conftest import start_approval
    instance = start_approval(platform)
    csrf = _login(client)
    tasks = client.get("/api/v1/tasks").get_json()["items"]
    assert [t["name"] for t in tasks] == ["准备材料"]
    refused = client.post(f"/api/v1/tasks/{tasks[0]['id']}/claim", json={})
    assert_problem(refused, 400)
    claimed = client.post(f"/api/v1/tasks/{tasks[0]['id']}/claim", json={},
                          headers={"X-CSRFToken": csrf})
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "zhuanyuan1"
    assert instance.id == tasks[0]["instance_id"]


def test_token_calls_need_no_csrf_token(client, platform, specialist):
    from .conftest import start_approval
    start_approval(platform)
    task = client.get("/api/v1/tasks", headers=specialist).get_json()["items"][0]
    response = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=specialist)
    assert response.status_code == 200


def test_the_openapi_document_and_the_docs_page_are_served_without_a_cdn(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/tasks/{task_id}/complete" in spec["paths"]
    page = client.get("/api/docs").get_data(as_text=True)
    assert "/static/swagger-ui/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page
    asset = client.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert asset.status_code == 200
    asset.close()


# ---------------------------------------------------------------- token administration

def test_an_administrator_issues_a_token_shown_once(client, admin):
    made = client.post("/api/v1/admin/tokens", headers=admin,
                       json={"name": "province-13710", "roles": ["supervisor"],
                             "unit_code": "duban"})
    assert made.status_code == 201
    secret = made.get_json()["secret"]
    listed = client.get("/api/v1/admin/tokens", headers=admin).get_json()
    assert "secret" not in str(listed) or secret not in str(listed)
    mine = client.get("/api/v1/issues", headers={"Authorization": f"Bearer {secret}"})
    assert mine.status_code == 200


def test_only_administrators_manage_tokens(client, specialist):
    assert_problem(client.get("/api/v1/admin/tokens", headers=specialist), 403)
    assert_problem(client.post("/api/v1/admin/tokens", headers=specialist,
                               json={"name": "x1", "roles": ["admin"]}), 403)


def test_a_token_request_with_bad_fields_is_422_with_field_errors(client, admin):
    body = assert_problem(client.post("/api/v1/admin/tokens", headers=admin,
                                      json={"name": "ok-name", "roles": ["emperor"]}), 422)
    assert "roles" in body["errors"]
    body = assert_problem(client.post("/api/v1/admin/tokens", headers=admin, json={}), 422)
    assert {"name", "roles"} <= set(body["errors"])


def test_a_duplicate_token_name_is_a_conflict(client, admin):
    payload = {"name": "approval-bureau", "roles": ["approver"]}
    assert client.post("/api/v1/admin/tokens", headers=admin, json=payload).status_code == 201
    assert_problem(client.post("/api/v1/admin/tokens", headers=admin, json=payload), 409)


def test_a_revoked_token_stops_working_at_once(client, admin, specialist, platform):
    with platform.uow() as uow:
        token_id = next(t.id for t in tokens.list_tokens(uow, tokens.Actor.of("a", "admin"))
                        if "specialist" in t.roles)
    revoked = client.delete(f"/api/v1/admin/tokens/{token_id}", headers=admin)
    assert revoked.status_code == 200 and revoked.get_json()["active"] is False
    assert_problem(client.get("/api/v1/tasks", headers=specialist), 401)
    assert_problem(client.delete("/api/v1/admin/tokens/9999", headers=admin), 404)
