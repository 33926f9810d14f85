"""Login, logout, cookies and CSRF."""

from __future__ import annotations

from webapp import create_app


def test_pages_send_anonymous_visitors_to_the_login_page(client):
    response = client.get("/tasks/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=/tasks/")


def test_login_with_the_right_password_opens_my_tasks(client, auth):
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/tasks/"
    page = client.get("/tasks/").get_data(as_text=True)
    assert "我的待办" in page and "项目专员一" in page


def test_login_with_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, auth):
    response = auth.login(password="wrong")
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert auth.login(username="nobody").status_code == 401


def test_login_does_not_redirect_to_another_site(client, auth):
    from .conftest import PASSWORD, csrf_token_of
    token = csrf_token_of(client.get("/auth/login").get_data(as_text=True))
    response = client.post("/auth/login?next=//evil.example/", data={
        "username": "zhuanyuan1", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/tasks/"


def test_logout_ends_the_session(client, auth):
    auth.login()
    auth.logout()
    assert client.get("/tasks/").status_code == 302


def test_a_post_without_a_csrf_token_is_refused(client, auth):
    from .conftest import PASSWORD
    refused = client.post("/auth/login", data={"username": "zhuanyuan1", "password": PASSWORD})
    assert refused.status_code == 400
    assert "页面已过期" in refused.get_data(as_text=True)
    auth.login()
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/tasks/").status_code == 200  # still logged in


def test_session_cookie_is_http_only_and_same_site_lax(client, auth):
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # tests run on plain HTTP


def test_the_cookie_is_secure_outside_debug_and_tests(database_url):
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    app.extensions["gongjian"].close()


def test_english_is_available(client, auth):
    auth.login()
    client.get("/lang/en")
    page = client.get("/tasks/").get_data(as_text=True)
    assert "My tasks" in page and "我的待办" not in page
    client.get("/lang/zh_CN")
    assert "我的待办" in client.get("/tasks/").get_data(as_text=True)
