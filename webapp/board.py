"""挂图作战: the battle map of key and government-invested projects, and each project's
sheet (一图三单) — views over engine/reports.py.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from engine import reports
from engine.projects import STAGES

from .auth import login_required
from .db import get_uow

bp = Blueprint("board", __name__, url_prefix="/board")

CHART_W, CHART_H, PAD = 560, 220, 36


def chart(points) -> dict:
    """The SVG polylines of cumulative planned and actual investment (一图)."""
    if not points:
        return {}
    top = max(max(p.planned, p.actual) for p in points) or 1
    step = (CHART_W - 2 * PAD) / max(len(points) - 1, 1)

    def xy(i, value):
        return f"{PAD + i * step:.0f},{CHART_H - PAD - value * (CHART_H - 2 * PAD) / top:.0f}"

    return {"planned": " ".join(xy(i, p.planned) for i, p in enumerate(points)),
            "actual": " ".join(xy(i, p.actual) for i, p in enumerate(points) if p.reported),
            "labels": [(PAD + i * step, p.month[2:]) for i, p in enumerate(points)],
            "top": top, "w": CHART_W, "h": CHART_H, "pad": PAD}


@bp.get("/")
@login_required
def battle_map():
    """All key and government-invested projects by sub-command, with this month's plates."""
    board = reports.battle_map(get_uow(), request.args.get("month") or None)
    return render_template("board/map.html", board=board, stages=STAGES)


@bp.get("/project/<code>")
@login_required
def project(code: str):
    """One project's progress chart and its three lists."""
    sheet = reports.project_sheet(get_uow(), code)
    if sheet is None:
        abort(404)
    return render_template("board/project.html", sheet=sheet, chart=chart(sheet.points))
