"""The API's dump plan (webapp/api/dumping.py) gives marshmallow's output, value for value.

tests/api/conftest.py also dumps every answer of the API tests both ways; these are the edge
cases a real answer may not reach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import marshmallow
import pytest
from marshmallow import fields, post_dump

from webapp.api.dumping import Schema, _plan


class Inner(Schema):
    code = fields.String()
    n = fields.Integer(allow_none=True)


class Outer(Schema):
    name = fields.String(required=True)
    renamed = fields.String(data_key="shown", attribute="hidden")
    count = fields.Integer()
    as_text = fields.Integer(as_string=True)
    flag = fields.Boolean()
    when = fields.DateTime()
    day = fields.Date()
    stamp = fields.DateTime(format="%Y/%m/%d")
    raw = fields.Raw(allow_none=True)
    tags = fields.List(fields.String())
    table = fields.Dict()
    typed = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    one = fields.Nested(Inner, allow_none=True)
    many = fields.List(fields.Nested(Inner))
    nested_many = fields.Nested(Inner, many=True)
    ratio = fields.Float()
    secret = fields.String(load_only=True)
    fallback = fields.String(dump_default="默认")
    made = fields.String(dump_default=lambda: "造")


@dataclass
class Thing:
    name: str
    hidden: str | None = None
    count: int | None = None


WHEN = datetime(2026, 12, 5, 9, 30, tzinfo=timezone(timedelta(hours=8)))
FULL = {"name": "马家庄光伏", "hidden": "隐", "count": 7, "as_text": 3, "flag": True,
        "when": WHEN, "day": date(2026, 12, 5), "stamp": WHEN, "raw": {"a": [1, None]},
        "tags": ["甲", 2], "table": {"k": 1}, "typed": {"k": ["v", 1]},
        "one": {"code": "c", "n": "5"}, "many": [{"code": 1}, {"n": None}],
        "nested_many": [{"code": "x"}], "ratio": 1, "secret": "不出", "fallback": "给了"}


@pytest.mark.parametrize("obj", [
    FULL,
    {"name": "空", "count": None, "when": None, "tags": None, "table": None, "typed": None,
     "one": None, "many": None, "nested_many": None, "raw": None},
    {},  # every field missing: dump defaults only
    Thing("对象", "隐藏", 3),  # attributes, not keys
], ids=["full", "nones", "missing", "object"])
def test_the_plan_dumps_what_marshmallow_dumps(obj):
    schema = Outer()
    assert schema.dump(obj) == marshmallow.Schema.dump(schema, obj)
    assert schema.dump([obj, obj], many=True) == marshmallow.Schema.dump(schema, [obj, obj],
                                                                         many=True)


def test_a_load_only_field_is_not_dumped_and_data_keys_are_used():
    out = Outer().dump(FULL)
    assert "secret" not in out and out["shown"] == "隐" and "hidden" not in out
    assert out["when"] == "2026-12-05T09:30:00+08:00" and out["as_text"] == "3"


def test_a_schema_with_dump_hooks_is_left_to_marshmallow():
    class Hooked(Schema):
        name = fields.String()

        @post_dump
        def shout(self, data, **kwargs):
            return {**data, "name": data["name"].upper()}

    assert _plan(Hooked()) is None
    assert Hooked().dump({"name": "ab"}) == {"name": "AB"}


def test_only_and_exclude_are_kept():
    assert Outer(only=("name", "count")).dump(FULL) == {"name": "马家庄光伏", "count": 7}
    assert "count" not in Outer(exclude=("count",)).dump(FULL)
