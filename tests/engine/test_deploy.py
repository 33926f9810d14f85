"""Deploying definitions: versions, refusals that deploy nothing, the spec cache."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.bpm import definitions
from engine.core.errors import DefinitionError
from engine.core.models import AuditEvent, Deployment

from ..conftest import FIXTURES

HOSTILE = FIXTURES / "hostile"
ENGINE = FIXTURES / "engine"


def deployment_count(platform) -> int:
    with platform.uow() as uow:
        return uow.session.execute(select(func.count()).select_from(Deployment)).scalar_one()


HOSTILE_FILES = [
    ("xxe_external_entity.bpmn", "DOCTYPE"),
    ("billion_laughs.bpmn", "DOCTYPE"),
    ("external_dtd.bpmn", "DOCTYPE"),
    ("wrong_namespace.bpmn", "namespace"),
    ("malformed.bpmn", "line"),
    ("missing_start_event.bpmn", "start event"),
    ("dangling_sequence_flow.bpmn", "Flow"),
    ("duplicate_ids.bpmn", "duplicate"),
    ("deep_nesting.bpmn", "deep"),
]


@pytest.mark.parametrize("name, expected", HOSTILE_FILES)
def test_a_hostile_file_in_a_batch_is_refused_and_nothing_is_deployed(platform, name, expected):
    files = [("lanes_gateway.bpmn", (ENGINE / "lanes_gateway.bpmn").read_bytes()),
             (name, (HOSTILE / name).read_bytes())]
    with platform.uow() as uow, pytest.raises(DefinitionError) as err:
        definitions.deploy_files(uow, files, "designer")
    assert name in str(err.value)
    assert expected.lower() in str(err.value).lower()
    assert deployment_count(platform) == 0


def test_an_oversized_file_is_refused(platform):
    big = (ENGINE / "lanes_gateway.bpmn").read_bytes().replace(
        b"</bpmn:definitions>", b"<!--" + b"x" * 2_100_000 + b"--></bpmn:definitions>")
    with platform.uow() as uow, pytest.raises(DefinitionError, match="bytes"):
        definitions.deploy_files(uow, [("big.bpmn", big)], "designer")
    assert deployment_count(platform) == 0


def test_an_unknown_call_activity_names_the_element(platform):
    with platform.uow() as uow, pytest.raises(DefinitionError) as err:
        definitions.deploy_files(uow, [("call_parent.bpmn",
                                        (ENGINE / "call_parent.bpmn").read_bytes())], "designer")
    assert err.value.element_id == "call_review"
    assert "sub_review" in str(err.value) and err.value.line
    assert deployment_count(platform) == 0


def test_an_unknown_decision_names_the_business_rule_task(platform):
    with platform.uow() as uow, pytest.raises(DefinitionError) as err:
        definitions.deploy_files(uow, [("permit_route.bpmn",
                                        (ENGINE / "permit_route.bpmn").read_bytes())], "designer")
    assert err.value.element_id == "decide" and "permit_kind" in str(err.value)


def test_a_called_process_deployed_earlier_satisfies_the_caller(platform):
    with platform.uow() as uow:
        definitions.deploy_path(uow, ENGINE / "sub_review.bpmn", "designer")
    with platform.uow() as uow:
        [result] = definitions.deploy_path(uow, ENGINE / "call_parent.bpmn", "designer")
    assert (result.key, result.version, result.created) == ("call_parent", 1, True)


def test_deploying_a_folder_deploys_each_file_once_and_audits_it(platform):
    with platform.uow() as uow:
        results = definitions.deploy_path(uow, ENGINE, "designer")
    files = sorted(ENGINE.glob("*.bpmn")) + sorted(ENGINE.glob("*.dmn"))
    assert len(results) == len(files) == len({r.key for r in results})  # each file, once
    assert {"approval", "call_parent", "inbox", "permit_kind", "sub_review",
            "timers"} <= {r.key for r in results}
    with platform.uow() as uow:
        again = definitions.deploy_path(uow, ENGINE, "designer")
    assert not any(r.created for r in again)
    with platform.uow() as uow:
        deploys = uow.session.execute(select(func.count()).select_from(AuditEvent)
                                      .where(AuditEvent.action == "deploy")).scalar_one()
    assert deploys == len(files)


def test_a_dmn_file_with_two_decisions_is_refused(platform):
    two = (ENGINE / "permit_kind.dmn").read_text().replace(
        "</definitions>",
        '<decision id="second" name="二"><decisionTable id="t2"><input id="i2"><inputExpression '
        'id="e2" typeRef="string"><text>x</text></inputExpression></input><output id="o2" '
        'name="y" typeRef="string" /></decisionTable></decision></definitions>')
    with platform.uow() as uow, pytest.raises(DefinitionError, match="exactly one decision"):
        definitions.deploy_files(uow, [("two.dmn", two.encode())], "designer")


def test_the_spec_cache_parses_each_content_once(platform):
    with platform.uow() as uow:
        [dep] = definitions.deploy_path(uow, ENGINE / "lanes_gateway.bpmn", "designer")
    cache = definitions.SpecCache()
    with platform.uow() as uow:
        row = uow.session.get(Deployment, dep.deployment_id)
        bundle = [[row.id, row.sha256]]
        first = cache.get(uow.session, bundle)
        second = cache.get(uow.session, bundle)
    assert first is second and cache.misses == 1
