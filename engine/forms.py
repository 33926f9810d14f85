"""What a task's form accepts: a marshmallow schema built from its `camunda:formData` fields.

Field types are Camunda's: string, long, boolean, date, enum. Constraints are Camunda's
validation names: required, minlength, maxlength, min, max, plus `pattern` (a regular
expression the whole value must match) and `readonly` (the value cannot be submitted).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .errors import TaskDataError

MAX_TEXT = 10_000


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _field_for(spec: dict) -> fields.Field:
    rules = spec.get("validation", {})
    required = "required" in rules
    checks: list = []
    kind = spec.get("type") or "string"
    if kind == "long":
        field_cls: type[fields.Field] = fields.Integer
        low, high = _int(rules.get("min")), _int(rules.get("max"))
        if low is not None or high is not None:
            checks.append(validate.Range(min=low, max=high))
    elif kind == "boolean":
        field_cls = fields.Boolean
    elif kind == "date":
        field_cls = fields.Date
    elif kind == "enum":
        field_cls = fields.String
        checks.append(validate.OneOf([o["id"] for o in spec.get("options", [])]))
    else:
        field_cls = fields.String
        low, high = _int(rules.get("minlength")), _int(rules.get("maxlength"))
        if required:  # an empty box is not an answer to a required question
            low = max(low or 0, 1)
        checks.append(validate.Length(min=low, max=min(high or MAX_TEXT, MAX_TEXT)))
        if rules.get("pattern"):
            checks.append(validate.Regexp(re.compile(rf"(?:{rules['pattern']})\Z")))
    return field_cls(required=required, allow_none=not required, validate=checks,
                     metadata={"label": spec.get("label")})


@functools.lru_cache(maxsize=512)
def _schema_for(form_json: str) -> Schema:
    form = json.loads(form_json)
    declared = {f["id"]: _field_for(f) for f in form.get("fields", [])
                if "readonly" not in f.get("validation", {})}
    return Schema.from_dict(declared, name="TaskForm")(unknown=RAISE)


def schema_for(form: dict) -> Schema:
    """The marshmallow schema of a task form (cached by the form's content)."""
    return _schema_for(json.dumps(form, sort_keys=True))


def validate_task_data(form: dict, data: dict[str, Any]) -> dict[str, Any]:
    """Validated, typed task data, or TaskDataError with the errors of each field."""
    if not isinstance(data, dict):
        raise TaskDataError("task data must be an object of field values")
    if not form.get("fields"):
        try:
            json.dumps(data)
        except (TypeError, ValueError) as exc:
            raise TaskDataError(f"task data must be plain JSON values: {exc}") from exc
        return data
    try:
        loaded = schema_for(form).load(data)
    except ValidationError as exc:
        errors = {k: v if isinstance(v, list) else [str(v)] for k, v in exc.messages.items()}
        raise TaskDataError("the form has errors: " + "; ".join(
            f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()), errors) from exc
    # Dates travel as ISO strings in process data, so the state stays plain JSON.
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in loaded.items()}
