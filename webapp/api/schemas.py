"""The JSON API's marshmallow schemas: one per resource, plus the arguments each endpoint takes.

Response schemas dump the engine's plain dataclasses; argument schemas validate requests
before any engine service runs (a task's form data is validated again by the engine, with
the schema built from the task's own form: engine/forms.py).
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from engine.bpm.signals import SCOPES as SIGNAL_SCOPES
from engine.county.projects import FUNDING, KEY_LEVELS, RESERVE_CLASSES, RESERVE_TRACKS, STAGES
from engine.ops.webhooks import EVENT_KINDS, FORMATS

from ..converters import MAX_ID
from .dumping import Schema

ID = validate.Length(min=1, max=200)


class ProblemSchema(Schema):
    """An RFC 9457 problem document: what went wrong, for people and for programs."""

    type = fields.String(required=True, metadata={"description": "URI naming the problem kind"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "field name → messages"})


# ---------------------------------------------------------------- paging

class PageArgs(Schema):
    """`limit` and the opaque `cursor` of the page before."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))


class PageSchema(Schema):
    """Fields every page has besides its items."""

    next_cursor = fields.String(allow_none=True, required=True,
                                metadata={"description": "pass as `cursor` for the next page; "
                                          "null on the last page"})


# ---------------------------------------------------------------- definitions

class DefinitionSchema(Schema):
    """A deployed version of a process or decision."""

    id = fields.Integer(required=True)
    key = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["process", "decision"]})
    name = fields.String(allow_none=True)
    version = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    filename = fields.String(required=True)
    deployed_by = fields.String(required=True)
    deployed_at = fields.DateTime(required=True)
    is_latest = fields.Boolean(required=True)


class DefinitionPageSchema(PageSchema):
    """A page of definitions."""

    items = fields.List(fields.Nested(DefinitionSchema), required=True)


class DefinitionListArgs(PageArgs):
    """Filters of the definition list."""

    kind = fields.String(validate=validate.OneOf(["process", "decision"]))


class DeployArgs(Schema):
    """BPMN and DMN files to deploy together (all or nothing)."""

    files = fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}),
                        required=True, validate=validate.Length(min=1, max=50))


class DeployResultSchema(Schema):
    """What one deployed file became."""

    key = fields.String(required=True)
    kind = fields.String(required=True)
    version = fields.Integer(required=True)
    deployment_id = fields.Integer(required=True)
    created = fields.Boolean(required=True, metadata={"description": "false when unchanged"})
    filename = fields.String(required=True)


# ---------------------------------------------------------------- instances

class HistoryEntrySchema(Schema):
    """One line of an instance's history (the audit log)."""

    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    task_id = fields.String(allow_none=True)
    detail = fields.Dict(required=True)


class MatterFieldSchema(Schema):
    """A variable of the matter: its label, raw value and the value in words."""

    name = fields.String(required=True)
    label = fields.String(required=True)
    value = fields.Raw(allow_none=True)
    text = fields.String(required=True, metadata={"description": "units, people, projects "
                                                  "by name; enum values by their names"})


class CameBackSchema(Schema):
    """Why the task's step is to be done again."""

    how = fields.String(required=True, metadata={
        "description": "returned (退回), again (a choice led back), or the audit action "
                       "(escalated …)"})
    step = fields.String(allow_none=True)
    actor = fields.String(required=True, metadata={"description": "by name"})
    on_behalf_of = fields.String(allow_none=True)
    at = fields.String(required=True)
    opinion = fields.String(allow_none=True)
    fields_ = fields.List(fields.Nested(MatterFieldSchema), data_key="fields",
                          attribute="fields")


class OutcomeStepSchema(Schema):
    """A step a choice leads to."""

    name = fields.String(required=True)
    lane = fields.String(allow_none=True)
    ends = fields.Boolean(required=True)
    back = fields.Boolean(required=True, metadata={"description": "a step drawn before "
                                                   "this one: the process goes back to it"})


class OutcomeSchema(Schema):
    """One choice (None: the one way on) and where it leads."""

    choice = fields.String(allow_none=True)
    steps = fields.List(fields.Nested(OutcomeStepSchema))


class MatterSchema(Schema):
    """What the task is about (the BPMN's gongjian:matter property, or the defaults)."""

    fields_ = fields.List(fields.Nested(MatterFieldSchema), data_key="fields",
                          attribute="fields")
    came_back = fields.Nested(CameBackSchema, allow_none=True)
    earlier = fields.List(fields.Nested(MatterFieldSchema), metadata={
        "description": "the task's own fields as last submitted, when it came back"})
    outcomes = fields.List(fields.Nested(OutcomeSchema))


class NextStepSchema(Schema):
    """An open step of an instance: who holds it and by when."""

    task_id = fields.String(required=True)
    name = fields.String(required=True)
    element_id = fields.String(required=True)
    subject = fields.Nested(MatterFieldSchema, allow_none=True, metadata={
        "description": "what tells it apart from open steps of the same name"})
    state = fields.String(required=True)
    holders = fields.List(fields.String(), metadata={
        "description": "people and groups by name: 张三（县自然资源局）, 「县发改局 审批人」"})
    assignee = fields.String(allow_none=True)
    candidate_groups = fields.List(fields.String())
    candidate_users = fields.List(fields.String())
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    working_days = fields.Integer(allow_none=True, metadata={
        "description": "its time limit in working days, when counted in working days"})
    sla = fields.String(allow_none=True, metadata={"enum": ["ok", "due_soon", "overdue"]})
    overdue_days = fields.Integer(allow_none=True)


class InstanceSchema(Schema):
    """A process instance; `row_version` is also its ETag."""

    id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    business_key = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"enum": ["running", "completed", "cancelled"]})
    started_by = fields.String(required=True)
    started_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True)
    row_version = fields.Integer(required=True)
    data = fields.Dict(metadata={"description": "process data (only on a single instance)"})
    open_tasks = fields.List(fields.String(), metadata={"description": "names of open tasks"})
    history = fields.List(fields.Nested(HistoryEntrySchema))
    next_steps = fields.List(fields.Nested(NextStepSchema), metadata={
        "description": "who acts next (on GET of one instance and on a start)"})


class InstancePageSchema(PageSchema):
    """A page of instances, newest first."""

    items = fields.List(fields.Nested(InstanceSchema), required=True)


class InstanceListArgs(PageArgs):
    """Filters of the instance list."""

    process_key = fields.String(validate=ID)
    business_key = fields.String(validate=ID)
    status = fields.String(validate=validate.OneOf(["running", "completed", "cancelled"]))


class StartInstanceArgs(Schema):
    """Start the latest version of a process."""

    process_key = fields.String(required=True, validate=ID)
    business_key = fields.String(allow_none=True, validate=validate.Length(max=200))
    data = fields.Dict(keys=fields.String(), load_default=dict,
                       metadata={"description": "start form values / process data"})


class CancelArgs(Schema):
    """Why an instance is cancelled."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


# ---------------------------------------------------------------- tasks

class FormFieldSchema(Schema):
    """One field of a task's form (Camunda formData)."""

    id = fields.String(required=True)
    label = fields.String(allow_none=True)
    type = fields.String(required=True, metadata={"enum": ["string", "long", "boolean", "date",
                                                           "enum"]})
    default = fields.Raw(allow_none=True)
    validation = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))
    options = fields.List(fields.Dict())


class TaskSchema(Schema):
    """A human task; `actions` are what the caller may do to it now."""

    id = fields.String(required=True)
    instance_id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    business_key = fields.String(allow_none=True)
    element_id = fields.String(required=True)
    name = fields.String(required=True)
    lane = fields.String(allow_none=True)
    state = fields.String(required=True, metadata={
        "description": "open, claimed, completed, cancelled, returned, withdrawn …"})
    assignee = fields.String(allow_none=True)
    candidate_groups = fields.List(fields.String(), required=True)
    candidate_users = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    ended_by = fields.String(allow_none=True)
    documentation = fields.String(allow_none=True)
    form_fields = fields.List(fields.Nested(FormFieldSchema))
    decision = fields.Boolean(metadata={"description": "complete with approve/return/reject"})
    actions = fields.List(fields.String())
    delegated_by = fields.String(allow_none=True)
    matter = fields.Nested(MatterSchema, metadata={
        "description": "what the task is about, why it came back, what follows each choice "
                       "(only on a single task)"})


class TaskPageSchema(PageSchema):
    """A page of tasks, soonest due first (done and copied: newest first)."""

    items = fields.List(fields.Nested(TaskSchema), required=True)


class TaskListArgs(PageArgs):
    """Which tasks: the inbox's lists and filters."""

    scope = fields.String(load_default="open", validate=validate.OneOf(
        ["open", "mine", "group", "done", "copied"]),
        metadata={"description": "open = mine + group; done = completed by me"})
    process = fields.String(validate=ID)
    sla = fields.String(validate=validate.OneOf(["ok", "due_soon", "overdue"]))


class CompleteArgs(Schema):
    """Form data; on a decision task also the decision and the opinion."""

    data = fields.Dict(keys=fields.String(), load_default=dict)
    decision = fields.String(validate=validate.OneOf(["approve", "return", "reject"]))
    opinion = fields.String(load_default="", validate=validate.Length(max=10_000))


class HandOverArgs(Schema):
    """The user a task goes to (转办/委派/抄送) and why."""

    to_user = fields.String(required=True, validate=validate.Length(min=1, max=100))
    why = fields.String(load_default="", validate=validate.Length(max=2000))


class ResolveArgs(Schema):
    """The delegate's opinion when handing a task back."""

    opinion = fields.String(load_default="", validate=validate.Length(max=10_000))


class ReturnArgs(Schema):
    """退回: the earlier task to send the process back to, and why."""

    to_element_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    opinion = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class WithdrawArgs(Schema):
    """撤回: why the completed task is recalled."""

    why = fields.String(load_default="", validate=validate.Length(max=2000))


# ---------------------------------------------------------------- messages

class MessageArgs(Schema):
    """A BPMN message: to the one instance waiting for it under a business key or id."""

    business_key = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))
    instance_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    payload = fields.Dict(keys=fields.String(), load_default=dict)


class MessageResultSchema(Schema):
    """Where a message went."""

    message = fields.String(required=True)
    instance_id = fields.Integer(allow_none=True)
    status = fields.String(allow_none=True)
    row_version = fields.Integer(allow_none=True)


# ---------------------------------------------------------------- signals

class SignalArgs(Schema):
    """A BPMN signal: to every running instance in scope that waits for it."""

    scope = fields.String(required=True, validate=validate.OneOf(SIGNAL_SCOPES), metadata={
        "description": "all: every running instance that waits; business_key: those of one "
                       "business key; instance: one instance id"})
    business_key = fields.String(allow_none=True, validate=ID)
    instance_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    payload = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "lands in the catching task's data as <name>_payload"})

    @validates_schema
    def _scope_names_its_target(self, data, **_kwargs):
        """The scope's business key or instance id is given."""
        if data.get("scope") == "business_key" and not data.get("business_key"):
            raise ValidationError("required for scope business_key", "business_key")
        if data.get("scope") == "instance" and data.get("instance_id") is None:
            raise ValidationError("required for scope instance", "instance_id")


class SignalFailureSchema(Schema):
    """An instance that failed on the signal and was left as it was."""

    instance_id = fields.Integer(required=True)
    detail = fields.String(required=True)


class SignalResultSchema(Schema):
    """Where a signal went."""

    signal = fields.String(required=True)
    scope = fields.String(required=True)
    delivered = fields.List(fields.Integer(), required=True)
    failed = fields.List(fields.Nested(SignalFailureSchema), required=True)


# ---------------------------------------------------------------- issues and supervision

class ReminderSchema(Schema):
    """One reminder (催办)."""

    id = fields.Integer(required=True)
    subject_kind = fields.String(required=True)
    subject_id = fields.String(required=True)
    instance_id = fields.Integer(allow_none=True)
    task_id = fields.String(allow_none=True)
    business_key = fields.String(allow_none=True)
    by = fields.String(required=True)
    at = fields.DateTime(required=True)
    message = fields.String(allow_none=True)
    automatic = fields.Boolean(required=True)


class EscalationSchema(Schema):
    """One move up the ladder (升级)."""

    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    business_key = fields.String(allow_none=True)
    from_rung = fields.String(allow_none=True)
    to_rung = fields.String(required=True)
    by = fields.String(required=True)
    automatic = fields.Boolean(required=True)
    reason = fields.String(allow_none=True)
    at = fields.DateTime(required=True)


class SupervisionSchema(Schema):
    """The supervision record of an issue: its reminders and escalations, oldest first."""

    reminders = fields.List(fields.Nested(ReminderSchema), required=True)
    escalations = fields.List(fields.Nested(EscalationSchema), required=True)


class OpenTaskSchema(Schema):
    """An open task in a summary."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    assignee = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)


class IssueSchema(Schema):
    """An issue in the ledger (台账): one issue_lifecycle instance."""

    id = fields.Integer(required=True)
    title = fields.String(allow_none=True)
    project_code = fields.String(allow_none=True)
    scope = fields.String(allow_none=True)
    severity = fields.String(allow_none=True)
    responsible_unit = fields.String(allow_none=True)
    sub_command = fields.String(allow_none=True)
    status = fields.String(required=True)
    registered_by = fields.String(required=True)
    registered_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True)
    rung = fields.String(allow_none=True, metadata={
        "description": "the rung of the escalation ladder the issue is on (1–4)"})
    step = fields.String(metadata={
        "description": "办理环节: registered, assigned, committed, reported, cleared, cancelled"})
    listed = fields.Boolean(metadata={"description": "挂牌督办: under listed supervision now"})
    row_version = fields.Integer(required=True)
    open_tasks = fields.List(fields.Nested(OpenTaskSchema), required=True)


class IssuePageSchema(PageSchema):
    """A page of issues, newest first."""

    items = fields.List(fields.Nested(IssueSchema), required=True)


class IssueListArgs(PageArgs):
    """Filters of the issue list."""

    project_code = fields.String(validate=ID)
    status = fields.String(validate=validate.OneOf(["running", "completed", "cancelled"]))


class RegisterIssueArgs(Schema):
    """问题登记: what the ledger needs to route and assign an issue."""

    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    project_code = fields.String(required=True, validate=validate.Length(min=1, max=50))
    scope = fields.String(required=True, validate=validate.OneOf(["site", "unit", "cross",
                                                                  "county"]))
    severity = fields.String(required=True, validate=validate.OneOf(["minor", "normal", "major"]))
    responsible_unit = fields.String(required=True, validate=validate.Length(min=1, max=50))
    sub_command = fields.String(required=True, validate=validate.Length(min=1, max=50))


class RemindArgs(Schema):
    """催办: an optional message to the handlers."""

    message = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(max=2000))


class EscalateArgs(Schema):
    """升级: why the issue climbs one rung of the ladder (also why a listing is lifted)."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ListArgs(Schema):
    """挂牌督办: why the issue is listed, and its own deadline (a date, optional)."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    due = fields.Date(load_default=None)


class ListingSchema(Schema):
    """One period of listed supervision."""

    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    listed_by = fields.String(required=True)
    listed_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    lifted_by = fields.String(allow_none=True)
    lifted_at = fields.DateTime(allow_none=True)
    lift_reason = fields.String(allow_none=True)


# ---------------------------------------------------------------- projects

class ProjectSchema(Schema):
    """A project of the county, with its issues and open tasks on the single view."""

    code = fields.String(required=True)
    name = fields.String(required=True)
    sub_command = fields.String(required=True)
    stage = fields.String(required=True, metadata={"enum": list(STAGES)})
    township = fields.String(required=True)
    lead_department = fields.String(required=True)
    project_unit = fields.String(required=True)
    specialist = fields.String(allow_none=True)
    key_level = fields.String(required=True)
    funding = fields.String(required=True)
    planned_investment = fields.Integer(required=True, metadata={"description": "万元"})
    reserve_class = fields.String(allow_none=True, metadata={"enum": list(RESERVE_CLASSES)})
    reserve_track = fields.String(allow_none=True, metadata={"enum": list(RESERVE_TRACKS)})
    issues = fields.List(fields.Nested(IssueSchema), metadata={"description": "问题清单"})
    open_tasks = fields.List(fields.Nested(OpenTaskSchema), metadata={"description": "任务清单"})
    schedule = fields.List(fields.Nested(lambda: ScheduleMonthSchema()),
                           metadata={"description": "月度计划（序时进度）, by month"})


class ProjectPageSchema(PageSchema):
    """A page of projects, by code."""

    items = fields.List(fields.Nested(ProjectSchema), required=True)


class ProjectListArgs(PageArgs):
    """Filters of the project list."""

    sub_command = fields.String(validate=validate.Length(min=1, max=50))
    stage = fields.String(validate=validate.OneOf(list(STAGES)))


class ScheduleMonthSchema(Schema):
    """One month of a project's schedule: the investment planned for it and its milestone."""

    month = fields.String(required=True, validate=validate.Length(max=20),
                          metadata={"description": "YYYY-MM", "example": "2027-03"})
    planned_investment = fields.Integer(required=True, metadata={"description": "万元"})
    milestone = fields.String(allow_none=True, validate=validate.Length(max=200))


def _unit(required: bool = False) -> fields.String:
    return fields.String(required=required, validate=validate.Length(max=50),
                         metadata={"description": "org unit code (a picker's value)"})


class ProjectEditArgs(Schema):
    """Changes to a project: the fields given, the others kept. Its code never changes and
    its stage moves on its own endpoint, with a reason. Values are checked by the registry
    (engine/county/registry.py): a unit or person it does not offer is refused at its field."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    reserve_class = fields.String(allow_none=True, validate=validate.Length(max=20),
                                  metadata={"enum": list(RESERVE_CLASSES)})
    reserve_track = fields.String(allow_none=True, validate=validate.Length(max=20),
                                  metadata={"enum": list(RESERVE_TRACKS)})
    sub_command = _unit()
    lead_department = _unit()
    township = _unit()
    project_unit = _unit()
    specialist = fields.String(allow_none=True, validate=validate.Length(max=100),
                               metadata={"description": "username of a specialist, or null"})
    key_level = fields.String(validate=validate.Length(max=20),
                              metadata={"enum": list(KEY_LEVELS)})
    funding = fields.String(validate=validate.Length(max=20), metadata={"enum": list(FUNDING)})
    planned_investment = fields.Integer(validate=validate.Range(min=0, max=100_000_000),
                                        metadata={"description": "total, 万元"})
    schedule = fields.List(fields.Nested(ScheduleMonthSchema), validate=validate.Length(max=600),
                           metadata={"description": "replaces the whole monthly schedule"})


class ProjectCreateArgs(ProjectEditArgs):
    """A new project of the registry (储备 needs its class and track)."""

    code = fields.String(required=True, validate=validate.Length(min=1, max=50))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    stage = fields.String(required=True, validate=validate.Length(max=20),
                          metadata={"enum": list(STAGES)})
    sub_command = _unit(required=True)
    lead_department = _unit(required=True)
    township = _unit(required=True)
    project_unit = _unit(required=True)
    key_level = fields.String(load_default="none", validate=validate.Length(max=20),
                              metadata={"enum": list(KEY_LEVELS)})
    funding = fields.String(load_default="enterprise", validate=validate.Length(max=20),
                            metadata={"enum": list(FUNDING)})


class StageMoveArgs(Schema):
    """Move a project to another stage, with the reason (into 储备 with class and track)."""

    stage = fields.String(required=True, validate=validate.Length(max=20),
                          metadata={"enum": list(STAGES)})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    reserve_class = fields.String(allow_none=True, validate=validate.Length(max=20),
                                  metadata={"enum": list(RESERVE_CLASSES)})
    reserve_track = fields.String(allow_none=True, validate=validate.Length(max=20),
                                  metadata={"enum": list(RESERVE_TRACKS)})


# ---------------------------------------------------------------- tokens and webhooks

class TokenSchema(Schema):
    """An API token (the secret appears once, in the answer to its creation)."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    hint = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    unit_code = fields.String(allow_none=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    active = fields.Boolean(required=True)
    secret = fields.String(metadata={"description": "only when just created"})


class TokenArgs(Schema):
    """A new token: its name and the roles (optionally at a unit) it acts with."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    roles = fields.List(fields.String(validate=validate.Length(min=1, max=50)), required=True,
                        validate=validate.Length(min=1, max=20))
    unit_code = fields.String(allow_none=True, validate=validate.Length(max=50))


class WebhookSchema(Schema):
    """A webhook subscription (the signing secret appears once, on creation)."""

    id = fields.Integer(required=True)
    url = fields.String(required=True)
    event_kind = fields.String(required=True, metadata={"enum": list(EVENT_KINDS)})
    format = fields.String(required=True, metadata={"enum": list(FORMATS)})
    active = fields.Boolean(required=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    secret = fields.String(allow_none=True)


class WebhookArgs(Schema):
    """Register a URL for one event kind."""

    url = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    event_kind = fields.String(required=True, validate=validate.OneOf(list(EVENT_KINDS)))
    format = fields.String(load_default="json", validate=validate.OneOf(list(FORMATS)))


class DeliverySchema(Schema):
    """One webhook delivery and how it went."""

    id = fields.Integer(required=True)
    subscription_id = fields.Integer(required=True)
    event_id = fields.String(required=True)
    event_kind = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["pending", "delivered", "failed"]})
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(required=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    delivered_at = fields.DateTime(allow_none=True)


class DeliveryListArgs(Schema):
    """Filters of the delivery list."""

    status = fields.String(validate=validate.OneOf(["pending", "delivered", "failed"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
