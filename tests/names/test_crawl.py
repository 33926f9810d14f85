"""No 5xx anywhere a user can go: every link and every GET form of the demo county, as
each role (issue 17); and never Werkzeug's English error page, whatever the status."""

from __future__ import annotations

import pytest

from .county import ROLE_ACCOUNTS, log_in, walk

WERKZEUG_PAGES = ("<title>404 Not Found</title>", "<title>405 Method Not Allowed</title>",
                  "<title>400 Bad Request</title>", "<title>500 Internal Server Error</title>",
                  "The requested URL was not found", "Redirecting...")


@pytest.mark.parametrize("role", ["anon", *sorted(ROLE_ACCOUNTS)])
def test_every_link_and_form_answers_without_a_server_error(demo, role):
    client = demo.test_client() if role == "anon" else log_in(demo, ROLE_ACCOUNTS[role])
    failures, english, visited = [], [], 0
    for visit in walk(client, start="/auth/login" if role == "anon" else "/tasks/"):
        visited += 1
        if visit.status >= 500:
            failures.append(f"{visit.status} {visit.url} (linked from {visit.found_on})")
        if visit.html and visit.status != 302 and any(
                marker in visit.body.decode("utf-8", "replace") for marker in WERKZEUG_PAGES):
            english.append(f"{visit.status} {visit.url}")
    assert visited > (1 if role == "anon" else 10)
    assert not failures, "server errors:\n" + "\n".join(failures)
    assert not english, "Werkzeug's English pages:\n" + "\n".join(english)
