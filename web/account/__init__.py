"""``/account/sessions``: a person's login sessions and API tokens, each of which they may end.

An administrator (``admin = true`` in the deployed roles.toml) opens anyone's at
``/account/sessions/<username>`` and ends or revokes them there; to anyone else another person's
page, session or token does not exist (404). Every end is an event in the history.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import NotFound
from engine.sessions import digest
from web.auth import current_session_token
from web.services import engine

bp = Blueprint("account", __name__, template_folder="templates", url_prefix="/account")


def _whose(username: str | None) -> str:
    """The person whose page this is: oneself, or anyone for an administrator (404 otherwise)."""
    target = username or current_user.username
    if not engine().sessions.may_manage(target, current_user.username):
        abort(404)
    try:
        engine().people.get(target)
    except NotFound:
        abort(404)
    return target


@bp.get("/sessions", endpoint="sessions")
@bp.get("/sessions/<username>", endpoint="sessions_of")
@login_required
def sessions(username: str | None = None) -> ResponseReturnValue:
    asked = request.args.get("username", "").strip()
    if username is None and asked:  # the administrator's look-up form
        return redirect(url_for("account.sessions_of", username=asked))
    target = _whose(username)
    token = current_session_token()
    eng = engine()
    return render_template(
        "account/sessions.html", username=target, now=eng.sessions.clock.now(),
        sessions=eng.sessions.of(target), tokens=eng.sessions.tokens(target),
        current=digest(token) if token else None, is_admin=eng.access.is_admin(current_user.username))


@bp.post("/sessions/<username>/end/<session_id>")
@login_required
def end_session(username: str, session_id: str) -> ResponseReturnValue:
    target = _whose(username)
    ended = engine().sessions.end(session_id, current_user.username)
    if ended.username != target:
        abort(404)
    flash(_("The session has ended: that browser must log in again."), "info")
    return _back(target)


@bp.post("/sessions/<username>/end-all")
@login_required
def end_all(username: str) -> ResponseReturnValue:
    target = _whose(username)
    count = engine().sessions.end_all(target, current_user.username)
    flash(_("%(count)s sessions ended.", count=count), "info")
    return _back(target)


@bp.post("/sessions/<username>/revoke/<token_id>")
@login_required
def revoke_token(username: str, token_id: str) -> ResponseReturnValue:
    target = _whose(username)
    revoked = engine().sessions.revoke_token(token_id, current_user.username)
    if revoked.username != target:
        abort(404)
    flash(_("The token is revoked: it is refused from now on."), "info")
    return _back(target)


def _back(target: str) -> ResponseReturnValue:
    if target == current_user.username and request.endpoint != "account.end_all":
        return redirect(url_for("account.sessions"))
    return redirect(url_for("account.sessions_of", username=target))
