"""Property-based tests of the whole API from its OpenAPI document (schemathesis).

Every operation is called with generated data and a valid token that holds every role the
API checks; no answer may be a 5xx, and every answer must match its documented schema,
status code and content type. The number of examples is bounded to keep the run short.

The operations are driven from one test with Hypothesis directly: schemathesis'
`from_fixture` integration does not run under pytest 9 (it reads a private pytest attribute).
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

ROLES = ("admin", "designer", "supervisor", "specialist", "approver")
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "6"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]


def test_every_operation_keeps_its_contract(app, make_token):
    headers = make_token(ROLES, "fgj", name="schemathesis")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        if operation.method.upper() == "DELETE" and "/admin/tokens/" in operation.path:
            continue  # revoking tokens would revoke the one this test uses

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
