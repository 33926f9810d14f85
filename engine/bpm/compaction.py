"""Compaction: the finished rounds of a loop are dropped from an instance's task tree.

SpiffWorkflow keeps every task an instance ever ran. A process that loops (an issue
reminded and escalated fifty times, a permit item returned again and again) grows by a
round of tasks each time, and every restore and save walks them all: an issue after 50
escalations stored 330 KB and completed a task six times slower than a fresh one.

At each save, on the path from the root to the work still open, a finished task is dropped
when a later task on that path runs the same element (it belongs to an earlier round), it
finished before this service call began, and everything else hanging from it (a cancelled
boundary event, a cancelled subprocess) finished too; those side branches and their
subprocesses go with it. The path is re-linked around it, so each task keeps the data it
had (state.py writes task data as a change from the parent, computed from live data).

What stays: the tasks of the latest round, every element run once (the steps before the
loop), and the open work. 退回 and 撤回 look only at the nearest earlier run of each
element, which always stays. The history of the dropped rounds is not lost: the audit log
and the human_task rows hold who did what, when and why.
"""

from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState


def compact(workflow: BpmnWorkflow, finished_before: frozenset[UUID]) -> int:
    """Drop earlier loop rounds among the tasks `finished_before` this call; how many went."""
    dropped = _compact_tree(workflow, finished_before)
    for sub in list(workflow.subprocesses.values()):
        if not sub.completed:
            dropped += _compact_tree(sub, finished_before)
    if dropped:
        _drop_orphan_subprocesses(workflow)
    return dropped


def _compact_tree(workflow, finished_before: frozenset[UUID]) -> int:
    # A tree with no more tasks than elements cannot hold two runs of one element on a path.
    if len(workflow.tasks) <= len(workflow.spec.task_specs):
        return 0
    path = _path_to_open_work(workflow)
    later_specs: set[str] = set()
    dropped = 0
    # From the open work up: a task whose element runs again further down is an earlier run.
    for index in range(len(path) - 2, 0, -1):
        task = path[index]
        name = task.task_spec.name
        if name in later_specs and _droppable(workflow, task, path[index + 1], finished_before):
            dropped += _unlink(workflow, task, path[index + 1])
        later_specs.add(name)
    return dropped


def _path_to_open_work(workflow) -> list:
    """Root → … → the deepest task that is an ancestor of (or is) every unfinished task."""
    common: list | None = None
    for task in workflow.tasks.values():
        if task.has_state(TaskState.FINISHED_MASK) or any(
                not child.has_state(TaskState.FINISHED_MASK) for child in task.children):
            continue  # only the lowest unfinished tasks are needed: their ancestors follow
        chain = []
        node = task
        while node is not None:
            chain.append(node)
            node = node.parent
        chain.reverse()
        if common is None:
            common = chain
        else:
            size = 0
            for mine, theirs in zip(common, chain):
                if mine is not theirs:
                    break
                size += 1
            common = common[:size]
    return common or []


def _droppable(workflow, task, next_on_path, finished_before: frozenset[UUID]) -> bool:
    if task.id not in finished_before or task is workflow.last_task:
        return False
    for child in task.children:
        if child is next_on_path:
            continue
        stack = [child]
        while stack:
            node = stack.pop()
            if node.id not in finished_before or node is workflow.last_task:
                return False
            stack.extend(node.children)
    return True


def _unlink(workflow, task, next_on_path) -> int:
    """Remove `task` and its side branches; its parent adopts the next task of the path."""
    before = len(workflow.tasks)
    parent = task.parent
    for child in task.children:
        if child is not next_on_path:
            workflow._remove_task(child.id)  # the whole finished side branch
    parent._children[parent._children.index(task.id)] = next_on_path.id
    next_on_path._parent = parent.id
    del workflow.tasks[task.id]
    return before - len(workflow.tasks)


def _drop_orphan_subprocesses(top: BpmnWorkflow) -> None:
    """Forget subprocesses whose calling task was dropped (nested ones with their callers)."""
    while True:
        live_ids = set(top.tasks)
        for sub in top.subprocesses.values():
            live_ids.update(sub.tasks)
        orphans = [key for key in top.subprocesses if key not in live_ids]
        if not orphans:
            return
        for key in orphans:
            del top.subprocesses[key]
