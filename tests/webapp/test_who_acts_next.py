"""Who acts next on an instance page, in the clean county: a major 13710 instruction."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.core.models import HumanTask

from ..county_setup import county  # noqa: F401  (fixture)
from .conftest import csrf_token_of


def post(client, page: str, url: str, data: dict):
    token = csrf_token_of(client.get(page).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def open_task(county, element_id: str) -> str:  # noqa: F811
    with county.platform.uow() as uow:
        return uow.session.execute(select(HumanTask.id).where(
            HumanTask.element_id == element_id,
            HumanTask.state.in_(("open", "claimed")))).scalar_one()


def act(client, task_id: str, data: dict) -> None:
    page = f"/tasks/{task_id}"
    post(client, page, f"/tasks/{task_id}/claim", {})
    assert post(client, page, f"/tasks/{task_id}/complete", data).status_code == 302


def test_a_major_instruction_has_a_month_for_its_result_and_says_who_holds_it(county):  # noqa: F811
    supervisor, unit = county.client("supervisor1"), county.client("deputy_infra")
    start = "/processes/instruction_13710/start"
    started = post(supervisor, start, start, {
        "business_key": "13710-M1", "title": "书记批示：城区供水管网漏损治理",
        "source": "secretary", "instruction": "一个月内拿出治理方案并见效",
        "complexity": "major", "responsible_unit": "zj"})
    assert started.status_code == 302
    instance = started.headers["Location"]
    act(supervisor, open_task(county, "assign_instruction"), {"assign_note": "按月报送"})
    act(unit, open_task(county, "report_progress"), {"progress": "已排查漏点"})
    page = unit.get(instance).get_data(as_text=True)
    steps = page[page.index('id="next-steps"'):page.index("办理记录")]
    text = re.sub(r"<[^>]+>", "", steps)
    assert "报送办理结果或方案" in text and "「县住房和城乡建设管理局」" in text
    assert "时限：22 个工作日" in text and "2026-12-31 23:59" in text  # within a month
    assert "deputy_infra" not in page and "unit:zj" not in page
    # Someone with no part in it does not see it.
    assert county.client("head_liyi").get(instance).status_code == 404
