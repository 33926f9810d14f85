"""搜索 (issue 19): one box finds tasks, instances, issues and projects in Chinese, by their
words or by the names of their people and units, among what the user may see."""

from __future__ import annotations

import pytest

from engine.core.identity import Actor
from engine.county.search import search, words_of

from ..api.conftest import (  # noqa: F401  (fixtures)
    ISSUE, _deploy_files, _deployed_template, accounts, app, app_config, client, database_url,
    make_token, start_approval,
)
from ..webapp.conftest import PASSWORD, AuthActions

SUPERVISOR = Actor.of("ducha1", "supervisor", "unit:duban")
SPECIALIST = Actor.of("zhuanyuan1", "specialist", "unit:fgj", "specialist@fgj")
TOWNSHIP = Actor.of("zhen1", "township_head", "unit:t_magedang")
OTHER = Actor.of("qita9", "specialist", "unit:sc_culture")


@pytest.fixture
def county(app, platform, client, make_token):
    start_approval(platform, "XM-001")
    start_approval(platform, "XM-100%_")  # LIKE's wildcards, as text
    issue = client.post("/api/v1/issues", headers=make_token(("supervisor",), "duban", "sup"),
                        json=ISSUE)
    assert issue.status_code == 201, issue.get_json()
    return platform


def _found(platform, actor, query):
    with platform.uow() as uow:
        return search(uow, actor, query)


def test_two_chinese_characters_find_the_issue_its_project_and_its_instance(county):
    results = _found(county, SUPERVISOR, "征地")
    assert [h.title for h in results.issues] == ["进场道路征地补偿未落实"]
    both = _found(county, SUPERVISOR, "马家庄 光伏")  # a unit's name and a project's word
    assert [h.title for h in both.projects] == ["马家庄光伏"]
    assert [h.title for h in both.issues] == ["进场道路征地补偿未落实"]


def test_a_projects_name_finds_the_work_keyed_by_its_code(county):
    start_approval(county, "XM-2026-006")  # 马家庄光伏
    results = _found(county, SUPERVISOR, "马家庄光伏")
    # the approval and the issue registered for the project
    assert [h.context.split(" · ")[0] for h in results.instances] == ["XM-2026-006"] * 2
    assert [h.title for h in _found(county, SPECIALIST, "马家庄光伏").tasks] == ["准备材料"]


def test_a_persons_name_finds_the_tasks_offered_to_or_held_by_them(county):
    results = _found(county, SPECIALIST, "准备材料")
    assert len(results.tasks) == 2 and all("待认领" in h.context for h in results.tasks)
    assert [h.title for h in _found(county, SUPERVISOR, "项目专员一").instances] != []


def test_each_kind_is_scoped_as_its_own_pages_are(county):
    assert _found(county, OTHER, "准备材料").tasks != ()  # offered to every specialist
    assert _found(county, OTHER, "征地").issues == ()
    assert [h.title for h in _found(county, TOWNSHIP, "征地").issues] != []  # its own unit's
    assert _found(county, TOWNSHIP, "准备材料").tasks == ()
    assert _found(county, TOWNSHIP, "XM-001").instances == ()


def test_wildcards_are_text_and_words_are_capped():
    assert words_of("  光伏\u3000电站  ") == ("光伏", "电站")
    assert len(words_of("一 二 三 四 五 六 七")) == 5
    assert words_of("") == () and words_of("   ") == ()


def test_percent_and_underscore_match_only_themselves(county):
    assert [h.context.split(" · ")[0] for h in _found(county, SUPERVISOR, "100%_").instances] \
        == ["XM-100%_"]
    assert _found(county, SUPERVISOR, "%").instances[0].context.split(" · ")[0] == "XM-100%_"


def test_the_page_lists_the_hits_by_kind_with_links(county, app):
    browser = app.test_client()
    AuthActions(browser).login("ducha1", PASSWORD)
    html = browser.get("/search/?q=征地").get_data(as_text=True)
    assert 'id="hits-issues"' in html and "进场道路征地补偿未落实" in html
    assert "/supervision/issues/" in html
    none = browser.get("/search/?q=没有这个词").get_data(as_text=True)
    assert 'id="no-hits"' in none and "没有找到与“没有这个词”相关的内容" in none
    assert browser.get("/search/?q=" + "长" * 5000).status_code == 200


# ---------------------------------------------------------------- the text index

ACTORS = (SUPERVISOR, SPECIALIST, TOWNSHIP, OTHER)
QUERIES = ("征地", "征地补偿", "道路 征地", "补", "XM", "xm-001", "Xm-2026", "100%", "%_", "001",
           "准备材料", "准备", "材料 XM-001", "马家庄", "马家庄光伏", "项目专员一", "光伏 征地",
           "审批", "落实", "未落实 进场", "不存在的词", "ISSUE", "issue", "2026-006", "光")


def _index_rows(platform):
    from sqlalchemy import select

    from engine.core.text_index import TextGram

    with platform.uow() as uow:
        return set(uow.session.execute(select(TextGram.gram, TextGram.instance_id)).all())


def _work_through_the_services(county, client, make_token):
    from engine.bpm import task_actions
    from engine.core.organisation import actor_for

    from .test_tasks import open_task

    approval = start_approval(county, "XM-2026-006")
    task = open_task(county, approval.id)
    with county.uow() as uow:
        actor = actor_for(uow.session, "zhuanyuan1")
        task_actions.claim(uow, task.id, actor)
    with county.uow() as uow:  # prepared: its review is a new task, found by its title
        task_actions.complete(uow, task.id, actor, {"title": "光伏电站", "amount": "150"})
    second = client.post("/api/v1/issues", headers=make_token(("supervisor",), "duban", "sup2"),
                         json={**ISSUE, "title": "施工便道占用耕地"})
    assert second.status_code == 201, second.get_json()


def test_the_index_kept_at_each_write_is_what_indexing_the_rows_again_makes(
        county, client, make_token):
    from engine.core.text_index import rebuild_text_index

    _work_through_the_services(county, client, make_token)
    kept = _index_rows(county)
    with county.uow() as uow:
        rebuild_text_index(uow.session)
        uow.commit()
    assert _index_rows(county) == kept and kept


def test_what_the_index_finds_is_what_reading_every_row_finds(county, client, make_token,
                                                              monkeypatch):
    import engine.county.search as searching

    _work_through_the_services(county, client, make_token)
    found = {(actor.username, q): _found(county, actor, q) for actor in ACTORS for q in QUERIES}
    narrowed = []
    real = searching.candidates

    def recorded(*args, **kwargs):
        result = real(*args, **kwargs)
        narrowed.append(result)
        return result
    monkeypatch.setattr(searching, "candidates", recorded)
    for actor in ACTORS:
        for q in QUERIES:
            assert _found(county, actor, q) == found[(actor.username, q)], (actor.username, q)
    assert sum(n is not None for n in narrowed) > len(narrowed) / 2  # narrowed most of them
    monkeypatch.setattr(searching, "candidates", lambda *args, **kwargs: None)  # no index
    for actor in ACTORS:
        for q in QUERIES:
            assert _refs(_found(county, actor, q)) == _refs(found[(actor.username, q)]), (
                actor.username, q)
    assert sum(bool(r.count) for r in found.values()) > len(found) / 2  # most find something


def _refs(results):
    return {kind: [h.ref for h in getattr(results, kind)]
            for kind in ("tasks", "instances", "issues", "instructions", "projects")}


def test_a_new_issue_and_a_new_task_are_found_by_their_titles_at_once(county, client,
                                                                     make_token):
    from engine.core.text_index import candidates

    _work_through_the_services(county, client, make_token)
    assert [h.title for h in _found(county, SUPERVISOR, "占用耕地").issues] == ["施工便道占用耕地"]
    assert [h.title for h in _found(county, SUPERVISOR, "便道").issues] == ["施工便道占用耕地"]
    with county.uow() as uow:
        assert len(candidates(uow.session, ["占用耕地"])) == 1  # one instance read, not all
        assert candidates(uow.session, ["占用耕地"], cap=0) is None  # too common: no narrowing


# ---------------------------------------------------------------- the time a search may take

def _slow_read(session):
    """A read that takes seconds on either database (a recursive count to 30 million)."""
    from sqlalchemy import text

    return session.execute(text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000000) "
        "SELECT count(*) FROM n")).scalar()


def test_a_read_past_its_time_limit_stops_and_the_session_goes_on(platform):
    from sqlalchemy import text

    from engine.core.db import OutOfTime, time_limit

    with platform.uow() as uow:
        with pytest.raises(OutOfTime):
            with time_limit(uow.session, 0.1):
                _slow_read(uow.session)
        with time_limit(uow.session, 5):
            assert uow.session.execute(text("SELECT 41 + 1")).scalar() == 42
        assert uow.session.execute(text("SELECT 1")).scalar() == 1


def test_a_kind_that_runs_out_of_time_is_told_and_the_others_are_found(county, app,
                                                                        monkeypatch):
    from engine.county import search as module

    monkeypatch.setattr(module, "SEARCH_SECONDS", 0.3)
    monkeypatch.setattr(module, "_tasks", lambda session, *args: _slow_read(session) and [])
    results = _found(county, SUPERVISOR, "征地")
    assert results.cut == {"tasks"}
    assert [h.title for h in results.issues] == ["进场道路征地补偿未落实"]
    browser = app.test_client()
    AuthActions(browser).login("ducha1", PASSWORD)
    html = browser.get("/search/?q=征地").get_data(as_text=True)
    assert 'id="cut-tasks"' in html and "没能在限定时间内查完" in html
    assert 'id="hits-issues"' in html and 'id="no-hits"' not in html
