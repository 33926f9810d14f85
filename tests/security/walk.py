"""The machinery behind the permissions table: a world of objects, one browser or API token
per role, and the outcome class of one request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.ops.channels import MessageChannel
from engine.core import attachments, organisation
from engine.core.models import HumanTask
from engine.county.projects import add_project

from .conftest import ISSUE, PASSWORD, AuthActions, csrf_token_of, start_approval
from ..api.conftest import ADMIN

ROLES = ("anon", "specialist", "approver", "supervisor", "township", "designer", "admin",
         "other_unit", "company", "sub_commander")
# page users: the role → username (tests/api/conftest.py USERS, and EXTRA_USERS below)
PAGE_USERS = {
    "specialist": "zhuanyuan1", "approver": "shenpi1", "supervisor": "ducha1",
    "township": "zhen1", "designer": "sheji1", "admin": "admin1", "other_unit": "qita1",
    "company": "qiye1", "sub_commander": "fenzhi1",
}
TOKEN_ROLES = {
    "specialist": (("specialist",), "fgj"), "approver": (("approver",), "fgj"),
    "supervisor": (("supervisor",), "duban"), "township": (("township_head",), "t_magedang"),
    "designer": (("designer",), "fgj"), "admin": (("admin",), None),
    "other_unit": (("specialist",), "sc_culture"),
    "company": (("project_unit",), "co_culture"),
    "sub_commander": (("sub_commander",), "sc_culture"),
}
# The units and accounts the walk adds to the API tests' (fgj, duban, t_magedang, sc_culture).
EXTRA_UNITS = [("sc_industry", "工业分指挥部", "sub_command"), ("wlj", "县文旅局", "department"),
               ("gxj", "县工信局", "department"), ("t_fucheng", "附城镇", "township"),
               ("co_culture", "示例文旅开发公司", "company"),
               ("co_other", "示例新材料公司", "company")]
EXTRA_USERS = {
    # username: (display name, unit, roles)
    "qita1": ("其他单位专员", "sc_culture", ["specialist"]),
    "qiye1": ("项目单位（示例文旅开发公司）", "co_culture", ["project_unit"]),
    "fenzhi1": ("分指挥长（文旅康养）", "sc_culture", ["sub_commander"]),
}
# The projects of the world, one row each, on the battle map (key or government-invested):
# the issue's project is the company's (co_culture), led by fgj, on the township's ground;
# the second is in the same field, served by the specialist zhuanyuan1, of another company;
# the third is of another field and other units altogether.
PROJECTS = [
    dict(code=ISSUE["project_code"], name="马家庄光伏", sub_command="sc_culture",
         stage="construction", township="t_magedang", lead_department="fgj",
         project_unit="co_culture", specialist=None, key_level="county"),
    dict(code="XM-2026-007", name="文旅小镇", sub_command="sc_culture", stage="prework",
         township="t_fucheng", lead_department="wlj", project_unit="co_other",
         specialist="zhuanyuan1", funding="government"),
    dict(code="XM-2026-008", name="新材料产业园", sub_command="sc_industry", stage="construction",
         township="t_fucheng", lead_department="gxj", project_unit="co_other", specialist=None,
         key_level="city"),
]


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
    username: str = "zhuanyuan2"  # an account no role of the walk logs in as
    unit_code: str = "wlj"
    batch_id: str = "no-such-preview"
    incident: int = 1  # an audit event's number that is no incident: refused at the note first
    channel_id: int = 1  # the specialist's DingTalk robot
    attachment_id: str = "no-such-attachment"  # a PDF bound to the instance

    def fill(self, rule: str, project: str | None = None) -> str:
        """The rule's URL with the world's ids in it (`project`: the project code, when not
        the issue's)."""
        url = rule
        if rule.startswith("/supervision/issues/"):
            url = url.replace("<int:instance_id>", str(self.issue_id))
        for arg, value in {
            "<task_id>": self.task_id, "<int:instance_id>": self.instance_id,
            "<int:issue_id>": self.issue_id, "<key>": self.key, "<int:version>": self.version,
            "<code>": project or self.project, "<int:notification_id>": self.notification_id,
            "<int:token_id>": self.token_id, "<int:subscription_id>": self.webhook_id,
            "<job_id>": self.job_id, "<name>": self.name, "<kind>": self.kind,
            "<ref>": str(self.instance_id), "<path:filename>": self.filename,
            "<username>": self.username, "<unit_code>": self.unit_code,
            "<any(suspend, resume, cancel):action>": "suspend", "<batch_id>": self.batch_id,
            "<int:request_id>": 999999, "<int:number>": self.incident,
            "<batch_id>": self.batch_id, "<int:channel_id>": self.channel_id,
            "<attachment_id>": self.attachment_id,
        }.items():
            url = url.replace(arg, str(value))
        if url.startswith("/lang/"):
            url = "/lang/zh_CN"
        return url


def add_county(platform) -> None:
    """The walk's units, accounts and projects (EXTRA_UNITS, EXTRA_USERS, PROJECTS)."""
    with platform.uow() as uow:
        for code, name, kind in EXTRA_UNITS:
            organisation.add_unit(uow.session, code, name, kind)
        uow.session.flush()
        for username, (display, unit, roles) in EXTRA_USERS.items():
            organisation.add_user(uow.session, username, display, PASSWORD, unit=unit,
                                  roles=roles, now=uow.clock.now())
        uow.session.flush()
        for project in PROJECTS:
            add_project(uow.session, **project)
        uow.session.commit()


def make_world(app, platform, client, make_token) -> World:
    """The walk's county (`add_county`), an approval instance with an open task, and a
    registered issue."""
    add_county(platform)
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
    with platform.uow() as uow:
        channel = MessageChannel(username="zhuanyuan1", kind="dingtalk", secret=None,
                                 target="https://1.1.1.1/robot/send?access_token=walk",
                                 kinds=["assigned"], active=True, created_at=uow.clock.now())
        uow.session.add(channel)
        uow.session.commit()
        channel_id = channel.id
    with platform.uow() as uow:  # a file the specialist attached to the instance
        attached = attachments.store(uow, "zhuanyuan1", "材料.pdf", b"%PDF-1.4\n%%EOF\n")
        attachments.bind(uow, "zhuanyuan1", [attached.id], instance_id=instance_id,
                         task_id=None, field="papers")
        uow.commit()
    return World(task_id=task_id, instance_id=instance_id, issue_id=issue.get_json()["id"],
                 channel_id=channel_id, attachment_id=attached.id)


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
