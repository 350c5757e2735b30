"""``GET /statistics``: a period's figures as JSON (what the statistics page shows), for the roles that
have ``statistics = true``; the caller never counts a case they are involved in."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from engine.errors import NotAllowed
from web.api.common import bp
from web.auth import token_required
from web.services import engine
from web.statistics.query import may_see, parse


@bp.get("/statistics")
@token_required
def statistics() -> Response:
    if not may_see(g.user.username):
        raise NotAllowed(f"{g.user.username} may not open the statistics")
    return jsonify(engine().statistics.figures(parse(request.args, g.user.username)))
