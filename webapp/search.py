"""搜索: the search box's results page."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from engine.county.search import search as find

from .auth import login_required
from .db import get_uow

bp = Blueprint("search", __name__, url_prefix="/search")


@bp.get("/")
@login_required
def index():
    """What the words find, by kind, among what the user may see."""
    query = request.args.get("q", "")
    return render_template("search/index.html", results=find(get_uow(), g.actor, query))
