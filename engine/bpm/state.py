"""Instance state: SpiffWorkflow's serialization without the process definition in it.

SpiffWorkflow's default JSON embeds the whole definition in every instance (half of a
small instance's JSON and most of its restore time). Here the instance keeps only its
tasks and data; the definition comes from the deployment through the spec cache.

Only state this module wrote is ever restored: the serializer version is checked and
SpiffWorkflow's migrations of older formats (which can `eval` timer strings) never run.
"""

from __future__ import annotations

import json
from copy import copy
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter, WorkflowConverter,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG

from ..core.errors import GongjianError

STATE_FORMAT = "gongjian-1"


class StateFormatError(GongjianError):
    """Stored state was written by another format; it is refused rather than migrated."""


class _InstanceConverter(BpmnWorkflowConverter):
    """Converts a workflow without its specs; restoring needs the specs passed in."""

    def to_dict(self, workflow):
        """Tasks, data, subprocesses and events; no definition."""
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        """Rebuild the workflow around the cached `spec` and `subprocess_specs`."""
        if spec is None:
            raise StateFormatError("restoring an instance needs its process definition")
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = copy(DEFAULT_CONFIG)
    config[BpmnWorkflow] = _InstanceConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _make_serializer()


def dump_state(workflow: BpmnWorkflow) -> bytes:
    """The workflow's state as compact JSON bytes, without its definition."""
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = registry.convert(workflow)
    finally:
        registry._encoder_mode = False
    dct["format"] = STATE_FORMAT
    return json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def load_state(state: bytes, spec, subprocess_specs) -> BpmnWorkflow:
    """Restore a workflow written by `dump_state` around its definition."""
    dct = json.loads(state)
    found = dct.pop("format", None)
    if found != STATE_FORMAT:
        raise StateFormatError(f"instance state has format {found!r}, expected {STATE_FORMAT!r}; "
                               "it was not written by this version of the engine")
    return _SERIALIZER.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
