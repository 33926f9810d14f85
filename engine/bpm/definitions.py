"""Deployments: BPMN and DMN files checked, versioned, stored once, and parsed once.

A deployment is one file: a BPMN file deploys under the id of its main process, a DMN
file under the id of its one decision. Deploying content that is already the latest
version of its key creates nothing. Parsed specs are cached by the content hashes of
the files they were built from; instances refer to deployment rows, never embed XML.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .parser import GongjianParser
from ..core.errors import DefinitionError, NotFoundError
from .expression_scan import check_document
from .lint import refuse_lint_errors
from .parse_errors import definition_error, library_errors
from ..core.models import Deployment
from .expression_helpers import registered_helper_names
from ..core.uow import UnitOfWork
from .xmlsafe import ParsedDocument, parse_definition_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS}
DEFINITION_SUFFIXES = (".bpmn", ".bpmn20.xml", ".dmn")


@dataclass(frozen=True)
class DeployResult:
    """What deploying one file did."""

    key: str
    kind: str
    version: int
    deployment_id: int
    created: bool
    filename: str


@dataclass(frozen=True)
class Requirements:
    """The process and decision keys a BPMN file needs from other files."""

    processes: tuple[str, ...]
    decisions: tuple[str, ...]


@dataclass(frozen=True)
class _Checked:
    document: ParsedDocument
    key: str
    name: str | None
    sha256: str
    xml: str


# ---------------------------------------------------------------- reading one file

def _main_process(document: ParsedDocument) -> tuple[str, str | None]:
    """The executable process that no other process of the file calls."""
    root = document.root
    processes = root.findall(f"{{{BPMN_NS}}}process")
    executable = [p for p in processes if p.get("isExecutable", "true") != "false"]
    if not executable:
        raise DefinitionError("the file has no executable process (isExecutable=\"true\")",
                              filename=document.filename, rule="no-executable-process")
    called = {c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity")}
    mains = [p for p in executable if p.get("id") not in called] or executable
    if not mains[0].get("id"):
        raise DefinitionError("The process has no id. Give it an id: the process is deployed "
                              "and started under it.", filename=document.filename,
                              line=mains[0].sourceline, rule="process-without-id")
    return mains[0].get("id"), mains[0].get("name")


def _decision(document: ParsedDocument) -> tuple[str, str | None]:
    """The one decision of a DMN file (SpiffWorkflow 3.2 reads only one per file)."""
    decisions = [el for el in document.root if etree.QName(el).localname == "decision"]
    if len(decisions) != 1:
        raise DefinitionError(f"a DMN file must hold exactly one decision, this one has "
                              f"{len(decisions)}; split it into one file per decision",
                              filename=document.filename, rule="dmn-decision-count",
                              params={"count": len(decisions)})
    if not decisions[0].get("id"):
        raise DefinitionError("The decision has no id. Give it an id: business rule tasks "
                              "refer to the decision by it.", filename=document.filename,
                              line=decisions[0].sourceline, rule="decision-without-id")
    return decisions[0].get("id"), decisions[0].get("name")


def requirements_of(document: ParsedDocument) -> Requirements:
    """Called processes and decision tables a BPMN document refers to outside itself."""
    root = document.root
    own = {p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")}
    called = {c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity")}
    decisions = {t.get("{http://camunda.org/schema/1.0/bpmn}decisionRef")
                 for t in root.iter(f"{{{BPMN_NS}}}businessRuleTask")}
    return Requirements(tuple(sorted(k for k in called - own if k)),
                        tuple(sorted(d for d in decisions if d)))


def check_file(data: bytes, filename: str) -> _Checked:
    """Parse safely, validate against the schema and references, check the expressions."""
    document = parse_definition_xml(data, filename)
    check_document(document.root, filename=filename, helpers=registered_helper_names())
    refuse_lint_errors(document.root, filename)
    key, name = _main_process(document) if document.kind == "bpmn" else _decision(document)
    return _Checked(document, key, name, hashlib.sha256(data).hexdigest(), data.decode("utf-8"))


# ---------------------------------------------------------------- parsing into specs

def _build_parser(bpmn: list[ParsedDocument], dmn: list[ParsedDocument]) -> GongjianParser:
    parser = GongjianParser()
    for doc in dmn:
        with library_errors(doc):
            parser.add_dmn_xml(doc.root, filename=doc.filename)
    for doc in bpmn:
        with library_errors(doc):
            parser.add_bpmn_xml(doc.root, filename=doc.filename)
    return parser


def parse_specs(bpmn: list[ParsedDocument], dmn: list[ParsedDocument], main_key: str):
    """The spec of `main_key` and the specs of every process it calls."""
    parser = _build_parser(bpmn, dmn)
    main_doc = next((d for d in bpmn if d.root.xpath("bpmn:process[@id=$k]", namespaces=NS,
                                                       k=main_key)), bpmn[0])
    try:
        spec = parser.get_spec(main_key)
        subprocess_specs = parser.get_subprocess_specs(main_key)
    except (ValidationException, SpiffWorkflowException) as exc:
        raise _unknown_reference_error(exc, main_doc) from exc
    except Exception as exc:  # noqa: BLE001 - any other library failure is a finding too
        raise definition_error(exc, main_doc) from exc
    return spec, subprocess_specs


def parse_decision(doc: ParsedDocument) -> None:
    """Read a DMN document as SpiffWorkflow will when a business rule task first needs it."""
    parser = GongjianParser()
    with library_errors(doc):
        parser.add_dmn_xml(doc.root, filename=doc.filename)
        for decision_id in list(parser.dmn_parsers):
            parser.get_engine(decision_id, doc.root)


def _unknown_reference_error(exc: Exception, doc: ParsedDocument) -> DefinitionError:
    message = str(exc).split("\n")[0]
    for call in doc.root.iter(f"{{{BPMN_NS}}}callActivity"):
        if f"'{call.get('calledElement')}'" in message:
            return DefinitionError(f"call activity calls process '{call.get('calledElement')}', "
                                   "which is neither in this file nor deployed; deploy it first",
                                   filename=doc.filename, line=call.sourceline,
                                   element_id=call.get("id"), rule="call-activity",
                                   params={"kind": "callActivity", "id": call.get("id", ""),
                                           "name": call.get("name"),
                                           "called": call.get("calledElement")})
    return definition_error(exc, doc)


class SpecCache:
    """Parsed specs by the content hashes of the files they were built from (LRU)."""

    def __init__(self, size: int = 256):
        self.size = size
        self._items: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = Lock()
        self.misses = 0

    def get(self, session: Session, bundle: list[list]) -> tuple:
        """(spec, subprocess_specs) for an instance bundle of [deployment_id, sha256] pairs."""
        key = tuple(sha for _id, sha in bundle)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        specs = self._parse(session, [dep_id for dep_id, _sha in bundle])
        with self._lock:
            self.misses += 1
            self._items[key] = specs
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return specs

    @staticmethod
    def _parse(session: Session, deployment_ids: list[int]) -> tuple:
        rows = {d.id: d for d in session.execute(
            select(Deployment).where(Deployment.id.in_(deployment_ids))).scalars()}
        docs = [parse_definition_xml(rows[i].xml.encode("utf-8"), rows[i].filename)
                for i in deployment_ids]
        kinds = [rows[i].kind for i in deployment_ids]
        bpmn = [d for d, k in zip(docs, kinds) if k == "process"]
        dmn = [d for d, k in zip(docs, kinds) if k == "decision"]
        return parse_specs(bpmn, dmn, rows[deployment_ids[0]].key)


SPEC_CACHE = SpecCache()


# ---------------------------------------------------------------- deploying

def latest_deployment(session: Session, key: str) -> Deployment | None:
    """The newest version deployed under `key`, if any."""
    return session.execute(select(Deployment).where(Deployment.key == key,
                                                    Deployment.is_latest.is_(True))).scalar_one_or_none()


def resolve_bundle(session: Session, deployment: Deployment) -> list[list]:
    """[deployment_id, sha256] of a deployment and, transitively, the latest of what it needs."""
    bundle, seen, queue = [], set(), [deployment]
    while queue:
        dep = queue.pop(0)
        if dep.id in seen:
            continue
        seen.add(dep.id)
        bundle.append([dep.id, dep.sha256])
        if dep.kind != "process":
            continue
        for key in dep.requires:
            needed = latest_deployment(session, key)
            if needed is None:
                raise NotFoundError(f"process '{dep.key}' needs '{key}', which is not deployed; "
                                    "deploy it first")
            queue.append(needed)
    return bundle


def _collect(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and p.name.lower().endswith(DEFINITION_SUFFIXES))
        if not files:
            raise DefinitionError(f"no .bpmn or .dmn files under {path}",
                                  rule="no-definition-files", params={"path": str(path)})
        return files
    if not path.exists():
        raise DefinitionError(f"{path} does not exist", rule="no-such-path",
                              params={"path": str(path)})
    return [path]


def deploy_path(uow: UnitOfWork, path: str | Path, deployed_by: str) -> list[DeployResult]:
    """Deploy a file or every .bpmn/.dmn file under a folder, all or nothing."""
    files = _collect(Path(path))
    return deploy_files(uow, [(p.name, _read(p)) for p in files], deployed_by)


def _read(path: Path) -> bytes:
    """The bytes of a file to deploy; a file that cannot be read is a finding."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DefinitionError(f"The file cannot be read ({exc.strerror or exc}). Check that it "
                              "exists and that this user may read it.",
                              filename=path.name, rule="unreadable-file",
                              params={"reason": str(exc.strerror or exc)}) from exc


def deploy_files(uow: UnitOfWork, files: list[tuple[str, bytes]],
                 deployed_by: str) -> list[DeployResult]:
    """Check every file, then write new versions of the changed ones; all or nothing."""
    checked = [check_file(data, name) for name, data in files]
    keys = [c.key for c in checked]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise DefinitionError(f"two files define the same key {sorted(duplicates)}",
                              rule="duplicate-key", params={"keys": ", ".join(sorted(duplicates))})
    uow.begin_write()
    check_parses(uow.session, checked)
    results = [_store(uow, c, deployed_by) for c in checked]
    uow.commit()
    return results


def check_parses(session: Session, checked: list[_Checked]) -> None:
    """Parse each file as SpiffWorkflow will: a BPMN file with the batch and the latest
    deployments it calls, a DMN file on its own."""
    batch = {c.key: c.document for c in checked}
    for item in checked:
        if item.document.kind != "bpmn":
            parse_decision(item.document)
            continue
        bpmn, dmn, pending = [item.document], [], list(requirements_of(item.document).processes)
        pending_dmn = list(requirements_of(item.document).decisions)
        seen = {item.key}
        while pending:
            key = pending.pop()
            if key in seen:
                continue
            seen.add(key)
            doc = _needed(session, batch, key, "bpmn", bpmn)
            if doc is not None:
                bpmn.append(doc)
                pending.extend(requirements_of(doc).processes)
                pending_dmn.extend(requirements_of(doc).decisions)
        for key in sorted(set(pending_dmn)):
            doc = _needed(session, batch, key, "dmn", bpmn)
            if doc is None:
                doc, task = _referring(bpmn, "businessRuleTask", _DECISION_REF, key)
                raise DefinitionError(f"The business rule task refers to the decision '{key}', "
                                      "which is neither in this deployment nor deployed. Deploy "
                                      "the decision table first.", filename=doc.filename,
                                      line=task.sourceline if task is not None else None,
                                      element_id=task.get("id") if task is not None else None,
                                      rule="decision-not-deployed", params={"key": key})
            dmn.append(doc)
        parse_specs(bpmn, dmn, item.key)


_DECISION_REF = "{http://camunda.org/schema/1.0/bpmn}decisionRef"


def _needed(session: Session, batch: dict[str, ParsedDocument], key: str, kind: str,
            referrers: list[ParsedDocument]) -> ParsedDocument | None:
    """The document deployed (or in the batch) under `key`; refuses one of the wrong kind."""
    doc = batch.get(key) or _deployed_document(session, key)
    if doc is None or doc.kind == kind:
        return doc
    if kind == "bpmn":
        rule = "call-activity-calls-decision"
        owner, call = _referring(referrers, "callActivity", "calledElement", key)
        message = (f"The call activity calls '{key}', which is a decision table, not a "
                   "process. Call a process, or use a business rule task for a decision.")
    else:
        rule = "rule-task-refers-to-process"
        owner, call = _referring(referrers, "businessRuleTask", _DECISION_REF, key)
        message = (f"The business rule task refers to '{key}', which is a process, not a "
                   "decision table. Choose a decision, or use a call activity for a process.")
    raise DefinitionError(message, filename=owner.filename,
                          line=call.sourceline if call is not None else None,
                          element_id=call.get("id") if call is not None else None,
                          rule=rule, params={"key": key})


def _referring(docs: list[ParsedDocument], local: str, attribute: str,
               key: str) -> tuple[ParsedDocument, etree._Element | None]:
    """The first element `local` of the documents whose `attribute` is `key`, and its file."""
    for doc in docs:
        for element in doc.root.iter(f"{{{BPMN_NS}}}{local}"):
            if (element.get(attribute) or "").strip() == key:
                return doc, element
    return docs[0], None


def _deployed_document(session: Session, key: str) -> ParsedDocument | None:
    dep = latest_deployment(session, key)
    return None if dep is None else parse_definition_xml(dep.xml.encode("utf-8"), dep.filename)


def _store(uow: UnitOfWork, item: _Checked, deployed_by: str) -> DeployResult:
    session = uow.session
    kind = "process" if item.document.kind == "bpmn" else "decision"
    latest = latest_deployment(session, item.key)
    if latest is not None and latest.sha256 == item.sha256:
        return DeployResult(item.key, kind, latest.version, latest.id, False, item.document.filename)
    if latest is not None and latest.kind != kind:
        raise DefinitionError(f"'{item.key}' is already deployed as a {latest.kind}",
                              filename=item.document.filename, rule="key-of-other-kind",
                              params={"key": item.key, "deployed_kind": latest.kind})
    version = 1 + (session.execute(select(Deployment.version).where(Deployment.key == item.key)
                                   .order_by(Deployment.version.desc()).limit(1)).scalar() or 0)
    session.execute(update(Deployment).where(Deployment.key == item.key).values(is_latest=False))
    reqs = requirements_of(item.document) if kind == "process" else Requirements((), ())
    row = Deployment(key=item.key, kind=kind, name=item.name, version=version, sha256=item.sha256,
                     requires=[*reqs.processes, *reqs.decisions],
                     filename=item.document.filename, xml=item.xml, deployed_by=deployed_by,
                     deployed_at=uow.clock.now(), is_latest=True)
    session.add(row)
    session.flush()
    uow.audit.record(deployed_by, "deploy", subject=f"deployment:{item.key}",
                     key=item.key, kind=kind, version=version, sha256=item.sha256,
                     filename=item.document.filename, previous=latest.version if latest else None)
    return DeployResult(item.key, kind, version, row.id, True, item.document.filename)


def get_deployment(session: Session, deployment_id: int) -> Deployment:
    """One deployment row, or NotFoundError."""
    dep = session.get(Deployment, deployment_id)
    if dep is None:
        raise NotFoundError(f"deployment {deployment_id} does not exist")
    return dep
