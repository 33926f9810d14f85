"""Journey 0 in a real browser: a county set up from `gongjian init` through the pages only,
then a permit request and an issue running on it.

`gongjian init` on a fresh database prints the first administrator's one-time password; the
administrator logs in with it, must change it, downloads the organisation template, fills it
(tests/county_setup.py), uploads a file with an error (the row, column and reason in Chinese,
nothing written), the good file (preview, confirm), the same file again (nothing to change);
manages an account on the pages (create, edit, reset the password, disable it with its task
handed on); downloads, fills, uploads and confirms the projects template; registers one
project on its page; sees the schedule with the next run of each entry. Then the office
window starts a permit request for an imported project and a township head registers an
issue: their first tasks reach the people of this county, by name. Every page answers below
500, in Chinese, without usernames or codes. Screenshots (desktop, and 390 px for some) go
to test-output/journey0/; the README's docs/screenshots/org-import.png, projects-import.png and
schedule.png are copies of its org-import-errors-top, projects-import-preview-top and schedule.

Uses Debian's chromium (never `playwright install`); skipped when it or Playwright is missing.
"""

from __future__ import annotations

import io
import re
import sys

import pytest
from openpyxl import load_workbook

from engine.core import organisation
from engine.ops import cli, demo
from webapp import create_app

from ..county_setup import (
    ACCOUNTS, ADMIN_PASSWORD, PASSWORD, PROJECTS, organisation_workbook, projects_workbook,
    unit_names,
)
from .browser import OUTPUT, chromium, needs_chromium, serve

pytestmark = needs_chromium

SHOTS = OUTPUT / "journey0"
NAMES = unit_names()
# Codes and keys that must never reach a page a non-administrator reads (usernames too).
CODES = sorted({a[0] for a in ACCOUNTS} | {"office_clerk"} | set(NAMES) - {"office", "zone"},
               key=len, reverse=True)

ENGLISH = re.compile(r"\b(prework|construction|reserve|enterprise|government|on_schedule|"
                     r"assigned|sub_commander|township_head|project_unit|approver|specialist|"
                     r"permit_approval|issue_lifecycle|None|null|undefined)\b")


class Walk:
    """The browser tab of one person and the rules checked on every page it shows."""

    def __init__(self, context, base: str):
        self.page = context.new_page()
        self.base = base
        self.failures: list[str] = []
        self.page.on("response", self._response)

    def _response(self, response) -> None:
        if response.status >= 500:
            self.failures.append(f"{response.status} {response.url}")

    def go(self, path: str) -> str:
        """Open a page and check it (the administration's pages show usernames, for logging in)."""
        self.page.goto(self.base + path)
        return self.check(admin_page=path.startswith(("/admin/accounts", "/admin/import")))

    def check(self, *, admin_page: bool = False) -> str:
        """The rules of JOURNEYS.md on the page shown; its visible text."""
        self.page.wait_for_load_state()
        assert not self.failures, self.failures
        text = self.page.inner_text("body")
        assert "Internal Server Error" not in text and "Traceback" not in text
        assert re.search(r"[\u4e00-\u9fff]", text), "the page is not in Chinese"
        if not admin_page:
            shown = [c for c in CODES if re.search(rf"(?<![\w.-]){re.escape(c)}(?![\w.-])", text)]
            assert not shown, f"codes or usernames on {self.page.url}: {shown}: {text}"
            assert not ENGLISH.search(text), \
                f"an English key on {self.page.url}: {ENGLISH.search(text)[0]}"
        return text

    def acting(self) -> str:
        """The instance page's 当前由谁办理 (who acts next)."""
        return self.page.locator("section, .card", has=self.page.locator(
            "h2", has_text="当前由谁办理")).last.inner_text()

    def shot(self, name: str, *, phone: bool = False, top: str | None = None) -> None:
        """The whole page as {name}.png; with `top` (a selector) one screen from that element
        down too ({name}-top.png, the README's); with `phone` the whole page 390 px wide
        ({name}-390.png)."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        if top:
            self.page.locator(top).first.evaluate("e => e.scrollIntoView()")
            self.page.screenshot(path=str(SHOTS / f"{name}-top.png"))
            self.page.evaluate("window.scrollTo(0, 0)")
        if phone:
            size = self.page.viewport_size
            self.page.set_viewport_size({"width": 390, "height": 844})
            width = self.page.evaluate("document.documentElement.scrollWidth")
            assert width <= 392, f"{name} is {width} px wide at 390"  # no sideways scrolling
            self.page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)
            self.page.set_viewport_size(size)

    def log_in(self, username: str, password: str) -> None:
        self.page.goto(f"{self.base}/auth/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()
        self.check(admin_page=True)

    def change_password(self, current: str, new: str) -> None:
        assert self.page.url.endswith("/auth/password")
        assert "一次性初始密码" in self.page.inner_text("main")
        self.page.fill("#current_password", current)
        self.page.fill("#new_password", new)
        self.page.fill("#confirm_password", new)
        self.page.click("button:has-text('修改密码')")
        self.page.wait_for_url(f"{self.base}/tasks/")
        self.check()

    def download(self, click: str, path) -> bytes:
        with self.page.expect_download() as download:
            self.page.click(click)
        download.value.save_as(path)
        return path.read_bytes()

    def upload(self, path_of_page: str, file, *, wait_for: str | None = None) -> str:
        self.go(path_of_page)
        self.page.set_input_files("#file", str(file))
        self.page.click("button:has-text('上传并预览')")
        if wait_for:
            self.page.wait_for_url(self.base + wait_for)
        return self.check(admin_page=True)

    def select(self, selector: str, name: str) -> str:
        """Choose in a picker the option whose name holds `name`, typing it in the picker's
        search box first when it has one; the option's label."""
        labels = [t.strip() for t in self.page.locator(f"{selector} option").all_inner_texts()]
        found = [t for t in labels if name in t]
        assert found, f"{name} is not offered in {selector}: {labels[:20]}"
        box = self.page.locator(f"input.picker-search[data-picker-for='{selector[1:]}']")
        if box.count() and box.first.is_visible():
            box.first.fill(name)
        option = self.page.locator(f"{selector} option", has_text=found[0]).first
        self.page.select_option(selector, value=option.get_attribute("value"))
        return found[0]


def _no_demo(monkeypatch) -> list[str]:
    """Every function of engine/ops/demo.py, and the organisation writes only it used, made to
    fail the test if called: the county comes from init, the templates and the pages alone."""
    called: list[str] = []

    def refuse(name):
        def call(*args, **kwargs):
            called.append(name)
            raise AssertionError(f"journey 0 used {name}")
        return call
    banned = {id(value): f"demo.{name}" for name, value in vars(demo).items()
              if callable(value) and getattr(value, "__module__", "") == demo.__name__}
    banned |= {id(getattr(organisation, n)): f"organisation.{n}" for n in ("add_unit", "add_user")}
    # wherever they were imported by name (engine.ops.cli's load_demo, …)
    for module in [m for n, m in sys.modules.items() if n.startswith(("engine", "webapp"))]:
        for name, value in list(vars(module).items()):
            if id(value) in banned:
                monkeypatch.setattr(module, name, refuse(banned[id(value)]))
    return called


@pytest.fixture
def fresh_install(database_url, monkeypatch, capsys):
    """`gongjian init` on a fresh database: the first administrator and the printed password.
    Nothing of the demo may run (`_no_demo`)."""
    called = _no_demo(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli.main(["init"]) == 0
    out = capsys.readouterr().out
    admin = re.search(r"administrator created: (\S+)", out)[1]
    password = re.search(r"one-time password \(shown once.*?\): (\S+)", out)[1]
    app = create_app({"TESTING": True, "SECRET_KEY": "journey0", "DATABASE_URL": database_url})
    yield app, admin, password
    app.extensions["gongjian"].close()
    assert not called, called


def _workbook_with(data: bytes, sheet: str, cell: str, value) -> bytes:
    book = load_workbook(io.BytesIO(data))
    book[sheet][cell] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_county_from_gongjian_init_through_the_pages_runs_a_permit_request_and_an_issue(
        fresh_install, tmp_path):
    app, admin_name, one_time = fresh_install
    platform = app.extensions["gongjian"]
    this_month = platform.clock.now().strftime("%Y-%m")
    with serve(app) as base, chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                      accept_downloads=True)
        admin = Walk(context, base)

        # 1. the printed one-time password, changed at the first login
        admin.log_in(admin_name, one_time)
        admin.change_password(one_time, ADMIN_PASSWORD)

        # 2. the organisation template: downloaded, filled, a bad file, the good one, again
        admin.go("/admin/units")
        admin.check(admin_page=True)
        admin.page.click(".subnav >> text=导入")
        template = admin.download("text=下载 Excel 模板", tmp_path / "org-template.xlsx")
        good = tmp_path / "组织机构与账户.xlsx"
        good.write_bytes(organisation_workbook(template))
        bad = tmp_path / "组织机构（有错）.xlsx"
        # row 30 of 账户 names a role the county does not have
        bad.write_bytes(_workbook_with(good.read_bytes(), "账户", "D30", "审批员"))
        admin.upload("/admin/import", bad, wait_for="/admin/import/*")
        errors = admin.page.locator("table.import-errors tbody tr")
        assert errors.count() == 1
        sheet, row, column, reason = errors.first.inner_text().split("\t")
        assert (sheet, row, column) == ("账户", "30", "角色")
        assert "没有“审批员”这个角色" in reason
        assert admin.page.locator("button:has-text('确认导入')").count() == 0
        admin.shot("org-import-errors", top="body")

        text = admin.upload("/admin/import", good, wait_for="/admin/import/*")
        rows = admin.page.locator("table.import-rows tbody tr")
        assert rows.count() == len(NAMES) + len(ACCOUNTS)
        assert "秦国栋（工业领域项目攻坚分指挥部）" in text  # the commander, by name
        assert admin.page.locator("table.import-errors").count() == 0
        admin.shot("org-import-preview", phone=True)
        admin.page.click("button:has-text('确认导入')")
        admin.page.wait_for_load_state()
        admin.check(admin_page=True)
        passwords = dict(zip(admin.page.locator("table tbody tr td:nth-child(2)").all_inner_texts(),
                             admin.page.locator("code.secret").all_inner_texts()))
        assert set(passwords) == {a[0] for a in ACCOUNTS}
        text = admin.upload("/admin/import", good, wait_for="/admin/import/*")
        assert "没有需要更改的" in text
        assert admin.page.locator("button:has-text('确认导入')").count() == 0
        admin.go("/admin/units")
        units = admin.check(admin_page=True)
        assert "指挥长：秦国栋" in units and "陵川县太行新能源有限公司" in units
        admin.shot("org-units", phone=True)

        # 3. an account managed on the pages: create, edit, reset the password
        admin.go("/admin/accounts/new")
        admin.page.fill("#username", "office_clerk")
        admin.page.fill("#display_name", "赵小丽")
        admin.select("#unit_code", "指挥部办公室")
        admin.page.check("input[name=roles][value=office]")
        admin.page.click("button:has-text('新建账户')")
        admin.page.wait_for_load_state()
        assert "已新建账户" in admin.check(admin_page=True)
        clerk_password = admin.page.inner_text("code.secret")
        admin.go("/admin/accounts/office_clerk")
        admin.page.fill("#display_name", "赵晓丽")
        admin.page.fill("#why", "更正姓名")
        admin.page.click("button:has-text('保存')")
        admin.page.wait_for_load_state()
        assert "账户已保存" in admin.check(admin_page=True)
        admin.page.once("dialog", lambda dialog: dialog.accept())
        admin.page.click("button:has-text('重置密码')")
        admin.page.wait_for_load_state()
        assert "密码已重置" in admin.check(admin_page=True)
        reset = admin.page.inner_text("code.secret")
        assert reset != clerk_password

        # 4. the projects template: downloaded, filled, uploaded, previewed, confirmed
        admin.go("/projects/import")
        template = admin.download("#template", tmp_path / "projects-template.xlsx")
        projects = tmp_path / "项目库.xlsx"
        projects.write_bytes(projects_workbook(template, this_month))
        text = admin.upload("/projects/import", projects)
        assert admin.page.locator("#import-errors").count() == 0
        assert admin.page.locator("#import-rows tbody tr.import-add").count() > len(PROJECTS)
        assert "100MW农光互补光伏电站（LC-2027-004）" in text
        admin.shot("projects-import-preview", phone=True, top="#preview")
        admin.page.click("#confirm-import")
        admin.page.wait_for_url(f"{base}/projects/")
        listed = admin.check()
        assert f"新增 {len(PROJECTS)} 个项目" in listed
        text = admin.upload("/projects/import", projects)
        assert admin.page.locator("#nothing-to-import").count() == 1

        # one project registered on its page
        admin.go("/projects/new")
        admin.page.fill("#code", "LC-2027-020")
        admin.page.fill("#name", "礼义镇农产品冷链仓储中心")
        admin.page.select_option("#stage", label="前期")
        admin.select("#sub_command", "现代服务业领域项目攻坚分指挥部")
        admin.select("#lead_department", "县商务局")
        admin.select("#township", "礼义镇")
        admin.select("#project_unit", "陵川县城市建设投资有限公司")
        admin.select("#specialist", "李娜（县行政审批服务管理局）")
        admin.page.select_option("#key_level", label="县重点工程")
        admin.page.select_option("#funding", label="企业投资")
        admin.page.fill("#planned_investment", "8600")
        admin.page.fill("input[name=schedule-0-month]", this_month)
        admin.page.fill("input[name=schedule-0-planned]", "300")
        admin.page.fill("input[name=schedule-0-milestone]", "完成可研批复")
        admin.page.click("form button.primary")
        admin.page.wait_for_load_state()
        registered = admin.check()
        assert "礼义镇农产品冷链仓储中心" in registered
        admin.shot("project-registered")
        # edited on its page, moved a stage with a reason: both in its audit trail, by name
        admin.page.click("text=编辑项目")
        admin.page.wait_for_load_state()
        admin.check()
        admin.page.fill("#planned_investment", "9200")
        admin.page.click("form button.primary")
        admin.page.wait_for_load_state()
        admin.check()
        admin.page.click("text=转阶段")
        admin.page.wait_for_load_state()
        admin.page.select_option("#stage", label="建设")
        admin.page.fill("#reason", "施工许可已取得，进场施工")
        admin.page.click("form button.primary")
        admin.page.wait_for_load_state()
        moved = admin.check()
        assert "前期 → 建设" in moved, moved[:600]
        admin.page.click("#audit-trail")
        admin.page.wait_for_load_state()
        trail = admin.check()
        assert "8600" in trail and "9200" in trail, trail[:1500]
        assert "施工许可已取得，进场施工" in trail
        admin.shot("project-audit-trail")

        # 5. the recurring work, scheduled by the system, with its next runs
        admin.go("/admin/schedule")
        schedule = admin.check()
        for title in ("月度", "三色牌", "羚羊奖", "调度"):
            assert title in schedule, title
        assert admin.page.locator("table.schedule tbody tr").count() >= 4
        assert all(re.search(r"\d{4}", cell) for cell in
                   admin.page.locator("table.schedule tbody tr td:nth-child(2)").all_inner_texts())
        # the weekly dispatch run now by hand: its result is shown beside its next run
        admin.page.once("dialog", lambda dialog: dialog.accept())
        admin.page.click("#entry-weekly_dispatch button:has-text('立即运行')")
        admin.page.wait_for_load_state()
        ran = admin.check()
        row = admin.page.inner_text("#entry-weekly_dispatch")
        assert "尚未运行" not in row and "系统管理员" in row, row
        admin.shot("schedule", phone=True)

        # the accounts of the file log in with their one-time passwords and set their own
        people = {}
        for username in ("office_window", "head_liyi", "unit_urban", "specialist2",
                         "approver_zrzy"):
            people[username] = Walk(browser.new_context(viewport={"width": 1280, "height": 900},
                                                        locale="zh-CN"), base)
            people[username].log_in(username, passwords[username])
            people[username].change_password(passwords[username], PASSWORD)
        clerk = Walk(browser.new_context(viewport={"width": 1280, "height": 900},
                                         locale="zh-CN"), base)
        clerk.log_in("office_clerk", reset)
        clerk.change_password(reset, PASSWORD)

        # 6. a permit request started by the office window for an imported project
        window = people["office_window"]
        window.go("/processes/")
        window.page.click("a[href='/processes/permit_approval/start']")
        window.page.wait_for_load_state()
        window.check()
        window.select("#project_code", "100MW农光互补光伏电站")
        window.page.click("form button.primary")
        window.page.wait_for_url(re.compile(r".*/processes/instances/\d+"))
        instance = window.check()
        assert "已发起" in instance and "受理申请（一口进）" in instance
        assert "100MW农光互补光伏电站" in instance, instance[:1500]
        next_up = window.acting()
        assert "受理申请（一口进）" in next_up and "指挥部办公室" in next_up, next_up
        window.shot("permit-started", phone=True)
        # the first step is the office's: the window and the new clerk see it to claim
        clerk.go("/tasks/group")
        assert "受理申请（一口进）" in clerk.check()
        clerk.page.click("text=受理申请（一口进）")
        clerk.page.wait_for_url(re.compile(r".*/tasks/[^/]+$"))
        task_url = clerk.page.url
        task = clerk.check()
        assert "100MW农光互补光伏电站" in task, task[:1500]
        clerk.page.click("button:has-text('认领')")
        clerk.page.wait_for_load_state()
        clerk.check()

        # 7. an issue registered by a township head, for the unit of a project
        head = people["head_liyi"]
        head.go("/processes/")
        head.page.click("a[href='/processes/issue_lifecycle/start']")
        head.page.wait_for_load_state()
        head.check()
        head.page.fill("#title", "农村公路施工占用礼义镇灌溉渠")
        head.select("#project_code", "农村公路提质改造工程")
        head.select("#scope", "主责单位可解决")
        head.select("#severity", "一般")
        head.select("#responsible_unit", "陵川县城市建设投资有限公司")
        head.select("#sub_command", "基础设施领域项目攻坚分指挥部")
        head.page.click("form button.primary")
        head.page.wait_for_url(re.compile(r".*/processes/instances/\d+"))
        issue = head.check()
        assert "已发起" in issue
        next_up = head.acting()
        assert "整改承诺" in next_up and "陵川县城市建设投资有限公司" in next_up
        head.shot("issue-registered", phone=True)
        unit = people["unit_urban"]
        unit.go("/tasks/group")
        queue = unit.check()
        assert "整改承诺" in queue, queue[:800]
        unit.page.click("text=整改承诺")
        unit.page.wait_for_url(re.compile(r".*/tasks/[^/]+$"))
        shown = unit.check()
        assert "农村公路施工占用礼义镇灌溉渠" in shown and "农村公路提质改造工程" in shown, shown[:1500]
        unit.shot("issue-task", phone=True)

        # 8. the clerk leaves: disabled, the task claimed goes to the window in the same step
        admin.go("/admin/accounts/office_clerk/disable")
        held = admin.check(admin_page=True)
        assert "受理申请（一口进）" in held
        admin.select("#reassign_to", "王晓燕")
        admin.page.fill("#why", "调离指挥部办公室")
        admin.page.click("button:has-text('停用并改派')")
        admin.page.wait_for_url(f"{base}/admin/accounts/office_clerk")
        assert "1 项待办已改派" in admin.check(admin_page=True)
        admin.shot("account-disabled")
        clerk.page.goto(base + "/tasks/")
        assert clerk.page.url.startswith(base + "/auth/login")  # its session ended
        clerk.page.fill("#username", "office_clerk")
        clerk.page.fill("#password", PASSWORD)
        clerk.page.click("button[type=submit]")
        clerk.page.wait_for_load_state()
        assert clerk.page.url.startswith(base + "/auth/login")  # and it cannot log in again
        assert "用户名或密码不正确" in clerk.page.inner_text("main")
        window.page.goto(task_url)
        mine = window.check()
        assert re.search(r"改派「受理申请（一口进）[^」]*→ 王晓燕（指挥部办公室）」", mine), mine[-800:]
        assert "办理人 王晓燕" in mine
        window.go("/tasks/")
        assert "受理申请（一口进）" in window.check()
        window.shot("permit-task-reassigned", phone=True)

        # 9. the approval chain on this county: the window receives the request (planning
        # only), a specialist files it, the approver of 自然资源局 gets it
        window.page.goto(task_url)
        window.page.check("#need_planning")
        window.page.fill("#receive_note", "要件齐全，先办规划许可")
        window.page.click("form button:has-text('提交')")
        window.page.wait_for_load_state()
        window.check()
        specialist = people["specialist2"]
        specialist.go("/tasks/group")
        specialist.page.click("text=代办申报")
        specialist.page.wait_for_url(re.compile(r".*/tasks/[^/]+$"))
        filing = specialist.check()
        assert "建设工程规划许可" in filing, filing[:1500]
        specialist.page.click("button:has-text('认领')")
        specialist.page.wait_for_load_state()
        specialist.page.fill("#filing_note", "已代办申报规划许可")
        specialist.page.click("form button:has-text('提交')")
        specialist.page.wait_for_load_state()
        specialist.check()
        approver = people["approver_zrzy"]
        approver.go("/tasks/group")
        queue = approver.check()
        assert "限时审批" in queue, queue[:600]
        approver.page.click("text=限时审批")
        approver.page.wait_for_url(re.compile(r".*/tasks/[^/]+$"))
        assert "建设工程规划许可" in approver.check()
        approver.shot("permit-approval-task", phone=True)
