"""What a task's form accepts: a marshmallow schema built from its `camunda:formData` fields.

Field types are Camunda's: string, long, boolean, date, enum, plus `file` (附件): its value
is a list of attachment ids (engine/core/attachments.py) — one, or up to `MAX_FILES` with the
field property `multiple` — which engine/bpm/form_files.py checks (the submitter's, bound
nowhere) and binds to the instance and task when the form is taken. Constraints are Camunda's
validation names: required, minlength, maxlength, min, max, plus `pattern` (a regular
expression the whole value must match), `readonly` (the value cannot be submitted) and
`required_when` (required only when another field of the form has one of some values:
`<camunda:constraint name="required_when" config="review_decision=close" />`, several values
separated by `|`; a config that names no field of the form, or a value its choices lack, is
refused at deploy by the lint, `required_when_problem`).
On a date field `min` and `max` are a date (`2027-01-01`) or a day counted from today by
the platform's clock in Lingchuan (`today`, `today+1`, `today-30`): a commitment's
fulfilment date that must lie ahead is `<camunda:constraint name="min" config="today+1" />`;
a config that is neither is refused at deploy by the lint (`date_bound_problem`).

A string field with the property `picker` (engine/bpm/pickers.py) takes only a value of its
list: the caller hands in `pick`, which answers whether a value is one the person filling
in the form may pick, and any other value is refused at its field ("Not a known unit: ...").

Patterns come from deployed files, so they are untrusted: they run on RE2 (google-re2),
which matches in time linear in the value, so `(a|a)+` cannot hold a worker (and the write
lock) for seconds; a pattern RE2 cannot run (back-references, look-arounds) or one over
`MAX_PATTERN` characters is refused at deploy by the lint (`pattern_problem`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import re2
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ..core.attachments import MAX_FILES
from ..core.errors import TaskDataError
from .pickers import Choice, PickerKind, picker_of

MAX_TEXT = 10_000
MAX_PATTERN = 1_000
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False     # a refused pattern is a finding, not a log line
_RE2_OPTIONS.max_mem = 8 << 20      # bytes RE2 may use for one compiled pattern
# What no stored text may hold: C0 control characters other than tab, line feed and carriage
# return (PostgreSQL refuses NUL, the XML of the Excel exports the others) and lone surrogates
# (not Unicode: they cannot be written as UTF-8).
_UNFIT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why a submitted text cannot be kept (a control character or a lone surrogate), or None."""
    found = _UNFIT.search(text)
    if found is None:
        return None
    if "\ud800" <= found[0] <= "\udfff":
        return "Contains a lone surrogate, which is not valid Unicode."
    return f"Contains the control character U+{ord(found[0]):04X}."


def _text_problems(value: Any, name: str, errors: dict[str, list[str]]) -> None:
    """Add the text problems of a value (its strings, keys and items too) under `name`."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            errors.setdefault(name, []).append(problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            _text_problems(key, name, errors)
            _text_problems(item, name, errors)
    elif isinstance(value, list):
        for item in value:
            _text_problems(item, name, errors)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


_RELATIVE_DAY = re.compile(r"today(?:([+-])(\d{1,4}))?")


def date_bound_problem(config: str | None) -> str | None:
    """Why a date field's min or max cannot be read, or None."""
    if _date_bound(config, date(2000, 1, 1)) is None:  # any day: only the form is read
        return (f"the date bound '{config}' is neither a date (2027-01-01) nor a day counted "
                "from today (today, today+1, today-30)")
    return None


def _date_bound(config: str | None, today: date) -> date | None:
    """The day a date bound names, with `today` the platform's date; None if unreadable."""
    text = (config or "").strip()
    relative = _RELATIVE_DAY.fullmatch(text)
    if relative:
        days = int(relative[2] or 0)
        return today + timedelta(days=-days if relative[1] == "-" else days)
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class _DateBounds(validate.Validator):
    """A date on or after `low` and on or before `high` (either may be None)."""

    def __init__(self, low: date | None, high: date | None):
        self.low, self.high = low, high

    def __call__(self, value: date) -> date:
        if self.low is not None and value < self.low:
            raise ValidationError(f"Must be on or after {self.low.isoformat()}.")
        if self.high is not None and value > self.high:
            raise ValidationError(f"Must be on or before {self.high.isoformat()}.")
        return value


def _date_bounds(low: str | None, high: str | None, today: date | None) -> _DateBounds:
    """The bounds of a date field. One that cannot be read, or one counted from today when
    the day is not known, refuses every date rather than none (the lint refuses the first
    at deploy; every caller gives the day)."""
    bounds = []
    for config in (low, high):
        if not config:
            bounds.append(None)
            continue
        relative = _RELATIVE_DAY.fullmatch(config.strip()) is not None
        bound = None if relative and today is None else _date_bound(config, today or date.min)
        if bound is None:
            return _DateBounds(date.max, date.min)
        bounds.append(bound)
    return _DateBounds(*bounds)


def _field_for(spec: dict, today: date | None = None) -> fields.Field:
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
        if rules.get("min") or rules.get("max"):
            checks.append(_date_bounds(rules.get("min"), rules.get("max"), today))
    elif kind == "enum":
        field_cls = fields.String
        checks.append(validate.OneOf([o["id"] for o in spec.get("options", [])]))
    elif kind == "file":
        most = MAX_FILES if is_multiple(spec) else 1
        return fields.List(fields.String(validate=validate.Length(min=1, max=36)),
                           required=required, allow_none=not required,
                           validate=validate.Length(min=1 if required else 0, max=most),
                           metadata={"label": spec.get("label")})
    else:
        field_cls = fields.String
        low, high = _int(rules.get("minlength")), _int(rules.get("maxlength"))
        if required:  # an empty box is not an answer to a required question
            low = max(low or 0, 1)
        checks.append(validate.Length(min=low, max=min(high or MAX_TEXT, MAX_TEXT)))
        if rules.get("pattern"):
            checks.append(_FullMatch(rules["pattern"]))
    return field_cls(required=required, allow_none=not required, validate=checks,
                     metadata={"label": spec.get("label")})


def is_multiple(spec: dict) -> bool:
    """Whether a `file` field takes several files (the property `multiple`, not "false")."""
    value = (spec.get("properties") or {}).get("multiple")
    return value is not None and str(value).strip().lower() not in ("false", "0", "no")


def file_fields(form: dict) -> list[dict]:
    """The `file` fields of a form that take input (not read-only)."""
    return [f for f in form.get("fields", []) if f.get("type") == "file"
            and "readonly" not in f.get("validation", {})]


def pattern_problem(pattern: str) -> str | None:
    """Why a form field's `pattern` cannot be used (too long, or not runnable by RE2), or None."""
    if len(pattern) > MAX_PATTERN:
        return f"the pattern has {len(pattern)} characters; at most {MAX_PATTERN}"
    try:
        re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        return (f"the pattern cannot be matched in linear time ({reason}); back-references "
                "and look-arounds are not supported")
    return None


class _FullMatch(validate.Validator):
    """The whole value matches the pattern, in linear time (RE2)."""

    error = "String does not match expected pattern."

    def __init__(self, pattern: str):
        problem = pattern_problem(pattern)
        self.regex = None if problem else re2.compile(pattern, _RE2_OPTIONS)

    def __call__(self, value: str) -> str:
        if self.regex is None or self.regex.fullmatch(value) is None:
            raise ValidationError(self.error)
        return value


@functools.lru_cache(maxsize=512)
def _schema_for(form_json: str, today: date | None) -> Schema:
    form = json.loads(form_json)
    declared = {f["id"]: _field_for(f, today) for f in form.get("fields", [])
                if "readonly" not in f.get("validation", {})}
    return Schema.from_dict(declared, name="TaskForm")(unknown=RAISE)


def schema_for(form: dict, today: date | None = None) -> Schema:
    """The marshmallow schema of a task form (cached by the form's content and the day)."""
    return _schema_for(json.dumps(form, sort_keys=True), today)


Pick = Callable[[PickerKind, str], Choice | None]

_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"


def form_of(node: Any) -> dict:
    """The form of a flow node's `camunda:formData`, read off its XML element (lxml), as the
    parser gives it to a task: key and fields with type, label, default, validation,
    properties and the options of an enum ({} when the node has no field)."""
    form_data = node.find(f"{_BPMN}extensionElements/{_CAMUNDA}formData")
    if form_data is None:
        return {}
    fields_ = []
    for el in form_data.findall(f"{_CAMUNDA}formField"):
        item: dict[str, Any] = {
            "id": el.get("id"), "label": el.get("label"), "type": el.get("type") or "string",
            "default": el.get("defaultValue"),
            "validation": {c.get("name"): c.get("config")
                           for c in el.iterfind(f"{_CAMUNDA}validation/{_CAMUNDA}constraint")},
            "properties": {p.get("id"): p.get("value")
                           for p in el.iterfind(f"{_CAMUNDA}properties/{_CAMUNDA}property")},
        }
        if item["type"] == "enum":
            item["options"] = [{"id": v.get("id"), "name": v.get("name")}
                               for v in el.findall(f"{_CAMUNDA}value")]
        fields_.append(item)
    return {"key": form_data.get("businessKey"), "fields": fields_} if fields_ else {}


def _picker_problems(form: dict, loaded: dict[str, Any], pick: Pick | None) -> dict[str, list[str]]:
    """The errors of picker fields whose value is not in their list (no `pick`: none is)."""
    errors = {}
    for spec in form.get("fields", []):
        kind, value = picker_of(spec), loaded.get(spec["id"])
        if kind is None or value in (None, ""):
            continue
        if pick is None or not isinstance(value, str) or pick(kind, value) is None:
            errors[spec["id"]] = [f"Not a known {kind.noun}: choose one from the list."]
    return errors


def required_when(spec: dict) -> tuple[str, frozenset[str]] | None:
    """The field and values that make a field required (its `required_when`), or None."""
    config = (spec.get("validation") or {}).get("required_when")
    if not config or "=" not in config:
        return None
    other, _, values = config.partition("=")
    return other.strip(), frozenset(v.strip() for v in values.split("|") if v.strip())


def required_when_problem(form_fields: list[dict], spec: dict) -> str | None:
    """Why a field's `required_when` cannot be used in its form, or None."""
    config = (spec.get("validation") or {}).get("required_when")
    if config is None:
        return None
    condition = required_when(spec)
    if condition is None or not condition[0] or not condition[1]:
        return f"'{config}' is not of the form field=value (values separated by |)"
    other, values = condition
    by_id = {f.get("id"): f for f in form_fields}
    if other == spec.get("id") or other not in by_id:
        return f"'{other}' is no other field of this form"
    options = {o.get("id") for o in by_id[other].get("options") or []}
    if by_id[other].get("type") == "boolean":
        options = {"true", "false"}
    unknown = sorted(values - options) if options else []
    if unknown:
        return f"'{other}' has no choice {', '.join(unknown)}"
    return None


def _present(value: Any) -> bool:
    return value not in (None, "", [])


def _conditional_problems(form: dict, data: dict[str, Any]) -> dict[str, list[str]]:
    """The errors of fields that the answer of another field makes required, left empty."""
    errors = {}
    for spec in form.get("fields", []):
        condition = required_when(spec)
        if condition is None or _present(data.get(spec["id"])):
            continue
        other, values = condition
        answer = data.get(other)
        answer = str(answer).lower() if isinstance(answer, bool) else answer
        if answer in values:
            errors[spec["id"]] = ["Missing data for required field."]
    return errors


def validate_task_data(form: dict, data: dict[str, Any], pick: Pick | None = None,
                       today: date | None = None) -> dict[str, Any]:
    """Validated, typed task data, or TaskDataError with the errors of each field.

    `pick` checks the values of picker fields (engine/bpm/pickers.py `checker`); without it
    a picker field takes no value. `today` is the platform's date, for date bounds counted
    from today (without it such a bound refuses every date).
    """
    if not isinstance(data, dict):
        raise TaskDataError("task data must be an object of field values")
    unfit: dict[str, list[str]] = {}
    for key, value in data.items():
        name = str(key).encode("utf-8", "backslashreplace").decode("utf-8")  # no surrogate
        _text_problems(key, name, unfit)
        _text_problems(value, name, unfit)
    if unfit:
        raise TaskDataError("the data hold text that cannot be kept: " + "; ".join(
            f"{k}: {' '.join(v)}" for k, v in unfit.items()), unfit)
    if not form.get("fields"):
        # No form, no outside data: what a step takes from outside is what its form
        # declares, so a start or a task without fields cannot set process variables.
        if data:
            names = ", ".join(sorted(map(str, data))[:10])
            raise TaskDataError(f"this step has no form, so it takes no data (got: {names})",
                                {str(k): ["this step has no form field of that name"]
                                 for k in list(data)[:50]})
        return {}
    errors: dict[str, list[str]] = {}
    try:
        loaded = schema_for(form, today).load(data)
    except ValidationError as exc:
        errors = {k: v if isinstance(v, list) else [str(v)] for k, v in exc.messages.items()}
        loaded = exc.valid_data if isinstance(exc.valid_data, dict) else {}
    for name, problems in _picker_problems(form, loaded, pick).items():
        errors.setdefault(name, problems)
    for name, problems in _conditional_problems(form, loaded).items():
        errors.setdefault(name, problems)
    if errors:
        raise TaskDataError("the form has errors: " + "; ".join(
            f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()), errors)
    # Dates travel as ISO strings in process data, so the state stays plain JSON.
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in loaded.items()}
