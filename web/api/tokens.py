"""``GET /tokens`` and ``DELETE /tokens/{id}``: a person's API tokens, listed and revoked.

An administrator (``admin = true`` in roles.toml) lists anyone's with ``?username=`` and may revoke
anyone's; to others a token that is not theirs does not exist (404). A revoked token is refused (401)
from the next call on.
"""

from __future__ import annotations

from flask import Response, g, jsonify, request

from engine.errors import NotFound
from engine.sessions import TokenView
from web.api.common import bp, jsonable
from web.auth import token_required
from web.services import engine


def token_json(token: TokenView) -> dict:
    now = engine().sessions.clock.now()
    return {**jsonable(token), "active": token.active_at(now),  # type: ignore[dict-item]
            "current": token.id == g.get("token_id")}


@bp.get("/tokens")
@token_required
def list_tokens() -> Response:
    username = request.args.get("username", g.user.username)
    if not engine().sessions.may_manage(username, g.user.username):
        raise NotFound("no such person among yours")  # the same answer for a person who does not exist
    return jsonify([token_json(t) for t in engine().sessions.tokens(username)])


@bp.delete("/tokens/<token_id>")
@token_required
def revoke_token(token_id: str) -> Response:
    return jsonify(token_json(engine().sessions.revoke_token(token_id, g.user.username)))
