"""The repository's processes and decision tables deploy cleanly and are real diagrams."""

from __future__ import annotations

import pytest
from lxml import etree

from engine.bpm import definitions

from .helpers import BPMN, RULES

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
PROCESS_FILES = sorted(BPMN.glob("*.bpmn"))
DIAGRAM_ELEMENTS = ("startEvent", "endEvent", "userTask", "scriptTask", "businessRuleTask",
                    "exclusiveGateway", "parallelGateway", "callActivity", "subProcess",
                    "boundaryEvent", "intermediateCatchEvent", "intermediateThrowEvent",
                    "sequenceFlow", "lane", "participant")


def test_every_file_deploys_with_the_engine_checks(platform):
    with platform.uow() as uow:
        rules = definitions.deploy_path(uow, RULES, "designer")
    with platform.uow() as uow:
        processes = definitions.deploy_path(uow, BPMN, "designer")
    # Every file deploys, under the key its name promises (one process or decision a file).
    assert sorted(r.key for r in rules) == sorted(p.stem for p in RULES.glob("*.dmn"))
    assert sorted(r.key for r in processes) == sorted(p.stem for p in BPMN.glob("*.bpmn"))
    assert {"issue_routing", "issue_rung_limits", "limits_13710", "permit_items"} <= {
        r.key for r in rules}
    assert {"instruction_13710", "issue_lifecycle", "permit_approval", "permit_item"} <= {
        r.key for r in processes}
    assert all(r.created for r in rules + processes)


def test_deploying_the_folders_again_changes_nothing(platform):
    for _ in range(2):
        with platform.uow() as uow:
            results = definitions.deploy_path(uow, RULES, "d") + definitions.deploy_path(uow, BPMN, "d")
    assert not any(r.created for r in results)


@pytest.mark.parametrize("path", PROCESS_FILES, ids=lambda p: p.name)
def test_each_process_is_a_laid_out_modeler_diagram(path):
    root = etree.parse(str(path)).getroot()
    assert (root.get("exporter"), root.get("exporterVersion")) == ("Camunda Modeler", "5.31.0")
    participants = root.findall("bpmn:collaboration/bpmn:participant", NS)
    process = root.find("bpmn:process", NS)
    assert len(participants) == 1 and participants[0].get("processRef") == process.get("id")
    assert process.find("bpmn:laneSet", NS) is not None
    drawn = {el.get("bpmnElement") for el in root.iterfind(".//bpmndi:BPMNShape", NS)}
    drawn |= {el.get("bpmnElement") for el in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    elements = [el for name in DIAGRAM_ELEMENTS for el in root.iterfind(f".//bpmn:{name}", NS)]
    assert elements and {el.get("id") for el in elements} <= drawn
    unnamed = [el.get("id") for el in elements if etree.QName(el).localname in
               ("userTask", "scriptTask", "businessRuleTask", "callActivity", "subProcess", "lane")
               and not el.get("name")]
    assert unnamed == []


@pytest.mark.parametrize("path", sorted(RULES.glob("*.dmn")), ids=lambda p: p.name)
def test_each_decision_table_states_its_hit_policy(path):
    root = etree.parse(str(path)).getroot()
    [table] = root.findall("dmn:decision/dmn:decisionTable", NS)
    assert table.get("hitPolicy") in ("UNIQUE", "FIRST")
