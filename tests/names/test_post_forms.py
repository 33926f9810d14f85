"""No 5xx from any form a user can submit: every POST form the walk of each role finds, sent
back empty and with hostile values, on a copy of the demo county (issue 17's "no 500 ever",
which the GET crawl of test_crawl.py could not reach: a form's bad input must be refused,
never crash).

Each form is fetched afresh by the submitting client (its own CSRF token and session), and
sent twice: every visible field emptied, then every visible field given a hostile value — a
script tag, text past every length limit, a number where a name goes, an option that is not in
the list, a far date. Hidden fields (CSRF token, ids) keep their values, so the request reaches
the view's validation instead of stopping at CSRF. One form of each action shape is sent.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
from werkzeug.datastructures import MultiDict

from .county import ROLE_ACCOUNTS, WERKZEUG_PAGES, copy_database, demo_app, log_in, shape, walk

# Forms that end the session or change who is logged in: the walk would lose its footing.
LEAVES = ("/auth/", "/lang/")
HOSTILE = {
    "text": "<script>alert(1)</script>" + "长" * 3000,
    "number": "99999999999999999999",
    "date": "9999-12-31",
    "select": "<not-an-option>",
}


def _forms(body: bytes, page_url: str) -> list[lxml.html.FormElement]:
    try:
        tree = lxml.html.fromstring(body)
    except Exception:
        return []
    return [f for f in tree.forms if (f.get("method") or "get").lower() == "post"
            and not any(urlsplit(_action(f, page_url)).path.startswith(p) for p in LEAVES)]


def _action(form, page_url: str) -> str:
    return urljoin(page_url, form.get("action") or page_url)


def _values(form, variant: str) -> list[tuple[str, str]]:
    """The form's fields as a browser would send them: hidden ones as they are, the others
    emptied or hostile; every checkbox ticked in the hostile variant."""
    values = []
    for field in form.inputs:
        name = field.get("name")
        kind = (field.get("type") or "").lower()
        if not name or field.tag == "button" or kind in ("submit", "button", "file", "reset"):
            continue
        if kind == "hidden":
            values.append((name, field.value or ""))
        elif kind in ("checkbox", "radio"):
            if variant == "hostile":
                values.append((name, field.get("value") or "on"))
        elif variant == "empty":
            values.append((name, ""))
        elif field.tag == "select":
            values.append((name, HOSTILE["select"]))
        elif kind in ("number", "date"):
            values.append((name, HOSTILE[kind]))
        else:
            values.append((name, HOSTILE["text"]))
    return values


def _submitter(form) -> list[tuple[str, str]]:
    """The first named submit button's name and value (a form with several acts by it)."""
    for button in form.iter("button", "input"):
        if (button.get("type") or "submit").lower() == "submit" and button.get("name"):
            return [(button.get("name"), button.get("value") or "")]
    return []


@pytest.mark.parametrize("role", sorted(ROLE_ACCOUNTS))
def test_every_form_refuses_empty_and_hostile_input_without_a_server_error(
        demo_url, tmp_path, role):
    app = demo_app(copy_database(demo_url, tmp_path))
    try:
        client = log_in(app, ROLE_ACCOUNTS[role])
        pages = [v for v in walk(log_in(app, ROLE_ACCOUNTS[role]), limit=250)
                 if v.status == 200 and v.html]
        sent, failures, shapes = 0, [], Counter()
        for page in pages:
            page_url = "http://localhost" + page.url
            for index, _form in enumerate(_forms(page.body, page_url)):
                action = _action(_form, page_url)
                key = shape(urlsplit(action).path) + "#" + ",".join(sorted(
                    i.get("name") or "" for i in _form.inputs))
                if shapes[key]:
                    continue
                shapes[key] += 1
                for variant in ("empty", "hostile"):
                    fresh = client.get(page.url)      # its own token, the page as it is now
                    forms = _forms(fresh.data, page_url) if fresh.status_code == 200 else []
                    if index >= len(forms):
                        break                         # the page changed under the last post
                    form = forms[index]
                    response = client.post(urlsplit(_action(form, page_url)).path,
                                           data=MultiDict(_values(form, variant) + _submitter(form)),
                                           headers={"Referer": page_url})
                    sent += 1
                    body = response.get_data(as_text=True)
                    if response.status_code >= 500 or (
                            response.content_type.startswith("text/html")
                            and response.status_code != 302
                            and any(marker in body for marker in WERKZEUG_PAGES)):
                        failures.append(f"{response.status_code} POST {action} ({variant}, "
                                        f"form on {page.url})")
        assert sent >= 4, f"only {sent} forms sent"
        assert not failures, "forms answering a server error:\n" + "\n".join(failures)
    finally:
        app.extensions["gongjian"].close()
