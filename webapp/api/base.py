"""The one way to make an API blueprint: the caller is authenticated first, bodies are read
strictly (bodies.py), errors are problems."""

from __future__ import annotations

from flask_smorest import Blueprint

from . import problems
from .auth import authenticate
from .bodies import BodyParser


class ApiBlueprint(Blueprint):
    """A flask-smorest blueprint whose arguments come through the strict body parser."""

    ARGUMENTS_PARSER = BodyParser()

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's `arguments`, with a schema class made into its instance once here:
        webargs would otherwise build a new instance of the class at every request."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


def api_blueprint(name: str, import_name: str, url_prefix: str, description: str) -> Blueprint:
    """A flask-smorest blueprint under /api/v1 with token/session auth and problem errors."""
    bp = ApiBlueprint(name, import_name, url_prefix=url_prefix, description=description)
    bp.before_request(authenticate)
    problems.install(bp)
    return bp
