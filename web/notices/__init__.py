"""Each staff member's in-app notices: the list, the unread count in the header, opening one.

The list is the ``app`` channel's delivery rows (written when a notice is planned), so what a
person sees here is exactly what was delivered to them. Opening a notice marks it read and
lands on its case; the header's count refreshes itself (``/notices/unread``) without counting
as activity for the idle timeout.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from engine.errors import NotFound
from web.services import engine

bp = Blueprint("notices", __name__, template_folder="templates")
REFRESH_SECONDS = 15  # how often the header asks for the count (``NOTICES_REFRESH_SECONDS`` in the config)


@bp.app_context_processor
def unread_notices() -> dict:
    """The header's unread count, on every page a staff member sees."""
    if not getattr(current_user, "is_authenticated", False):
        return {}
    return {"unread_notices": engine().notifications.unread_count(current_user.username),
            "notices_refresh_seconds": current_app.config.get("NOTICES_REFRESH_SECONDS", REFRESH_SECONDS)}


@bp.get("/notices")
@login_required
def index() -> str:
    return render_template("notices/index.html", notices=engine().notifications.for_user(current_user.username, 200))


@bp.get("/notices/unread")
@login_required
def unread() -> ResponseReturnValue:
    return jsonify(unread=engine().notifications.unread_count(current_user.username))


@bp.get("/notices/<int:notice_id>")
@login_required
def open_notice(notice_id: int) -> ResponseReturnValue:
    """Mark the notice read and go to its case (a link in the list, like a mail client's)."""
    try:
        number = engine().notifications.open(current_user.username, notice_id)
    except NotFound:
        abort(404)
    return redirect(url_for("cases.case", number=number))
