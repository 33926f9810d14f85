"""What a submitted page form may hold: each value at most MAX_FORM_TEXT characters, with no
control character, lone surrogate or U+FFFD (the mark of bytes that were not UTF-8, which
werkzeug decodes by replacement). A form that breaks this is refused before its view runs,
with a page saying what to fix; nothing is saved. The JSON API has its own rules
(api/bodies.py) and is left alone here.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _

from engine.bpm.forms import MAX_TEXT, text_problem

MAX_FORM_TEXT = MAX_TEXT
REPLACEMENT = "\ufffd"


def unfit_fields(form) -> list[str]:
    """Names of the submitted fields whose values cannot be kept."""
    return sorted({name for name, value in form.items(multi=True)
                   if len(value) > MAX_FORM_TEXT or REPLACEMENT in value
                   or text_problem(value)})


def refuse_unfit_forms():
    """Before a page's POST: a 400 page when a value cannot be kept (see the module)."""
    if request.method != "POST" or request.path.startswith("/api/"):
        return None
    if not unfit_fields(request.form):
        return None
    return render_template(
        "errors/message.html", title=_("内容无法保存"),
        message=_("提交的内容过长（每项最多 %(n)s 个字）或含有无法保存的字符（如控制字符、"
                  "乱码），没有保存任何更改。请修改后重新提交。", n=MAX_FORM_TEXT)), 400


def init_app(app: Flask) -> None:
    """Check every page form before its view."""
    app.before_request(refuse_unfit_forms)
