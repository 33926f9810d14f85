"""Run-time bounds on what a parsed process may make the engine do, decided by data.

The lint refuses the limits written into a file (a literal loop cardinality, a gateway with
too many branches, a literal timer cycle); what data decides is checked here, on the parsed
specs, before the engine acts on it:

- a multi-instance activity refuses to start more than `MAX_INSTANCES` instances (a
  collection or cardinality read from data);
- a timer cycle refuses an interval under `MIN_CYCLE_SECONDS` or more than
  `MAX_CYCLE_REPEATS` repetitions (`R1000000/PT0S`).

`bound_spec` swaps the library's classes for the bounded ones on a parsed spec, as
SpiffWorkflow's own parser picks classes; the state of an instance does not name spec
classes, so stored instances are unaffected. The same swap gives multi-instance specs the
completion condition of 会签 / 或签 / 比例签 (engine/bpm/countersign.py).

It also wires each multi-instance activity as SpiffWorkflow's own spec deserializer does
(`wire_multi_instance`): the library connects an instance's completion to the activity's
merge only when the activity starts, and the Camunda dialect sets its data input only then;
a spec parsed again (another worker process, a restart, the cache's eviction) restored an
instance whose activity had already started without either, so the instances finished and
were never merged (the activity waited for ever) or were appended to the collection.
"""

from __future__ import annotations

import functools

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition, TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    LoopTask, MultiInstanceTask, ParallelMultiInstanceTask, SequentialMultiInstanceTask,
)
from SpiffWorkflow.camunda.specs.multiinstance_task import (
    ParallelMultiInstanceTask as CamundaParallel, SequentialMultiInstanceTask as CamundaSequential,
)

from .budget import MAX_CYCLE_REPEATS, MAX_INSTANCES, MIN_CYCLE_SECONDS
from .countersign import CountersignMixin


class _BoundedInstances:
    """Mixin: refuse to start more instances than MAX_INSTANCES."""

    def _name(self, my_task) -> str:
        child = my_task.workflow.spec.task_specs.get(self.task_spec)
        return getattr(child, "bpmn_name", None) or self.bpmn_name or self.bpmn_id

    def _refuse_missing(self, my_task) -> None:
        """A collection the data do not hold, or not a list: a clear stop, not a TypeError."""
        if not isinstance(self.data_input, TaskDataReference):
            return  # none (a cardinality), or a data object, which reports its own absence
        items = self.data_input.get(my_task)
        if items is None or not hasattr(items, "__iter__"):
            variable = getattr(self.data_input, "bpmn_name", None) or self.data_input.bpmn_id
            raise WorkflowTaskException(
                f"多实例环节“{self._name(my_task)}”要按“{variable}”逐项办理，但流程数据中"
                f"{'没有它' if items is None else '它不是列表'}；本次办理未做任何更改。",
                task=my_task)

    def _refuse_too_many(self, my_task) -> None:
        if self.data_input is not None:
            items = self.data_input.get(my_task)
            try:
                count = len(items)
            except TypeError:
                return
        else:
            count = my_task.workflow.script_engine.evaluate(my_task, self.cardinality)
        if isinstance(count, int) and count > MAX_INSTANCES:
            raise WorkflowTaskException(
                f"多实例环节“{self._name(my_task)}”要启动 {count} 个实例，超过上限 "
                f"{MAX_INSTANCES} 个；本次办理未做任何更改。", task=my_task)


class _BoundedParallel(_BoundedInstances):
    """Mixin for a parallel multi-instance activity: check the count before starting them."""

    def create_children(self, my_task):
        """Check the collection and the count, then start the instances."""
        self._refuse_missing(my_task)
        self._refuse_too_many(my_task)
        super().create_children(my_task)


class _BoundedSequential(_BoundedInstances):
    """Mixin for a sequential multi-instance activity: check the count before the first."""

    def _update_hook(self, my_task):
        # After the library's hook: the Camunda dialect sets the data input (its collection)
        # only there. Refusing once the first instance exists still changes nothing.
        first = not my_task.internal_data.get("merged")
        try:
            ready = super()._update_hook(my_task)
        except WorkflowException:
            if first:  # the library's "must be iterable", said in words when that is why
                self._refuse_missing(my_task)
            raise
        if first:
            self._refuse_too_many(my_task)
        return ready


class BoundedCycleTimer(CycleTimerEventDefinition):
    """A timer cycle with at least MIN_CYCLE_SECONDS between firings and a bounded count."""

    def cycle_complete(self, my_task):
        """Check a newly started cycle's interval and count, then run it as the library does."""
        if my_task._get_internal_data("event_value") is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            try:
                cycles, _start, duration = TimerEventDefinition.parse_iso_recurring_interval(
                    expression)
            except Exception:  # the library's own call below reports a malformed cycle
                cycles, duration = 0, None
            if duration is not None and duration.total_seconds() < MIN_CYCLE_SECONDS:
                raise WorkflowTaskException(
                    f"定时循环“{expression}”的间隔不足 {MIN_CYCLE_SECONDS} 秒；"
                    "本次办理未做任何更改。", task=my_task)
            if cycles > MAX_CYCLE_REPEATS:
                raise WorkflowTaskException(
                    f"定时循环“{expression}”要重复 {cycles} 次，超过上限 {MAX_CYCLE_REPEATS} 次；"
                    "本次办理未做任何更改。", task=my_task)
        return super().cycle_complete(my_task)


@functools.cache
def _bounded_class(cls: type) -> type | None:
    """The bounded subclass of a multi-instance spec class (None for other classes); it also
    evaluates the completion condition with the signers' counters (engine/bpm/countersign.py)."""
    for library, mixin in ((ParallelMultiInstanceTask, _BoundedParallel),
                           (SequentialMultiInstanceTask, _BoundedSequential)):
        if issubclass(cls, library) and not issubclass(cls, mixin):
            return type(f"Bounded{cls.__name__}", (mixin, CountersignMixin, cls), {})
    return None


def wire_multi_instance(spec, task_spec) -> None:
    """Connect a multi-instance activity's instances to its merge, and give a Camunda one
    (a `camunda:collection`, no cardinality) its data input, as at its start."""
    if not isinstance(task_spec, LoopTask):
        return
    child = spec.task_specs.get(task_spec.task_spec)
    if child is not None and not child.completed_event.is_connected(task_spec.merge_child):
        child.completed_event.connect(task_spec.merge_child)
    if (isinstance(task_spec, (CamundaParallel, CamundaSequential))
            and task_spec.cardinality is None and task_spec.data_output is not None
            and task_spec.output_item is not None):
        task_spec.data_input = TaskDataReference(task_spec.data_output.bpmn_id)
        task_spec.input_item = TaskDataReference(task_spec.output_item.bpmn_id)


def bound_spec(spec) -> None:
    """Give the task specs of a parsed process spec their bounded classes, and wire its
    multi-instance activities, in place."""
    for task_spec in spec.task_specs.values():
        bounded = _bounded_class(type(task_spec))
        if bounded is not None:
            task_spec.__class__ = bounded
        definition = getattr(task_spec, "event_definition", None)
        if type(definition) is CycleTimerEventDefinition:
            definition.__class__ = BoundedCycleTimer
    # After the swap: the merge connected is the bounded class's, the one the library's
    # `create_child` looks for, so it is never connected twice.
    for task_spec in list(spec.task_specs.values()):
        wire_multi_instance(spec, task_spec)
