"""``/people``: the administrator's pages for accounts, roles, each role's primary and backup, absences with
dates, and disabling an account.

Only a role with ``admin = true`` in the deployed roles.toml opens them (403 for anyone else). The views
are thin: ``engine.people_admin`` checks everything, writes each change in one transaction and records
it in the history; a refusal comes back as a message in the person's language and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import NotFound
from engine.people_admin import PeopleRefused
from engine.store.enums import EventKind, HandOnReason
from web import i18n
from web.services import engine

bp = Blueprint("people", __name__, template_folder="templates", url_prefix="/people")
FIELD_MAX = 200  # longer text is cut before the engine sees it (its own limits are smaller)


@bp.before_request
@login_required
def _require_admin() -> None:
    if not engine().access.is_admin(current_user.username):
        abort(403)


def _form(name: str) -> str:
    return request.form.get(name, "")[:FIELD_MAX]


def _apply(change: Callable[[], object], done: str, back: str) -> ResponseReturnValue:
    """Run one change; its refusal becomes a message in the person's language. Back to ``back`` either way."""
    try:
        change()
    except PeopleRefused as refused:
        flash(refused.text(i18n.current_language()), "error")
    except NotFound:
        abort(404)
    else:
        flash(done, "ok")
    return redirect(back, code=303)


def _account_or_404(username: str):  # noqa: ANN202
    try:
        return engine().people_admin.account(username)
    except NotFound:
        abort(404)


@bp.get("/")
def index() -> ResponseReturnValue:
    admin = engine().people_admin
    return render_template("people/index.html", accounts=admin.accounts(), today=admin.today())


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    roles = list(engine().repository.active_roles())
    if request.method == "GET":
        return render_template("people/new.html", roles=roles, typed={}, chosen=[])
    typed = {key: _form(key) for key in ("username", "display_name", "email", "phone")}
    chosen = request.form.getlist("role")[:len(roles)]
    try:
        engine().people_admin.create(current_user.username, typed["username"], typed["display_name"],
                                     request.form.get("password", "")[:FIELD_MAX], email=typed["email"],
                                     phone=typed["phone"], roles=chosen)
    except PeopleRefused as refused:
        flash(refused.text(i18n.current_language()), "error")
        return render_template("people/new.html", roles=roles, typed=typed, chosen=chosen), 422
    flash(_("The account %(username)s is created.", username=typed["username"].strip()), "ok")
    return redirect(url_for("people.person", username=typed["username"].strip()), code=303)


@bp.get("/accounts/<username>")
def person(username: str) -> ResponseReturnValue:
    admin = engine().people_admin
    return render_template("people/person.html", account=_account_or_404(username),
                           roles=list(engine().repository.active_roles()), today=admin.today(),
                           changes=admin.changes(username), kinds=_kind_labels())


def hand_on_label(reason: str) -> str:
    """Why the engine moved a task on, in the reader's language (the case history shows it)."""
    labels = {HandOnReason.ABSENT: _("away (absence)"), HandOnReason.DISABLED: _("account disabled"),
              HandOnReason.ROLE_REMOVED: _("no longer holds the role")}
    return labels.get(reason, reason)


def _kind_labels() -> dict[str, str]:
    """What each administration event is called on the account page."""
    return {EventKind.PERSON_CREATED: _("account created"), EventKind.PERSON_CHANGED: _("name or contact changed"),
            EventKind.PERSON_ROLES_CHANGED: _("roles changed"), EventKind.ABSENCE_ADDED: _("absence added"),
            EventKind.ABSENCE_REMOVED: _("absence removed"), EventKind.PERSON_DISABLED: _("account disabled"),
            EventKind.PERSON_ENABLED: _("account enabled")}


@bp.post("/accounts/<username>/details")
def details(username: str) -> ResponseReturnValue:
    return _apply(lambda: engine().people_admin.change(current_user.username, username,
                                                       display_name=_form("display_name"), email=_form("email"),
                                                       phone=_form("phone")),
                  _("Saved."), url_for("people.person", username=username))


@bp.post("/accounts/<username>/roles")
def roles(username: str) -> ResponseReturnValue:
    chosen = request.form.getlist("role")[:100]
    return _apply(lambda: engine().people_admin.set_roles(current_user.username, username, chosen),
                  _("The roles are saved."), url_for("people.person", username=username))


@bp.post("/accounts/<username>/absences")
def add_absence(username: str) -> ResponseReturnValue:
    return _apply(lambda: engine().people_admin.add_absence(current_user.username, username, _form("first_day"),
                                                            _form("last_day"), _form("note")),
                  _("The absence is added."), url_for("people.person", username=username))


@bp.post("/accounts/<username>/absences/<int:absence_id>/remove")
def remove_absence(username: str, absence_id: int) -> ResponseReturnValue:
    return _apply(lambda: engine().people_admin.remove_absence(current_user.username, username, absence_id),
                  _("The absence is removed."), url_for("people.person", username=username))


@bp.post("/accounts/<username>/disable")
def disable(username: str) -> ResponseReturnValue:
    return _apply(lambda: engine().people_admin.disable(current_user.username, username),
                  _("The account is disabled: its logins and tokens have ended and its open tasks are back with "
                    "their roles."), url_for("people.person", username=username))


@bp.post("/accounts/<username>/enable")
def enable(username: str) -> ResponseReturnValue:
    return _apply(lambda: engine().people_admin.enable(current_user.username, username),
                  _("The account is enabled again."), url_for("people.person", username=username))


@bp.get("/roles")
def ranks() -> ResponseReturnValue:
    admin = engine().people_admin
    display = {account.username: account.display_name for account in admin.accounts()}
    return render_template("people/roles.html", members=admin.members(), display=display)


@bp.post("/roles/<role>")
def set_ranks(role: str) -> ResponseReturnValue:
    return _apply(lambda: engine().people_admin.set_ranks(current_user.username, role, _form("primary"),
                                                          _form("backup")),
                  _("The primary and the backup are saved."), url_for("people.ranks") + f"#role-{role}")

