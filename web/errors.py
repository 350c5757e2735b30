"""Engine errors become answers a person can act on: JSON under /api, a page elsewhere.

Their words come from each error's code and params (``engine.refusals``, zh and en), never from
the English of the exception: that stays in the log.

No stack trace ever reaches a client: anything unexpected is logged and answered 500.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from engine.errors import (
    CaseArchived,
    CaseNotOpen,
    CaseSuspended,
    DatabaseUnavailable,
    DecisionFailure,
    DeployError,
    EngineError,
    FormInvalid,
    IdempotencyKeyReused,
    MessageNotExpected,
    NotAllowed,
    NotFound,
    StaleCase,
    TaskAlreadyCompleted,
    TaskHeldByOther,
    TaskNotOpen,
    WorkflowFailure,
)
from engine.migration import MigrationRefused
from web import i18n
from web.services import local_path

log = logging.getLogger(__name__)

STATUS = [
    (MigrationRefused, 409), (FormInvalid, 422), (DeployError, 422), (NotAllowed, 403), (NotFound, 404),
    (TaskAlreadyCompleted, 409), (TaskNotOpen, 409), (StaleCase, 409), (CaseArchived, 409),
    (CaseSuspended, 409), (CaseNotOpen, 409),
    (MessageNotExpected, 409), (TaskHeldByOther, 409), (IdempotencyKeyReused, 422), (DecisionFailure, 422),
    (EngineError, 400),
]


def status_of(error: EngineError) -> int:
    return next(code for kind, code in STATUS if isinstance(error, kind))


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_body(error: EngineError | DatabaseUnavailable) -> dict:
    language = i18n.current_language()
    if isinstance(error, EngineError):  # the words come from the error's code, in the caller's language
        body: dict = {"error": type(error).__name__, "code": error.code, "params": error.params,
                      "message": person_text(error, language)}
    else:
        body = {"error": type(error).__name__, "message": str(error), "code": error.code}
    if isinstance(error, TaskHeldByOther):
        body["holder"] = error.holder
    if isinstance(error, IdempotencyKeyReused):
        body["number"] = error.number
    if isinstance(error, FormInvalid):
        body["errors"] = error.errors
    if isinstance(error, TaskAlreadyCompleted):
        body["completed_by"] = error.by
        body["completed_at"] = error.at.isoformat() if error.at else None
    if isinstance(error, MigrationRefused):
        body["reasons"] = error.reasons
    if isinstance(error, WorkflowFailure):  # the process owner's diagram or table failed: name the element
        body["element"] = error.element
    if isinstance(error, DeployError):
        body["problems"] = [p.as_dict(i18n.current_language()) for p in error.problems]
    return body


def person_text(error: EngineError, language: str) -> str:
    """The error in ``language`` from its code and params.

    Errors raised without params (``NotAllowed``, ``NotFound`` and plain ``EngineError`` from many
    places, each with its own reason) keep the engine's sentence until each reason has a code.
    """
    if error.params or isinstance(error, WorkflowFailure):
        return error.text(language)
    return str(error)


def page_message(error: EngineError) -> str:
    """What a person reads on an error page, in their language (the engine's detail stays English)."""
    if isinstance(error, NotAllowed):
        return _("You may not open or change this. It belongs to another group, or you are involved in the case.")
    if isinstance(error, NotFound):
        return _("There is no such case or step.")
    if isinstance(error, TaskHeldByOther):
        return held_by_message(error)
    if isinstance(error, CaseArchived):
        return _("The case is archived: it can be read but no longer changed.")
    if isinstance(error, CaseSuspended):
        return _("The case is suspended: nothing can move it until a supervisor resumes it.")
    if isinstance(error, CaseNotOpen):
        return _("The case is not in a state where this can be done. Reload the page to see where it stands.")
    if isinstance(error, (TaskAlreadyCompleted, TaskNotOpen, StaleCase, MessageNotExpected)):
        return _("The case has moved on meanwhile. Reload the page to see where it stands.")
    return _("This could not be done.")


def held_by_message(error: TaskHeldByOther) -> str:
    return _("%(who)s holds this step now; nothing of yours was saved. Reload to see it, or claim it back.",
             who=error.holder or _("nobody"))


def unavailable(error: DatabaseUnavailable):  # noqa: ANN201
    """503 with Retry-After; the page touches no database (no user, no session look-up), in the cookie's language."""
    log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
    headers = {"Retry-After": str(error.retry_after), "Cache-Control": "no-store"}
    if wants_json():
        return jsonify(error_body(error)), 503, headers
    # Rendered without the context processors: Flask-Login's would load the user from the database.
    page = current_app.jinja_env.get_template("unavailable.html")
    return page.render(lang=i18n.select_locale(), retry_after=error.retry_after), 503, headers


def error_page(code: int, message: str, detail: str | None = None):  # noqa: ANN201
    """The error page; while the database is away (its header needs the user) the 503 page instead."""
    try:
        return render_template("error.html", code=code, message=message, detail=detail), code
    except DatabaseUnavailable as away:
        return unavailable(away)


def register(app: Flask) -> None:
    app.register_error_handler(DatabaseUnavailable, unavailable)

    @app.errorhandler(EngineError)
    def engine_error(error: EngineError):  # noqa: ANN202
        code = status_of(error)
        if wants_json():
            return jsonify(error_body(error)), code
        return error_page(code, page_message(error), detail=person_text(error, i18n.current_language()))

    @app.errorhandler(CSRFError)
    def stale_form(error: CSRFError):  # noqa: ANN202
        """A form sent after its session ended (idle timeout, restart, logout elsewhere): sign in again and
        come back to the page, where the browser refills what was typed; never a bare English 400."""
        if wants_json():
            return jsonify({"error": "Bad Request", "message": _("The form was too old; reload the page.")}), 400
        came_from = urlsplit(request.referrer or "")
        back = came_from.path + (f"?{came_from.query}" if came_from.query else "") \
            if came_from.netloc == request.host else request.path
        back = local_path(back, url_for("inbox.index"))
        if not current_user.is_authenticated and request.blueprint not in ("auth", "portal"):
            flash(_("Your session had ended, so nothing was saved. Sign in again: what you typed is kept."), "error")
            return redirect(url_for("auth.login", next=back), code=303)
        return error_page(400, _("This page was open too long to be sent. Go back and send it again: what you "
                                 "typed is kept in the form."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # noqa: ANN202
        # The exception's own headers stay: Allow on 405, Retry-After on 429 and 503, WWW-Authenticate.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        if wants_json():
            return jsonify({"error": error.name, "message": error.description}), error.code, headers
        answer = error_page(error.code, error.description)
        return (*answer, headers) if len(answer) == 2 else answer  # the 503 page brings its own

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def out_of_range(error: Exception):  # noqa: ANN202
        """A number or date past what Python or the database can hold: the request was wrong, not the server."""
        log.info("out-of-range value on %s %s: %s", request.method, request.path, error)
        message = _("A number or date in the request is out of range.")
        if wants_json():
            return jsonify({"error": "Bad Request", "message": message}), 400
        return error_page(400, message)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # noqa: ANN202
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = _("Something went wrong on our side; nothing was changed. Please try again.")
        if wants_json():
            return jsonify({"error": "Internal Server Error", "message": message}), 500
        return error_page(500, message)
