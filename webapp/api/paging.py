"""Cursor pages: an opaque cursor holds the sort key of the last item of the page before."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask_smorest import abort

T = TypeVar("T")


def encode_cursor(key: list[Any]) -> str:
    """The opaque cursor of a sort key."""
    raw = json.dumps(key, separators=(",", ":"), default=str).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The sort key in a cursor; 422 when it is not one this API made."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, list) or not key:
        abort(422, message="the cursor is not valid; start again without it",
              errors={"cursor": ["not a cursor from this API"]})
    return key


def page(items: Iterable[T], key: Callable[[T], list[Any]], limit: int,
         cursor: str | None) -> dict[str, Any]:
    """One page of already sorted items after the cursor, and the cursor of the next page."""
    after = decode_cursor(cursor)
    chosen: list[T] = []
    more = False
    for item in items:
        k = key(item)
        if after is not None and _not_after(k, after):
            continue
        if len(chosen) == limit:
            more = True
            break
        chosen.append(item)
    return {"items": chosen,
            "next_cursor": encode_cursor(key(chosen[-1])) if more and chosen else None}


def _not_after(k: list[Any], after: list[Any]) -> bool:
    try:
        return _comparable(k) <= _comparable(after)
    except TypeError:
        abort(422, message="the cursor does not fit this list; start again without it",
              errors={"cursor": ["cursor of another list"]})


def _comparable(key: list[Any]) -> tuple:
    # None sorts last, as in the inbox's order.
    return tuple((value is None, "" if value is None else value) for value in key)
