"""A newcomer's walk through the real demo county in a real browser.

The demo (engine.demo.load_demo) is loaded on the test database with the test clock. A
commitment item (环评 of the county big-data centre, an enterprise project) goes from the
one window through the project unit's commitment, the approver's approval, the fulfilment
date and the verification, back to the window; then a registered issue goes from the
responsible unit's commitment to clearance (销号) by the supervisor. Every step is done in
the browser; only the fulfilment date is reached by moving the clock and firing timers, as
the timer worker would. Screenshots go to test-output/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bpm import timers
from engine.ops.demo import DEMO_PASSWORD, load_demo
from engine.core.models import HumanTask, ProcessInstance

from .browser import OUTPUT, log_in, needs_chromium, open_page
from .test_browser import live_url  # noqa: F401

pytestmark = needs_chromium
from ..webapp.conftest import accounts, app  # noqa: F401

PERMIT = "DEMO-PERMIT-XM-2026-003"
ISSUE = "DEMO-ISSUE-1"


@pytest.fixture
def demo(platform, app):  # noqa: F811 - the app fixture is imported above
    """The demo county on the test database (after the app fixture made its schema)."""
    load_demo(platform)
    return platform


@pytest.fixture
def browser_page():
    """A desktop-sized chromium page (resized to 390 px for the phone screenshots)."""
    with open_page(1280, 800) as page:
        yield page


def login(page, base: str, username: str) -> None:
    log_in(page, base, username, DEMO_PASSWORD)


def logout(page) -> None:
    page.click("header button.link")
    page.wait_for_url("**/auth/login**")


def claim_from_group(page, base: str, business_key: str, name: str) -> None:
    """Find the task in 待认领 by its business key and name, claim it, land on its page."""
    page.goto(f"{base}/tasks/group")
    item = page.locator("li.task", has_text=business_key).filter(has_text=name)
    item.locator("button:has-text('认领')").click()
    page.wait_for_url(f"{base}/tasks/*")
    assert page.locator("h1", has_text=name).is_visible()


def submit(page, base: str) -> None:
    page.click("form.form .buttons button.primary")
    page.wait_for_url(f"{base}/tasks/")
    assert page.locator(".flash.success").is_visible()


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def phone_shot(page, name: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(page)
    page.screenshot(path=str(OUTPUT / name), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def status_of(platform, business_key: str) -> str:
    with platform.uow() as uow:
        return uow.session.execute(select(ProcessInstance.status).where(
            ProcessInstance.business_key == business_key)).scalar_one()


def test_a_newcomer_works_a_commitment_item_and_an_issue_through_to_the_end(
        demo, clock, live_url, browser_page):
    page, base = browser_page, live_url
    OUTPUT.mkdir(exist_ok=True)

    # 0. A specialist's inbox of the demo county, for the screenshots.
    login(page, base, "specialist1")
    page.goto(f"{base}/tasks/group")
    assert page.locator("li.task").count() > 0
    page.screenshot(path=str(OUTPUT / "demo-inbox-desktop.png"))
    phone_shot(page, "demo-inbox-390.png")
    logout(page)

    # 1. The one window receives the request: only the environment assessment is needed.
    login(page, base, "office_window")
    page.goto(f"{base}/tasks/group")
    assert page.locator("li.task", has_text=PERMIT).count() == 1
    claim_from_group(page, base, PERMIT, "受理申请（一口进）")
    for field in ("need_planning", "need_land", "need_energy", "need_construction"):
        page.uncheck(f"#{field}")
    page.check("#need_environment")
    page.fill("#receive_note", "大数据中心环评申请，要件齐全")
    page.wait_for_selector("#canvas[data-ready='1'] .djs-element.token-here", timeout=20000)
    page.screenshot(path=str(OUTPUT / "demo-task-form-desktop.png"))
    phone_shot(page, "demo-task-form-390.png")
    submit(page, base)
    logout(page)

    # 2. The project unit signs the commitment; left empty, the required text is refused
    #    at the field.
    login(page, base, "unit_data")
    claim_from_group(page, base, PERMIT, "签署承诺书")
    page.fill("#fulfil_date", "2026-12-15")
    page.click("form.form .buttons button.primary")
    assert page.locator("#field-commitment_text .error").is_visible()
    page.fill("#commitment_text", "开工前补齐环评全部要件，按承诺落实污染防治措施")
    page.fill("#fulfil_date", "2026-12-15")
    submit(page, base)
    logout(page)

    # 3. The approver approves within the time limit.
    login(page, base, "approver_sthj")
    claim_from_group(page, base, PERMIT, "限时审批")
    page.select_option("#approval_decision", "approve")
    page.fill("#approval_opinion", "同意按告知承诺制准予许可")
    submit(page, base)

    # 4. The fulfilment date comes; the timer worker moves the item on.
    clock.advance(timedelta(days=15))
    timers.fire_due_timers(demo.uow)
    login(page, base, "approver_sthj")  # the session ended with the fortnight that passed
    claim_from_group(page, base, PERMIT, "核验承诺履行")
    page.select_option("#fulfilled", "yes")
    page.fill("#verify_note", "现场核验，承诺事项均已落实")
    submit(page, base)
    page.click("nav >> text=已办")
    page.locator(".task .name:has-text('核验承诺履行')").first.click()
    timeline = page.locator(".timeline").inner_text()
    assert "签署承诺书" in timeline and "限时审批" in timeline
    page.locator(".timeline").scroll_into_view_if_needed()
    page.screenshot(path=str(OUTPUT / "demo-history-desktop.png"), full_page=True)
    logout(page)

    # 5. The window hands the result back (一口出); the request is done.
    login(page, base, "office_window")
    claim_from_group(page, base, PERMIT, "出件（一口出）")
    page.fill("#handback_note", "环评批复已送达项目单位")
    submit(page, base)
    assert status_of(demo, PERMIT) == "completed"
    page.goto(f"{base}/notifications/")
    assert page.locator("li.notice").count() > 0
    page.screenshot(path=str(OUTPUT / "demo-notifications-desktop.png"), full_page=True)
    phone_shot(page, "demo-notifications-390.png")
    logout(page)

    # 6. An issue from the ledger: the responsible unit commits and reports, the supervisor
    #    verifies and clears it (销号).
    login(page, base, "unit_materials")
    claim_from_group(page, base, ISSUE, "整改承诺")
    page.fill("#plan", "增设围挡和喷淋，专人每日巡查")
    page.fill("#promised_date", "2026-12-25")
    submit(page, base)
    claim_from_group(page, base, ISSUE, "报告整改结果")
    page.fill("#resolution", "围挡和喷淋已全部到位")
    page.fill("#evidence", "现场照片6张")
    submit(page, base)
    logout(page)

    login(page, base, "supervisor1")
    claim_from_group(page, base, ISSUE, "核验销号")
    page.select_option("#verify_decision", "cleared")
    page.fill("#verify_opinion", "现场核验整改到位，予以销号")
    submit(page, base)
    assert status_of(demo, ISSUE) == "completed"
    with demo.uow() as uow:
        open_left = uow.session.execute(select(HumanTask.id).join(
            ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(
            ProcessInstance.business_key == ISSUE,
            HumanTask.state.in_(("open", "claimed")))).first()
    assert open_left is None
