"""Accounts: password rules, login throttling, session expiry, logout everywhere, headers.

Throttling is per account and client address (5 failures lock that account from that
address), per account from anywhere (50) and per address for any names (20): a stranger
who knows a name can no longer lock its owner out (issue 22, finding 8).
"""

from __future__ import annotations

import pytest

from engine.core import organisation

from .conftest import PASSWORD, AuthActions, csrf_token_of, login_as

NEW_PASSWORD = "xinmima-Lingchuan-7"


# ---------------------------------------------------------------- password rules

@pytest.mark.parametrize("password, problem", [
    ("short-9ch", "至少需要 10 个字符"),
    ("zhuanyuan1", "不能与用户名相同"),
    ("ZhuanYuan1", "不能与用户名相同"),
    ("1234567890", "过于常见"),
    ("password123", "过于常见"),
    ("aaaaaaaaaaaa", "过于常见"),
])
def test_a_weak_password_is_named_for_what_is_wrong(password, problem):
    assert any(problem in p for p in organisation.password_problems(password, "zhuanyuan1"))


def test_a_good_password_has_no_problems():
    assert organisation.password_problems(NEW_PASSWORD, "zhuanyuan1") == []


def _change(browser, current, new, confirm=None):
    token = csrf_token_of(browser.get("/auth/password").get_data(as_text=True))
    return browser.post("/auth/password", data={
        "csrf_token": token, "current_password": current, "new_password": new,
        "confirm_password": new if confirm is None else confirm})


def test_the_change_password_page_refuses_weak_passwords_and_keeps_the_old_one(app):
    browser = login_as(app, "zhuanyuan1")
    refused = _change(browser, PASSWORD, "1234567890")
    assert refused.status_code == 400 and "过于常见" in refused.get_data(as_text=True)
    assert _change(browser, "wrong-current-pw", NEW_PASSWORD).status_code == 400
    assert _change(browser, PASSWORD, NEW_PASSWORD, "other-Password-9").status_code == 400
    assert AuthActions(app.test_client()).login("zhuanyuan1", PASSWORD).status_code == 302


def test_changing_the_password_ends_other_sessions_but_not_this_one(app):
    here, elsewhere = login_as(app, "zhuanyuan1"), login_as(app, "zhuanyuan1")
    assert _change(here, PASSWORD, NEW_PASSWORD).status_code == 302
    assert here.get("/tasks/").status_code == 200
    assert elsewhere.get("/tasks/").status_code == 302
    assert AuthActions(app.test_client()).login("zhuanyuan1", PASSWORD).status_code == 401
    assert AuthActions(app.test_client()).login("zhuanyuan1", NEW_PASSWORD).status_code == 302


def test_log_out_everywhere_ends_every_session_of_the_account_only(app):
    one, two, other = (login_as(app, "zhuanyuan1"), login_as(app, "zhuanyuan1"),
                       login_as(app, "shenpi1"))
    token = csrf_token_of(one.get("/auth/password").get_data(as_text=True))
    assert one.post("/auth/logout-everywhere", data={"csrf_token": token}).status_code == 302
    assert one.get("/tasks/").status_code == 302
    assert two.get("/tasks/").status_code == 302
    assert other.get("/tasks/").status_code == 200


def test_an_old_session_cookie_replayed_after_logout_everywhere_is_refused(app):
    browser = login_as(app, "zhuanyuan1")
    cookie = browser.get_cookie("session").value
    token = csrf_token_of(browser.get("/tasks/").get_data(as_text=True))
    browser.post("/auth/logout-everywhere", data={"csrf_token": token})
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/tasks/").status_code == 302


# ---------------------------------------------------------------- throttling

def _fail(app, username, times, address="10.0.0.1"):
    browser = app.test_client()
    statuses = []
    for _ in range(times):
        token = csrf_token_of(browser.get("/auth/login").get_data(as_text=True))
        statuses.append(browser.post("/auth/login", data={
            "username": username, "password": "wrong-password", "csrf_token": token},
            environ_base={"REMOTE_ADDR": address}).status_code)
    return statuses


def _login(app, username, password=PASSWORD, address="10.0.0.1"):
    browser = app.test_client()
    token = csrf_token_of(browser.get("/auth/login").get_data(as_text=True))
    return browser.post("/auth/login", data={
        "username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address})


def test_five_failures_from_one_address_lock_the_account_there_even_for_the_right_password(
        app, clock):
    assert _fail(app, "zhuanyuan1", 5) == [401, 401, 401, 401, 429]
    locked = _login(app, "zhuanyuan1")
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.get_data(as_text=True)
    assert _login(app, "shenpi1").status_code == 302  # other accounts are unaffected
    clock.advance(minutes=16)
    assert _login(app, "zhuanyuan1").status_code == 302


def test_a_stranger_failing_five_times_does_not_lock_the_owner_out(app):
    assert _fail(app, "zhuanyuan1", 6, address="203.0.113.66") == [401] * 4 + [429] * 2
    assert _login(app, "zhuanyuan1", address="203.0.113.66").status_code == 429
    assert _login(app, "zhuanyuan1", address="10.0.0.1").status_code == 302  # the owner


def _fail_through_proxy(app, username, times, forwarded_for, peer="127.0.0.1"):
    browser = app.test_client()
    statuses = []
    for _ in range(times):
        token = csrf_token_of(browser.get("/auth/login").get_data(as_text=True))
        statuses.append(browser.post("/auth/login", data={
            "username": username, "password": "wrong-password", "csrf_token": token},
            headers={"X-Forwarded-For": forwarded_for},
            environ_base={"REMOTE_ADDR": peer}).status_code)
    return statuses


def test_behind_the_local_proxy_the_browsers_address_is_the_one_throttled(app):
    """deploy/ puts nginx in front: every request comes from 127.0.0.1, so the address
    counted is the one nginx forwards, else a stranger would lock out every user of the name."""
    assert _fail_through_proxy(app, "zhuanyuan1", 5, "203.0.113.66")[-1] == 429
    owner = app.test_client()
    token = csrf_token_of(owner.get("/auth/login").get_data(as_text=True))
    assert owner.post("/auth/login", data={
        "username": "zhuanyuan1", "password": PASSWORD, "csrf_token": token},
        headers={"X-Forwarded-For": "10.0.0.1"}).status_code == 302


def test_a_forwarded_address_from_a_peer_that_is_no_proxy_is_ignored(app):
    # an attacker cannot dodge the limit of their own address by naming another one
    statuses = [_fail_through_proxy(app, "zhuanyuan1", 1, f"10.0.0.{i}", peer="203.0.113.66")[0]
                for i in range(5)]
    assert statuses == [401] * 4 + [429]


def test_failures_spread_over_many_addresses_still_lock_the_account_everywhere(app, clock):
    limit = organisation.ACCOUNT_FAILURES
    per_address = organisation.PAIR_FAILURES - 1
    for i in range(limit // per_address):
        assert _fail(app, "zhuanyuan1", per_address, address=f"198.51.100.{i}") == [401] * 4
    statuses = _fail(app, "zhuanyuan1", limit % per_address + 1, address="198.51.100.200")
    assert statuses[-1] == 429  # the 50th failure
    assert _login(app, "zhuanyuan1", address="10.0.0.1").status_code == 429
    clock.advance(minutes=16)
    assert _login(app, "zhuanyuan1", address="10.0.0.1").status_code == 302


def test_parallel_wrong_passwords_are_each_counted_and_none_fails(app, platform):
    """Each failure is one atomic insert-or-update in a transaction that takes the write lock
    first: no count is lost and no request gets 503 for a busy database."""
    import threading
    callers = 12
    browsers = [app.test_client() for _ in range(callers)]
    tokens = [csrf_token_of(b.get("/auth/login").get_data(as_text=True)) for b in browsers]
    start, statuses = threading.Barrier(callers), [None] * callers

    def fail(i):
        start.wait()
        statuses[i] = browsers[i].post("/auth/login", data={
            "username": "zhuanyuan1", "password": "wrong-password", "csrf_token": tokens[i]},
            environ_base={"REMOTE_ADDR": f"192.0.2.{i}"}).status_code

    threads = [threading.Thread(target=fail, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [401] * callers
    with platform.uow() as uow:
        row = uow.session.get(organisation.LoginThrottle, "user:zhuanyuan1")
        assert row.failures == callers


def test_an_unknown_username_locks_the_same_way_so_names_cannot_be_probed(app):
    known, unknown = _fail(app, "zhuanyuan1", 6), _fail(app, "nobody-here", 6, "10.0.0.9")
    assert known == unknown == [401, 401, 401, 401, 429, 429]


def test_many_failures_from_one_address_lock_that_address(app):
    for i in range(4):
        _fail(app, f"guess{i}", 4, address="10.9.9.9")
    _fail(app, "guess-last", 4, address="10.9.9.9")  # the 20th failure
    assert _login(app, "zhuanyuan1", address="10.9.9.9").status_code == 429
    assert _login(app, "zhuanyuan1", address="10.1.1.1").status_code == 302


def test_the_count_is_kept_in_the_database_so_it_holds_across_processes(app, platform):
    _fail(app, "zhuanyuan1", 3)
    with platform.uow() as uow:
        row = uow.session.get(organisation.LoginThrottle, "user:zhuanyuan1")
        assert row.failures == 3
    # a second app (another process) on the same database sees the same count
    from webapp import create_app
    other = create_app({"TESTING": True, "SECRET_KEY": "test",
                        "DATABASE_URL": app.config["DATABASE_URL"], "CLOCK": app.config["CLOCK"]})
    assert _fail(other, "zhuanyuan1", 2) == [401, 429]
    other.extensions["gongjian"].close()


def test_a_success_resets_the_usernames_count(app):
    _fail(app, "zhuanyuan1", 4)
    assert _login(app, "zhuanyuan1").status_code == 302
    assert _fail(app, "zhuanyuan1", 4) == [401] * 4


# ---------------------------------------------------------------- session expiry

def test_an_idle_session_expires(app, clock):
    browser = login_as(app, "zhuanyuan1")
    clock.advance(minutes=29)
    assert browser.get("/tasks/").status_code == 200
    clock.advance(minutes=29)
    assert browser.get("/tasks/").status_code == 200  # activity keeps it alive
    clock.advance(minutes=31)
    assert browser.get("/tasks/").status_code == 302
    assert "登录已超时" in browser.get("/auth/login").get_data(as_text=True)


def test_a_busy_session_still_ends_after_the_absolute_limit(app, clock):
    browser = login_as(app, "zhuanyuan1")
    for _ in range(21):  # 10.5 hours of activity, every half hour less a minute
        clock.advance(minutes=29)
        browser.get("/tasks/")
    assert browser.get("/tasks/").status_code == 302


def test_a_session_cookie_without_timestamps_is_not_trusted(app):
    browser = app.test_client()
    with browser.session_transaction() as sess:
        sess["username"] = "zhuanyuan1"
        sess["generation"] = 0
    assert browser.get("/tasks/").status_code == 302


# ---------------------------------------------------------------- headers

PAGES = ["/auth/login", "/api/docs", "/api/v1/openapi.json", "/static/style.css", "/nowhere"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    headers = response.headers
    response.close()
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-inline' " not in csp.split(
        "style-src-attr")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain HTTP in tests


def test_signed_in_pages_carry_the_headers_and_are_not_cached(app):
    browser = login_as(app, "zhuanyuan1")
    response = browser.get("/tasks/")
    assert "Content-Security-Policy" in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_hsts_is_sent_when_cookies_are_secure(app):
    app.config["SESSION_COOKIE_SECURE"] = True
    assert "max-age=" in app.test_client().get("/auth/login").headers["Strict-Transport-Security"]


def test_no_page_has_an_inline_script_or_handler_without_the_nonce(app):
    import re
    from pathlib import Path
    templates = Path(app.root_path) / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"\son[a-z]+=\"", text), f"{path}: inline event handler"
        assert "javascript:" not in text, path
        for tag in re.findall(r"<(?:script|style)\b[^>]*>", text):
            assert "src=" in tag or "nonce=" in tag, f"{path}: {tag} without src or nonce"


def test_the_api_docs_start_up_script_carries_the_nonce_of_its_response(client):
    import re
    response = client.get("/api/docs")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])[1]
    assert f'<script nonce="{nonce}">' in response.get_data(as_text=True)


def test_each_response_gets_a_fresh_nonce(client):
    first = client.get("/auth/login").headers["Content-Security-Policy"]
    assert first != client.get("/auth/login").headers["Content-Security-Policy"]


def test_a_background_request_leaves_the_session_cookie_alone(app, clock):
    """The task page fetches its diagram while the browser may already be sending the form:
    the fetch's answer must not carry an older cookie that drops the flash just stored."""
    browser = login_as(app, "zhuanyuan1")
    browser.get("/tasks/")  # the page after logging in shows (and so takes) its message
    clock.advance(minutes=5)
    fetch = browser.get("/tasks/", headers={"Sec-Fetch-Mode": "cors"})
    assert fetch.status_code == 200 and "Set-Cookie" not in fetch.headers
    visit = browser.get("/tasks/", headers={"Sec-Fetch-Mode": "navigate"})
    assert "Set-Cookie" in visit.headers  # a visit moves the idle clock on
    clock.advance(minutes=29)
    assert browser.get("/tasks/", headers={"Sec-Fetch-Mode": "cors"}).status_code == 200
    clock.advance(minutes=2)  # 31 minutes after the last visit, fetches or not
    assert browser.get("/tasks/").status_code == 302
