"""会签, 或签, 比例签: how a multi-instance user task finishes, as a standard completionCondition.

A multi-instance user task gives each signer a task. How the activity finishes is the BPMN
`completionCondition` of its `multiInstanceLoopCharacteristics`, so Camunda Modeler opens
and keeps the file; the designer's three choices write it (`completion_condition`):

- 会签 (`all`): every signer signs; no condition (the default);
- 或签 (`any`): the activity finishes once one signer approves:
  `nrOfApprovedInstances >= 1`;
- 比例签 (`ratio`): it finishes once a share of the signers approved, e.g. two thirds:
  `nrOfApprovedInstances / nrOfInstances >= 2/3`.

A parallel activity that finishes early cancels the signers' tasks still open: their rows
close as `cancelled`, each audited (`task_cancelled`) with the reason in Chinese, and the
signers are told (`record_cut_short`, called by the runtime at every save). A sequential one
simply starts no further signer. When the condition never holds (too few approved), every
signer signs and the process goes on; a gateway after it reads the results.

What the condition reads. SpiffWorkflow 3.2 evaluates it over the data of the instance that
just completed, which holds a stale copy of what the others did, and offers none of Camunda's
counters; `CountersignMixin` (given to every multi-instance spec by engine/bpm/bounds.py)
evaluates it over that data plus:

- `nrOfInstances`, `nrOfActiveInstances`, `nrOfCompletedInstances`: Camunda 7's counters,
  so a Camunda file's condition (`nrOfCompletedInstances / nrOfInstances >= 0.6`) runs as is;
- `nrOfApprovedInstances`, `nrOfRejectedInstances`: the signers who completed with the
  decision 同意 (`decision` = "approve", or a boolean `approved` true) and 不同意 / 退回;
- `<element id>_results` (`results_variable`): one entry per signer, in the signers' order —
  None until that signer completes, then the values of the task's form fields (with the
  signer, the element variable). It stays in the process data after the activity, for a
  gateway: `approved_share(sign_results) >= 2/3` (engine/bpm/expression_helpers.py).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask, SequentialMultiInstanceTask,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from ..core.models import HumanTask, ProcessInstance
from ..core.notifications import notify
from ..core.uow import UnitOfWork
from .changes import all_tasks
from .expression_helpers import is_approval, is_refusal

ALL, ANY, RATIO, CUSTOM = "all", "any", "ratio", "custom"
MODES = {ALL: "会签", ANY: "或签", RATIO: "比例签"}
COUNTERS = ("nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances",
            "nrOfApprovedInstances", "nrOfRejectedInstances")

_ANY = re.compile(r"\s*nrOfApprovedInstances\s*>=\s*1\s*")
_RATIO = re.compile(r"\s*nrOfApprovedInstances\s*/\s*nrOfInstances\s*>=\s*"
                    r"(?P<ratio>\d+(?:\.\d+)?(?:\s*/\s*\d+)?)\s*")


# ---------------------------------------------------------------- the designer's choice

def parse_ratio(text: str) -> str:
    """The ratio as a condition writes it ("2/3", "0.6") from "2/3", "0.6" or "60%".

    ValueError (in Chinese) unless it is a share above 0 and at most 1.
    """
    written = (text or "").strip().replace("％", "%").replace("／", "/")
    try:
        if written.endswith("%"):
            value = Decimal(written[:-1].strip()) / 100
            written = format(value.normalize(), "f")
        elif "/" in written:
            top, bottom = (Decimal(part.strip()) for part in written.split("/", 1))
            if top != top.to_integral() or bottom != bottom.to_integral() or bottom <= 0:
                raise ValueError
            value = top / bottom
            written = f"{int(top)}/{int(bottom)}"
        else:
            value = Decimal(written)
            written = format(value.normalize(), "f")
    except (InvalidOperation, ValueError, ArithmeticError):
        raise ValueError(f"比例“{text}”无法识别：请写成 2/3、0.6 或 60%") from None
    if not 0 < value <= 1:
        raise ValueError(f"比例“{text}”应大于 0 且不超过 1（即 100%）")
    return written


def completion_condition(mode: str, ratio: str | None = None) -> str | None:
    """The completionCondition text of a mode (None for 会签: every signer signs)."""
    if mode == ALL:
        return None
    if mode == ANY:
        return "nrOfApprovedInstances >= 1"
    if mode == RATIO:
        return f"nrOfApprovedInstances / nrOfInstances >= {parse_ratio(ratio or '')}"
    raise ValueError(f"unknown signing mode {mode!r}; one of {', '.join(MODES)}")


def mode_of(condition: str | None) -> tuple[str, str | None]:
    """(mode, ratio) a completionCondition stands for; ("custom", None) for any other text."""
    if condition is None or not condition.strip():
        return ALL, None
    if _ANY.fullmatch(condition):
        return ANY, None
    found = _RATIO.fullmatch(condition)
    if found:
        return RATIO, re.sub(r"\s+", "", found.group("ratio"))
    return CUSTOM, None


def results_variable(element_id: str) -> str:
    """The process variable that holds a multi-instance task's results, per signer."""
    return f"{re.sub(r'[^0-9A-Za-z_]', '_', element_id)}_results"


# ---------------------------------------------------------------- the engine's side

class CountersignMixin:
    """Mixin for multi-instance specs: each signer's result kept in order, and the
    completion condition evaluated with the counters and results (see the module)."""

    def merge_child(self, workflow, child):
        """Keep the completed signer's result, then merge as the library does."""
        parent = child.parent
        if _signs(self, workflow):
            results = self._results(parent)
            instances = list(self._instances(parent))
            position = instances.index(child) if child in instances else len(instances) - 1
            if position >= len(results):
                results.extend([None] * (position + 1 - len(results)))
            results[position] = _result_of(self, child)
            parent.internal_data["results"] = results
            parent.data[results_variable(self.bpmn_id)] = list(results)
        super().merge_child(workflow, child)

    def check_completion_condition(self, my_task):
        """Evaluate the completionCondition over the last signer's data and the counters."""
        merged = my_task.internal_data.get("merged", [])
        if not merged or self.condition is None:
            return False
        last = next(c for c in my_task.children if str(c.id) == merged[-1])
        scope = {**last.data, **self.counters(my_task)}
        try:
            return my_task.workflow.script_engine.environment.evaluate(self.condition, scope)
        except SpiffWorkflowException:
            raise
        except Exception as exc:
            raise WorkflowTaskException(
                f"多实例环节“{self.bpmn_name or self.bpmn_id}”的完成条件“{self.condition}”"
                f"出错：{exc}", task=last, exception=exc) from exc

    def counters(self, my_task) -> dict[str, Any]:
        """The names a completion condition reads besides the signer's data."""
        instances = list(self._instances(my_task))
        results = self._results(my_task) if _signs(self, my_task.workflow) else []
        done = [r for r in results if r is not None]
        return {
            "nrOfInstances": max(self._count(my_task), len(instances)),
            "nrOfActiveInstances": sum(1 for c in instances
                                       if not c.has_state(TaskState.FINISHED_MASK)),
            "nrOfCompletedInstances": len(my_task.internal_data.get("merged", [])),
            "nrOfApprovedInstances": sum(1 for r in done if is_approval(r)),
            "nrOfRejectedInstances": sum(1 for r in done if is_refusal(r)),
            results_variable(self.bpmn_id): results,
        }

    def _results(self, my_task) -> list:
        """One entry per signer, kept with this run of the activity (a loop's next run of
        it starts afresh), None for those who have not completed."""
        results = list(my_task.internal_data.get("results") or [])
        return results + [None] * (self._count(my_task) - len(results))

    def _count(self, my_task) -> int:
        """How many signers the activity has (a sequential one creates them one by one)."""
        if isinstance(self, SequentialMultiInstanceTask):
            cardinality = my_task.internal_data.get("cardinality")
            if isinstance(cardinality, int):
                return cardinality
            if self.data_input is not None and self.data_input.exists(my_task):
                try:
                    return len(self.data_input.get(my_task))
                except TypeError:
                    pass
        return len(list(self._instances(my_task)))


def _signs(spec, workflow) -> bool:
    """Whether the activity's instances are user tasks (with a form) whose results count."""
    child = workflow.spec.task_specs.get(spec.task_spec)
    return hasattr(child, "form")


def _result_of(spec, child) -> dict[str, Any]:
    """One signer's result: the values of the task's form fields, with the element variable."""
    child_spec = child.task_spec
    result: dict[str, Any] = {}
    if spec.input_item is not None and spec.input_item.exists(child):
        result[spec.input_item.bpmn_id] = spec.input_item.get(child)
    form = getattr(child_spec, "form", None)
    for field in getattr(form, "fields", None) or ():
        if field.id in child.data:
            result[field.id] = child.data[field.id]
    return result


def cut_short(workflow, finished_before) -> list[tuple[Any, Any]]:
    """(signer's task, activity task) of each signer a completion condition cancelled now.

    "Now" is since `finished_before`; an activity cancelled as a whole (by an event) is not
    counted, its signers' tasks went with it.
    """
    found = []
    for task in all_tasks(workflow):
        spec = task.task_spec
        if not isinstance(spec, MultiInstanceTask) or spec.condition is None:
            continue
        if task.has_state(TaskState.CANCELLED) or task.id in finished_before:
            continue
        for child in spec._instances(task):
            if child.state == TaskState.CANCELLED and child.id not in finished_before:
                found.append((child, task))
    return found


def reason(spec, activity) -> str:
    """Why a signer's task was cancelled, in Chinese."""
    mode, ratio = mode_of(spec.condition)
    counters = spec.counters(activity) if isinstance(spec, CountersignMixin) else {}
    approved = counters.get("nrOfApprovedInstances")
    if mode == ANY:
        return f"或签：已有 {approved} 人同意，其余签批人无需再签"
    if mode == RATIO:
        return (f"比例签：同意人数已达 {ratio}（{approved}/{counters.get('nrOfInstances')}），"
                "其余签批人无需再签")
    return f"多实例完成条件“{spec.condition}”已满足，其余实例无需再办"


def record_cut_short(uow: UnitOfWork, row: ProcessInstance, workflow, finished_before,
                     actor: str) -> None:
    """Audit each signer's task a completion condition closed in this call, and tell them.

    Called by the runtime after the task rows were synchronised (the rows are 'cancelled').
    """
    for child, activity in cut_short(workflow, finished_before):
        task = uow.session.execute(select(HumanTask).where(
            HumanTask.instance_id == row.id, HumanTask.spiff_task_id == str(child.id),
            HumanTask.state == "cancelled")).scalars().first()
        if task is None:
            continue
        why = reason(activity.task_spec, activity)
        uow.audit.record(actor, "task_cancelled", subject=f"instance:{row.id}",
                         instance_id=row.id, task_id=task.id, element=task.element_id,
                         name=task.name, why=why)
        users = [task.assignee] if task.assignee else [c.name for c in task.candidates
                                                       if c.kind == "user"]
        groups = [] if task.assignee else [c.name for c in task.candidates if c.kind == "group"]
        notify(uow, kind="info", title=f"无需再签：{task.name}", body=why, users=users,
               groups=groups, instance_id=row.id, task_id=task.id)
