"""The designer in a real browser: open the modeler, rename a task, validate, deploy, see v2.

Uses Debian's chromium (never `playwright install`); skipped when it or Playwright is missing.
Screenshots go to test-output/designer*.png.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.bpm import definitions
from engine.core import organisation
from engine.core.models import ProcessInstance

from ..conftest import FIXTURES
from ..webapp.conftest import PASSWORD, deploy
from .browser import OUTPUT, needs_chromium, open_page
from .test_browser import live_url, login  # noqa: F401
from .test_browser import accounts, app  # noqa: F401

pytestmark = needs_chromium


@pytest.fixture
def wide_page():
    """A desktop-sized chromium page (the modeler needs room)."""
    with open_page(1400, 900) as page:
        yield page


@pytest.fixture
def designer_account(platform, clock, accounts):  # noqa: F811
    with platform.uow() as uow:
        organisation.add_user(uow.session, "sheji1", "流程设计员", PASSWORD, unit="fgj",
                              roles=["designer"], now=clock.now())
        uow.session.commit()


def test_designer_renames_a_task_validates_and_deploys_a_new_version(
        designer_account, live_url, wide_page):  # noqa: F811
    page = wide_page
    OUTPUT.mkdir(exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, live_url, "sheji1")
    page.click("nav >> text=流程设计")
    page.click("a[href$='/designer/approval/']")
    page.click("text=编辑最新版本")
    page.wait_for_selector("#editor[data-ready='1']", state="attached", timeout=20000)
    assert not errors, errors

    page.click("[data-element-id='prepare']")
    name = page.locator("#bio-properties-panel-name")
    if not name.is_visible():
        page.click(".bio-properties-panel-group-header:has-text('常规')")
    name.fill("准备申报材料")
    page.click("#canvas", position={"x": 20, "y": 20})
    assert page.locator("[data-element-id='prepare'] text").text_content() == "准备申报材料"
    page.screenshot(path=str(OUTPUT / "designer-modeler.png"))

    page.click("#validate")
    page.wait_for_selector("#findings li.ok, #findings li.warning, #findings li.error")
    assert page.locator("#findings li.error").count() == 0
    page.screenshot(path=str(OUTPUT / "designer-lint.png"))

    page.click("#deploy")
    page.wait_for_url(f"{live_url}/designer/approval/")
    versions = page.locator("#versions")
    assert "v2" in versions.inner_text() and "最新" in versions.inner_text()
    page.screenshot(path=str(OUTPUT / "designer-versions.png"), full_page=True)
    page.goto(f"{live_url}/designer/approval/diff?old=1&new=2")
    assert "准备申报材料" in page.inner_text("main")
    page.screenshot(path=str(OUTPUT / "designer-diff.png"), full_page=True)


def test_lint_findings_are_listed_and_marked_on_the_diagram(designer_account, live_url,
                                                            wide_page, platform):  # noqa: F811
    page = wide_page
    deploy(platform, FIXTURES / "designer" / "camunda_modeler.bpmn")
    login(page, live_url, "sheji1")
    page.goto(f"{live_url}/designer/issue_report/edit")
    page.wait_for_selector("#editor[data-ready='1']", state="attached", timeout=20000)
    # Remove the gateway: the review task then has no way on, the end events no way in.
    page.click("[data-element-id='Gateway_approved']")
    page.keyboard.press("Delete")
    page.click("#validate")
    page.wait_for_selector("#findings li.error")
    page.screenshot(path=str(OUTPUT / "designer-lint-errors.png"))
    findings = page.inner_text("#findings")
    assert "Task_review" in findings and "没有流出的顺序流" in findings
    assert "怎么改：把它连到下一步或结束事件。" in findings and "no outgoing" not in findings
    assert page.locator(".djs-element.lint-error").count() >= 3
    # On the diagram: a badge on each failing element, its Chinese message on hover.
    badge = page.locator(".djs-overlay .dz-badge.finding").first
    assert page.locator(".djs-overlay .dz-badge.finding").count() >= 3
    assert any(word in badge.get_attribute("title") for word in ("顺序流", "执行"))


def test_the_properties_panel_speaks_chinese(designer_account, live_url, wide_page,
                                             platform):  # noqa: F811
    page = wide_page
    deploy(platform, FIXTURES / "designer" / "camunda_modeler.bpmn")
    login(page, live_url, "sheji1")
    page.goto(f"{live_url}/designer/issue_report/edit")
    page.wait_for_selector("#editor[data-ready='1']", state="attached", timeout=20000)
    header = page.locator(".bio-properties-panel-header-type")
    groups = page.locator(".bio-properties-panel-group-header-title")
    page.click("[data-element-id='Task_review']")
    page.wait_for_timeout(300)
    assert header.inner_text().strip().upper() == "用户任务"
    titles = set(groups.all_inner_texts())
    assert {"常规", "用户分配", "表单", "说明"} <= titles, titles
    page.click("[data-element-id='Flow_yes_label']")
    page.wait_for_timeout(300)
    assert header.inner_text().strip() in ("条件流", "顺序流", "默认流")
    assert "条件" in set(groups.all_inner_texts())
    page.screenshot(path=str(OUTPUT / "designer-panel-zh.png"))
    english = {"General", "Forms", "Documentation", "Condition", "SEQUENCE FLOW", "USER TASK"}
    assert not english & set(groups.all_inner_texts()), groups.all_inner_texts()
    # An id with a space is refused in the panel, in Chinese.
    page.click("[data-element-id='Task_review']")
    element_id = page.locator("#bio-properties-panel-id")
    if not element_id.is_visible():
        page.click(".bio-properties-panel-group-header:has-text('常规')")
    element_id.fill("审核 问题")
    page.wait_for_selector(".bio-properties-panel-error:has-text('编号不能有空格。')", timeout=3000)


def test_the_designer_chooses_a_ratio_signing_which_is_written_as_the_completion_condition(
        designer_account, live_url, wide_page, platform):  # noqa: F811
    page = wide_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    deploy(platform, FIXTURES / "countersign" / "countersign_all.bpmn")
    login(page, live_url, "sheji1")
    page.goto(f"{live_url}/designer/countersign_all/edit")
    page.wait_for_selector("#editor[data-ready='1']", state="attached", timeout=20000)
    page.click("[data-element-id='sign']")
    header = page.locator(".bio-properties-panel-group-header:has-text('会签方式')")
    header.click()
    mode = page.locator("#bio-properties-panel-signingMode")
    assert mode.input_value() == "all"
    mode.select_option("ratio")
    ratio = page.locator("#bio-properties-panel-signingRatio")
    assert ratio.input_value() == "2/3"
    ratio.fill("150%")
    page.wait_for_selector(".bio-properties-panel-error:has-text('不超过 1')", timeout=3000)
    ratio.fill("3/4")
    page.wait_for_timeout(600)  # the panel's input debounce
    page.screenshot(path=str(OUTPUT / "designer-signing.png"))
    assert not errors, errors
    page.click("#deploy")
    page.wait_for_url(f"{live_url}/designer/countersign_all/")
    with platform.uow() as uow:
        deployed = definitions.latest_deployment(uow.session, "countersign_all")
        assert deployed.version == 2
        assert "nrOfApprovedInstances / nrOfInstances &gt;= 3/4" in deployed.xml


def test_the_designer_dry_runs_a_draft_and_sees_its_timer_fire_by_moving_time_forward(
        designer_account, live_url, wide_page, platform):  # noqa: F811
    page = wide_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    deploy(platform, FIXTURES / "engine" / "timers.bpmn")
    login(page, live_url, "sheji1")
    page.goto(f"{live_url}/designer/timers/edit")
    page.wait_for_selector("#editor[data-ready='1']", state="attached", timeout=20000)
    # A draft: the reminder is renamed in the modeler and never deployed.
    page.click("[data-element-id='remind_timer']")
    name = page.locator("#bio-properties-panel-name")
    if not name.is_visible():
        page.click(".bio-properties-panel-group-header:has-text('常规')")
    name.fill("满1天提醒（草稿）")
    page.click("#canvas", position={"x": 20, "y": 20})
    page.click("#rehearse-open")
    page.click("#rehearse-start")
    steps = page.locator("#rehearse-steps > li")
    steps.first.wait_for()
    assert "发起" in steps.first.inner_text() and "待办：审批（approve）" in steps.first.inner_text()
    assert "等待中的定时器：满1天提醒（草稿）" in steps.first.inner_text()
    page.click("button[data-move='{\"hours\": 1}']")
    steps.nth(1).wait_for()
    assert "触发的定时器" not in steps.nth(1).inner_text()
    page.click("button[data-move='{\"days\": 1}']")
    steps.nth(2).wait_for()
    day = steps.nth(2).inner_text()
    assert "时间前进 +1d" in day and "触发的定时器：满1天提醒（草稿）" in day
    assert "待办：催办确认（remind）" in day
    assert page.locator(".djs-element.token-here[data-element-id='remind']").count() == 1
    page.locator("#rehearsal").screenshot(path=str(OUTPUT / "designer-rehearsal.png"))
    page.fill("#rehearse-days", "2")
    page.click("#rehearse-move-days")
    steps.nth(3).wait_for()
    assert "满2天升级" in steps.nth(3).inner_text() and "升级处理" in steps.nth(3).inner_text()
    page.screenshot(path=str(OUTPUT / "designer-rehearsal-page.png"), full_page=True)
    # A designer who chose English reads the page, the panel and the run in English.
    page.goto(f"{live_url}/lang/en")
    page.goto(f"{live_url}/designer/timers/edit")
    page.wait_for_selector("#editor[data-ready='1']", state="attached", timeout=20000)
    page.click("[data-element-id='approve']")
    assert page.locator(".bio-properties-panel-header-type").inner_text().strip().upper() == "USER TASK"
    page.click("#rehearse-open")
    page.click("#rehearse-start")
    steps.first.wait_for()
    assert "Task: 审批 (approve) · offered to" in steps.first.inner_text()
    assert "Timers waiting: 满1天催办 (due" in steps.first.inner_text()
    page.goto(f"{live_url}/lang/zh_CN")
    assert not errors, errors
    with platform.uow() as uow:  # the draft was neither deployed nor started for real
        assert definitions.latest_deployment(uow.session, "timers").version == 1
        assert uow.session.execute(select(func.count()).select_from(ProcessInstance)).scalar() == 0


def test_an_incident_is_marked_on_the_instance_diagram_and_retried_from_there(
        designer_account, live_url, wide_page, platform, clock):  # noqa: F811
    from ..designer.test_incident_marks import _broken_timer

    page = wide_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    broken, _healthy = _broken_timer(platform, clock)
    login(page, live_url, "sheji1")
    page.goto(f"{live_url}/designer/instances/{broken}")
    badge = page.locator(".dz-badge.incident[data-element='wait']")
    badge.wait_for(timeout=20000)
    assert badge.inner_text() == "⚠ 1"
    assert page.locator(".djs-element.incident-here[data-element-id='wait']").count() == 1
    badge.click()
    box = page.locator(".dz-incident-box").first
    assert "定时器失败 5 次" in box.inner_text()
    page.screenshot(path=str(OUTPUT / "designer-incident.png"))
    box.locator("button:has-text('重试')").click()
    page.wait_for_url(f"{live_url}/designer/instances/{broken}")
    assert "已重新安排定时器" in page.inner_text("main")
    page.wait_for_selector("#canvas .djs-element", timeout=20000)
    assert page.locator(".dz-badge.incident").count() == 0
    assert not errors, errors
