"""A clean county for journey tests, set up as journey 0 says: through the pages and imports only.

Never `engine/ops/demo.py`, never a write to the database: `init_county` (the engine function
behind `gongjian init`, the install step) makes the schema, the definitions, the schedule and
the first administrator; everything else goes through the app's pages as an administrator would
do it — log in with the one-time password, change it, download the organisation template, fill
it (`organisation_workbook`), upload it, confirm the preview, download the projects template,
fill it (`projects_workbook`), upload, confirm — and each new account logs in once with the
one-time password the import showed and sets `County.PASSWORD` on the change-password page.

The county (Lingchuan-like, people with invented Chinese names): headquarters, its office,
five working groups, the seven sub-commands with commander and deputy, twelve departments
(the permit approvers of 发改局, 自然资源局, 生态环境分局, 住建局, 行政审批局 among them),
seven townships, the demonstration zone, five project companies; 13 projects in every stage
(储备 with its class and track, 谋划, 前期, 建设, 竣工, 投产) with monthly schedules around the
test clock's month. `ACCOUNTS` lists who is who; `County.by_role` finds them.

How to use it:

- In a pytest test, the `county` fixture (import it into the test module:
  `from tests.county_setup import county  # noqa: F401`) gives a `County` on a fresh database
  with its own Flask app on the test clock (`county.app`, `county.platform`, `county.clock`):
  `county.client("office_window")` is a test client logged in as that account,
  `county.label("office_window")` is how pages show the person (王晓燕（指挥部办公室）),
  `county.password` logs in every account but the administrator (`county.admin_password`).
  The county is built through the pages once per test session (about 20 s: every account's
  first login and password change costs three scrypt hashes) and each test gets a copy: of
  the database file on SQLite (a few ms), of every table's rows on PostgreSQL
  (TEST_DATABASE_URL; under a second). The test clock must be at its start (2026-12-01
  09:00) when the fixture runs. Use `county.platform`, not the `platform` fixture, to look
  into the engine.
- Anywhere else: `set_up_county(app.test_client())`, or `set_up_county(base_url,
  platform=…)` against a served app (requests); either returns the `County` data. A browser
  test serves `county.app` with tests/e2e/browser.py `serve`.
"""

from __future__ import annotations

import html
import io
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from engine.core.clock import FrozenClock
from engine.ops.init import init_county

PASSWORD = "Lingchuan-2026-gj"       # every imported account's password, once set on the pages
ADMIN_PASSWORD = "Guanliyuan-2026-gj"  # the first administrator's, set at the forced change
SHANGHAI = ZoneInfo("Asia/Shanghai")
TEST_TIME = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)  # tests/conftest.py's `clock`
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# ---------------------------------------------------------------- the organisation

HQ = "陵川县项目攻坚指挥部"
# code, name, kind (as the template writes it), parent code, commander, deputy
WORKING_GROUPS = [
    ("wg_coord", "综合协调小组"), ("wg_planning", "项目谋划小组"), ("wg_prework", "项目前期小组"),
    ("wg_advance", "项目推进小组"), ("wg_supervision", "督办监督小组"),
]
# code, name, short, lead department
SUB_COMMANDS = [
    ("sc_industry", "工业领域项目攻坚分指挥部", "industry", "gxj"),
    ("sc_digital", "数字经济领域项目攻坚分指挥部", "digital", "gxj"),
    ("sc_energy", "能源领域项目攻坚分指挥部", "energy", "nyj"),
    ("sc_culture", "文旅康养领域项目攻坚分指挥部", "culture", "wlj"),
    ("sc_rural", "乡村振兴领域项目攻坚分指挥部", "rural", "nync"),
    ("sc_services", "现代服务业领域项目攻坚分指挥部", "services", "swj"),
    ("sc_infra", "基础设施领域项目攻坚分指挥部", "infra", "zj"),
]
# The permit items' departments are codes in rules/permit_items.dmn (drc, zrzy, sthj, xzsp).
DEPARTMENTS = [
    ("drc", "县发展和改革局"), ("zrzy", "县自然资源局"), ("sthj", "市生态环境局陵川分局"),
    ("zj", "县住房和城乡建设管理局"), ("xzsp", "县行政审批服务管理局"), ("gxj", "县工业和信息化局"),
    ("nyj", "县能源局"), ("wlj", "县文化和旅游局"), ("nync", "县农业农村局"), ("swj", "县商务局"),
    ("jtj", "县交通运输局"), ("dcs", "县委县政府督查室"),
]
TOWNSHIPS = [
    ("t_chongwen", "崇文镇"), ("t_liyi", "礼义镇"), ("t_fucheng", "附城镇"), ("t_xihedi", "西河底镇"),
    ("t_pingcheng", "平城镇"), ("t_gujiao", "古郊乡"), ("t_magedang", "马圪当乡"),
]
ZONE = ("zone", "陵川县产业转型示范区管委会")
COMPANIES = [  # invented
    ("co_solar", "陵川县太行新能源有限公司"), ("co_materials", "陵川县锦程新材料有限公司"),
    ("co_data", "陵川县云岭数据科技有限公司"), ("co_tourism", "陵川县王莽岭文旅发展有限公司"),
    ("co_urban", "陵川县城市建设投资有限公司"),
]

# Everyone the flows need: username, name, unit code, roles as the template writes them.
# Sub-command commanders and deputies hold their post from the 单位 sheet (the import gives
# them the role 分指挥长 at the sub-command).
_COMMANDERS = {"industry": "秦国栋", "digital": "许文博", "energy": "高建平", "culture": "范晓东",
               "rural": "贾永红", "services": "田志刚", "infra": "侯卫东"}
_DEPUTIES = {"industry": "牛建华", "digital": "任海鹰", "energy": "申红梅", "culture": "崔立新",
             "rural": "原保国", "services": "靳彩霞", "infra": "常振宇"}
ACCOUNTS: list[tuple[str, str, str, str]] = [
    ("county_head", "李振华", "hq", "总指挥（县长）"),
    ("executive_deputy", "赵明远", "hq", "副总指挥"),
    ("office_director", "孙丽萍", "office", "指挥部办公室"),
    ("office_window", "王晓燕", "office", "指挥部办公室"),
    ("prework_lead", "刘志强", "wg_prework", "指挥部办公室"),
    ("supervisor1", "陈建军", "wg_supervision", "督办人员"),
    ("supervisor2", "周敏", "dcs", "督办人员"),
    ("specialist1", "张伟", "xzsp", "项目专员"),
    ("specialist2", "李娜", "xzsp", "项目专员"),
    ("specialist3", "王磊", "xzsp", "项目专员"),
    ("designer", "郭涛", "office", "流程设计员"),
    ("approver_drc", "吴刚", "drc", "审批人"),
    ("approver_zrzy", "郑红", "zrzy", "审批人"),
    ("approver_sthj", "冯军", "sthj", "审批人"),
    ("approver_zj", "韩雪", "zj", "审批人"),
    ("approver_xzsp", "杨帆", "xzsp", "审批人"),
    ("head_drc", "马卫国", "drc", "部门主要负责人"),
    ("head_zrzy", "何春生", "zrzy", "部门主要负责人"),
    ("head_jtj", "罗永军", "jtj", "部门主要负责人"),
    *[(f"commander_{short}", _COMMANDERS[short], code, "分指挥长")
      for code, _name, short, _dept in SUB_COMMANDS],
    *[(f"deputy_{short}", _DEPUTIES[short], dept, "部门主要负责人")
      for _code, _name, short, dept in SUB_COMMANDS],
    ("head_chongwen", "宋建国", "t_chongwen", "乡镇主要负责人"),
    ("head_liyi", "董志华", "t_liyi", "乡镇主要负责人"),
    ("head_fucheng", "袁小军", "t_fucheng", "乡镇主要负责人"),
    ("head_xihedi", "邓丽君", "t_xihedi", "乡镇主要负责人"),
    ("head_pingcheng", "曹振华", "t_pingcheng", "乡镇主要负责人"),
    ("head_gujiao", "彭国强", "t_gujiao", "乡镇主要负责人"),
    ("head_magedang", "蒋海燕", "t_magedang", "乡镇主要负责人"),
    ("head_zone", "魏东升", "zone", "乡镇主要负责人"),
    ("unit_solar", "薛光明", "co_solar", "项目单位"),
    ("unit_materials", "阎晓峰", "co_materials", "项目单位"),
    ("unit_data", "段玉洁", "co_data", "项目单位"),
    ("unit_tourism", "雷雨田", "co_tourism", "项目单位"),
    ("unit_urban", "方志远", "co_urban", "项目单位"),
]


def unit_rows() -> list[list[Any]]:
    """The 单位 sheet's rows: code, name, kind, parent, order, commander, deputy."""
    rows: list[list[Any]] = [["hq", HQ, "指挥部", "", 0, "", ""],
                             ["office", "指挥部办公室", "指挥部办公室", "hq", 1, "", ""]]
    rows += [[code, name, "作战小组", "hq", 2 + n, "", ""]
             for n, (code, name) in enumerate(WORKING_GROUPS)]
    rows += [[code, name, "分指挥部", "hq", 10 + n, f"commander_{short}", f"deputy_{short}"]
             for n, (code, name, short, _dept) in enumerate(SUB_COMMANDS)]
    rows += [[code, name, "县直部门", "", 20 + n, "", ""] for n, (code, name) in enumerate(DEPARTMENTS)]
    rows += [[code, name, "乡镇", "", 40 + n, "", ""] for n, (code, name) in enumerate(TOWNSHIPS)]
    rows += [[ZONE[0], ZONE[1], "示范区", "", 50, "", ""]]
    rows += [[code, name, "企业", "", 60 + n, "", ""] for n, (code, name) in enumerate(COMPANIES)]
    return rows


def unit_names() -> dict[str, str]:
    """Unit code → name, as the file sets them."""
    return {row[0]: row[1] for row in unit_rows()}


# ---------------------------------------------------------------- the projects

# code, name, stage, reserve class, track, sub-command, lead department, township, project
# unit, specialist (the name the template's 选项 sheet offers), key level, funding, 万元
PROJECTS: list[tuple] = [
    ("LC-2027-001", "年产5万吨高性能碳材料项目", "建设", "", "", "sc_industry", "gxj", "t_fucheng",
     "co_materials", "specialist1", "市重点工程", "企业投资", 86000),
    ("LC-2027-002", "装备制造产业园标准化厂房", "前期", "", "", "sc_industry", "gxj", "zone",
     "co_urban", "specialist1", "县重点工程", "政府投资", 32000),
    ("LC-2027-003", "县域算力中心", "前期", "", "", "sc_digital", "gxj", "t_chongwen",
     "co_data", "specialist2", "县重点工程", "企业投资", 15000),
    ("LC-2027-004", "100MW农光互补光伏电站", "前期", "", "", "sc_energy", "nyj", "t_xihedi",
     "co_solar", "specialist2", "省重点工程", "企业投资", 45000),
    ("LC-2027-005", "分散式风电项目", "谋划", "", "", "sc_energy", "nyj", "t_gujiao",
     "co_solar", "specialist2", "一般项目", "企业投资", 28000),
    ("LC-2027-006", "太行山康养旅游度假区", "建设", "", "", "sc_culture", "wlj", "t_magedang",
     "co_tourism", "specialist3", "省重点工程", "企业投资", 120000),
    ("LC-2027-007", "王莽岭游客服务中心提升工程", "竣工", "", "", "sc_culture", "wlj", "t_gujiao",
     "co_tourism", "specialist3", "县重点工程", "政府投资", 6800),
    ("LC-2027-008", "中药材种植加工一体化项目", "投产", "", "", "sc_rural", "nync", "t_liyi",
     "co_materials", "specialist3", "市重点工程", "企业投资", 9500),
    ("LC-2027-009", "高标准农田建设项目", "建设", "", "", "sc_rural", "nync", "t_pingcheng",
     "co_urban", "specialist1", "县重点工程", "政府投资", 5200),
    ("LC-2027-010", "县城商贸物流园", "储备", "谈判", "近期签约", "sc_services", "swj", "t_liyi",
     "co_urban", "specialist2", "一般项目", "企业投资", 18000),
    ("LC-2027-011", "县城集中供热管网改造", "建设", "", "", "sc_infra", "zj", "t_chongwen",
     "co_urban", "specialist1", "县重点工程", "政府投资", 7600),
    ("LC-2027-012", "农村公路提质改造工程", "前期", "", "", "sc_infra", "jtj", "t_liyi",
     "co_urban", "specialist3", "市重点工程", "政府投资", 11000),
    ("LC-2027-013", "氢能重卡示范应用项目", "储备", "意向", "远期研究", "sc_energy", "nyj", "zone",
     "co_solar", "", "一般项目", "企业投资", 60000),
]


def shift_month(month: str, by: int) -> str:
    """'2026-12' moved by `by` months."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def schedule_rows(this_month: str) -> list[list[Any]]:
    """The 月度计划 rows: projects past 储备 and 谋划 get six months, three before this one."""
    rows = []
    for code, name, stage, *_rest, amount in PROJECTS:
        if stage in ("储备", "谋划"):
            continue
        monthly = max(amount // 24, 10)
        for offset in range(-3, 3):
            month = shift_month(this_month, offset)
            rows.append([code, month, monthly, f"{month[5:]}月形象进度：{name[:6]}节点"])
    return rows


# ---------------------------------------------------------------- filling the templates

def _columns(sheet) -> dict[str, int]:
    """Header text → column number (1-based) of a template sheet's first row."""
    return {str(cell.value).strip(): cell.column for cell in sheet[1] if cell.value}


def _replace_rows(sheet, headers: list[str], rows: list[list[Any]]) -> None:
    """Drop the template's example rows and write `rows`, each value under its header."""
    at = _columns(sheet)
    missing = [h for h in headers if h not in at]
    assert not missing, f"the template's sheet {sheet.title} has no column {missing}"
    if sheet.max_row > 1:
        sheet.delete_rows(2, sheet.max_row)
    for number, row in enumerate(rows, start=2):
        for header, value in zip(headers, row):
            sheet.cell(row=number, column=at[header], value=value)


def _save(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


UNIT_HEADERS = ["单位编码", "单位名称", "类别", "上级单位", "排序", "指挥长（用户名）", "副指挥长（用户名）"]
ACCOUNT_HEADERS = ["用户名", "姓名", "所在单位", "角色"]


def organisation_workbook(template: bytes, *, units: list[list[Any]] | None = None,
                          accounts: list[tuple] | None = None) -> bytes:
    """The organisation template (as downloaded from 系统管理 → 导入) filled with this
    county's units and accounts (or the given rows)."""
    book = load_workbook(io.BytesIO(template))
    _replace_rows(book["单位"], UNIT_HEADERS, unit_rows() if units is None else units)
    _replace_rows(book["账户"], ACCOUNT_HEADERS,
                  [list(a) for a in (ACCOUNTS if accounts is None else accounts)])
    return _save(book)


PROJECT_HEADERS = ["项目编号", "项目名称", "阶段", "储备类别", "储备方向", "分指挥部", "主管部门",
                   "属地乡镇", "项目单位", "项目专员", "重点级别", "投资性质", "总投资（万元）"]
SCHEDULE_HEADERS = ["项目编号", "月份", "计划投资（万元）", "形象进度节点"]


def project_rows(projects: list[tuple] | None = None) -> list[list[Any]]:
    """The 项目 sheet's rows, units and specialists by the names people know."""
    names = unit_names()
    people = {a[0]: f"{a[1]}（{names[a[2]]}）" for a in ACCOUNTS}
    rows = []
    for (code, name, stage, rclass, track, sub_command, dept, township, unit, specialist,
         level, funding, amount) in (PROJECTS if projects is None else projects):
        rows.append([code, name, stage, rclass, track, names[sub_command], names[dept],
                     names[township], names[unit], people.get(specialist, ""), level, funding,
                     amount])
    return rows


def projects_workbook(template: bytes, this_month: str, *, projects: list[tuple] | None = None,
                      schedules: list[list[Any]] | None = None) -> bytes:
    """The projects template (as downloaded from 项目库 → 导入) filled with this county's
    projects and their monthly schedules around `this_month` ('2026-12')."""
    book = load_workbook(io.BytesIO(template))
    _replace_rows(book["项目"], PROJECT_HEADERS, project_rows(projects))
    _replace_rows(book["月度计划"], SCHEDULE_HEADERS,
                  schedule_rows(this_month) if schedules is None else schedules)
    return _save(book)


# ---------------------------------------------------------------- driving the pages

class SetUpError(AssertionError):
    """A page of the set-up did not answer as journey 0 says (a 5xx, an error row, …)."""


@dataclass
class Page:
    """What a request ended on: status, path, text (HTML) and bytes."""

    status: int
    path: str
    text: str
    content: bytes

    def csrf(self) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.text)
        if not found:
            raise SetUpError(f"{self.path} has no form")
        return found[1]


def _visible(text: str, limit: int = 600) -> str:
    """A page's text without tags, to say in an assertion what it showed."""
    body = re.sub(r"(?s)<(script|style|head)\b.*?</\1>", " ", text)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())[:limit]


class Browser:
    """One person's session with the app: a Flask test client or a requests session."""

    def __init__(self, target: Any):
        self.target = target
        if isinstance(target, str):
            import requests

            self.base = target.rstrip("/")
            self.session = requests.Session()
            self.client = None
        else:  # a Flask test client: each person gets their own, on the same app
            self.client = target
            self.session = None

    def another(self) -> Browser:
        """A fresh session (no cookies) on the same app."""
        if self.client is not None:
            return Browser(self.client.application.test_client())
        return Browser(self.base)

    def _page(self, response) -> Page:
        if self.client is not None:
            page = Page(response.status_code, response.request.path,
                        response.get_data(as_text=True) if response.mimetype.startswith("text")
                        else "", response.get_data())
        else:
            path = response.url[len(self.base):] or "/"
            page = Page(response.status_code, path.split("?")[0],
                        response.text if response.headers.get("Content-Type", "")
                        .startswith("text") else "", response.content)
        if page.status >= 500:
            raise SetUpError(f"{page.path} answered {page.status}: {_visible(page.text)}")
        return page

    def get(self, path: str) -> Page:
        if self.client is not None:
            return self._page(self.client.get(path, follow_redirects=True))
        return self._page(self.session.get(self.base + path, timeout=60))

    def post(self, path: str, data: dict, *, file: tuple[str, bytes] | None = None,
             page: Page | None = None) -> Page:
        """POST a form with the CSRF token of `page` (or of the page at `path`)."""
        data = {**data, "csrf_token": (page or self.get(path)).csrf()}
        if self.client is not None:
            if file is not None:
                data["file"] = (io.BytesIO(file[1]), file[0])
            return self._page(self.client.post(path, data=data, follow_redirects=True,
                                               content_type="multipart/form-data"
                                               if file else None))
        files = {"file": (file[0], file[1], XLSX)} if file else None
        return self._page(self.session.post(self.base + path, data=data, files=files,
                                            timeout=120))

    def log_in(self, username: str, password: str) -> Page:
        page = self.post("/auth/login", {"username": username, "password": password})
        if page.path.startswith("/auth/login"):
            raise SetUpError(f"{username} could not log in: {_visible(page.text, 200)}")
        return page

    def change_password(self, current: str, new: str) -> Page:
        page = self.post("/auth/password", {"current_password": current, "new_password": new,
                                            "confirm_password": new})
        if page.path != "/tasks/":
            raise SetUpError(f"the password was not changed: {_visible(page.text, 300)}")
        return page


def _errors_of(page: Page) -> str:
    table = re.search(r'(?s)<table[^>]*import-errors.*?</table>', page.text)
    return _visible(table[0], 2000) if table else ""


def upload_organisation(admin: Browser, data: bytes, filename: str = "组织机构.xlsx") -> dict:
    """Upload an organisation workbook and confirm its preview; the one-time passwords of the
    new accounts the confirmation page shows (username → password)."""
    preview = admin.post("/admin/import", {}, file=(filename, data), page=admin.get("/admin/import"))
    if not re.fullmatch(r"/admin/import/[^/]+", preview.path):
        raise SetUpError(f"the upload was refused: {_visible(preview.text)}")
    if "import-errors" in preview.text:
        raise SetUpError(f"the organisation file has errors: {_errors_of(preview)}")
    done = admin.post(preview.path, {}, page=preview)
    if "导入完成" not in done.text:
        raise SetUpError(f"the import was not confirmed: {_visible(done.text)}")
    return {html.unescape(username): html.unescape(password) for username, password in re.findall(
        r"<td>([^<]+)</td><td><code class=\"secret\">([^<]+)</code>", done.text)}


def upload_projects(keeper: Browser, data: bytes, filename: str = "项目库.xlsx") -> Page:
    """Upload a projects workbook and confirm its preview; the page it ends on (项目库)."""
    preview = keeper.post("/projects/import", {}, file=(filename, data),
                          page=keeper.get("/projects/import"))
    if 'id="import-errors"' in preview.text or preview.status != 200:
        raise SetUpError(f"the projects file has errors: {_visible(preview.text, 2000)}")
    found = re.search(r'action="(/projects/import/[^"/]+/confirm)"', preview.text)
    if not found:
        raise SetUpError(f"the preview offers no confirmation: {_visible(preview.text)}")
    done = keeper.post(found[1], {}, page=preview)
    if "已导入" not in done.text:
        raise SetUpError(f"the projects were not imported: {_visible(done.text)}")
    return done


# ---------------------------------------------------------------- the county

@dataclass
class County:
    """A county set up through the pages: who is who, and how to log in.

    `accounts`: username → (name, unit code, roles as written); every one logs in with
    `password` (the administrator `admin` with `admin_password`). When built by the `county`
    fixture, `app`, `platform` and `clock` are those of the test.
    """

    admin: str
    admin_password: str
    password: str
    accounts: dict[str, tuple[str, str, str]]
    units: dict[str, str]
    projects: list[str]
    this_month: str
    seconds: float = 0.0  # how long the set-up took
    app: Any = None
    clock: Any = None
    one_time: dict[str, str] = field(default_factory=dict)  # passwords not changed yet

    @property
    def platform(self):
        return self.app.extensions["gongjian"] if self.app is not None else None

    def name(self, username: str) -> str:
        return self.accounts[username][0]

    def label(self, username: str) -> str:
        """How the pages show the person: 王晓燕（指挥部办公室）."""
        name, unit, _roles = self.accounts[username]
        return f"{name}（{self.units[unit]}）"

    def by_role(self, role: str, unit: str | None = None) -> list[str]:
        """Usernames whose roles (as written in the file, e.g. 审批人) include `role`, at
        `unit` if given."""
        return [u for u, (_n, at, roles) in self.accounts.items()
                if role in roles and (unit is None or at == unit)]

    def password_of(self, username: str) -> str:
        return self.admin_password if username == self.admin else \
            self.one_time.get(username, self.password)

    def browser(self, username: str, target: Any = None) -> Browser:
        """A session logged in as `username` (on `target`: a test client or base URL;
        default a new test client of `app`); a first login changes the one-time password."""
        browser = Browser(target if target is not None else self.app.test_client())
        browser.log_in(username, self.password_of(username))
        if username in self.one_time:
            browser.change_password(self.one_time.pop(username), self.password)
        return browser

    def client(self, username: str):
        """A Flask test client of `app`, logged in as `username`."""
        return self.browser(username).client


def set_up_county(target: Any, platform=None, *, activate: bool = True,
                  init_report=None) -> County:
    """Journey 0 through the pages: install (init_county), the administrator's first login and
    password change, the organisation and projects templates downloaded, filled, uploaded and
    confirmed. `target`: a Flask test client, or a base URL with `platform` (the engine on the
    app's database) or `init_report` (what `gongjian init` printed, as an InitReport).
    `activate`: every new account logs in once and sets `PASSWORD` (else `County.one_time`
    keeps the one-time passwords and `County.browser` changes each at its first login)."""
    import time

    started = time.monotonic()
    admin = Browser(target)
    if init_report is None:
        platform = platform or (admin.client.application.extensions["gongjian"]
                                if admin.client is not None else None)
        if platform is None:
            raise ValueError("a base URL needs the platform (or the init report)")
        init_report = init_county(platform)
    if not init_report.admin_created:
        raise SetUpError("the database is not fresh: init_county created no administrator")
    admin.log_in(init_report.admin, init_report.password)
    admin.change_password(init_report.password, ADMIN_PASSWORD)

    template = admin.get("/admin/import/template.xlsx").content
    one_time = upload_organisation(admin, organisation_workbook(template))
    missing = {a[0] for a in ACCOUNTS} - set(one_time)
    if missing:
        raise SetUpError(f"no one-time password shown for {sorted(missing)}")

    now = (platform.clock.now() if platform is not None and platform.clock is not None
           else TEST_TIME)
    this_month = now.astimezone(SHANGHAI).strftime("%Y-%m")
    template = admin.get("/projects/import/template").content
    upload_projects(admin, projects_workbook(template, this_month))

    county = County(admin=init_report.admin, admin_password=ADMIN_PASSWORD, password=PASSWORD,
                    accounts={a[0]: (a[1], a[2], a[3]) for a in ACCOUNTS}, units=unit_names(),
                    projects=[p[0] for p in PROJECTS], this_month=this_month,
                    one_time=dict(one_time))
    if activate:
        for username in list(county.one_time):
            person = admin.another()
            person.log_in(username, county.one_time[username])
            person.change_password(county.one_time.pop(username), PASSWORD)
    county.seconds = time.monotonic() - started
    return county


# ---------------------------------------------------------------- the pytest fixture

def _new_app(database_url: str, clock):
    from webapp import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database_url,
                       "CLOCK": clock})


_SNAPSHOT: dict[str, Any] = {}  # the session's county: a database file, or every table's rows


def _snapshot_file(tmp_path_factory) -> tuple[Path, County]:
    """SQLite: one county set up through the pages per test session, kept as a database file."""
    if "sqlite" not in _SNAPSHOT:
        path = tmp_path_factory.mktemp("county") / "county.db"
        app = _new_app(f"sqlite:///{path}", FrozenClock(TEST_TIME))
        try:
            built = set_up_county(app.test_client())
        finally:
            app.extensions["gongjian"].close()
        _SNAPSHOT["sqlite"] = (path, built)
    return _SNAPSHOT["sqlite"]


def _tables():
    from engine.core.models import Base

    return Base.metadata.sorted_tables


def _copy_rows(database_url: str) -> dict[str, list[dict]]:
    """Every row of every table of the platform's schema, parents first."""
    from sqlalchemy import create_engine, select

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in _tables()}
    finally:
        engine.dispose()


def _restore_rows(database_url: str, rows: dict[str, list[dict]]) -> None:
    """Put the copied rows back into the (emptied) PostgreSQL test database, and move each
    table's id sequence past them so that new rows get new ids."""
    from sqlalchemy import Integer, create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            for table in reversed(_tables()):
                conn.execute(table.delete())
            for table in _tables():
                if rows[table.name]:
                    conn.execute(table.insert(), rows[table.name])
                for column in table.primary_key.columns:
                    if isinstance(column.type, Integer) and len(table.primary_key.columns) == 1:
                        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                                {"t": table.name, "c": column.name}).scalar()
                        if sequence:
                            conn.execute(text(f"SELECT setval('{sequence}', "
                                              f"(SELECT COALESCE(MAX({column.name}), 0) + 1 "
                                              f"FROM {table.name}), false)"))
    finally:
        engine.dispose()


@pytest.fixture
def county(tmp_path_factory, _postgres_url, database_url, clock):
    """A clean county set up through the pages (see the module's docstring), with its own app
    on the test database and clock."""
    if clock.now() != TEST_TIME:
        raise SetUpError("the county fixture needs the test clock at its start time")
    if _postgres_url:
        # The first test sets the county up through the pages; the others get its rows back
        # (the test database is emptied after each test).
        if "postgresql" in _SNAPSHOT:
            built = _SNAPSHOT["postgresql"][1]
            _restore_rows(database_url, _SNAPSHOT["postgresql"][0])
            app = _new_app(database_url, clock)
        else:
            app = _new_app(database_url, clock)
            built = set_up_county(app.test_client())
            _SNAPSHOT["postgresql"] = (_copy_rows(database_url), built)
    else:
        path, built = _snapshot_file(tmp_path_factory)
        shutil.copyfile(path, Path(database_url.removeprefix("sqlite:///")))
        app = _new_app(database_url, clock)
    found = County(**{**built.__dict__, "one_time": dict(built.one_time)})
    found.app, found.clock = app, clock
    try:
        yield found
    finally:
        app.extensions["gongjian"].close()
