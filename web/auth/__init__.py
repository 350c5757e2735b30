"""Logging in and out (session cookie for pages, bearer tokens for the API) and who is asking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from engine.errors import NotFound
from engine.sessions import IssuedToken
from engine.statistics import STATISTICS_RIGHT
from web import landing, login_throttle
from web.extensions import login_manager
from web.services import engine

bp = Blueprint("auth", __name__, template_folder="../templates")


@dataclass
class User:
    """The logged-in person as Flask-Login wants them."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return self.username

    @property
    def read_only(self) -> bool:
        return engine().access.is_read_only(self.username)

    @property
    def may_register(self) -> bool:
        return engine().access.may_register(self.username)

    @property
    def sees_all(self) -> bool:
        return engine().access.sees_all(self.username)

    @property
    def sees_pending_ledger(self) -> bool:
        return engine().pending.may_see(self.username)

    @property
    def sees_statistics(self) -> bool:
        return engine().access.has_right(self.username, STATISTICS_RIGHT)

    @property
    def may_deploy(self) -> bool:
        return engine().access.may_deploy(self.username)

    @property
    def may_reassign(self) -> bool:
        return engine().access.may_reassign(self.username)

    @property
    def may_intervene(self) -> bool:
        return engine().access.may_intervene(self.username)

    @property
    def is_admin(self) -> bool:
        return engine().access.is_admin(self.username)


def load_user(username: str) -> User | None:
    try:
        person = engine().people.get(username)
    except NotFound:
        return None
    if person.disabled:  # its sessions ended when it was disabled; a disabled account is nobody
        return None
    return User(person.username, person.display_name, person.roles)


# ---------------------------------------------------------------- server-side page sessions

SESSION_TOKEN = "sid"  # the only proof of login the signed cookie carries: a session row's token


def start_session(username: str) -> None:
    """A new session row for this login (the old cookie's is forgotten: login rotates)."""
    session[SESSION_TOKEN] = engine().sessions.start(
        username, user_agent=request.headers.get("User-Agent"), address=request.remote_addr)


def end_session() -> None:
    """Logout: the row ends, so every copy of this cookie, even one taken before, is refused from now on."""
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str) and current_user.is_authenticated:
        engine().sessions.end_current(token, current_user.username)


def current_session_token() -> str | None:
    token = session.get(SESSION_TOKEN)
    return token if isinstance(token, str) else None


def session_user(username: str) -> User | None:
    """Flask-Login's loader: the person only while their session row is live (not ended, idle or too old).

    The inbox's background refresh (``X-Auto-Refresh``) is not activity: it does not push the idle limit back.
    """
    token = current_session_token()
    if token is None:
        return None
    config = current_app.config
    alive = engine().sessions.check(
        token, idle=config["PERMANENT_SESSION_LIFETIME"], lifetime=timedelta(hours=config["SESSION_MAX_HOURS"]),
        activity=not request.headers.get("X-Auto-Refresh"))
    return load_user(username) if alive == username else None


login_manager.user_loader(session_user)
login_manager.login_view = "auth.login"
login_manager.login_message = None


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    if request.method == "GET":
        return render_template("auth/login.html", next=request.args.get("next", ""))
    typed = request.form.get("username", "")
    username = typed.strip()
    refusal = login_throttle.check(typed)
    if refusal is not None:  # even the right password waits: the answer must not confirm a guess
        flash(_("Too many failed logins. Try again in %(minutes)s minute(s).",
                minutes=-(-refusal.retry_after // 60)), "error")
        return (render_template("auth/login.html", next=request.form.get("next", ""), username=username), 429,
                {"Retry-After": str(refusal.retry_after)})
    person = engine().people.authenticate(username, request.form.get("password", ""))
    if person is None:
        login_throttle.failed(typed)
        flash(_("Wrong username or password."), "error")
        return render_template("auth/login.html", next=request.form.get("next", ""), username=username), 401
    session.clear()
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME of inactivity
    start_session(person.username)
    signed_in = User(person.username, person.display_name, person.roles)
    login_user(signed_in)
    target = landing.after_sign_in(person.username, signed_in.read_only, request.form.get("next"))
    return login_throttle.succeeded(typed, redirect(target))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():  # noqa: ANN201
    end_session()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


# ---------------------------------------------------------------- API bearer tokens

def issue_token(username: str, name: str = "api") -> IssuedToken:
    """A new bearer token, stored hashed with its name; it expires after ``API_TOKEN_HOURS``."""
    valid_for = timedelta(hours=current_app.config["API_TOKEN_HOURS"])
    return engine().sessions.issue_token(username, name, valid_for)


def user_from_token(token: str) -> User | None:
    """The token's person while the token is neither revoked nor expired; ``g.token_id`` names the token."""
    found = engine().sessions.token_user(token)
    if found is None:
        return None
    g.token_id = found.id
    return load_user(found.username)


def api_user() -> User | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    return user_from_token(header.removeprefix("Bearer ").strip())


def token_required(view):  # noqa: ANN001, ANN201
    """An API view for a person with a valid bearer token (401 otherwise); ``g.user`` is them."""

    @wraps(view)
    def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        user = api_user()
        if user is None:
            abort(401, description="send a valid token: Authorization: Bearer <token> (POST /api/v1/session)")
        g.user = user
        return view(*args, **kwargs)

    return wrapped


def writer_required(view):  # noqa: ANN001, ANN201
    """A page view that changes something: refused (403) to read-only roles such as auditors."""

    @wraps(view)
    def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if current_user.is_authenticated and current_user.read_only:
            abort(403, description=_("Your role may look but not change anything."))
        return view(*args, **kwargs)

    return wrapped


@bp.get("/session/alive")
@login_required
def alive():  # noqa: ANN201
    """"Stay signed in": an ordinary request, so the idle timeout starts again (the page's warning calls it)."""
    return "", 204
