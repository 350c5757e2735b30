"""JSON API ``/api/v1`` for integrations and the customer portal's scripts.

Every call but ``POST /session`` sends ``Authorization: Bearer <token>``. Errors are JSON
``{"error", "message"}`` (plus ``errors`` per field on 422); never a stack trace.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request

from web.auth import issue_token, token_required
from web.services import engine

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description="send a JSON object with Content-Type: application/json")
    return data


@bp.post("/session")
def create_session():  # noqa: ANN201
    data = body()
    person = engine().people.authenticate(str(data.get("username", "")), str(data.get("password", "")))
    if person is None:
        abort(401, description="wrong username or password")
    return jsonify({"token": issue_token(person.username)})


@bp.get("/tasks")
@token_required
def my_tasks():  # noqa: ANN201
    tasks = engine().tasks.for_user(g.user.username)
    return jsonify([
        {"id": t.id, "name": t.name, "title": t.title, "case_number": t.case_number, "assignee": t.assignee,
         "due_at": t.due_at.isoformat() if t.due_at else None, "form": t.form}
        for t in tasks
    ])
