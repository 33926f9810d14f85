"""审批单: an instance's printable approval sheet (an A4 page) and its PDF."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, g, render_template

from engine.bpm.approval_sheet import MatterLine, approval_sheet
from engine.county import policy

from .auth import login_required
from .db import get_uow
from .downloads import send_download
from .filters import names
from .pdf import PdfUnavailableError, html_to_pdf

bp = Blueprint("approval_sheets", __name__, url_prefix="/processes/instances")


def _named(line: MatterLine) -> MatterLine:
    """A picker's code as people read it: the unit, the person, the project by name."""
    if line.family is None:
        return line
    shown = {"unit": names().unit, "user": names().person,
             "project": lambda code: f"{names().projects.get(code, code)}（{code}）"}
    return replace(line, value=shown.get(line.family, str)(line.value), family=None)


def _sheet_page(instance_id: int, *, for_pdf: bool) -> str:
    uow = get_uow()
    sheet = approval_sheet(uow, instance_id, g.actor, oversees=policy.oversees(g.actor))
    sheet = replace(sheet, matter=tuple(_named(line) for line in sheet.matter))
    return render_template("approval_sheets/sheet.html", sheet=sheet, for_pdf=for_pdf,
                           printed_by=g.display_name, printed_at=uow.clock.now())


@bp.get("/<int:instance_id>/sheet")
@login_required
def sheet(instance_id: int):
    """The sheet as a page to read or print (A4)."""
    return _sheet_page(instance_id, for_pdf=False)


@bp.get("/<int:instance_id>/sheet.pdf")
@login_required
def sheet_pdf(instance_id: int):
    """The same sheet as a PDF to download and file."""
    try:
        pdf = html_to_pdf(_sheet_page(instance_id, for_pdf=True))
    except PdfUnavailableError:
        return render_template("errors/message.html", title="无法生成 PDF", message=(
            "服务器未安装生成 PDF 所需的组件，请使用“打印”另存为 PDF，并通知系统管理员"
            "安装（见 README 的部署一节）。")), 503
    return send_download(pdf, f"审批单-{instance_id}.pdf", "application/pdf")
