"""Walk the permissions table: every route of the app, every role, one world of objects."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine.core import organisation
from engine.core.identity import Actor
from engine.core.models import HumanTask, ProcessInstance
from engine.ops import administration

from .permissions import IN_THE_API, ON_THE_MAP, ROLES, TABLE
from .walk import ROLES as WALK_ROLES
from .conftest import PASSWORD, AuthActions, csrf_token_of
from .walk import PAGE_USERS, Callers, make_world, outcome


def _routes(app) -> list[tuple[str, str, str]]:
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    return [(rule.endpoint, method, rule.rule) for rule in rules
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def _rows(endpoint: str, method: str) -> list[tuple[str | None, tuple[str, ...]]]:
    """The table's rows of one route: (project code or None, the outcome per role)."""
    return [(key[2] if len(key) == 3 else None, cells) for key, cells in TABLE.items()
            if key[:2] == (endpoint, method)]


def test_every_route_of_the_app_has_a_row_and_every_row_a_route(app):
    routes = {(endpoint, method) for endpoint, method, _ in _routes(app)}
    rows = {key[:2] for key in TABLE}
    assert routes - rows == set(), "add these routes to tests/security/permissions.py"
    assert rows - routes == set(), "these rows name routes that no longer exist"
    assert ROLES == WALK_ROLES
    assert all(len(cells) == len(ROLES) for cells in TABLE.values())


def test_every_role_gets_what_the_table_says_on_every_route(app, platform, client, make_token):
    world = make_world(app, platform, client, make_token)
    callers = Callers(app, make_token)
    routes = _routes(app)
    wrong = []
    for get_pass in (True, False):
        for endpoint, method, rule in routes:
            if (method == "GET") != get_pass:
                continue
            for project, cells in _rows(endpoint, method):
                url = world.fill(rule, project)
                for role, expected in zip(ROLES, cells):
                    got = outcome(callers.call(role, method, url))
                    if got != expected:
                        wrong.append(f"{method} {url} as {role}: expected {expected}, got {got}")
    assert wrong == []


def _codes(text: str, prefix: str) -> set[str]:
    return set(re.findall(re.escape(prefix) + r"(XM-[0-9-]+)", text))


def test_each_role_finds_on_the_battle_map_and_in_the_api_the_projects_of_its_scope(
        app, platform, client, make_token):
    make_world(app, platform, client, make_token)
    callers = Callers(app, make_token)
    on_the_map, in_the_api = {}, {}
    for role in ROLES[1:]:
        page = callers.call(role, "GET", "/board/")
        assert page.status_code == 200, role
        on_the_map[role] = _codes(page.get_data(as_text=True), "/board/project/")
        listed = callers.call(role, "GET", "/api/v1/projects?limit=100")
        in_the_api[role] = {p["code"] for p in listed.get_json()["items"]}
    assert on_the_map == ON_THE_MAP
    assert in_the_api == IN_THE_API


def test_no_page_or_api_view_is_served_to_an_anonymous_caller_unless_public(app):
    public = {"index", "api-docs.openapi_swagger_ui", "api-docs.openapi_json", "auth.login",
              "set_language", "static", "favicon"}
    for (endpoint, method, *_project), cells in TABLE.items():
        if endpoint not in public:
            assert cells[0] in ("login", "throttled"), (endpoint, method)


ID_ROUTES = [
    ("/processes/instances/{}", "instance"), ("/api/v1/instances/{}", "instance"),
    ("/tasks/{}", "task"), ("/api/v1/tasks/{}", "task"), ("/tasks/{}/diagram.xml", "task"),
    ("/supervision/issues/{}", "issue"), ("/api/v1/issues/{}", "issue"),
]


@pytest.mark.parametrize("template, kind", ID_ROUTES)
def test_guessing_ids_reveals_nothing_an_existing_object_looks_like_a_missing_one(
        app, platform, client, make_token, template, kind):
    world = make_world(app, platform, client, make_token)
    callers = Callers(app, make_token)
    with platform.uow() as uow:
        top = uow.session.scalar(select(func.max(ProcessInstance.id)))
    existing = {"instance": world.instance_id, "issue": world.issue_id, "task": world.task_id}[kind]
    missing = {"task": "00000000-0000-0000-0000-000000000000"}.get(kind, top + 1000)
    for role in ("approver", "township", "designer"):
        seen = callers.call(role, "GET", template.format(existing))
        if outcome(seen) == "ok":
            continue  # this role may see it (see the table)
        gone = callers.call(role, "GET", template.format(missing))
        assert (seen.status_code, outcome(seen)) == (gone.status_code, outcome(gone)), (
            f"{template} as {role}: an existing object answers {seen.status_code}, "
            f"a missing one {gone.status_code}")


def test_task_ids_are_not_guessable(app, platform, client, make_token):
    world = make_world(app, platform, client, make_token)
    with platform.uow() as uow:
        ids = list(uow.session.execute(select(HumanTask.id)).scalars())
    assert ids and all(len(i) == 36 and i.count("-") == 4 for i in ids), world


def _get_routes(app) -> list[tuple[str, str]]:
    return [(endpoint, rule) for endpoint, method, rule in _routes(app) if method == "GET"]


def _as_anonymous(world, callers, app) -> dict[str, str]:
    """What an anonymous caller gets on every GET route: the outcome a dead session must get."""
    return {rule: outcome(callers.call("anon", "GET", world.fill(rule, None)))
            for _, rule in _get_routes(app)}


def test_a_disabled_accounts_session_and_the_tokens_it_issued_get_nothing_on_any_route(
        app, platform, client, make_token):
    world = make_world(app, platform, client, make_token)
    callers = Callers(app, make_token)
    session = callers.browser("supervisor")
    tokens = {role: callers.token(role) for role in ("specialist", "supervisor", "admin")}
    assert session.get("/supervision/").status_code == 200
    assert client.get("/api/v1/tasks", headers=tokens["admin"]).status_code == 200
    with platform.uow() as uow:  # another administrator disables both accounts
        organisation.add_user(uow.session, "admin9", "备用管理员", "Another-Admin-2026",
                              unit=None, roles=["admin"], now=uow.clock.now())
        uow.commit()
    for username in (PAGE_USERS["supervisor"], "admin1"):
        with platform.uow() as uow:
            administration.disable_account(uow, Actor.of("admin9", "admin"), username, "离职",
                                           reassign_to="admin9")
    anonymous = _as_anonymous(world, callers, app)
    wrong = []
    for _, rule in _get_routes(app):
        url = world.fill(rule, None)
        if rule.startswith("/api/"):
            for role, header in tokens.items():
                got = outcome(client.get(url, headers=header))
                if got != anonymous[rule]:
                    wrong.append(f"{url} with the {role} token: {got}")
        else:
            got = outcome(session.get(url))
            if got != anonymous[rule]:
                wrong.append(f"{url} in the disabled account's session: {got}")
    assert wrong == []


def test_a_password_change_ends_the_accounts_other_sessions_on_every_route(
        app, platform, client, make_token):
    world = make_world(app, platform, client, make_token)
    callers = Callers(app, make_token)
    here, elsewhere = app.test_client(), app.test_client()
    for browser in (here, elsewhere):
        assert AuthActions(browser).login(PAGE_USERS["approver"], PASSWORD).status_code == 302
    page = here.get("/auth/password").get_data(as_text=True)
    changed = here.post("/auth/password", data={
        "csrf_token": csrf_token_of(page), "current_password": PASSWORD,
        "new_password": "A-new-password-2026", "confirm_password": "A-new-password-2026"})
    assert changed.status_code == 302
    assert here.get("/tasks/").status_code == 200  # the session that changed it goes on
    anonymous = _as_anonymous(world, callers, app)
    wrong = [f"{rule}: {got}" for _, rule in _get_routes(app) if not rule.startswith("/api/")
             for got in [outcome(elsewhere.get(world.fill(rule, None)))]
             if got != anonymous[rule]]
    assert wrong == []
