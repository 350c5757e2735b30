"""The handler's inbox: my tasks and my group's, soonest deadline first."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from web.services import engine

bp = Blueprint("inbox", __name__, template_folder="templates")


@bp.route("/inbox")
@login_required
def index():  # noqa: ANN201
    tasks = engine().tasks.for_user(current_user.username)
    return render_template("inbox/index.html", tasks=tasks, now=engine().clock.now())
