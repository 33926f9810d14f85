"""The BPMN dialect we read: SpiffWorkflow's Camunda parser plus the assignment attributes.

SpiffWorkflow 3.2's `CamundaParser` reads lanes and `camunda:formData` but not
`camunda:candidateGroups`, `camunda:candidateUsers`, `camunda:assignee` or
`camunda:dueDate`. Those decide who sees a task and when it is late, so the user-task
parser is extended here through `OVERRIDE_PARSER_CLASSES`, the library's own plug point.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, UserTaskParser
from SpiffWorkflow.camunda.specs.user_task import UserTask as CamundaUserTask

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


class GongjianParser(CamundaParser):
    """The Camunda 7 dialect with the assignment attributes of our user tasks."""

    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (HumanTaskParser, HumanTaskSpec),
    }
