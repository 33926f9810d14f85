"""Uploaded BPMN and DMN files are refused unless they are safe, well-formed and valid."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.camunda.parser import CamundaParser

from engine.bpm import xmlsafe
from engine.bpm.checks import check_references
from engine.core.errors import DefinitionError
from engine.bpm.xmlsafe import (
    BPMN_MODEL_NS,
    DMN13_MODEL_NS,
    MAX_ATTRIBUTE_LENGTH,
    MAX_BYTES,
    MAX_DEPTH,
    MAX_ELEMENTS,
    hardened_parser,
    parse_definition_xml,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "hostile"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


def fixture_bytes(name: str) -> bytes:
    """The raw bytes of a fixture file, as an upload would deliver them."""
    return (FIXTURES / name).read_bytes()


def refusal(name: str, data: bytes | None = None, **kwargs: int) -> DefinitionError:
    """Parse a fixture (or the given bytes under its name) and return the error it must raise."""
    with pytest.raises(DefinitionError) as caught:
        parse_definition_xml(fixture_bytes(name) if data is None else data, name, **kwargs)
    assert caught.value.filename == name
    return caught.value


def minimal_bpmn(extension_content: str = "", start_attributes: str = "") -> bytes:
    """A valid one-event BPMN file with content placed inside the start event's extensions."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN_MODEL_NS}" xmlns:camunda="{CAMUNDA_NS}" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Process_1" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"{start_attributes}>
      <bpmn:extensionElements>{extension_content}</bpmn:extensionElements>
    </bpmn:startEvent>
  </bpmn:process>
</bpmn:definitions>
""".encode()


# --- good files pass --------------------------------------------------------------------------


def test_a_file_saved_by_camunda_modeler_is_accepted() -> None:
    document = parse_definition_xml(fixture_bytes("good_camunda.bpmn"), "good_camunda.bpmn")

    assert document.kind == "bpmn"
    assert document.filename == "good_camunda.bpmn"
    assert document.root.tag == f"{{{BPMN_MODEL_NS}}}definitions"
    assert document.root.find(f".//{{{BPMN_MODEL_NS}}}userTask").get(
        f"{{{CAMUNDA_NS}}}candidateGroups") == "office"


def test_the_accepted_tree_runs_unchanged_in_spiffworkflows_camunda_parser() -> None:
    document = parse_definition_xml(fixture_bytes("good_camunda.bpmn"), "good_camunda.bpmn")
    parser = CamundaParser()
    parser.add_bpmn_xml(document.root, document.filename)

    workflow = BpmnWorkflow(parser.get_spec("issue_report"))
    workflow.do_engine_steps()

    assert [task.task_spec.bpmn_id for task in workflow.get_tasks(manual=True)] == ["Task_review"]


@pytest.mark.parametrize("name", ["good_decision.dmn", "good_decision_dmn12.dmn"])
def test_dmn_13_and_dmn_12_decision_tables_are_accepted(name: str) -> None:
    document = parse_definition_xml(fixture_bytes(name), name)

    assert document.kind == "dmn"
    assert etree.QName(document.root).localname == "definitions"


def test_a_parsed_document_cannot_be_rebound() -> None:
    document = parse_definition_xml(fixture_bytes("good_decision.dmn"), "good_decision.dmn")

    with pytest.raises(AttributeError):
        document.kind = "bpmn"  # type: ignore[misc]


def test_a_non_executable_pool_needs_no_start_event() -> None:
    data = fixture_bytes("good_camunda.bpmn").replace(
        b"</bpmn:process>", b'</bpmn:process>\n  <bpmn:process id="Citizen" isExecutable="false" />', 1)

    assert parse_definition_xml(data, "with_pool.bpmn").kind == "bpmn"


def test_comments_are_allowed_and_kept() -> None:
    data = minimal_bpmn("<!-- reviewed by the project office -->")

    document = parse_definition_xml(data, "commented.bpmn")

    assert "reviewed by the project office" in etree.tostring(document.root, encoding=str)


# --- entities, DTDs and other tricks of the XML format ------------------------------------------


@pytest.mark.parametrize("name", [
    "xxe_external_entity.bpmn", "billion_laughs.bpmn", "external_dtd.bpmn", "parameter_entity.bpmn",
])
def test_any_doctype_is_refused_with_its_line(name: str) -> None:
    error = refusal(name)

    assert "document type declaration" in error.message
    assert error.line == 2


def test_an_external_entity_never_reads_the_local_file() -> None:
    passwd = Path("/etc/passwd")
    secret_lines = [line for line in passwd.read_text().splitlines() if line] if passwd.exists() else []

    error = refusal("xxe_external_entity.bpmn")

    for line in secret_lines:
        assert line not in str(error)
        assert line not in repr(error.args)
    assert "root:" not in str(error)


@pytest.mark.parametrize("name", ["xxe_external_entity.bpmn", "external_dtd.bpmn"])
def test_the_parser_alone_resolves_no_entity_even_without_the_byte_check(name: str) -> None:
    root = etree.fromstring(fixture_bytes(name), hardened_parser())

    text = etree.tostring(root, encoding=str)
    assert "root:" not in text
    assert "/bin/" not in text


def test_a_processing_instruction_is_refused() -> None:
    error = refusal("processing_instruction.bpmn")

    assert "xml-stylesheet" in error.message
    assert error.line == 2


def test_a_file_not_in_utf8_is_refused() -> None:
    data = minimal_bpmn(start_attributes=' name="发现问题"').decode().encode("gb18030")

    error = refusal("gbk.bpmn", data)

    assert "UTF-8" in error.message
    assert error.line == 4


def test_an_empty_file_is_refused() -> None:
    assert "empty" in refusal("empty.bpmn", b"  \n").message


# --- bombs ---------------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_naming_the_limit() -> None:
    padding = "<!-- " + "x" * MAX_BYTES + " -->"
    data = minimal_bpmn(padding)

    error = refusal("huge.bpmn", data)

    assert f"{MAX_BYTES:,} bytes" in error.message
    assert f"{len(data):,} bytes" in error.message


def test_the_size_limit_can_be_lowered_by_the_caller() -> None:
    error = refusal("good_camunda.bpmn", max_bytes=1_000)

    assert "1,000 bytes" in error.message


def test_deep_nesting_is_refused_before_the_parser_gives_up() -> None:
    error = refusal("deep_nesting.bpmn")

    assert f"more than {MAX_DEPTH} levels" in error.message
    assert error.line == 6


def test_nesting_just_over_the_limit_is_refused_and_at_the_limit_accepted() -> None:
    # The extension elements sit at depth 5, so n nested elements reach depth 4 + n.
    def nested(depth: int) -> bytes:
        levels = depth - 4
        return minimal_bpmn("<camunda:level>" * levels + "</camunda:level>" * levels)

    assert parse_definition_xml(nested(MAX_DEPTH), "at_limit.bpmn").kind == "bpmn"
    assert f"more than {MAX_DEPTH} levels" in refusal("too_deep.bpmn", nested(MAX_DEPTH + 1)).message


def test_too_many_elements_are_refused() -> None:
    data = minimal_bpmn("<camunda:p/>" * MAX_ELEMENTS)

    error = refusal("many.bpmn", data)

    assert f"more than {MAX_ELEMENTS:,} elements" in error.message


def test_an_overlong_attribute_is_refused_naming_the_element() -> None:
    data = minimal_bpmn(start_attributes=f' name="{"a" * (MAX_ATTRIBUTE_LENGTH + 1)}"')

    error = refusal("long_name.bpmn", data)

    assert f"{MAX_ATTRIBUTE_LENGTH:,}" in error.message
    assert "'name'" in error.message
    assert error.element_id == "StartEvent_1"


# --- not BPMN or DMN at all ------------------------------------------------------------------------


def test_malformed_xml_is_refused_with_line_and_column() -> None:
    error = refusal("malformed.bpmn")

    assert error.line == 6
    assert "line 6, column" in error.message
    assert "startEvnt" in error.message


def test_a_foreign_namespace_is_refused_naming_found_and_expected() -> None:
    error = refusal("wrong_namespace.bpmn")

    assert "http://www.example.com/not-bpmn/1.0" in error.message
    assert BPMN_MODEL_NS in error.message
    assert DMN13_MODEL_NS in error.message


def test_dmn_11_is_refused_with_the_way_to_upgrade() -> None:
    error = refusal("old_dmn11.dmn")

    assert "http://www.omg.org/spec/DMN/20151101/dmn.xsd" in error.message
    assert "DMN 1.3" in error.message


def test_a_root_other_than_definitions_is_refused() -> None:
    data = f'<bpmn:process xmlns:bpmn="{BPMN_MODEL_NS}" id="Process_1"/>'.encode()

    error = refusal("process_only.bpmn", data)

    assert "'process'" in error.message
    assert "definitions" in error.message


# --- structure and schema ---------------------------------------------------------------------------


def test_a_process_without_start_event_is_refused_naming_the_process() -> None:
    error = refusal("missing_start_event.bpmn")

    assert "Process_no_start" in error.message
    assert "start event" in error.message
    assert (error.element_id, error.line) == ("Process_no_start", 3)


def test_a_subprocess_without_start_event_is_refused() -> None:
    data = fixture_bytes("good_camunda.bpmn").replace(
        b"</bpmn:process>",
        b'<bpmn:subProcess id="Sub_collect"><bpmn:task id="Task_inner" /></bpmn:subProcess>'
        b"</bpmn:process>", 1)

    error = refusal("subprocess.bpmn", data)

    assert "Subprocess 'Sub_collect' has no start event" in error.message


def test_a_dangling_sequence_flow_is_refused_naming_flow_and_missing_element() -> None:
    error = refusal("dangling_sequence_flow.bpmn")

    assert "Flow_1" in error.message
    assert "Task_deleted" in error.message
    assert (error.element_id, error.line) == ("Flow_1", 8)


def test_a_sequence_flow_leaving_its_subprocess_is_refused() -> None:
    root = etree.fromstring(fixture_bytes("dangling_sequence_flow.bpmn").replace(
        b'<bpmn:endEvent id="EndEvent_1" />',
        b'<bpmn:subProcess id="Sub_1"><bpmn:startEvent id="Task_deleted" /></bpmn:subProcess>'),
        hardened_parser())

    with pytest.raises(DefinitionError) as caught:
        check_references(root, "cross.bpmn")

    assert "message flow" in caught.value.message
    assert caught.value.element_id == "Flow_1"


def test_duplicate_ids_are_refused_naming_both_lines() -> None:
    error = refusal("duplicate_ids.bpmn")

    assert "Task_check" in error.message
    assert "line 7" in error.message
    assert "line 11" in error.message


def test_duplicate_ids_in_a_decision_table_are_refused() -> None:
    data = fixture_bytes("good_decision.dmn").replace(b'id="Rule_default"', b'id="Rule_urgent"')

    error = refusal("duplicate.dmn", data)

    assert "Rule_urgent" in error.message


def test_an_unknown_bpmn_element_is_refused_by_the_schema_with_line_and_id() -> None:
    error = refusal("xsd_violation.bpmn")

    assert "BPMN 2.0 schema" in error.message
    assert "bpmn:approvalStep" in error.message
    assert (error.line, error.element_id) == (7, "Step_approve")


@pytest.mark.parametrize("name", ["good_decision.dmn", "good_decision_dmn12.dmn"])
def test_an_unknown_dmn_element_is_refused_by_the_schema(name: str) -> None:
    data = fixture_bytes(name).replace(b"<decision ", b'<verdict id="Verdict_1" />\n  <decision ', 1)

    error = refusal(name, data)

    assert "DMN 1." in error.message
    assert "verdict" in error.message
    assert error.element_id == "Verdict_1"


def test_schema_imports_outside_the_bundled_folders_are_refused() -> None:
    resolver = xmlsafe._LocalSchemaResolver()

    with pytest.raises(OSError):
        resolver.resolve("http://www.omg.org/spec/BPMN/20100524/DI.xsd", None, None)
    with pytest.raises(OSError):
        resolver.resolve("file:///etc/passwd", None, None)


def test_the_schemas_load_again_from_disk() -> None:
    xmlsafe._built_schema.cache_clear()  # force a fresh load, imports included

    for name in ["good_camunda.bpmn", "good_decision.dmn", "good_decision_dmn12.dmn"]:
        assert parse_definition_xml(fixture_bytes(name), name).filename == name


def test_camunda_form_field_ids_may_repeat_across_tasks() -> None:
    # Camunda Modeler users give two tasks a field of the same id, e.g. `approved`.
    repeated = fixture_bytes("good_camunda.bpmn").replace(
        b"</camunda:formData>",
        b'<camunda:formField id="approved" type="boolean" /></camunda:formData>')
    assert repeated.count(b'camunda:formField id="approved"') >= 2
    parse_definition_xml(repeated, "repeated.bpmn")



def test_one_thread_at_a_time_builds_a_schema(monkeypatch) -> None:
    # gunicorn's threads, just booted, parse their first definitions together: libxml2 built
    # one of the schemas wrongly ("Document is not valid XML Schema", a 500 and a dead worker
    # under load in the restart test). Builds now take turns; a slow build shows it.
    building, most = [0], [0]
    guard = threading.Lock()
    real = etree.XMLSchema

    def slow_build(document):
        with guard:
            building[0] += 1
            most[0] = max(most[0], building[0])
        time.sleep(0.05)
        try:
            return real(document)
        finally:
            with guard:
                building[0] -= 1

    monkeypatch.setattr(xmlsafe.etree, "XMLSchema", slow_build)
    xmlsafe._built_schema.cache_clear()
    names = ["good_camunda.bpmn", "good_decision.dmn"] * 3
    start, failures = threading.Barrier(len(names)), []

    def parse(name: str) -> None:
        start.wait()
        try:
            parse_definition_xml(fixture_bytes(name), name)
        except Exception as exc:  # noqa: BLE001 (collected for the assertion)
            failures.append(exc)

    threads = [threading.Thread(target=parse, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    xmlsafe._built_schema.cache_clear()  # the next test loads the real build again
    assert not failures, failures[:3]
    assert most[0] == 1  # never two builds at once
