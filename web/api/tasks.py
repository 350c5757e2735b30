"""My open tasks, claiming one, and completing it with its form's data."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from engine.errors import FormInvalid
from engine.tasks import UNSET, TaskView
from web.api.common import body, bp, jsonable, require_writer
from web.auth import token_required
from web.services import engine


def task_json(task: TaskView) -> dict:
    """A task as the API shows it: its form is the JSON Schema the ``data`` must match."""
    return {
        "id": task.id, "name": task.name, "title": task.title, "case_number": task.case_number,
        "role": task.role, "assignee": task.assignee, "state": task.state, "due_at": jsonable(task.due_at),
        "created_at": jsonable(task.created_at), "form": task.form,
    }


@bp.get("/tasks")
@token_required
def my_tasks() -> Response:
    return jsonify([task_json(t) for t in engine().tasks.for_user(g.user.username)])


@bp.post("/tasks/<task_id>/claim")
@token_required
def claim_task(task_id: str) -> Response:
    """Claim; ``{"expected_holder": name | null}`` (optional) takes it only from whom the caller saw holding it.

    Of two racing claims one wins; the other gets 409 with ``holder``.
    """
    require_writer()
    sent = request.get_json(silent=True) if request.content_length else None
    if sent is not None and not isinstance(sent, dict):
        raise FormInvalid({"body": "send nothing, or an object such as {\"expected_holder\": \"cs1\"}"})
    expected = (sent or {}).get("expected_holder", UNSET)
    if expected is not UNSET and expected is not None and not isinstance(expected, str):
        raise FormInvalid({"expected_holder": "expected_holder is the user name you saw holding the task, or null"})
    eng = engine()
    eng.tasks.claim(task_id, g.user.username, expected_holder=expected)
    return jsonify(task_json(eng.tasks.get(task_id)))


@bp.post("/tasks/<task_id>/complete")
@token_required
def complete_task(task_id: str) -> Response:
    """Complete with ``{data, expected_version?}``; answers the case's new version for the next call."""
    require_writer()
    request_body = body()
    data = request_body.get("data", {})
    expected = request_body.get("expected_version")
    problems = {}
    if not isinstance(data, dict):
        problems["data"] = "data is an object with the form's fields"
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int)):
        problems["expected_version"] = "expected_version is the case version you read (an integer)"
    if problems:
        raise FormInvalid(problems)
    eng = engine()
    task = eng.tasks.get(task_id)
    eng.tasks.complete(task_id, g.user.username, data, expected_version=expected)
    case = eng.cases.get(task.case_number)
    return jsonify({"id": task_id, "case_number": task.case_number, "case_version": case.version,
                    "case_status": case.status})
