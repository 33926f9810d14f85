"""系统管理 in a real browser: the template downloaded, filled and uploaded (preview with errors,
then confirmed, then the same file changes nothing), an account disabled with its task handed on.

Uses Debian's chromium (never `playwright install`); skipped when it or Playwright is missing.
Screenshots go to test-output/.
"""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from engine.bpm import inbox, runtime, task_actions
from engine.core import organisation

from ..webapp.conftest import PASSWORD, accounts, app  # noqa: F401  (fixtures)
from .browser import OUTPUT, log_in, needs_chromium, open_page, serve

pytestmark = needs_chromium


@pytest.fixture
def live_url(app, platform, clock):
    """The web tests' app with an administrator and a headquarters, served on a free port."""
    with platform.uow() as uow:
        organisation.add_unit(uow.session, "hq", "县项目攻坚指挥部", "headquarters")
        uow.session.flush()
        organisation.add_user(uow.session, "admin1", "系统管理员", PASSWORD, unit="hq",
                              roles=["admin"], now=clock.now())
        uow.commit()
    with serve(app) as url:
        yield url


@pytest.fixture
def page():
    """A desktop-sized chromium page."""
    with open_page(1280, 900) as page:
        yield page


def _upload(page, base: str, path) -> None:
    page.goto(f"{base}/admin/import")
    page.set_input_files("#file", str(path))
    page.click("button:has-text('上传并预览')")
    page.wait_for_url(f"{base}/admin/import/*")


def test_the_organisation_comes_from_the_template_and_a_leaver_hands_on_the_work(
        live_url, page, platform, tmp_path):
    OUTPUT.mkdir(exist_ok=True)
    log_in(page, live_url, "admin1", PASSWORD)
    page.click("nav.nav >> text=系统管理")
    page.wait_for_url(f"{live_url}/admin/units")
    page.click(".subnav >> text=导入")
    with page.expect_download() as download:
        page.click("text=下载 Excel 模板")
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)

    book = load_workbook(template)
    units, accounts = book["单位"], book["账户"]
    units.delete_rows(2, units.max_row)
    accounts.delete_rows(2, accounts.max_row)
    units.append(["sc_energy", "能源分指挥部", "分指挥部", "县项目攻坚指挥部", "10", "neng1", ""])
    units.append(["nyj", "县能源局", "局", "", "20", "", ""])  # no such kind
    accounts.append(["neng1", "能源分指挥长", "sc_energy", "分指挥长"])
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    _upload(page, live_url, bad)
    errors = page.locator("table.import-errors tbody tr")
    assert errors.count() == 1
    assert errors.first.inner_text().split("\t")[:3] == ["单位", "3", "类别"]
    assert page.locator("button:has-text('确认导入')").count() == 0
    page.screenshot(path=str(OUTPUT / "admin-import-errors.png"), full_page=True)

    units["C3"] = "县直部门"
    good = tmp_path / "good.xlsx"
    book.save(good)
    _upload(page, live_url, good)
    assert "能源分指挥长（能源分指挥部）" in page.locator("table.import-rows").inner_text()
    page.click("button:has-text('确认导入')")
    page.wait_for_load_state()
    assert page.locator("code.secret").count() == 1
    page.screenshot(path=str(OUTPUT / "admin-imported.png"), full_page=True)
    _upload(page, live_url, good)
    assert "没有需要更改的" in page.inner_text("main")

    page.goto(f"{live_url}/admin/units")
    assert "指挥长：能源分指挥长（能源分指挥部）" in page.inner_text("main")

    # a specialist holding a task leaves: the task goes to a colleague in the same step
    with platform.uow() as uow:
        specialist = organisation.actor_for(uow.session, "zhuanyuan1")
        runtime.start_instance(uow, "approval", specialist, data={"project_name": "光伏"})
    with platform.uow() as uow:
        task = inbox.list_tasks(uow, specialist)[0]
    with platform.uow() as uow:
        task_actions.claim(uow, task.id, specialist)
    page.goto(f"{live_url}/admin/accounts?q=项目专员一")
    page.click("table >> text=项目专员一")
    page.click("text=停用账户…")
    assert "准备材料" in page.inner_text("main")
    page.select_option("#reassign_to", "zhuanyuan2")
    page.fill("#why", "调离")
    page.click("button:has-text('停用并改派')")
    page.wait_for_url(f"{live_url}/admin/accounts/zhuanyuan1")
    assert "1 项待办已改派" in page.inner_text(".flash.success")
    page.screenshot(path=str(OUTPUT / "admin-disabled.png"), full_page=True)
    with platform.uow() as uow:
        assert inbox.list_tasks(uow, organisation.actor_for(uow.session, "zhuanyuan2"))[0].id \
            == task.id
