"""Every page of the demo county, as each role, shows names, never codes (issue 17).

A page fails on any known code in its visible text (usernames, unit codes, role keys,
process keys, element ids, enum values of the forms and registries) and on any other
ASCII identifier not in the allowed forms of tests/names/visible.py (project codes,
business keys, dates, quarters, numbers, a few acronyms such as Excel and BPMN). Excel
exports are read the same way, cell by cell.

Allowed exceptions, by page:
- /admin/accounts…, /admin/units… and /admin/import…: the login name and the unit code are
  fields the administrator manages (用户名, 单位编码), shown where they are edited and in
  the organisation workbook;
- /admin/import/template.xlsx: the organisation workbook's rows are the codes an
  administrator fills in (it is not read);
- /designer/… and /admin/incidents/: process keys, element ids, versions (v1), content
  hashes and the engine's error messages are the
  designer's material; usernames and unit codes are still findings there;
- /api/…: the API's own documentation.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.models import Deployment
from engine.core.organisation import ROLES, OrgUnit, UserAccount
from engine.county.names import VALUE_LABELS
from engine.county.projects import Project

from .county import ROLE_ACCOUNTS, shape
from .visible import code_tokens

TECHNICAL_PAGES = ("/designer/", "/admin/incidents")
CODE_BOOKS = ("/admin/import/template",)  # workbooks whose rows are codes to fill in
ADMIN_PAGES = ("/admin/accounts", "/admin/units", "/admin/import")


def _known(app) -> tuple[set[str], set[str], set[str]]:
    """(usernames and unit codes, other codes, names holding ASCII such as 100MW)."""
    with app.extensions["gongjian"].uow() as uow:
        session = uow.session
        people = set(session.execute(select(UserAccount.username)).scalars())
        units = set(session.execute(select(OrgUnit.code)).scalars())
        keys = set(session.execute(select(Deployment.key)).scalars())
        names = [*session.execute(select(Project.name)).scalars(),
                 *session.execute(select(OrgUnit.name)).scalars(),
                 *session.execute(select(UserAccount.display_name)).scalars()]
    codes = set(ROLES) | keys | {v for labels in VALUE_LABELS.values() for v in labels}
    named = {t for name in names for t in code_tokens(name, set())}
    return people | units, codes, named


@pytest.mark.parametrize("role", sorted(ROLE_ACCOUNTS))
def test_every_page_names_people_units_and_values(demo, walks, role):
    identities, codes, named = _known(demo)
    findings: dict[str, set[str]] = {}
    pages = 0
    for visit in walks(role):
        if visit.status != 200 or not visit.texts:
            continue
        path = visit.url.split("?")[0]
        if path.startswith("/api/") or path.startswith(CODE_BOOKS):
            continue
        pages += 1
        if path.startswith(TECHNICAL_PAGES):
            known, allowed = identities, None
        elif path.startswith(ADMIN_PAGES):
            known, allowed = codes, named | identities
        else:
            known, allowed = identities | codes, named
        for text in visit.texts:
            tokens = code_tokens(text, known, allowed or set())
            if allowed is None:  # a designer's page: only usernames and unit codes count
                tokens = [t for t in tokens if t in identities]
            for token in tokens:
                findings.setdefault(f"{shape(visit.url)}: {token!r}", set()).add(text[:120])
    assert pages > 10, f"the walk as {role} reached only {pages} pages"
    assert not findings, "codes on the pages:\n" + "\n".join(
        f"{where} in {sorted(texts)[:2]}" for where, texts in sorted(findings.items()))
