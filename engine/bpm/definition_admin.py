"""Looking after deployed definitions: versions with instance counts, diffs, validation, rollback.

The designer's services. Rolling back never edits a row: it deploys the old content again as a
new version, so running instances stay on the version they started with and the history of
what was latest when stays readable.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from sqlalchemy import func, select, update

from . import definitions
from ..core.errors import DefinitionError, InvalidStateError, NotFoundError
from .expression_helpers import registered_helper_names
from .expression_scan import expression_problems
from .incidents import open_incidents
from .lint import ERROR, WARNING, Finding, LintContext, lint
from ..core.models import Deployment, ProcessInstance, TimerJob
from ..core.uow import UnitOfWork
from .xmlsafe import parse_definition_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
# TaskState values of SpiffWorkflow 3 (SpiffWorkflow.util.task.TaskState).
WAITING, READY, STARTED, COMPLETED, CANCELLED = 8, 16, 32, 64, 256


@dataclass(frozen=True)
class VersionInfo:
    """One deployed version with its instance counts."""

    id: int
    key: str
    kind: str
    name: str | None
    version: int
    sha256: str
    filename: str
    deployed_by: str
    deployed_at: datetime
    is_latest: bool
    running: int = 0
    finished: int = 0


@dataclass(frozen=True)
class DefinitionSummary:
    """A process or decision with its versions, newest first."""

    key: str
    kind: str
    name: str | None
    versions: list[VersionInfo]

    @property
    def latest(self) -> VersionInfo:
        """The version new instances start on."""
        return next((v for v in self.versions if v.is_latest), self.versions[0])


@dataclass(frozen=True)
class ElementChange:
    """An element present in both versions whose name, type or key attributes differ."""

    element_id: str
    kind: str
    name: str | None
    changes: list[tuple[str, str | None, str | None]]


@dataclass(frozen=True)
class ElementRef:
    """An element added or removed."""

    element_id: str
    kind: str
    name: str | None


@dataclass(frozen=True)
class VersionDiff:
    """What changed between two versions, element by element."""

    key: str
    old_version: int
    new_version: int
    added: list[ElementRef]
    removed: list[ElementRef]
    changed: list[ElementChange]

    @property
    def is_empty(self) -> bool:
        """Whether the two versions define the same elements alike."""
        return not (self.added or self.removed or self.changed)


@dataclass
class ValidationReport:
    """Every finding of every check on one file; `ok` when none of them is an error."""

    filename: str
    key: str | None = None
    kind: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """Findings that block a deploy."""
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        """Findings shown but not blocking."""
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def ok(self) -> bool:
        """Whether the file may be deployed."""
        return not self.errors


# ---------------------------------------------------------------- listing

def _info(dep: Deployment, counts: dict) -> VersionInfo:
    return VersionInfo(dep.id, dep.key, dep.kind, dep.name, dep.version, dep.sha256, dep.filename,
                       dep.deployed_by, dep.deployed_at, dep.is_latest,
                       counts.get((dep.id, "running"), 0),
                       sum(n for (i, status), n in counts.items()
                           if i == dep.id and status != "running"))


def _instance_counts(uow: UnitOfWork) -> dict[tuple[int, str], int]:
    rows = uow.session.execute(select(ProcessInstance.deployment_id, ProcessInstance.status,
                                      func.count()).group_by(ProcessInstance.deployment_id,
                                                             ProcessInstance.status)).all()
    return {(dep_id, status): n for dep_id, status, n in rows}


def list_definitions(uow: UnitOfWork) -> list[DefinitionSummary]:
    """Every process and decision with its versions and instance counts, processes first."""
    counts = _instance_counts(uow)
    grouped: dict[str, list[Deployment]] = {}
    for dep in uow.session.execute(select(Deployment).order_by(Deployment.key,
                                                               Deployment.version.desc())).scalars():
        grouped.setdefault(dep.key, []).append(dep)
    summaries = [DefinitionSummary(key, deps[0].kind, deps[0].name, [_info(d, counts) for d in deps])
                 for key, deps in grouped.items()]
    return sorted(summaries, key=lambda s: (s.kind != "process", s.key))


def get_definition(uow: UnitOfWork, key: str) -> DefinitionSummary:
    """One process or decision with its versions, or NotFoundError."""
    found = [s for s in list_definitions(uow) if s.key == key]
    if not found:
        raise NotFoundError(f"nothing is deployed under the key '{key}'")
    return found[0]


def deployment_of(uow: UnitOfWork, key: str, version: int | None = None) -> Deployment:
    """A version of a key (the latest when `version` is None), or NotFoundError."""
    query = select(Deployment).where(Deployment.key == key)
    query = query.where(Deployment.is_latest.is_(True)) if version is None else \
        query.where(Deployment.version == version)
    dep = uow.session.execute(query).scalar_one_or_none()
    if dep is None:
        raise NotFoundError(f"'{key}' has no version {version}" if version else
                            f"nothing is deployed under the key '{key}'")
    return dep


def version_xml(uow: UnitOfWork, key: str, version: int) -> tuple[str, str]:
    """(filename, XML) of one version, for download and for the editors."""
    dep = deployment_of(uow, key, version)
    return dep.filename, dep.xml


# ---------------------------------------------------------------- diff

_KEY_ATTRIBUTES = ("sourceRef", "targetRef", "default", "calledElement", "attachedToRef",
                   "cancelActivity", "isForCompensation")
_CAMUNDA_ATTRIBUTES = ("candidateGroups", "candidateUsers", "assignee", "dueDate",
                       "decisionRef", "formKey", "collection", "elementVariable", "resultVariable")
_TEXT_CHILDREN = ("conditionExpression", "script", "timeDate", "timeDuration", "timeCycle",
                  "loopCardinality", "completionCondition", "text", "inputExpression")


def _elements(xml: str) -> dict[str, etree._Element]:
    root = parse_definition_xml(xml.encode("utf-8"), "diff").root
    skip = ("BPMNDiagram", "BPMNPlane", "BPMNShape", "BPMNEdge", "BPMNLabel", "DMNDI",
            "DMNDiagram", "DMNShape", "DMNEdge", "definitions")
    return {el.get("id"): el for el in root.iter(etree.Element)
            if el.get("id") and etree.QName(el).localname not in skip}


def _signature(el: etree._Element) -> dict[str, str | None]:
    sig: dict[str, str | None] = {"type": etree.QName(el).localname, "name": el.get("name")}
    for attr in _KEY_ATTRIBUTES:
        sig[attr] = el.get(attr)
    for attr in _CAMUNDA_ATTRIBUTES:
        sig[f"camunda:{attr}"] = el.get(f"{{{CAMUNDA}}}{attr}")
    for child in el:
        local = etree.QName(child).localname if isinstance(child.tag, str) else ""
        if local in _TEXT_CHILDREN:
            sig[local] = " ".join("".join(child.itertext()).split()) or None
        if local == "extensionElements":
            fields = [f.get("id") for f in child.iter(f"{{{CAMUNDA}}}formField")]
            sig["form fields"] = ", ".join(fields) or None
            props = [f"{p.get('name')}={p.get('value')}" for p in child.iter(f"{{{CAMUNDA}}}property")]
            sig["properties"] = ", ".join(props) or None
    return sig


def diff_xml(old_xml: str, new_xml: str, key: str = "", old_version: int = 0,
             new_version: int = 0) -> VersionDiff:
    """Elements added, removed and changed (by id: name, type, key attributes, expressions)."""
    old, new = _elements(old_xml), _elements(new_xml)
    ref = lambda el: ElementRef(el.get("id"), etree.QName(el).localname, el.get("name"))  # noqa: E731
    changed = []
    for element_id in sorted(old.keys() & new.keys()):
        before, after = _signature(old[element_id]), _signature(new[element_id])
        changes = [(k, before.get(k), after.get(k)) for k in dict.fromkeys([*before, *after])
                   if before.get(k) != after.get(k)]
        if changes:
            el = new[element_id]
            changed.append(ElementChange(element_id, etree.QName(el).localname, el.get("name"),
                                         changes))
    return VersionDiff(key, old_version, new_version,
                       added=[ref(new[i]) for i in sorted(new.keys() - old.keys())],
                       removed=[ref(old[i]) for i in sorted(old.keys() - new.keys())],
                       changed=changed)


def diff_versions(uow: UnitOfWork, key: str, old_version: int, new_version: int) -> VersionDiff:
    """The readable difference between two versions of one key."""
    old, new = deployment_of(uow, key, old_version), deployment_of(uow, key, new_version)
    return diff_xml(old.xml, new.xml, key, old_version, new_version)


# ---------------------------------------------------------------- validation and deploy

def finding_of(exc: DefinitionError) -> Finding:
    """A DefinitionError as an error finding (its rule and params kept)."""
    return _finding_of(exc)


def _finding_of(exc: DefinitionError) -> Finding:
    return Finding(ERROR, exc.element_id, exc.message, exc.line, exc.rule or type(exc).__name__,
                   exc.params)


def validate_definition(uow: UnitOfWork, data: bytes, filename: str) -> ValidationReport:
    """Hardened parse, schema, safe expressions, lint and SpiffWorkflow parse; every finding."""
    report = ValidationReport(filename)
    try:
        document = parse_definition_xml(data, filename)
    except DefinitionError as exc:
        report.findings.append(_finding_of(exc))
        return report
    report.kind = "process" if document.kind == "bpmn" else "decision"
    report.findings.extend(_finding_of(problem) for problem in expression_problems(
        document.root, filename=filename, helpers=registered_helper_names()))
    report.findings.extend(lint(document.root, LintContext.from_session(uow.session)))
    if report.errors:
        return report
    try:
        checked = definitions.check_file(data, filename)
        report.key = checked.key
        definitions.check_parses(uow.session, [checked])
    except DefinitionError as exc:
        report.findings.append(_finding_of(exc))
    return report


def deploy_validated(uow: UnitOfWork, data: bytes, filename: str,
                     deployed_by: str) -> tuple[ValidationReport, definitions.DeployResult | None]:
    """Validate with every check; deploy a new version only when no finding is an error."""
    report = validate_definition(uow, data, filename)
    uow.rollback()
    if not report.ok:
        return report, None
    return report, definitions.deploy_files(uow, [(filename, data)], deployed_by)[0]


def rollback_to(uow: UnitOfWork, key: str, version: int, actor: str,
                reason: str = "") -> definitions.DeployResult:
    """Make an earlier version the latest again, as a new version with its content (audited)."""
    old = deployment_of(uow, key, version)
    if old.is_latest:
        raise InvalidStateError(f"version {version} of '{key}' is already the latest")
    latest = deployment_of(uow, key)
    if latest.sha256 == old.sha256:
        raise InvalidStateError(f"the latest version of '{key}' already has the content of "
                                f"version {version}")
    filename, xml = old.filename, old.xml
    uow.audit.record(actor, "rollback", subject=f"deployment:{key}", key=key,
                     restored_version=version, replaced_version=latest.version,
                     why=reason.strip() or None)
    result = definitions.deploy_files(uow, [(filename, xml.encode("utf-8"))], actor)[0]
    return result


# ---------------------------------------------------------------- heat map and incidents

def waiting_elements(state: bytes) -> list[str]:
    """Element ids at which an instance's state has tokens (ready, waiting or started tasks)."""
    dct = json.loads(state)
    found = []
    for tasks in [dct.get("tasks", {}), *(s.get("tasks", {}) for s in dct.get("subprocesses", {}).values())]:
        found.extend(t["task_spec"] for t in tasks.values()
                     if t.get("state") in (WAITING, READY, STARTED))
    return found


def finished_elements(state: bytes) -> list[str]:
    """Element ids an instance has completed (its finished path)."""
    dct = json.loads(state)
    return [t["task_spec"] for t in dct.get("tasks", {}).values() if t.get("state") == COMPLETED]


def heat_map(uow: UnitOfWork, deployment_id: int) -> dict[str, int]:
    """Running instances of a version per element id they wait at."""
    counter: Counter[str] = Counter()
    rows = uow.session.execute(select(ProcessInstance.state).where(
        ProcessInstance.deployment_id == deployment_id, ProcessInstance.status == "running"))
    for (state,) in rows:
        counter.update(set(waiting_elements(state)))
    return dict(counter)


@dataclass(frozen=True)
class Incident:
    """A timer that failed too often and waits for someone to retry it."""

    job_id: str
    instance_id: int
    element_id: str
    attempts: int
    last_error: str | None
    due_at: datetime


def incidents(uow: UnitOfWork, deployment_id: int | None = None) -> list[Incident]:
    """Timer incidents, of one version or of all."""
    query = select(TimerJob).where(TimerJob.incident.is_(True)).order_by(TimerJob.due_at)
    if deployment_id is not None:
        query = query.join(ProcessInstance, ProcessInstance.id == TimerJob.instance_id).where(
            ProcessInstance.deployment_id == deployment_id)
    return [Incident(j.id, j.instance_id, j.element_id, j.attempts, j.last_error, j.due_at)
            for j in uow.session.execute(query).scalars()]


@dataclass(frozen=True)
class ElementIncident:
    """An incident as the diagram shows it: on its element, retried (a timer, by `job_id`) or
    resolved on the incidents page (a failed step, by `number`)."""

    element_id: str
    kind: str  # "timer" or "workflow"
    instance_id: int | None
    message: str
    job_id: str | None = None
    number: int | None = None
    attempts: int = 0


def element_incidents(uow: UnitOfWork, *, deployment_id: int | None = None,
                      instance_id: int | None = None) -> list[ElementIncident]:
    """The open incidents on the elements of one version's diagram (timers of its instances,
    failed steps of its instances or of starting it) or of one instance's."""
    if (deployment_id is None) == (instance_id is None):
        raise ValueError("give a deployment or an instance")
    timers = [i for i in incidents(uow, deployment_id)
              if instance_id is None or i.instance_id == instance_id]
    found = [ElementIncident(t.element_id, "timer", t.instance_id, t.last_error or "",
                             job_id=t.job_id, attempts=t.attempts) for t in timers]
    failed = [i for i in open_incidents(uow) if i.element_id and i.kind == "workflow"]
    if instance_id is not None:
        failed = [i for i in failed if i.instance_id == instance_id]
    else:
        dep = uow.session.get(Deployment, deployment_id)
        ids = {i.instance_id for i in failed if i.instance_id is not None}
        of_dep = set(uow.session.execute(select(ProcessInstance.id).where(
            ProcessInstance.id.in_(ids), ProcessInstance.deployment_id == deployment_id))
            .scalars()) if ids else set()
        # A failed start has no instance: it is shown on the latest version of its process.
        failed = [i for i in failed if i.instance_id in of_dep or (
            i.instance_id is None and i.process_key == dep.key and dep.is_latest)]
    found += [ElementIncident(i.element_id, "workflow", i.instance_id, i.message,
                              number=i.number) for i in failed]
    return found


def retry_incident(uow: UnitOfWork, job_id: str, actor: str) -> None:
    """Reset a timer incident so the worker tries it again now (audited)."""
    uow.begin_write()
    job = uow.session.get(TimerJob, job_id)
    if job is None or not job.incident:
        raise NotFoundError(f"there is no timer incident {job_id}")
    uow.session.execute(update(TimerJob).where(TimerJob.id == job_id).values(
        incident=False, attempts=0, next_run_at=uow.clock.now()))
    uow.audit.record(actor, "timer_retried", subject=f"instance:{job.instance_id}",
                     instance_id=job.instance_id, task_id=job_id, element=job.element_id,
                     last_error=job.last_error)
    uow.commit()
