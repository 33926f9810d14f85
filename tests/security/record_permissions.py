"""Print the observed permissions rows for new routes (review them before pasting into
permissions.py): `.venv/bin/pytest -q -s tests/security/record_permissions.py`."""

from .permissions import TABLE
from .walk import PROJECTS, ROLES, Callers, make_world, outcome


def test_print_rows_for_routes_without_one(app, platform, client, make_token):
    world = make_world(app, platform, client, make_token)
    callers = Callers(app, make_token)
    known = {key[:2] for key in TABLE}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) in known:
                continue
            projects = [p["code"] for p in PROJECTS] if "<code>" in rule.rule else [None]
            for project in projects:
                url = world.fill(rule.rule, project)
                cells = " ".join(f"{outcome(callers.call(r, method, url)):<5}"
                                 for r in ROLES).rstrip()
                key = ", ".join(f'"{part}"' for part in (rule.endpoint, method, project) if part)
                print(f'    {"(" + key + "):":<52} "{cells}",')
