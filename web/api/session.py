"""``POST /session``: a bearer token for a username and password, stored hashed under an optional name."""

from __future__ import annotations

from flask import Response, abort, jsonify
from werkzeug.exceptions import TooManyRequests

from engine.errors import FormInvalid
from engine.sessions import TOKEN_NAME_MAX
from web import login_throttle
from web.api.common import body, bp
from web.auth import issue_token
from web.services import engine


@bp.post("/session")
def create_session() -> Response:
    """Throttled with the login page's budgets (``web.login_throttle``): one budget, not two."""
    data = body()
    name = data.get("name", "api")
    if not isinstance(name, str) or len(name) > TOKEN_NAME_MAX:
        raise FormInvalid({"name": f"name is a text of at most {TOKEN_NAME_MAX} characters that names the token"})
    typed = str(data.get("username", ""))
    refusal = login_throttle.check(typed)
    if refusal is not None:
        raise TooManyRequests(description="too many failed logins: try again after Retry-After seconds",
                              retry_after=refusal.retry_after)
    person = engine().people.authenticate(typed.strip(), str(data.get("password", "")))
    if person is None:
        login_throttle.failed(typed)
        abort(401, description="wrong username or password")
    issued = issue_token(person.username, name)
    return login_throttle.succeeded(typed, jsonify({"token": issued.token, "id": issued.view.id,
                                                    "expires_at": issued.view.expires_at.isoformat()}))
