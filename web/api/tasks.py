"""My open tasks a page at a time, one task with its form, claiming one, and completing it with its form's data."""

from __future__ import annotations

from flask import Response, g, jsonify, request, url_for

from engine.errors import FormInvalid
from engine.tasks import UNSET, InboxQuery, TaskView
from web.api.common import body, bp, jsonable, require_writer
from web.auth import token_required
from web.services import engine

PAGE_LIMIT, MAX_LIMIT = 50, 200


def task_summary(task: TaskView) -> dict:
    """A task as a list shows it: the form by name (``GET /tasks/{id}`` gives its JSON Schema)."""
    return {
        "id": task.id, "name": task.name, "title": task.title, "case_number": task.case_number,
        "role": task.role, "assignee": task.assignee, "state": task.state, "due_at": jsonable(task.due_at),
        "created_at": jsonable(task.created_at), "form_name": task.form_file,
    }


def task_json(task: TaskView) -> dict:
    """One task: its form is the JSON Schema the ``data`` must match."""
    return {**task_summary(task), "form": task.form}


def _whole_number(name: str, default: int, low: int, high: int) -> int:
    text = request.args.get(name, "")
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise FormInvalid({name: f"{name} is a whole number from {low} to {high}"})
    return int(text)


@bp.get("/tasks")
@token_required
def my_tasks() -> Response:
    """My open tasks (assigned to me or unassigned in my roles), soonest due first, ``limit`` from ``offset``."""
    limit = _whole_number("limit", PAGE_LIMIT, 1, MAX_LIMIT)
    offset = _whole_number("offset", 0, 0, 10**9)
    page = engine().tasks.inbox(g.user.username, InboxQuery(scope="mine", offset=offset, limit=limit))
    more = page.matching > offset + len(page.tasks) and len(page.tasks) == limit
    return jsonify({"tasks": [task_summary(t) for t in page.tasks],
                    "next": url_for("api.my_tasks", limit=limit, offset=offset + limit) if more else None})


@bp.get("/tasks/<task_id>")
@token_required
def get_task(task_id: str) -> Response:
    eng = engine()
    task = eng.tasks.get(task_id)
    eng.access.require_view(g.user.username, task.case_number)
    return jsonify(task_json(task))


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
