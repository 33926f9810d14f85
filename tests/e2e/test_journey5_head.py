"""Journey 5 in a real browser, from a clean county: the county head's and commanders' view.

The clean county (tests/county_setup.py, journey 0's pages and imports) has its projects and
their monthly plans, and no progress reported. The supervisor reminds the carbon-materials
project twice in October from its sheet; on the first working day of November the
administrator runs the monthly plates (定时任务 › 立即运行): October's plate is yellow. The
resort is reminded twice in late November; on 1 December November's plates come: the
carbon-materials project red (a second month), the resort yellow, the rest 催办中 (behind plan,
reminded less than twice). Then:

- the county head reads the battle map by sub-command, the carbon-materials project's sheet
  (一图三单) and why its plate is red;
- the plates start their tasks: the resort's sub-commander records the interview (约谈), the
  carbon-materials project's department head the statement (表态发言);
- the quarter's award round: each of the seven sub-commanders nominates the best and the
  worst project of the field (from a list), the county head chooses three 羚羊奖 and three
  蜗牛奖 from lists that hold the nominations only, and the awards page names them;
- the monthly bulletin names the red and yellow projects; the headquarters' meeting agenda
  holds the red project and a decision is recorded on it;
- a sub-commander's battle map holds the field's projects only; a project unit's its own, and
  another unit's sheet is not found.

Every page passed: no 5xx, Chinese, no username, code, role key or enum value in the visible
text. Screenshots (desktop and 390 px) go to test-output/journey5/.
"""

from __future__ import annotations

import re
from datetime import datetime


from ..county_setup import ACCOUNTS, SHANGHAI, county  # noqa: F401  (fixture)
from .browser import OUTPUT, needs_chromium
from .journey import log_in, page, page_rules, site  # noqa: F401  (fixtures)

pytestmark = needs_chromium

SHOTS = OUTPUT / "journey5"
RED, YELLOW = "LC-2027-001", "LC-2027-006"  # 碳材料 (sc_industry, gxj), 度假区 (sc_culture)
# Each field's best and worst project (a field with one project names it twice).
NOMINATIONS = {
    "industry": ("LC-2027-002", "LC-2027-001"), "digital": ("LC-2027-003", "LC-2027-003"),
    "energy": ("LC-2027-004", "LC-2027-005"), "culture": ("LC-2027-007", "LC-2027-006"),
    "rural": ("LC-2027-008", "LC-2027-009"), "services": ("LC-2027-010", "LC-2027-010"),
    "infra": ("LC-2027-011", "LC-2027-012"),
}
ANTELOPE, SNAIL = ("LC-2027-002", "LC-2027-008", "LC-2027-011"), \
    ("LC-2027-001", "LC-2027-006", "LC-2027-012")
FORBIDDEN = [a[0] for a in ACCOUNTS] + [
    "unit:", "sub_commander", "department_head", "county_head", "plate_followup",
    "quarterly_awards", "make_statement", "choose_awards", "sc_industry", "sc_culture",
    "co_materials", "co_tourism", "gxj", "wlj", "under_reminder", "yellow", "red", "blue",
    "on_schedule", "actual_to_date", "planned_to_date", "reminders_last_two_months",
    "yellow_months_in_a_row", "antelope", "snail", "enterprise", "government", "timer"]
check_page = page_rules(SHOTS, FORBIDDEN)


def at(clock, month: int, day: int, hour: int = 9, minute: int = 30) -> None:
    clock.set(datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI))


def remind_project(page, base: str, code: str, message: str) -> None:
    page.goto(f"{base}/board/project/{code}")
    page.fill("#remind-message", message)
    page.click("#remind-project button[type=submit]")
    page.wait_for_url(f"{base}/board/project/{code}")
    assert "已催办" in page.inner_text(".flash")


def run_entry(page, base: str, title: str) -> str:
    """定时任务 › 立即运行 of one entry, as the administrator; the flash it answers."""
    page.goto(f"{base}/admin/schedule/")
    row = page.locator("tr", has_text=title)
    row.locator("button:has-text('立即运行')").click()
    page.wait_for_url(f"{base}/admin/schedule/")
    return page.inner_text(".flash")


def open_task(page, base: str, name: str, about: str = "") -> None:
    """Open a task of this name (and text): claim it from 待认领, or find it in 我的待办."""
    page.goto(f"{base}/tasks/group")
    item = page.locator("li.task", has_text=name).filter(has_text=about)
    if item.count():
        item.first.locator("button:has-text('认领')").click()
    else:
        page.goto(f"{base}/tasks/")
        page.locator("li.task", has_text=name).filter(has_text=about).first.locator(
            "a.task-link").click()
    page.wait_for_url(re.compile(r".*/tasks/[0-9a-f-]{36}$"))


def submit(page, base: str) -> None:
    page.click("form.form button.primary:has-text('提交')")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/tasks/.*"))
    assert not page.locator(".flash.error").count(), page.inner_text(".flash.error")


def test_the_county_head_and_the_commanders_view(county, site, page):  # noqa: F811
    base, password, clock = site, county.password, county.clock
    names = {code: name for code, name, *_rest in __import__(
        "tests.county_setup", fromlist=["PROJECTS"]).PROJECTS}

    # October: the carbon-materials project is reminded twice (it reports nothing).
    at(clock, 10, 28)
    log_in(page, base, "supervisor1", password)
    remind_project(page, base, RED, "请按序时进度报送投资完成情况")
    remind_project(page, base, RED, "再次催办：本月投资仍未报送")
    check_page(page, "01-reminded-sheet")

    # 2 November: October's plates, by the schedule's 立即运行.
    at(clock, 11, 2)
    log_in(page, base, county.admin, county.admin_password)
    told = run_entry(page, base, "三色牌月度评定")
    assert "黄牌 1 个" in told, told

    # Late November: the resort is reminded twice.
    at(clock, 11, 25)
    log_in(page, base, "supervisor1", password)
    remind_project(page, base, YELLOW, "度假区投资进度落后，请说明原因")
    at(clock, 11, 26)
    log_in(page, base, "supervisor1", password)
    remind_project(page, base, YELLOW, "请本周内报送赶进度措施")

    # 1 December: November's plates.
    at(clock, 12, 1)
    log_in(page, base, county.admin, county.admin_password)
    told = run_entry(page, base, "三色牌月度评定")
    assert "红牌 1 个" in told and "黄牌 1 个" in told, told
    check_page(page, "02-schedule")

    # The county head: the battle map by sub-command, the red project's sheet and why.
    log_in(page, base, "county_head", password)
    page.goto(f"{base}/board/")
    board = check_page(page, "03-battle-map")
    for field in ("工业领域项目攻坚分指挥部", "文旅康养领域项目攻坚分指挥部", "基础设施领域项目攻坚分指挥部"):
        assert field in board
    assert names[RED] in board and names[YELLOW] in board and "红牌" in board and "黄牌" in board
    page.goto(f"{base}/board/project/{RED}")
    sheet = check_page(page, "04-project-sheet")
    why = page.inner_text("#plate-why")
    assert "2026-11 评定为红牌" in why and "落后于计划" in why and "共催办 2 次" in why
    assert "此前已连续 1 个月黄牌或红牌" in why
    for heading in ("进度图", "任务清单", "责任清单", "问题清单"):
        assert heading in sheet
    assert "陵川县锦程新材料有限公司" in page.inner_text("#responsibilities")

    # The plates' tasks: the resort's sub-commander interviews, the department head states.
    log_in(page, base, "commander_culture", password)
    open_task(page, base, "约谈主管部门和项目单位主要负责人")
    task = check_page(page, "05-interview-task")
    assert names[YELLOW] in task
    page.fill("#interview_date", "2026-12-03")
    page.fill("#interview_record", "约谈县文旅局和度假区项目单位：12月底前完成二期主体工程投资 5000 万元")
    submit(page, base)
    page.goto(f"{base}/board/")
    field_board = check_page(page, "06-sub-commander-map")
    assert names[YELLOW] in field_board and names[RED] not in field_board
    assert page.goto(f"{base}/board/project/{RED}").status == 404

    log_in(page, base, "deputy_industry", password)
    open_task(page, base, "指挥部会议表态发言")
    task = check_page(page, "07-statement-task")
    assert names[RED] in task
    page.fill("#statement_text", "县工信局负责，督促项目单位两周内报送投资并倒排工期")
    page.fill("#measures", "12月15日前完成厂房钢结构吊装，月底前累计完成投资达序时进度")
    submit(page, base)

    # The quarter's awards: every field nominates; the county head chooses three and three.
    log_in(page, base, county.admin, county.admin_password)
    assert "已发起" in run_entry(page, base, "季度评奖")
    for short, (best, worst) in NOMINATIONS.items():
        log_in(page, base, f"commander_{short}", password)
        open_task(page, base, "推荐本季度最佳、最差项目")
        page.select_option("#best_project", best)
        page.select_option("#worst_project", worst)
        page.fill("#nomination_reason", "按本季度序时进度和三色牌推荐")
        if short == "culture":
            check_page(page, "08-nomination")
        submit(page, base)
    log_in(page, base, "county_head", password)
    open_task(page, base, "评定羚羊奖、蜗牛奖")
    check_page(page, "09-choose-awards")
    best = {NOMINATIONS[f][0] for f in NOMINATIONS}
    worst = {NOMINATIONS[f][1] for f in NOMINATIONS}
    offered = page.locator("#antelope_1 option").evaluate_all("os => os.map(o => o.value)")
    assert set(offered) - {""} == best  # the nominations only, by name
    offered = page.locator("#snail_2 option").evaluate_all("os => os.map(o => o.value)")
    assert set(offered) - {""} == worst
    assert names["LC-2027-002"] in page.inner_text("#antelope_1")
    for kind, codes in (("antelope", ANTELOPE), ("snail", SNAIL)):
        for n, code in enumerate(codes, start=1):
            page.select_option(f"#{kind}_{n}", code)
    submit(page, base)
    page.goto(f"{base}/board/awards")
    prizes = check_page(page, "10-awards")
    antelope, snail = page.inner_text(".award-antelope"), page.inner_text(".award-snail")
    assert all(names[c] in antelope for c in ANTELOPE) and all(names[c] in snail for c in SNAIL)
    assert "2026-Q3" in prizes and county.label("county_head") in prizes

    # The monthly bulletin and the headquarters' agenda, with a decision recorded.
    page.goto(f"{base}/board/bulletin?month=2026-11")
    bulletin = check_page(page, "11-bulletin")
    assert "月通报" in bulletin and names[RED] in bulletin
    page.goto(f"{base}/board/agenda?meeting=headquarters")
    agenda = check_page(page, "12-agenda")
    assert names[RED] in agenda
    item = page.locator("li.agenda-item", has_text=names[RED]).first
    item.locator("input[name=decision]").fill("县工信局牵头，两周内拿出赶工方案，下次会议报告")
    item.locator("button:has-text('记录')").click()
    page.wait_for_load_state()
    agenda = check_page(page, "13-agenda-decided")
    assert "县工信局牵头，两周内拿出赶工方案" in agenda and county.label("county_head") in agenda

    # A project unit sees its own projects only.
    log_in(page, base, "unit_tourism", password)
    page.goto(f"{base}/board/")
    own = check_page(page, "14-project-unit-map")
    assert names[YELLOW] in own and names[RED] not in own and names["LC-2027-011"] not in own
    assert page.goto(f"{base}/board/project/{RED}").status == 404
    assert "没有找到" in page.inner_text("body")
