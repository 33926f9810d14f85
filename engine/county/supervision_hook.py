"""Reminders and escalations made by the process itself, from marked BPMN elements.

The convention for designers: a plain task, a script task or an event carries

    <bpmn:extensionElements>
      <camunda:properties>
        <camunda:property name="action" value="remind" />   <!-- or "escalate" -->
        <camunda:property name="target" value="approve" />  <!-- optional -->
      </camunda:properties>
    </bpmn:extensionElements>

When such an element completes during a service call (start, complete, a timer firing),
the engine records it, with the calling actor as author ('timer' for the worker):

- `remind`: a reminder on every open user task of the instance, or only on those at the
  element id named by `target`; optional `message`.
- `escalate`: an escalation to the value of the process variable named by `rung_variable`
  (default `rung`), from the value that variable had before on the way to the element (or
  the instance's current rung); optional `reason`.

The runtime hands this hook (engine.county.hooks) the marked steps that completed in the
service call, so each is recorded once whatever the path.
"""

from __future__ import annotations

from ..bpm.hooks import FinishedStep, SaveSummary
from ..bpm.parser import SUPERVISION_ACTIONS as ACTIONS
from ..core.identity import Actor
from ..core.uow import UnitOfWork
from .supervision import _open_tasks, current_rung, record_escalation, record_reminder

DEFAULT_RUNG_VARIABLE = "rung"
DEFAULT_REASON = "超过时限，自动升级"


def apply_supervision_actions(uow: UnitOfWork, summary: SaveSummary, actor: Actor) -> None:
    """Record the reminders and escalations of the marked steps completed in this call."""
    for step in summary.finished:
        action = step.properties.get("action")
        if action not in ACTIONS:
            continue
        if action == "remind":
            _remind(uow, summary, step, actor)
        else:
            _escalate(uow, summary, step, actor)


def _remind(uow: UnitOfWork, summary: SaveSummary, step: FinishedStep, actor: Actor) -> None:
    instance = summary.instance
    targets = _open_tasks(uow.session, instance_id=instance.id,
                          element_id=step.properties.get("target"))
    message = step.properties.get("message") or f"{step.name or '办理'}：请尽快办理"
    if not targets:
        record_reminder(uow, "instance", str(instance.id), actor.username, [], message,
                        automatic=True, instance_id=instance.id,
                        business_key=instance.business_key)
    for human in targets:
        record_reminder(uow, "task", human.id, actor.username, [human], message, automatic=True,
                        instance_id=instance.id, business_key=instance.business_key)


def _escalate(uow: UnitOfWork, summary: SaveSummary, step: FinishedStep, actor: Actor) -> None:
    variable = step.properties.get("rung_variable") or DEFAULT_RUNG_VARIABLE
    new = step.data.get(variable)
    if new is None:
        new = summary.process_data.get(variable)
    previous = step.earlier_value(variable, differing_from=new)
    from_rung = (str(previous) if previous is not None
                 else current_rung(uow.session, instance_id=summary.instance.id))
    to_rung = str(new) if new is not None else "?"
    default = step.properties.get("reason") or DEFAULT_REASON
    if step.message is not None:  # a person asked for it: their reason, not the timer's
        sent = step.data.get(f"{step.message}_payload") or {}
        reason = sent.get("reason") if isinstance(sent, dict) else None
        record_escalation(uow, summary.instance, actor.username, from_rung, to_rung,
                          reason or default, automatic=False)
        return
    record_escalation(uow, summary.instance, actor.username, from_rung, to_rung, default,
                      automatic=True)
