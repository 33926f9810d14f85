"""The API's response schemas, dumped by a plan built once per schema instead of marshmallow's
per-value walk.

A page of fifty tasks is about 2,000 values; marshmallow's `Schema.dump` looks each one up
through `Field.serialize` → `get_value` → `_serialize` (five Python calls a value), a third of
the task list's time under load. `Schema` here is marshmallow's, with `dump` following a plan
made of the schema's own dump fields: each field's value is read as marshmallow reads it
(`obj[key]`, else the attribute; a missing one takes the field's `dump_default`, or is left
out) and turned into JSON-ready data by the same conversion as the field's `_serialize` for
the plain field types — String, Integer, Boolean, DateTime/Date, Raw, List, Dict and Nested.
Any other field type, a dotted attribute or a schema with dump hooks goes through marshmallow
itself, so the output is marshmallow's in every case (tests/api/test_dumping.py dumps the
same objects both ways). The OpenAPI document still comes from the schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow
from marshmallow import fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import missing

Convert = Callable[[Any, str, Any], Any]  # (value, attribute, object) → JSON-ready value


def _value(obj: Any, key: str) -> Any:
    """marshmallow.utils.get_value for a key without a dot."""
    if not hasattr(obj, "__getitem__"):
        return getattr(obj, key, missing)
    try:
        return obj[key]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, key, missing)


def _text(value, attr, obj):
    return None if value is None else (value if type(value) is str else str(value))


def _same(value, attr, obj):
    return value


def _converter(field: fields.Field) -> Convert:
    """The field's `_serialize`, for the plain types; marshmallow's own for any other."""
    kind = type(field)
    if kind is fields.String:
        return _text
    if kind in (fields.Raw, fields.Boolean):
        return _same
    if kind is fields.Integer and not field.as_string:
        return lambda value, attr, obj: None if value is None else int(value)
    if kind in (fields.DateTime, fields.Date):
        fmt = field.format or field.DEFAULT_FORMAT
        format_func = field.SERIALIZATION_FUNCS.get(fmt)
        if format_func is not None:
            return lambda value, attr, obj: None if value is None else format_func(value)
    if kind is fields.List:
        inner = _converter(field.inner)
        return lambda value, attr, obj: (None if value is None
                                         else [inner(each, attr, obj) for each in value])
    if kind is fields.Dict and field.key_field is None and field.value_field is None:
        mapping = field.mapping_type
        return lambda value, attr, obj: None if value is None else mapping(value)
    if (kind is fields.Dict and type(field.key_field) is fields.String
            and field.value_field is not None):
        values = _converter(field.value_field)
        return lambda value, attr, obj: None if value is None else {
            _text(k, None, None): values(v, None, None) for k, v in value.items()}
    if kind is fields.Nested:
        def nested(value, attr, obj):
            if value is None:
                return None
            schema = field.schema
            return schema.dump(value, many=bool(schema.many or field.many))
        return nested
    return field._serialize


def _plan(schema: marshmallow.Schema) -> Callable[[Any], dict] | None:
    """A function dumping one object as `schema` does; None where marshmallow must do it."""
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP] or schema.dict_class is not dict:
        return None
    steps = []
    for name, field in schema.dump_fields.items():
        attribute = field.attribute or name
        if "." in attribute or not field._CHECK_ATTRIBUTE or schema.get_attribute.__func__ \
                is not marshmallow.Schema.get_attribute:
            return None
        key = field.data_key if field.data_key is not None else name
        steps.append((attribute, key, _converter(field), field.dump_default))

    def dump_one(obj: Any) -> dict:
        out = {}
        for attribute, key, convert, default in steps:
            value = _value(obj, attribute)
            if value is missing:
                value = default() if callable(default) else default
                if value is missing:
                    continue
            out[key] = convert(value, attribute, obj)
        return out
    return dump_one


class Schema(marshmallow.Schema):
    """marshmallow's Schema, dumping by a plan made once per schema instance."""

    def dump(self, obj: Any, *, many: bool | None = None):
        plan = self.__dict__.get("_dump_plan", missing)
        if plan is missing:
            plan = self.__dict__["_dump_plan"] = _plan(self)
        if plan is None:
            return super().dump(obj, many=many)
        many = self.many if many is None else bool(many)
        if many and obj is not None:
            return [plan(each) for each in obj]
        return plan(obj)
