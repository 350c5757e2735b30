"""Searching the knowledge base: ``GET /api/v1/knowledge?q=&product=&defect_type=``.

Everyone with a token reads the lessons; the source case's number is given only to those who may open
that case (never to a person it complains about), as on the page.
"""

from __future__ import annotations

from flask import Response, g, jsonify, request

from engine.errors import FormInvalid
from engine.knowledge import Entry
from web.api.common import bp, jsonable
from web.auth import token_required
from web.services import engine

PAGE_LIMIT, MAX_LIMIT = 50, 200


def entry_json(entry: Entry) -> dict:
    return {
        "id": entry.id, "problem": entry.problem, "cause": entry.cause, "solution": entry.solution,
        "product": entry.product, "defect_type": entry.defect_type, "status": entry.status,
        "version": entry.version, "source_case": entry.source_case if entry.case_visible else None,
        "created_at": jsonable(entry.created_at), "updated_at": jsonable(entry.updated_at),
    }


@bp.get("/knowledge")
@token_required
def knowledge() -> Response:
    """Entries whose text holds every word of ``q``, for the product and defect type when given, newest first."""
    text = request.args.get("limit", "")
    if text and not (text.isdigit() and 1 <= int(text) <= MAX_LIMIT):
        raise FormInvalid({"limit": f"limit is a whole number from 1 to {MAX_LIMIT}"})
    found = engine().knowledge.search(g.user.username, request.args.get("q", ""),
                                      product=request.args.get("product", ""),
                                      defect_type=request.args.get("defect_type", ""),
                                      limit=int(text) if text else PAGE_LIMIT)
    return jsonify({"entries": [entry_json(e) for e in found]})
