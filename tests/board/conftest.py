"""Command-board fixtures: the repository's processes deployed and a small county."""

from __future__ import annotations

import pytest

from engine.core import organisation
from engine.county.projects import add_project

from ..processes.helpers import deploy_all


@pytest.fixture
def county(platform):
    """Two sub-commands, their departments, one company and three battle-map projects."""
    deploy_all(platform)
    with platform.uow() as uow:
        s = uow.session
        for code, name, kind in [("sc_industry", "工业分指挥部", "sub_command"),
                                 ("sc_infra", "基础设施分指挥部", "sub_command"),
                                 ("gxj", "县工信局", "department"), ("zj", "县住建局", "department"),
                                 ("t_fucheng", "附城镇", "township"),
                                 ("co_materials", "示例新材料公司", "company")]:
            organisation.add_unit(s, code, name, kind)
        s.flush()
        add_project(s, "P-1", "新材料项目", sub_command="sc_industry", stage="construction",
                    township="t_fucheng", lead_department="gxj", project_unit="co_materials",
                    specialist=None, key_level="city", planned_investment=1200)
        add_project(s, "P-2", "供热管网", sub_command="sc_infra", stage="construction",
                    township="t_fucheng", lead_department="zj", project_unit="co_materials",
                    specialist=None, funding="government", planned_investment=600)
        add_project(s, "P-3", "一般企业项目", sub_command="sc_industry", stage="construction",
                    township="t_fucheng", lead_department="gxj", project_unit="co_materials",
                    specialist=None, planned_investment=100)
        uow.commit()
    return platform
