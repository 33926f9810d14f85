"""No 5xx anywhere a user can go: every link and every GET form of the demo county, as
each role (issue 17); and never Werkzeug's English error page, whatever the status."""

from __future__ import annotations

import pytest

from .county import ROLE_ACCOUNTS


@pytest.mark.parametrize("role", ["anon", *sorted(ROLE_ACCOUNTS)])
def test_every_link_and_form_answers_without_a_server_error(walks, role):
    pages = walks(role)
    failures = [f"{p.status} {p.url} (linked from {p.found_on})" for p in pages
                if p.status >= 500]
    english = [f"{p.status} {p.url}" for p in pages if p.werkzeug]
    assert len(pages) > (1 if role == "anon" else 10)
    assert not failures, "server errors:\n" + "\n".join(failures)
    assert not english, "Werkzeug's English pages:\n" + "\n".join(english)
