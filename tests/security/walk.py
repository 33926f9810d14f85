"""The machinery behind the permissions table: a world of objects, one browser or API token
per role, and the outcome class of one request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.core import organisation
from engine.ops import tokens
from engine.core.models import HumanTask

from .conftest import ISSUE, PASSWORD, AuthActions, csrf_token_of, start_approval
from ..api.conftest import ADMIN

ROLES = ("anon", "specialist", "approver", "supervisor", "township", "designer", "admin",
         "other_unit")
# page users: the role → (username, unit, role granted)
PAGE_USERS = {
    "specialist": "zhuanyuan1", "approver": "shenpi1", "supervisor": "ducha1",
    "township": "zhen1", "designer": "sheji1", "admin": "admin1", "other_unit": "qita1",
}
TOKEN_ROLES = {
    "specialist": (("specialist",), "fgj"), "approver": (("approver",), "fgj"),
    "supervisor": (("supervisor",), "duban"), "township": (("township_head",), "t_magedang"),
    "designer": (("designer",), "fgj"), "admin": (("admin",), None),
    "other_unit": (("specialist",), "sc_culture"),
}


@dataclass
class World:
    """The objects the table's URLs point at (made by the specialist of fgj)."""

    task_id: str
    instance_id: int
    issue_id: int
    key: str = "approval"
    version: int = 1
    project: str = ISSUE["project_code"]
    notification_id: int = 1
    token_id: int = 1
    webhook_id: int = 1
    job_id: str = "no-such-job"
    name: str = "no_such_message"
    kind: str = "task"
    code: str = "zh_CN"
    filename: str = "style.css"

    def fill(self, rule: str) -> str:
        """The rule's URL with the world's ids in it."""
        url = rule
        if rule.startswith("/supervision/issues/"):
            url = url.replace("<int:instance_id>", str(self.issue_id))
        for arg, value in {
            "<task_id>": self.task_id, "<int:instance_id>": self.instance_id,
            "<int:issue_id>": self.issue_id, "<key>": self.key, "<int:version>": self.version,
            "<code>": self.project, "<int:notification_id>": self.notification_id,
            "<int:token_id>": self.token_id, "<int:subscription_id>": self.webhook_id,
            "<job_id>": self.job_id, "<name>": self.name, "<kind>": self.kind,
            "<ref>": str(self.instance_id), "<path:filename>": self.filename,
        }.items():
            url = url.replace(arg, str(value))
        if url.startswith("/lang/"):
            url = "/lang/zh_CN"
        return url


def make_world(app, platform, client, make_token) -> World:
    """An approval instance with an open task, and a registered issue."""
    with platform.uow() as uow:
        organisation.add_user(uow.session, "qita1", "其他单位专员", PASSWORD, unit="sc_culture",
                              roles=["specialist"], now=uow.clock.now())
        uow.session.commit()
    instance = start_approval(platform)
    with platform.uow() as uow:
        task = uow.session.execute(select(HumanTask).where(
            HumanTask.instance_id == instance.id if hasattr(instance, "id") else True)
        ).scalars().first()
        task_id = task.id
        instance_id = task.instance_id
    issue = client.post("/api/v1/issues", headers=make_token(("supervisor",), "duban", "sup-w"),
                        json=ISSUE)
    assert issue.status_code == 201, issue.get_json()
    return World(task_id=task_id, instance_id=instance_id, issue_id=issue.get_json()["id"])


class Callers:
    """One logged-in browser and one API token per role, made on first use."""

    def __init__(self, app, make_token):
        self.app, self.make_token = app, make_token
        self._browsers, self._tokens = {}, {}

    def browser(self, role: str):
        if role not in self._browsers:
            browser = self.app.test_client()
            if role != "anon":
                response = AuthActions(browser).login(PAGE_USERS[role], PASSWORD)
                assert response.status_code == 302, role
            self._browsers[role] = browser
        return self._browsers[role]

    def token(self, role: str) -> dict:
        if role == "anon":
            return {}
        if role not in self._tokens:
            roles, unit = TOKEN_ROLES[role]
            self._tokens[role] = self.make_token(roles, unit, name=f"walk-{role}")
        return self._tokens[role]

    def call(self, role: str, method: str, url: str):
        """The response to one request by the role (API: its token; pages: its session)."""
        if url.startswith("/api/"):
            return self.browser("anon").open(url, method=method, headers=self.token(role),
                                             json={} if method in ("POST", "DELETE") else None)
        browser = self.browser(role)
        if role != "anon" and browser.get("/auth/password").status_code != 200:
            self._browsers.pop(role)  # a logout of an earlier row ended the session
            browser = self.browser(role)
        data = None
        if method in ("POST", "DELETE"):
            page = browser.get("/auth/login" if role == "anon" else "/auth/password")
            data = {"csrf_token": csrf_token_of(page.get_data(as_text=True))}
        return browser.open(url, method=method, data=data)


def outcome(response) -> str:
    """`ok` (served), `bad` (let in, refused on data or state), `login`, or `deny` (403/404)."""
    status = response.status_code
    location = response.headers.get("Location", "")
    response.close()
    if status == 401 or (status == 302 and location.startswith("/auth/login")):
        return "login"
    if status in (403, 404):
        return "deny"
    if status == 429:
        return "throttled"
    if status < 400:
        return "ok"
    if status in (400, 405, 409, 412, 415, 422, 428):
        return "bad"
    return f"error {status}"
