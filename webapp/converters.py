"""URL converters: an `int` in a URL is a database id, so it fits the database's integer."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL's `integer`; a larger id cannot exist, so it is a plain 404


class IdConverter(IntegerConverter):
    """`<int:…>` limited to 0 … 2**31 − 1: beyond that the URL matches nothing (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app) -> None:
    """Make every `<int:…>` route use the bounded converter."""
    app.url_map.converters["int"] = IdConverter
