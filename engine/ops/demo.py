"""Demo data: the county's organisation, role accounts, a dozen projects and running instances.

`load_demo(platform)` is idempotent: units and projects are upserted with the same values,
accounts are created only when missing, definitions deploy only when changed, and the
demo instances start only when none of them exists yet. Accounts carry role titles, never
the personal names printed in the notice; they all share `DEMO_PASSWORD`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from ..bpm import definitions, inbox, runtime, task_actions
from ..core.clock import FrozenClock
from ..core.models import ProcessInstance
from ..core.organisation import UserAccount, actor_for, add_unit, add_user
from ..core.workcalendar import SHANGHAI
from . import schedule
from .platform import Platform
from ..county.agendas import MeetingDecision, record_decision
from ..county.awards import QuarterAward, previous_quarter, quarter_of, start_award_round
from ..county.plates import ProjectPlate, evaluate_plates
from ..county.projects import (
    Project, add_project, month_of, record_progress, set_schedule, shift_month, start_data,
)
from ..county.supervision import Reminder, month_range
from ..bpm.timers import fire_due_timers

DEMO_PASSWORD = "gongjian2026"
DEFAULT_URL = "http://127.0.0.1:5000/"  # `make run`'s; `gongjian demo load --url` says another
ROOT = Path(__file__).resolve().parents[2]
DEMO_KEY_PREFIX = "DEMO-"

WORKING_GROUPS = [
    ("wg_coord", "综合协调小组"), ("wg_planning", "项目谋划小组"), ("wg_invest", "招商引资小组"),
    ("wg_prework", "项目前期小组"), ("wg_advance", "项目推进小组"), ("wg_supervision", "督办监督小组"),
]
SUB_COMMANDS = [
    ("sc_industry", "工业领域项目攻坚分指挥部", "产业"),
    ("sc_digital", "数字经济领域项目攻坚分指挥部", "数字经济"),
    ("sc_energy", "能源领域项目攻坚分指挥部", "能源"),
    ("sc_culture", "文旅康养领域项目攻坚分指挥部", "文旅康养"),
    ("sc_rural", "乡村振兴领域项目攻坚分指挥部", "乡村振兴"),
    ("sc_services", "现代服务业领域项目攻坚分指挥部", "现代服务业"),
    ("sc_infra", "基础设施领域项目攻坚分指挥部", "基础设施"),
]
DEPARTMENTS = [
    ("drc", "县发展和改革局"), ("govoffice", "县政府办公室"), ("dcs", "县委县政府督查室"),
    ("jw", "县纪委监委"), ("xzsp", "县行政审批服务管理局"), ("zrzy", "县自然资源局"),
    ("sthj", "市生态环境局陵川分局"), ("zj", "县住房和城乡建设管理局"), ("gxj", "县工业和信息化局"),
    ("nyj", "县能源局"), ("wlj", "县文化和旅游局"), ("nync", "县农业农村局"),
    ("jtj", "县交通运输局"), ("slj", "县水利局"), ("czj", "县财政局"), ("swj", "县商务局"),
    ("tzcj", "县投资促进中心"), ("xmtj", "县项目推进中心"), ("yspsz", "县预算评审中心"),
    ("tjj", "县统计局"),
]
TOWNSHIPS = [
    ("t_chongwen", "崇文镇"), ("t_liyi", "礼义镇"), ("t_fucheng", "附城镇"),
    ("t_xihedi", "西河底镇"), ("t_pingcheng", "平城镇"), ("t_yangcun", "杨村镇"),
    ("t_lucheng", "潞城镇"), ("t_qinjiazhuang", "秦家庄乡"), ("t_duohuo", "夺火乡"),
    ("t_magedang", "马圪当乡"), ("t_gujiao", "古郊乡"), ("t_liuquan", "六泉乡"),
]
COMPANIES = [  # invented for the demo
    ("co_solar", "太行示例光伏发电有限公司（演示）"),
    ("co_materials", "陵川示例新材料有限公司（演示）"),
    ("co_data", "陵川示例数据科技有限公司（演示）"),
    ("co_tourism", "太行示例文旅康养有限公司（演示）"),
    ("co_agri", "陵川示例农业开发有限公司（演示）"),
    ("co_logistics", "陵川示例物流有限公司（演示）"),
    ("co_urban", "陵川县城市建设投资有限公司（演示）"),
]
# lead department of each sub-command (its deputy commander heads it)
SUB_COMMAND_DEPARTMENT = {
    "sc_industry": "gxj", "sc_digital": "gxj", "sc_energy": "nyj", "sc_culture": "wlj",
    "sc_rural": "nync", "sc_services": "swj", "sc_infra": "zj",
}

# code, name, field, stage, township, lead department, unit, specialist, key level, funding, 万元
PROJECTS = [
    ("XM-2026-001", "年产5万吨高性能新材料项目", "sc_industry", "construction", "t_fucheng", "gxj",
     "co_materials", "specialist1", "city", "enterprise", 86000),
    ("XM-2026-002", "装备制造产业园标准化厂房", "sc_industry", "prework", "t_lucheng", "gxj",
     "co_urban", "specialist1", "county", "government", 32000),
    ("XM-2026-003", "县域大数据中心", "sc_digital", "prework", "t_chongwen", "gxj",
     "co_data", "specialist2", "county", "enterprise", 15000),
    ("XM-2026-004", "100MW农光互补光伏电站", "sc_energy", "prework", "t_xihedi", "nyj",
     "co_solar", "specialist2", "province", "enterprise", 45000),
    ("XM-2026-005", "分散式风电项目", "sc_energy", "planning", "t_gujiao", "nyj",
     "co_solar", "specialist2", "none", "enterprise", 28000),
    ("XM-2026-006", "太行山康养旅游度假区", "sc_culture", "construction", "t_magedang", "wlj",
     "co_tourism", "specialist3", "province", "enterprise", 120000),
    ("XM-2026-007", "王莽岭景区游客服务中心提升", "sc_culture", "completion", "t_gujiao", "wlj",
     "co_tourism", "specialist3", "county", "government", 6800),
    ("XM-2026-008", "中药材种植加工一体化项目", "sc_rural", "production", "t_liuquan", "nync",
     "co_agri", "specialist3", "city", "enterprise", 9500),
    ("XM-2026-009", "高标准农田建设项目", "sc_rural", "construction", "t_pingcheng", "nync",
     "co_urban", "specialist1", "county", "government", 5200),
    ("XM-2026-010", "县城商贸物流园", "sc_services", "reserve", "t_liyi", "swj",
     "co_logistics", "specialist2", "none", "enterprise", 18000),
    ("XM-2026-011", "县城集中供热管网改造", "sc_infra", "completion", "t_chongwen", "zj",
     "co_urban", "specialist1", "county", "government", 7600),
    ("XM-2026-012", "农村公路提质改造工程", "sc_infra", "production", "t_yangcun", "jtj",
     "co_urban", "specialist3", "city", "government", 11000),
]
# The reserve library's projects (储备): class and track.
RESERVE = {"XM-2026-010": ("negotiating", "signing")}


@dataclass(frozen=True)
class DemoSummary:
    """What `load_demo` did."""

    units: int
    accounts: int
    accounts_created: int
    projects: int
    instances_started: int
    password: str
    url: str = DEFAULT_URL

    def __str__(self) -> str:
        lines = [f"demo: {self.units} units, {self.accounts} accounts "
                 f"({self.accounts_created} new), {self.projects} projects, "
                 f"{self.instances_started} instances started",
                 f"log in at {self.url} with password {self.password} as, e.g.:"]
        lines += [f"  {username:<22} {what}" for username, what in GUIDE_ACCOUNTS]
        return "\n".join(lines)


# The accounts a newcomer needs to walk a permit approval and an issue through: every
# role the demo's running requests wait on (the window, the specialists, each project unit
# that signs a commitment, each approving department of rules/permit_items.dmn).
GUIDE_ACCOUNTS = [
    ("office_window", "指挥部办公室窗口：受理审批申请、反馈结果"),
    ("specialist1", "项目专员：代办申报"),
    ("unit_solar", "项目单位（光伏发电）：签署承诺书"),
    ("unit_data", "项目单位（数据科技）：签署承诺书"),
    ("approver_zrzy", "自然资源局审批人：规划、用地审批"),
    ("approver_drc", "发展和改革局审批人：节能审查（能评）"),
    ("approver_sthj", "生态环境分局审批人：环评审批"),
    ("approver_xzsp", "行政审批服务管理局审批人：施工许可"),
    ("prework_lead", "项目前期小组：逾期审批事项的问题定期会商"),
    ("head_liyi", "礼义镇主要负责人：整改问题"),
    ("supervisor1", "督办人员：核验销号、催办、挂牌督办"),
    ("commander_industry", "产业分指挥长"),
    ("county_head", "总指挥（县长）"),
    ("designer", "流程设计员"),
    ("admin", "系统管理员"),
]


def _units(session) -> int:
    add_unit(session, "hq", "陵川县项目攻坚指挥部", "headquarters", sort=0)
    add_unit(session, "office", "指挥部办公室（设在县发改局）", "office", "hq", sort=1)
    rows = [(c, n, "working_group", "hq") for c, n in WORKING_GROUPS]
    rows += [(c, n, "sub_command", "hq") for c, n, _short in SUB_COMMANDS]
    rows += [(c, n, "department", None) for c, n in DEPARTMENTS]
    rows += [(c, n, "township", None) for c, n in TOWNSHIPS]
    rows += [("zone", "示范区管委会", "zone", None)]
    rows += [(c, n, "company", None) for c, n in COMPANIES]
    session.flush()
    for sort, (code, name, kind, parent) in enumerate(rows, start=10):
        add_unit(session, code, name, kind, parent, sort=sort)
    session.flush()
    return len(rows) + 2


def _accounts() -> list[tuple[str, str, str, list]]:
    """username, display name, unit, roles (a role, or (role, unit))."""
    accounts = [
        ("county_head", "总指挥（县长）", "hq", ["county_head"]),
        ("executive_deputy", "常务副总指挥（分管发改副县长）", "hq", ["deputy_commander"]),
        ("office_director", "指挥部办公室主任", "office", ["office"]),
        ("office_window", "指挥部办公室窗口（一口进出）", "office", ["office"]),
        ("prework_lead", "项目前期小组（会商）", "wg_prework", ["office"]),
        ("supervisor1", "督办人员一（督办监督小组）", "wg_supervision", ["supervisor"]),
        ("supervisor2", "督办人员二（县委县政府督查室）", "dcs", ["supervisor"]),
        ("designer", "流程设计员", "office", ["designer"]),
        ("admin", "系统管理员", "office", ["admin"]),
    ]
    for n, label in ((1, "一"), (2, "二"), (3, "三")):
        accounts.append((f"specialist{n}", f"项目专员{label}", "xzsp", ["specialist"]))
    for code, _name, short in SUB_COMMANDS:
        accounts.append((f"commander_{code[3:]}", f"分指挥长（{short}）", code,
                         ["sub_commander"]))
        dept = SUB_COMMAND_DEPARTMENT[code]
        accounts.append((f"deputy_{code[3:]}", f"副指挥长（{short}）", code,
                         [("sub_commander", code), ("department_head", dept)]))
    names = dict(DEPARTMENTS)
    for dept in ("drc", "zrzy", "sthj", "zj", "xzsp"):
        accounts.append((f"approver_{dept}", f"{names[dept]}审批人", dept, ["approver"]))
    for dept in ("drc", "zrzy", "gxj", "nyj", "wlj", "nync", "swj", "zj", "jtj"):
        accounts.append((f"head_{dept}", f"{names[dept]}主要负责人", dept, ["department_head"]))
    for code, name in TOWNSHIPS:
        accounts.append((f"head_{code[2:]}", f"{name}主要负责人", code, ["township_head"]))
    accounts.append(("head_zone", "示范区主要负责人", "zone", ["township_head"]))
    for code, name in COMPANIES:
        accounts.append((f"unit_{code[3:]}", f"项目单位（{name.split('（')[0]}）", code,
                         ["project_unit"]))
    return accounts


def _load_organisation(platform: Platform) -> tuple[int, int, int, int]:
    with platform.uow() as uow:
        uow.begin_write()
        session, now = uow.session, uow.clock.now()
        unit_count = _units(session)
        accounts = _accounts()
        created = 0
        for username, display, unit, roles in accounts:
            if session.get(UserAccount, username) is None:
                add_user(session, username, display, DEMO_PASSWORD, unit=unit, roles=roles, now=now)
                created += 1
        session.flush()
        for row in PROJECTS:
            code, name, field, stage, township, dept, unit, specialist, level, funding, amount = row
            reserve_class, reserve_track = RESERVE.get(code, (None, None))
            add_project(session, code, name, sub_command=field, stage=stage, township=township,
                        lead_department=dept, project_unit=unit, specialist=specialist,
                        key_level=level, funding=funding, planned_investment=amount,
                        reserve_class=reserve_class, reserve_track=reserve_track)
        uow.commit()
    return unit_count, len(accounts), created, len(PROJECTS)


def _deploy(platform: Platform) -> None:
    with platform.uow() as uow:
        definitions.deploy_path(uow, ROOT / "rules", "designer")
    with platform.uow() as uow:
        definitions.deploy_path(uow, ROOT / "bpmn", "designer")


# ---------------------------------------------------------------- running instances

def _actor(platform, username):
    with platform.uow() as uow:
        return actor_for(uow.session, username)


def _start(platform, key, username, business_key, data):
    with platform.uow() as uow:
        return runtime.start_instance(uow, key, _actor(platform, username),
                                      business_key=DEMO_KEY_PREFIX + business_key, data=data)


def _complete(platform, instance_id, element_id, username, data):
    """Complete the open task of an element in an instance as a demo account."""
    actor = _actor(platform, username)
    with platform.uow() as uow:
        task = next(t for t in inbox.list_tasks(uow, actor)
                    if t.instance_id == instance_id and t.element_id == element_id)
    with platform.uow() as uow:
        task_actions.complete(uow, task.id, actor, data)


def _project_data(platform, code):
    with platform.uow() as uow:
        return start_data(uow.session.get(Project, code))


def _start_permit_requests(platform) -> int:
    # 1. just arrived at the window
    _start(platform, "permit_approval", "office_window", "PERMIT-XM-2026-003",
           _project_data(platform, "XM-2026-003"))
    # 2. received: planning and land filed by the specialist, environment assessment
    #    committed by the company, planning returned once, the others with the approvers
    solar = _start(platform, "permit_approval", "office_window", "PERMIT-XM-2026-004",
                   _project_data(platform, "XM-2026-004"))
    _complete(platform, solar.id, "receive_request", "office_window", {
        "need_planning": True, "need_land": True, "need_energy": True,
        "need_environment": True, "need_construction": True, "receive_note": "要件基本齐全"})
    for _ in range(2):
        _complete(platform, solar.id, "file_for_unit", "specialist2", {"filing_note": "已代办申报"})
    for _ in range(2):
        _complete(platform, solar.id, "sign_commitment", "unit_solar", {
            "commitment_text": "开工前补齐全部要件，按承诺落实各项措施",
            "fulfil_date": _days_ahead(platform, 120)})
    _complete(platform, solar.id, "approval", "approver_zrzy", {
        "approval_decision": "return", "approval_opinion": "规划总平面图需补正"})
    # 3. government project: every item with the specialist
    plant = _start(platform, "permit_approval", "office_window", "PERMIT-XM-2026-002",
                   _project_data(platform, "XM-2026-002"))
    _complete(platform, plant.id, "receive_request", "office_window", {
        "need_planning": True, "need_land": True, "need_energy": False,
        "need_environment": True, "need_construction": True})
    return 3


def _days_ahead(platform, days: int) -> str:
    """A date `days` ahead of the platform's today in Lingchuan (the forms refuse past dates,
    so the demo loads on any date)."""
    return (platform.clock.now().astimezone(SHANGHAI).date() + timedelta(days=days)).isoformat()


def _start_issues(platform) -> int:
    issues = [
        ("ISSUE-1", "XM-2026-001", "施工现场扬尘防护不到位", "site", "minor", "co_materials", None),
        ("ISSUE-2", "XM-2026-006", "康养度假区进场道路征地补偿未落实", "unit", "normal", "t_magedang", "commit"),
        ("ISSUE-3", "XM-2026-009", "高标准农田项目涉及两镇灌溉渠线走向争议", "cross", "normal", "t_pingcheng",
         "report"),
        ("ISSUE-4", "XM-2026-004", "光伏电站接入系统需省电力公司协调", "county", "major", "nyj", None),
    ]
    for key, project, title, scope, severity, unit, step in issues:
        data = _project_data(platform, project)
        data.update({"title": title, "scope": scope, "severity": severity,
                     "responsible_unit": unit})
        issue = _start(platform, "issue_lifecycle", "supervisor1", key, data)
        handler = {"co_materials": "unit_materials", "t_magedang": "head_magedang",
                   "t_pingcheng": "head_pingcheng", "nyj": "head_nyj"}[unit]
        if step in ("commit", "report"):
            plan = {"plan": "制定整改方案，明确责任人和时间节点",
                    "promised_date": _days_ahead(platform, 45)}
            if scope == "cross":  # the sub-command decides and hands it to the unit
                _complete(platform, issue.id, "decide_issue", "deputy_rural",
                          {**plan, "carry_out_unit": unit})
            else:
                _complete(platform, issue.id, "commit_plan", handler, plan)
        if step == "report":
            _complete(platform, issue.id, "report_resolution", handler, {
                "resolution": "已召开协调会，渠线走向达成一致", "evidence": "会议纪要"})
    return len(issues)


def _start_instructions(platform) -> int:
    rows = [
        ("13710-1", "县长批示：加快光伏电站项目前期手续办理", "county_head", "ordinary", "xzsp", None),
        ("13710-2", "书记批示：康养度假区项目建设进度滞后问题", "secretary", "major", "wlj", "assigned"),
        ("13710-3", "县长批示：供热管网改造入冬前完工", "county_head", "ordinary", "zj", "reported"),
    ]
    for key, title, source, complexity, unit, step in rows:
        item = _start(platform, "instruction_13710", "supervisor1", key, {
            "title": title, "source": source, "instruction": title.split("：", 1)[1],
            "complexity": complexity, "responsible_unit": unit})
        if step in ("assigned", "reported"):
            _complete(platform, item.id, "assign_instruction", "supervisor1",
                      {"assign_note": "按13710时限办理"})
        if step == "reported":
            _complete(platform, item.id, "report_progress", f"head_{unit}", {"progress": "管网已完成80%"})
            _complete(platform, item.id, "report_result", f"head_{unit}", {
                "result_kind": "result", "report": "管网改造已完工并试压合格"})
    return len(rows)


# ---------------------------------------------------------------- the battle map's history
# Each battle-map project gets a six-month schedule ending last month and its unit's reports;
# the shortfall and the reminders are chosen so that the last three months show every plate.
PLATE_STORY = {  # code: (share of plan reported each month, reminders in each of the 3 last months)
    "XM-2026-001": ([1.0, 1.0, 1.1, 1.0, 1.0, 1.05], [0, 0, 0]),       # blue
    "XM-2026-002": ([1.0, 0.9, 0.6, 0.5, 0.5, 0.4], [1, 2, 2]),        # yellow, yellow → red
    "XM-2026-004": ([1.0, 1.0, 0.8, 0.7, 0.6, 0.6], [0, 1, 2]),        # under reminder → yellow
    "XM-2026-006": ([1.0, 1.0, 1.0, 0.9, 1.2, 1.1], [0, 1, 0]),        # blue again
    "XM-2026-009": ([1.0, 0.8, 0.8, 0.7, 0.7, 0.8], [0, 0, 1]),        # under reminder
}


def _load_plates(platform) -> None:
    """Schedules, progress, reminders and three months of plates (idempotent by plate rows)."""
    with platform.uow() as uow:
        if uow.session.execute(select(func.count()).select_from(ProjectPlate)).scalar():
            return
        uow.begin_write()
        last = shift_month(month_of(uow.clock.now()), -1)
        months = [shift_month(last, n) for n in range(-5, 1)]
        for code, *_rest in PROJECTS:
            project = uow.session.get(Project, code)
            monthly = max(project.planned_investment // 24, 10)
            set_schedule(uow, code, [(m, monthly, f"{m[5:]}月形象进度节点") for m in months],
                         "office_director")
            shares, reminders = PLATE_STORY.get(code, ([1.0] * 6, [0, 0, 0]))
            for month, share in zip(months, shares):
                record_progress(uow, code, month, round(monthly * share), share >= 1.0,
                                "按月填报", f"unit_{project.project_unit[3:]}")
        uow.session.flush()
        for index, month in enumerate(months[-3:]):
            for code, (_shares, reminders) in PLATE_STORY.items():
                for n in range(reminders[index]):
                    _remind_in(uow, code, month, n)
            # follow-up instances are left out: tests/processes/test_demo.py pins the running keys
            evaluate_plates(uow, month, "timer", start_followups=False)
        uow.commit()


def _remind_in(uow, code, month, n):
    """A supervisor's reminder of a project dated in the given month."""
    start, _end = month_range(month)
    uow.session.add(Reminder(subject_kind="project", subject_id=code, business_key=code,
                             by="supervisor1", at=start + timedelta(days=10 + n),
                             message="未达序时进度，请加快推进", automatic=False))
    uow.session.flush()


# ---------------------------------------------------------------- last quarter's awards, a decision
# sub-command: (best, worst) of last quarter; headquarters then names three of each
DEMO_NOMINATIONS = {
    "sc_industry": ("XM-2026-001", "XM-2026-002"), "sc_digital": ("XM-2026-003", "XM-2026-003"),
    "sc_energy": ("XM-2026-005", "XM-2026-004"), "sc_culture": ("XM-2026-006", "XM-2026-007"),
    "sc_rural": ("XM-2026-008", "XM-2026-009"), "sc_services": ("XM-2026-010", "XM-2026-010"),
    "sc_infra": ("XM-2026-012", "XM-2026-011"),
}
DEMO_AWARDS = ("XM-2026-001,XM-2026-006,XM-2026-008", "XM-2026-002,XM-2026-004,XM-2026-009")


def _load_awards(platform) -> None:
    """Run last quarter's award round through quarterly_awards (once per quarter)."""
    with platform.uow() as uow:
        quarter = previous_quarter(quarter_of(uow.clock.now()))
        if uow.session.execute(select(func.count()).select_from(QuarterAward).where(
                QuarterAward.quarter == quarter)).scalar():
            return
        running = uow.session.execute(select(ProcessInstance.id).where(
            ProcessInstance.business_key == f"AWARDS-{quarter}")).scalar()
    if running is None:
        with platform.uow() as uow:
            instance_id = start_award_round(uow, quarter, _actor(platform, "office_director")).id
    else:
        instance_id = running
    for field, (best, worst) in DEMO_NOMINATIONS.items():
        actor = _actor(platform, f"commander_{field[3:]}")
        with platform.uow() as uow:
            task = next((t for t in inbox.list_tasks(uow, actor) if t.instance_id == instance_id
                         and t.element_id == "nominate"), None)
        if task is not None:
            with platform.uow() as uow:
                task_actions.complete(uow, task.id, actor, {
                    "best_project": best, "worst_project": worst,
                    "nomination_reason": "按本季度序时进度和三色牌评定推荐"})
    chosen = {f"{kind}_{n}": code for kind, codes in zip(("antelope", "snail"), DEMO_AWARDS)
              for n, code in enumerate(codes.split(","), start=1)}
    _complete(platform, instance_id, "choose_awards", "county_head", chosen)


def _load_decisions(platform) -> None:
    """One decision on the industry sub-command's monthly agenda (once)."""
    with platform.uow() as uow:
        if uow.session.execute(select(func.count()).select_from(MeetingDecision)).scalar():
            return
        day = uow.clock.now().astimezone(SHANGHAI).date()
    with platform.uow() as uow:
        record_decision(uow, _actor(platform, "county_head"), "sub_command:sc_industry", day,
                        "project:XM-2026-002", "由主管部门牵头，两周内拿出厂房建设提速方案，"
                        "分指挥长每周调度一次")


def _has_demo_instances(platform) -> bool:
    with platform.uow() as uow:
        return uow.session.execute(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.business_key.like(DEMO_KEY_PREFIX + "%"))).scalar() > 0


def load_demo(platform: Platform, *, history_days: int = 0,
              url: str = DEFAULT_URL) -> DemoSummary:
    """Load the demo organisation, accounts, projects and running instances (idempotent).

    With `history_days`, the instances start that many days in the past and the clock is
    replayed to now, firing every timer on the way: the demo then shows what a county sees
    after a few weeks — overdue tasks, reminders (催办) and issues escalated up the ladder.
    """
    units, accounts, created, project_count = _load_organisation(platform)
    _deploy(platform)
    started = 0
    if not _has_demo_instances(platform):
        past = platform
        if history_days:
            now = platform.clock.now()
            clock = FrozenClock(now - timedelta(days=history_days))
            past = Platform(platform.database_url, clock)
        started = (_start_permit_requests(past) + _start_issues(past)
                   + _start_instructions(past))
        if history_days:
            while clock.now() < now:
                clock.advance(hours=6)
                fire_due_timers(past.uow, limit=10_000)
            past.close()
    _load_plates(platform)
    _load_awards(platform)
    _load_decisions(platform)
    # From now on the recurring work (progress reports, plates, awards, dispatch) comes from
    # the schedule the worker runs, as in a county set up by `gongjian init`.
    with platform.uow() as uow:
        schedule.ensure_schedule(uow)
        uow.commit()
    summary = DemoSummary(units, accounts, created, project_count, started, DEMO_PASSWORD, url)
    print(summary)
    return summary
