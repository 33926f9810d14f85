"""The BPMN dialect we read: SpiffWorkflow's Camunda parser plus the assignment attributes.

SpiffWorkflow 3.2's `CamundaParser` reads lanes and `camunda:formData` but not
`camunda:candidateGroups`, `camunda:candidateUsers`, `camunda:assignee` or
`camunda:dueDate`. Those decide who sees a task and when it is late, so the user-task
parser is extended here through `OVERRIDE_PARSER_CLASSES`, the library's own plug point.

It reads `camunda:properties` into `task_spec.extensions` only for tasks, user tasks and a
few others; script tasks and events get them here too, because the supervision convention
(`action` = remind / escalate, see engine/supervision.py) is written on those elements.

Every BPMN document is handed to the library as `python_tree` reads it: JUEL conditions,
timers, due dates and assignments translated to Python, the stored file unchanged.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH, MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH, TERMINATION_EVENT_XPATH,
)
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent, EndEvent, IntermediateCatchEvent, IntermediateThrowEvent, NoneTask, ScriptTask,
)
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser, CamundaEndEventParser, CamundaIntermediateCatchEventParser,
    CamundaIntermediateThrowEventParser,
)
from SpiffWorkflow.camunda.parser.task_spec import (
    CAMUNDA_MODEL_NS, CamundaTaskParser, ScriptTaskParser, UserTaskParser,
)
from SpiffWorkflow.camunda.specs.user_task import UserTask as CamundaUserTask

from .bounds import bound_spec
from .expression_scan import python_tree

SUPERVISION_ACTIONS = ("remind", "escalate")
ASSIGNMENT_ATTRIBUTES = ("candidateGroups", "candidateUsers", "assignee", "dueDate")


class HumanTaskSpec(CamundaUserTask):
    """A user task with the Camunda assignment attributes, kept as the designer wrote them."""

    def __init__(self, wf_spec, name, form, candidate_groups: str | None = None,
                 candidate_users: str | None = None, assignee: str | None = None,
                 due_date: str | None = None, **kwargs):
        super().__init__(wf_spec, name, form, **kwargs)
        self.candidate_groups = candidate_groups
        self.candidate_users = candidate_users
        self.assignee = assignee
        self.due_date = due_date


class HumanTaskParser(UserTaskParser):
    """Reads `camunda:candidateGroups`, `candidateUsers`, `assignee` and `dueDate`."""

    def create_task(self):
        """Build the task spec with its form and assignment attributes."""
        attrs = {
            "candidate_groups": self._camunda("candidateGroups"),
            "candidate_users": self._camunda("candidateUsers"),
            "assignee": self._camunda("assignee"),
            "due_date": self._camunda("dueDate"),
        }
        return self.spec_class(self.spec, self.bpmn_id, form=self.get_form(), **attrs,
                               **self.bpmn_attributes)

    def _camunda(self, name: str) -> str | None:
        value = self.node.get(f"{{{CAMUNDA_MODEL_NS}}}{name}")
        return value.strip() or None if value is not None else None


class _CamundaProperties:
    """Mixin: read `camunda:properties` into the spec's `extensions`, as task parsers do."""

    def parse_extensions(self, node=None):
        """The element's camunda:property name → value pairs."""
        return CamundaTaskParser.parse_extensions(self, node)


class PropertiesScriptTaskParser(_CamundaProperties, ScriptTaskParser):
    """A script task parser that keeps camunda:properties."""


class PropertiesThrowEventParser(_CamundaProperties, CamundaIntermediateThrowEventParser):
    """An intermediate throw event parser that keeps camunda:properties."""


class PropertiesCatchEventParser(_CamundaProperties, CamundaIntermediateCatchEventParser):
    """An intermediate catch event parser that keeps camunda:properties."""


class PropertiesBoundaryEventParser(_CamundaProperties, CamundaBoundaryEventParser):
    """A boundary event parser that keeps camunda:properties."""


class PropertiesEndEventParser(_CamundaProperties, CamundaEndEventParser):
    """An end event parser that keeps camunda:properties and reads signal end events.

    SpiffWorkflow 3.2 reads no `signalEventDefinition` on an end event: a signal end event ran
    as a none end event and threw nothing, so a sub-process ending with one was never
    interrupted by its own boundary signal event (engine/bpm/signals.py).
    """

    def create_task(self):
        """The end event with every event definition the library reads, and signals."""
        definition = self.get_event_definition([
            MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH,
            ESCALATION_EVENT_XPATH, TERMINATION_EVENT_XPATH])
        task = self._create_task(definition)
        task.connect(self.spec.end)
        return task


class SupervisionTaskParser(CamundaTaskParser):
    """A plain `bpmn:task`; one marked with a supervision action runs on its own.

    SpiffWorkflow makes every plain task manual (it waits for a person); a task marked
    `action` = remind / escalate is the engine's to do, so the process must not stop there.
    """

    def parse_node(self):
        """Parse the task and, when it carries a supervision action, make it automatic."""
        spec = super().parse_node()
        if self.parse_extensions().get("action") in SUPERVISION_ACTIONS:
            self.task.manual = False
            # A loop or multi-instance task wraps the task spec that carries out each round.
            inner = self.spec.task_specs.get(getattr(self.task, "task_spec", None) or "")
            if inner is not None:
                inner.manual = False
        return spec


class GongjianParser(CamundaParser):
    """The Camunda 7 dialect with the assignment attributes of our user tasks."""

    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (HumanTaskParser, HumanTaskSpec),
        full_tag("task"): (SupervisionTaskParser, NoneTask),
        full_tag("scriptTask"): (PropertiesScriptTaskParser, ScriptTask),
        full_tag("intermediateThrowEvent"): (PropertiesThrowEventParser, IntermediateThrowEvent),
        full_tag("intermediateCatchEvent"): (PropertiesCatchEventParser, IntermediateCatchEvent),
        full_tag("boundaryEvent"): (PropertiesBoundaryEventParser, BoundaryEvent),
        full_tag("endEvent"): (PropertiesEndEventParser, EndEvent),
    }

    def add_bpmn_xml(self, bpmn, filename=None):
        """Add a BPMN document with its JUEL and bare ISO texts read as Python."""
        super().add_bpmn_xml(python_tree(bpmn), filename)

    def get_spec(self, process_id, *args, **kwargs):
        """The process spec, with the run-time bounds of engine.bpm.bounds."""
        spec = super().get_spec(process_id, *args, **kwargs)
        if spec is not None:
            bound_spec(spec)
        return spec

    def get_subprocess_specs(self, name, *args, **kwargs):
        """The specs of the processes `name` calls, bounded like `get_spec`."""
        specs = super().get_subprocess_specs(name, *args, **kwargs)
        for spec in specs.values():
            bound_spec(spec)
        return specs
