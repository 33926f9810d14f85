"""Engine errors to HTTP: not found 404, forbidden 403, conflicts 409 with the page again,
too large 413, a process step that failed 422 (nothing was written; an incident number to
quote), the database unavailable 503 ("try again"; nothing was written), anything unforeseen
500 with an incident number (engine/bpm/incidents.py) — every one a Chinese page, never
Werkzeug's English one."""

from __future__ import annotations

from flask import Flask, current_app, flash, g, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from engine.bpm.budget import BudgetExceededError
from engine.bpm.incidents import record_error, record_failure
from engine.bpm.start_forms import NotStartableError
from engine.core.errors import (
    ConflictError, GongjianError, InvalidStateError, NotFoundError, PermissionDeniedError,
    TaskDataError, WorkflowExecutionError,
)

from .db import discard_uow, get_platform


def _page(template: str, status: int, **context):
    discard_uow()
    return render_template(template, **context), status


def _back_on_the_page(message: str, status: int):
    """Flash the message and show the page the user acted on again (nothing was changed)."""
    discard_uow()
    flash(message, "error")
    task_id = (request.view_args or {}).get("task_id")
    if task_id:
        from .tasks import render_task
        try:
            return render_task(task_id, status=status)
        except NotFoundError:
            pass
    return render_template("errors/message.html", title=_("操作未完成")), status


def unavailable(exc: BaseException | None = None):
    """503 "try again": the database could not be reached or was busy; nothing was written."""
    g.actor = None  # the page must not query the database again (navigation counts)
    if disk_full(exc):  # waiting will not help: someone must free space first
        return _page("errors/message.html", 503, title=_("服务器磁盘已满"),
                     message=_("服务器磁盘已满，您的操作没有保存任何内容，已保存的数据不受影响。"
                               "请通知系统管理员释放磁盘空间后再试。"))
    response, status = _page("errors/message.html", 503, title=_("系统暂时繁忙"),
                             message=_("数据库暂时无法访问，您的操作没有保存任何内容。"
                                       "请稍等片刻后重试。"))
    return response, status, {"Retry-After": "5"}


def disk_full(exc: BaseException | None) -> bool:
    """Whether a database error (or its cause) says the disk is full."""
    text = f"{exc} {getattr(exc, '__cause__', None)}".lower()
    return "disk is full" in text or "no space left" in text


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(NotFoundError)
    @app.errorhandler(404)
    def not_found(exc):
        return _page("errors/message.html", 404, title=_("没有找到"),
                     message=_("要找的内容不存在，或不在您的权限范围内。"))

    @app.errorhandler(PermissionDeniedError)
    @app.errorhandler(403)
    def forbidden(exc):
        if isinstance(exc, NotStartableError):
            return _page("errors/message.html", 403, title=_("不能手动发起"),
                         message=_("这个流程由系统按计划或由其他流程发起，不能在这里手动发起。"))
        return _page("errors/message.html", 403, title=_("无权操作"),
                     message=_("您没有权限执行这个操作。"))

    @app.errorhandler(413)
    def too_large(exc):
        return _page("errors/message.html", 413, title=_("内容过大"),
                     message=_("提交的内容超过了大小限制，没有保存。请缩小文件或分次提交。"))

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_unavailable(exc):
        app.logger.error("database unavailable: %s", exc)
        return unavailable(exc)

    @app.errorhandler(DataError)
    def unstorable(exc):
        app.logger.warning("value refused by the database: %s", exc)
        return _back_on_the_page(_("填写的内容过长或含有不能保存的字符，没有做任何更改。"), 400)

    @app.errorhandler(ConflictError)
    def conflict(exc):
        if isinstance(exc.__cause__, OperationalError):
            return unavailable(exc)  # the database was busy, not another user first
        return _back_on_the_page(
            _("有人先一步处理了这项工作，您的操作没有生效，页面已刷新为最新状态。"), 409)

    @app.errorhandler(InvalidStateError)
    def invalid_state(exc):
        return _back_on_the_page(_("当前状态下不能这样操作，没有做任何更改。"), 409)

    @app.errorhandler(TaskDataError)
    def task_data(exc):
        return _back_on_the_page(_("填写的内容有误，没有做任何更改：%(msg)s", msg=str(exc)), 400)

    @app.errorhandler(WorkflowExecutionError)
    def workflow_failed(exc):
        return workflow_failure(exc)


    @app.errorhandler(CSRFError)
    def csrf_failed(exc):
        return _page("errors/message.html", 400, title=_("页面已过期"),
                     message=_("表单已过期或来源不明，请刷新页面后重试。"))

    # By status, not by class: the API's library registers its own HTTPException handler
    # at app level after this one, and a status's handler is chosen before a class's.
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc  # a redirect or the like raised as an exception: let it through
        title, message = HTTP_MESSAGES.get(exc.code) or HTTP_MESSAGES[
            400 if exc.code < 500 else 500]
        response, status = _page("errors/message.html", exc.code, title=title(),
                                 message=message())
        allowed = getattr(exc, "valid_methods", None)
        headers = {"Allow": ", ".join(allowed)} if allowed else {}
        return response, status, headers

    for code in HTTP_MESSAGES:
        app.register_error_handler(code, http_error)
    app.register_error_handler(HTTPException, http_error)  # any status not listed

    @app.errorhandler(Exception)
    def unforeseen(exc: Exception):
        return unforeseen_failure(exc)


# Werkzeug's other errors in Chinese: (title, message) by status.
HTTP_MESSAGES = {
    400: (lambda: _("请求有误"), lambda: _("提交的内容无法处理，没有做任何更改。请返回上一页检查后重试。")),
    401: (lambda: _("需要登录"), lambda: _("请先登录后再访问这个页面。")),
    405: (lambda: _("不能这样访问"),
          lambda: _("这个地址不能用这种方式打开（例如表单只能提交，不能直接打开），没有做任何更改。"
                    "请从页面上的按钮或链接进入。")),
    406: (lambda: _("格式不支持"), lambda: _("无法按要求的格式提供这个页面。")),
    410: (lambda: _("已不存在"), lambda: _("要找的内容已被删除。")),
    414: (lambda: _("地址过长"), lambda: _("页面地址过长，无法处理。请缩小筛选条件后重试。")),
    415: (lambda: _("格式不支持"), lambda: _("提交内容的格式不支持，没有做任何更改。")),
    429: (lambda: _("操作过于频繁"), lambda: _("操作过于频繁，请稍等片刻后再试。")),
    431: (lambda: _("请求过大"), lambda: _("请求头过大，无法处理。请清除浏览器缓存后重试。")),
    500: (lambda: _("系统出错"), lambda: _("系统出错，没有做任何更改。请稍后重试或告诉系统管理员。")),
    501: (lambda: _("不支持的操作"), lambda: _("系统不支持这种操作。")),
}


def unforeseen_failure(exc: Exception):
    """500, in Chinese: anything unforeseen becomes an incident for the administrator; the
    call was rolled back, so nothing was changed; the number to quote."""
    discard_uow()
    current_app.logger.error("unexpected error in %s %s", request.method, request.path,
                             exc_info=exc)
    incident = record_incident(exc)
    tell = (_("请把事件编号 %(n)s 告诉系统管理员。", n=incident) if incident
            else _("请告诉系统管理员。"))
    return render_template("errors/message.html", title=_("系统出错"),
                           message=_("系统处理这个请求时出错，没有做任何更改。%(tell)s",
                                     tell=tell)), 500


def record_incident(exc: Exception) -> int | None:
    """Record a failure for the administrator (after the call was rolled back) as an
    incident — a failed step, or anything unforeseen — and give its number (None when even
    that fails: the answer must still say what happened). Pages and the API alike."""
    args = request.view_args or {}
    actor = g.actor.username if g.get("actor") is not None else "anonymous"
    try:
        with get_platform().uow() as uow:
            if isinstance(exc, WorkflowExecutionError):
                return record_failure(uow, actor, exc, process_key=args.get("key"),
                                      task_id=args.get("task_id"))
            return record_error(uow, actor, exc, path=request.path,
                                process_key=args.get("key"), task_id=args.get("task_id"),
                                instance_id=args.get("instance_id"))
    except Exception:
        current_app.logger.exception("the failure could not be recorded")
        return None




def workflow_failure(exc: WorkflowExecutionError):
    """422: a step of the process failed; nothing was changed; the incident number to quote.

    The page the person acted on comes back (the start form or the task, with what was
    filled in) with the message on top; elsewhere a message page.
    """
    discard_uow()
    incident = record_incident(exc)
    current_app.logger.error("workflow error (incident %s): %s", incident, exc)
    if isinstance(exc, BudgetExceededError):
        what = str(exc)  # the budget says in Chinese what was stopped
    else:
        what = _("“%(step)s”执行出错：流程设计中的脚本、条件或决策表未能处理这些数据。",
                 step=exc.element_name or _("流程中的一个自动环节"))
    tell = (_("请把事件编号 %(n)s 告诉系统管理员或流程设计员。", n=incident) if incident
            else _("请告诉系统管理员或流程设计员。"))
    message = _("%(what)s 没有做任何更改。%(tell)s", what=what, tell=tell)
    args = request.view_args or {}
    try:
        if request.endpoint == "processes.start" and args.get("key"):
            from .processes import start_page
            flash(message, "error")
            return start_page(args["key"], status=422, values=request.form)
        if args.get("task_id"):
            from .tasks import render_task
            flash(message, "error")
            return render_task(args["task_id"], status=422, values=request.form)
    except GongjianError:
        discard_uow()  # the page is gone meanwhile: the message alone
    return render_template("errors/message.html", title=_("流程执行出错"),
                           message=message), 422
