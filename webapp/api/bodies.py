"""What a JSON request body may be: JSON by its content type, nested to a sane depth, and
text the database and the exports can keep (see engine.forms.text_problem).

The arguments parser reads the body only after the view's role check (auth.before_body),
so a caller who may not act is refused whatever its body holds.
"""

from __future__ import annotations

from typing import Any

from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request

from engine.bpm.forms import text_problem

MAX_DEPTH = 20  # objects and lists inside one another; process data needs a few


def unfit_json(value: Any) -> dict[str, list[str]]:
    """Field path → what is wrong: nesting beyond MAX_DEPTH, keys or texts that cannot be kept."""
    errors: dict[str, list[str]] = {}

    def walk(item: Any, path: str, depth: int) -> None:
        where = path or "_"
        if isinstance(item, str):
            if problem := text_problem(item):
                errors.setdefault(where, []).append(problem)
            return
        if not isinstance(item, (dict, list)):
            return
        if depth >= MAX_DEPTH:
            errors.setdefault(where, []).append(f"Nested deeper than {MAX_DEPTH} levels.")
            return
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, inner in pairs:
            if isinstance(key, str) and (problem := text_problem(key)):
                errors.setdefault(where, []).append(f"A key: {problem}")
                continue
            walk(inner, f"{path}.{key}" if path else str(key), depth + 1)

    walk(value, "", 0)
    return errors


class BodyParser(FlaskParser):
    """webargs' Flask parser, strict about JSON bodies."""

    def load_json(self, req, schema):
        """The JSON body; 415 for a body of another type, 422 for what cannot be kept."""
        if not is_json_request(req):
            if req.get_data(cache=True):
                abort(415, message="send the body as JSON, with "
                      "`Content-Type: application/json`")
            return core.missing
        try:
            data = super().load_json(req, schema)
        except RecursionError:
            abort(422, messages={"json": {"_": [f"Nested deeper than {MAX_DEPTH} levels."]}})
        if data is not core.missing and (errors := unfit_json(data)):
            abort(422, messages={"json": errors})
        return data
