"""Each way a file used to make the parser fail with a Python error, answered with a finding.

The mutation test (test_mutations.py) found these paths; here each one is pinned down on a
real fixture with one change, through deploy, the designer's validate and the command line.
"""

from __future__ import annotations

import re

import pytest

from engine.bpm import definition_admin, definitions
from engine.bpm.parse_errors import library_errors
from engine.bpm.xmlsafe import parse_definition_xml
from engine.core.errors import DefinitionError
from engine.ops import cli

from ..conftest import FIXTURES

ENGINE = FIXTURES / "engine"


def changed(path, old: str, new: str) -> bytes:
    """A fixture's bytes with one piece of text replaced (it must be there once)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new).encode("utf-8")


def refusal(platform, files: list[tuple[str, bytes]]) -> DefinitionError:
    """The finding that refuses a deployment (the deployment must be refused)."""
    with platform.uow() as uow, pytest.raises(DefinitionError) as refused:
        definitions.deploy_files(uow, files, "designer")
    return refused.value


def validation_errors(platform, name: str, data: bytes):
    with platform.uow() as uow:
        return definition_admin.validate_definition(uow, data, name).errors


def permit_kind() -> tuple[str, bytes]:
    return "permit_kind.dmn", (ENGINE / "permit_kind.dmn").read_bytes()


# ---------------------------------------------------------------- business rule tasks

@pytest.mark.parametrize("written", ['', ' camunda:decisionRef=""', ' camunda:decisionRef="  "'])
def test_a_business_rule_task_without_a_decision_is_a_finding_not_a_key_error(platform, written):
    # SpiffWorkflow: KeyError: '{http://camunda.org/schema/1.0/bpmn}decisionRef'
    data = changed(ENGINE / "permit_route.bpmn", ' camunda:decisionRef="permit_kind"', written)
    refused = refusal(platform, [permit_kind(), ("permit_route.bpmn", data)])
    assert (refused.element_id, refused.line) == ("decide", 6)
    assert refused.filename == "permit_route.bpmn"
    assert "names no decision table" in refused.message
    [error] = validation_errors(platform, "permit_route.bpmn", data)
    assert error.element_id == "decide" and "Decision reference" in error.message


def test_the_command_line_prints_the_finding_without_a_traceback(database_url, monkeypatch,
                                                                 capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    (tmp_path / "permit_kind.dmn").write_bytes(permit_kind()[1])
    (tmp_path / "permit_route.bpmn").write_bytes(
        changed(ENGINE / "permit_route.bpmn", ' camunda:decisionRef="permit_kind"', ""))
    code = cli.main(["deploy", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "KeyError" not in err
    assert "permit_route.bpmn, line 6, element decide" in err


def test_a_file_that_cannot_be_read_is_a_finding_on_the_command_line(database_url, monkeypatch,
                                                                      capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    locked = tmp_path / "locked.bpmn"
    locked.write_bytes((ENGINE / "timers.bpmn").read_bytes())

    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(type(locked), "read_bytes", refuse)  # tests run as root here
    code = cli.main(["deploy", str(locked)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "locked.bpmn: The file cannot be read (Permission denied)" in err


def test_a_decision_reference_to_a_process_is_a_finding(platform):
    # SpiffWorkflow read the process's BPMN as DMN: XPathEvalError "Undefined namespace prefix".
    with platform.uow() as uow:
        definitions.deploy_files(uow, [("timers.bpmn", (ENGINE / "timers.bpmn").read_bytes())],
                                 "designer")
    data = changed(ENGINE / "permit_route.bpmn", 'camunda:decisionRef="permit_kind"',
                   'camunda:decisionRef="timers"')
    refused = refusal(platform, [("permit_route.bpmn", data)])
    assert refused.element_id == "decide"
    assert "is a process, not a decision table" in refused.message


def test_a_call_to_a_decision_is_a_finding(platform):
    with platform.uow() as uow:
        definitions.deploy_files(uow, [permit_kind()], "designer")
    data = changed(ENGINE / "call_parent.bpmn", 'calledElement="sub_review"',
                   'calledElement="permit_kind"')
    refused = refusal(platform, [("call_parent.bpmn", data)])
    assert "is a decision table, not a process" in refused.message
    assert refused.element_id is not None


# ---------------------------------------------------------------- keys

def test_a_process_without_an_id_is_a_finding_not_a_database_error(platform):
    # It reached the insert: IntegrityError, NOT NULL constraint failed: deployment.key.
    data = changed(ENGINE / "timers.bpmn", '<bpmn:process id="timers"', "<bpmn:process")
    refused = refusal(platform, [("timers.bpmn", data)])
    assert refused.line == 3 and "The process has no id" in refused.message


def test_a_decision_without_an_id_is_a_finding_not_a_database_error(platform):
    data = changed(ENGINE / "permit_kind.dmn", '<decision id="permit_kind"', "<decision")
    refused = refusal(platform, [("permit_kind.dmn", data)])
    assert refused.line == 3 and "has no id" in refused.message


# ---------------------------------------------------------------- decision tables

@pytest.mark.parametrize(("old", "new", "words", "element_id"), [
    # SpiffWorkflow: KeyError: 'id' in DMNParser
    ('<decisionTable id="table_permit_kind"', "<decisionTable", "decisionTable on line 4 has no id",
     "permit_kind"),
    ('<rule id="rule_env">', "<rule>", "rule on line 9 has no id", "table_permit_kind"),
    ('<outputEntry id="rule_env_out">', "<outputEntry>", "outputEntry on line 11 has no id",
     "rule_env"),
    # SpiffWorkflow: IndexError in DMNParser (an entry without its column) and in get_engine
    ('<output id="out_kind" label="类型" name="kind" typeRef="string" />', "",
     "but its table has 1 inputs and 0 outputs", "rule_env"),
])
def test_a_decision_table_spiffworkflow_cannot_read_is_a_finding(platform, old, new, words,
                                                                  element_id):
    data = changed(ENGINE / "permit_kind.dmn", old, new)
    refused = refusal(platform, [("permit_kind.dmn", data)])
    assert words in refused.message and refused.element_id == element_id


def test_a_decision_that_is_not_a_table_is_a_finding(platform):
    text = (ENGINE / "permit_kind.dmn").read_text(encoding="utf-8")
    table = text[text.index("    <decisionTable"):text.index("</decisionTable>") + 16]
    literal = '<literalExpression id="lit"><text>"commitment"</text></literalExpression>'
    data = text.replace(table, literal).encode("utf-8")
    refused = refusal(platform, [("permit_kind.dmn", data)])
    assert "has no decision table" in refused.message and refused.element_id == "permit_kind"


def test_a_decision_table_is_read_by_spiffworkflow_when_it_is_deployed_alone(platform,
                                                                           monkeypatch):
    # It was read only when a business rule task first needed it: at the next BPMN deploy, or
    # when an instance started.
    calls = []
    monkeypatch.setattr(definitions, "parse_decision", lambda doc: calls.append(doc.filename))
    with platform.uow() as uow:
        definitions.deploy_files(uow, [permit_kind()], "designer")
    assert calls == ["permit_kind.dmn"]


def test_a_dmn_namespace_under_another_prefix_is_a_finding(platform):
    # SpiffWorkflow's DMN parser finds the parts with the prefix 'dmn': XPathEvalError.
    text = (ENGINE / "permit_kind.dmn").read_text(encoding="utf-8")
    text = re.sub(r"<(/?)(\w)", r"<\1d:\2", text).replace(' xmlns="', ' xmlns:d="')
    refused = refusal(platform, [("permit_kind.dmn", text.encode("utf-8"))])
    assert "Declare it as the default namespace or as 'dmn'" in refused.message


# ---------------------------------------------------------------- events

def test_a_boundary_event_without_a_trigger_is_a_finding(platform):
    # SpiffWorkflow: NotImplementedError('Unsupported Catch Event: %r', b'<bpmn:boundaryEvent ...')
    data = changed(ENGINE / "timers.bpmn",
                   '<bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration>'
                   '</bpmn:timerEventDefinition>', "")
    refused = refusal(platform, [("timers.bpmn", data)])
    assert (refused.element_id, refused.line) == ("remind_timer", 7)
    assert "has no trigger" in refused.message


@pytest.mark.parametrize(("definition", "kind"), [
    # SpiffWorkflow: AssertionError "Expected 1 result. Received 0 results." (Camunda events)
    ('<bpmn:messageEventDefinition messageRef="Message_ghost" />', "message"),
    # SpiffWorkflow: TypeError from its own error path (raise_validation_exception(node=...))
    ('<bpmn:signalEventDefinition signalRef="Signal_ghost" />', "signal"),
    ('<bpmn:errorEventDefinition errorRef="Error_ghost" />', "error"),
    ('<bpmn:escalationEventDefinition escalationRef="Escalation_ghost" />', "escalation"),
])
def test_an_event_that_refers_to_nothing_is_a_finding(platform, definition, kind):
    data = changed(ENGINE / "timers.bpmn",
                   '<bpmn:timerEventDefinition><bpmn:timeDuration>"P2D"</bpmn:timeDuration>'
                   '</bpmn:timerEventDefinition>', definition)
    refused = refusal(platform, [("timers.bpmn", data)])
    assert refused.element_id == "overdue_timer"
    assert f"refers to the {kind} '{kind.capitalize()}_ghost', which this file does not define" \
        in refused.message


def test_a_signal_without_a_name_is_a_finding(platform):
    # SpiffWorkflow looks signals up by name: TypeError from its own error path.
    data = changed(FIXTURES / "signals" / "signal_wait.bpmn",
                   '<bpmn:signal id="Signal_funds" name="funds_arrived" />',
                   '<bpmn:signal id="Signal_funds" />')
    refused = refusal(platform, [("signal_wait.bpmn", data)])
    assert (refused.element_id, refused.line) == ("Signal_funds", 3)
    assert "has no name" in refused.message


def test_a_receive_task_for_an_undefined_message_is_a_finding(platform):
    path = FIXTURES / "hostile" / "ref_message_unknown.bpmn"
    refused = refusal(platform, [(path.name, path.read_bytes())])
    assert refused.element_id == "Task_1" and "'Message_ghost'" in refused.message


def test_a_plain_task_with_a_loop_deploys(platform):
    # Our parser of plain tasks read the loop wrapper's properties: AttributeError.
    data = changed(FIXTURES / "supervision" / "escalation.bpmn", "</bpmn:task>",
                   '<bpmn:standardLoopCharacteristics loopMaximum="2" /></bpmn:task>')
    with platform.uow() as uow:
        definitions.deploy_files(uow, [("escalation.bpmn", data)], "designer")


# ---------------------------------------------------------------- the last resort

def test_any_other_library_failure_is_a_finding_that_names_the_element():
    doc = parse_definition_xml((ENGINE / "timers.bpmn").read_bytes(), "timers.bpmn")
    node = doc.root.xpath("//*[@id='approve']")[0]

    def library_reading(node):
        raise KeyError("somewhere")

    with pytest.raises(DefinitionError) as refused, library_errors(doc):
        library_reading(node)
    assert (refused.value.element_id, refused.value.line) == ("approve", 6)
    assert "SpiffWorkflow could not read the userTask 'approve' (KeyError: 'somewhere')" \
        in refused.value.message
