"""``POST /session``: a bearer token for a username and password, stored hashed under an optional name."""

from __future__ import annotations

from flask import Response, abort, current_app, jsonify, request
from flask_limiter.util import get_remote_address

from engine.errors import FormInvalid
from engine.sessions import TOKEN_NAME_MAX
from web.api.common import body, bp
from web.auth import issue_token
from web.extensions import limiter
from web.services import engine


def _client_and_username() -> str:
    """Throttle key: repeated failures for one name from one address, as on the login page."""
    data = request.get_json(silent=True)
    username = data.get("username", "") if isinstance(data, dict) else ""
    return f"{get_remote_address()}|api|{username}"


@bp.post("/session")
@limiter.limit(lambda: current_app.config["LOGIN_FAILURES_LIMIT"], key_func=_client_and_username,
               deduct_when=lambda response: response.status_code == 401)
def create_session() -> Response:
    data = body()
    person = engine().people.authenticate(str(data.get("username", "")), str(data.get("password", "")))
    if person is None:
        abort(401, description="wrong username or password")
    name = data.get("name", "api")
    if not isinstance(name, str) or len(name) > TOKEN_NAME_MAX:
        raise FormInvalid({"name": f"name is a text of at most {TOKEN_NAME_MAX} characters that names the token"})
    issued = issue_token(person.username, name)
    return jsonify({"token": issued.token, "id": issued.view.id, "expires_at": issued.view.expires_at.isoformat()})
