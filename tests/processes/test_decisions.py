"""Every decision table, row by row, including the inputs that must match no row."""

from __future__ import annotations

import pytest

from engine.bpm import definitions

from ..conftest import FIXTURES
from .helpers import RULES, start

DECIDE = FIXTURES / "processes"


@pytest.fixture
def decide(platform):
    """Run one decision table on input data; returns the process data afterwards."""
    with platform.uow() as uow:
        definitions.deploy_path(uow, RULES, "designer")
    with platform.uow() as uow:
        definitions.deploy_path(uow, DECIDE, "designer")

    def run(table: str, **inputs) -> dict:
        done = start(platform, f"decide_{table}", inputs)
        assert done.status == "completed"
        return {k: v for k, v in done.data.items() if k not in inputs}
    return run


@pytest.mark.parametrize("item, funding, expected", [
    ("planning", "enterprise", ("建设工程规划许可", "agency", "zrzy", 10)),
    ("planning", "government", ("建设工程规划许可", "agency", "zrzy", 10)),
    ("land", "enterprise", ("建设用地审批", "agency", "zrzy", 15)),
    ("energy", "enterprise", ("固定资产投资项目节能审查（能评）", "commitment", "drc", 5)),
    ("energy", "government", ("固定资产投资项目节能审查（能评）", "agency", "drc", 10)),
    ("environment", "enterprise", ("建设项目环境影响评价审批（环评）", "commitment", "sthj", 10)),
    ("environment", "government", ("建设项目环境影响评价审批（环评）", "agency", "sthj", 15)),
    ("construction", "government", ("建筑工程施工许可", "agency", "xzsp", 5)),
])
def test_permit_items_give_kind_department_and_time_limit(decide, item, funding, expected):
    out = decide("permit_items", item=item, funding=funding)
    assert (out["item_name"], out["kind"], out["department"], out["limit_days"]) == expected


@pytest.mark.parametrize("item, funding", [("fire_safety", "enterprise"), ("energy", "other")])
def test_permit_items_match_nothing_for_an_unknown_item_or_funding(decide, item, funding):
    assert decide("permit_items", item=item, funding=funding) == {}


@pytest.mark.parametrize("scope, severity, rung, name", [
    ("site", "minor", 1, "立即整改"),
    ("site", "normal", 1, "立即整改"),
    ("site", "major", 2, "主责单位限期整改"),
    ("unit", "minor", 2, "主责单位限期整改"),
    ("unit", "major", 2, "主责单位限期整改"),
    ("cross", "normal", 3, "分指挥部研究解决"),
    ("county", "major", 4, "县长亲自解决"),
])
def test_issue_routing_puts_each_issue_on_its_rung(decide, scope, severity, rung, name):
    assert decide("issue_routing", scope=scope, severity=severity) == {"rung": rung, "rung_name": name}


@pytest.mark.parametrize("scope, severity", [("national", "major"), ("site", "unknown")])
def test_issue_routing_matches_nothing_outside_its_vocabulary(decide, scope, severity):
    assert decide("issue_routing", scope=scope, severity=severity) == {}


@pytest.mark.parametrize("rung, deadline, grace", [(1, 1, 1), (2, 10, 3), (3, 15, 5), (4, 20, 5)])
def test_each_rung_has_its_own_time_limit(decide, rung, deadline, grace):
    assert decide("issue_rung_limits", rung=rung) == {"deadline_days": deadline, "grace_days": grace}


def test_there_is_no_rung_above_the_county_head(decide):
    assert decide("issue_rung_limits", rung=5) == {}


@pytest.mark.parametrize("complexity, days", [("ordinary", (0, 3, 7)), ("major", (0, 3, 22))])
def test_13710_limits(decide, complexity, days):
    out = decide("limits_13710", complexity=complexity)
    assert (out["assign_days"], out["progress_days"], out["result_days"]) == days


def test_13710_limits_match_nothing_for_an_unknown_complexity(decide):
    assert decide("limits_13710", complexity="urgent") == {}
