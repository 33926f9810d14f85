"""Print the observed permissions rows for new routes (review them before pasting into
permissions.py): `.venv/bin/pytest -q -s tests/security/record_permissions.py`."""

from .permissions import TABLE
from .walk import ROLES, Callers, make_world, outcome


def test_print_rows_for_routes_without_one(app, platform, client, make_token):
    world = make_world(app, platform, client, make_token)
    callers = Callers(app, make_token)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) in TABLE:
                continue
            cells = ", ".join(f'"{outcome(callers.call(r, method, world.fill(rule.rule)))}"'
                              for r in ROLES)
            print(f'    ("{rule.endpoint}", "{method}"): ({cells}),')
