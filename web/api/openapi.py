"""The OpenAPI 3.1 description of ``/api/v1``, hand-written so no dependency generates it.

``GET /api/v1/openapi.json`` serves it without a token. A test checks that every route of
the blueprint appears here with its methods, so a new route cannot go undocumented.
"""

from __future__ import annotations

from flask import Response, jsonify

from engine.store.enums import CaseStatus
from web.api.common import bp


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, example: object = None) -> dict:
    content: dict = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"content": {"application/json": content}}


def _ok(description: str, schema: dict) -> dict:
    return {"description": description, **_json(schema)}


def _error(description: str, schema: str = "Error") -> dict:
    return {"description": description, **_json(_ref(schema))}


def _errors(*codes: int) -> dict:
    """The usual error answers, each with a sentence saying what the client should do."""
    known = {
        400: _error("The body is not a JSON object: send one with Content-Type: application/json."),
        401: _error("No valid bearer token: log in with POST /session and send Authorization: Bearer <token>."),
        403: _error("Not allowed: read-only roles (auditors), people involved in the case, other groups' cases, "
                    "or a task assigned to someone else."),
        404: _error("No such case or task."),
        409: _error("Conflict: the task was already completed (completed_by / completed_at say by whom and when), "
                    "cancelled, held by a colleague now (holder says who; code task_held_by_other), the case is "
                    "archived or changed since you read it, or it does not wait for this message.", "Conflict"),
        422: _error("Invalid data: errors maps each field to what is wrong with it.", "FormErrors"),
        429: _error("Too many failed logins for this name from this address: wait and try again."),
    }
    return {str(code): known[code] for code in codes}


_UNAVAILABLE = {**_error("The database cannot answer now (unreachable, or a lock or statement timeout): nothing "
                         "was changed; retry after Retry-After seconds (code database_unavailable)."),
                "headers": {"Retry-After": {"description": "seconds to wait before retrying",
                                            "schema": {"type": "integer"}}}}


def _op(summary: str, responses: dict, *, body: dict | None = None, public: bool = False, tags: tuple = (),
        description: str | None = None, parameters: list | None = None, body_required: bool = True) -> dict:
    operation: dict = {"summary": summary, "responses": {**responses, "500": _error(
        "Something went wrong on our side; nothing was changed. No stack trace is ever sent."),
        "503": _UNAVAILABLE}}
    if parameters:
        operation["parameters"] = parameters
    if description:
        operation["description"] = description
    if tags:
        operation["tags"] = list(tags)
    if body is not None:
        operation["requestBody"] = {"required": body_required, **body}
        operation["responses"]["413"] = _error("The body is larger than the API takes (1 MB; deployments 8 MB): "
                                               "nothing was read or stored (code request_too_large).")
    if public:
        operation["security"] = []
    return operation


_NUMBER = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"},
           "description": "complaint number YYYYMMDD-<CHANNEL>-<NNN>", "example": "20260302-PHONE-001"}
_TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "the task's id (from GET /tasks or a case's open_tasks)"}
_VERSION = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "description": "a deployed version's number"}
_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_TEXT_OR_NULL = {"type": ["string", "null"]}

_SHARE_ROWS = {"type": "array", "items": {"type": "object", "properties": {
    "key": {"type": "string", "description": "the code counted ('-': not recorded)"}, "count": {"type": "integer"},
    "share": {"type": ["number", "null"]}}}}
_RATE = {"type": ["number", "null"], "description": "met / (met + missed); null when no deadline was decided"}
_STATISTICS_PARAMETERS = [
    {"name": "period", "in": "query", "required": False,
     "schema": {"type": "string", "enum": ["week", "month", "quarter", "custom"], "default": "month"}},
    {"name": "from", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
     "description": "a day of the week, month or quarter wanted (default today), or the first day (custom)"},
    {"name": "to", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
     "description": "the last day of a custom period"},
    *({"name": name, "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200},
       "description": f"only complaints with this {name}"}
      for name in ("complaint_type", "channel", "grade", "product_name")),
]
SCHEMAS: dict = {
    "Statistics": {"type": "object", "properties": {
        "period": {"type": "object", "properties": {"kind": {"type": "string"}, "from": {"type": "string"},
                                                     "to": {"type": "string"}}},
        "filters": {"type": "object"},
        "volume": {"type": "integer"},
        "on_time": {"type": "object", "properties": {
            "rate": _RATE, "met": {"type": "integer"}, "missed": {"type": "integer"}, "pending": {"type": "integer"},
            "steps": {"type": "array", "items": {"type": "object"}},
            "roles": {"type": "array", "items": {"type": "object"}}}},
        "ratings": {"type": "object", "description": "satisfaction: average score, answers, scores, levels",
                    "properties": {
            "average": {"type": ["number", "null"]}, "answered": {"type": "integer"}, "scores": _SHARE_ROWS,
            "levels": _SHARE_ROWS}},
        "shares": {"type": "object", "additionalProperties": _SHARE_ROWS},
        "defect_types": _SHARE_ROWS,
        "repeats": {"type": "object", "properties": {"count": {"type": "integer"}}},
        "escalations": _SHARE_ROWS,
        "compensation": {"type": "object", "properties": {"total": {"type": "number"}, "cases": {"type": "integer"}}},
        "previous": {"type": "object"}}},
    "Error": {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": "string"}, "message": {"type": "string", "description": "what to do about it"},
        "code": {"type": "string", "description": "a stable code, e.g. database_unavailable, idempotency_key_reused",
                 "examples": ["database_unavailable", "idempotency_key_reused"]},
        "number": {"type": ["string", "null"],
                   "description": "idempotency_key_reused only: the complaint the key registered"}}},
    "FormErrors": {"type": "object", "required": ["error", "message", "errors"], "properties": {
        "error": {"type": "string"}, "message": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "field name -> what is wrong with it"}}},
    "Conflict": {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": "string", "examples": ["TaskAlreadyCompleted", "TaskNotOpen", "StaleCase",
                                                 "CaseArchived", "MessageNotExpected"]},
        "message": {"type": "string"},
        "completed_by": {"type": ["string", "null"], "description": "TaskAlreadyCompleted only"},
        "completed_at": {**_TIME_OR_NULL, "description": "TaskAlreadyCompleted only"},
        "code": {"type": "string", "examples": ["task_held_by_other"]},
        "holder": {"type": ["string", "null"], "description": "TaskHeldByOther only: who holds the task now"}}},
    "TaskListItem": {"type": "object", "required": ["id", "name", "case_number", "due_at", "form_name"],
                     "properties": {
        "id": {"type": "string"}, "name": {"type": "string", "description": "the BPMN element id"},
        "title": {"type": "string"}, "case_number": {"type": "string"}, "role": _TEXT_OR_NULL,
        "assignee": _TEXT_OR_NULL, "state": {"type": "string"}, "due_at": _TIME_OR_NULL, "created_at": _TIME,
        "form_name": {**_TEXT_OR_NULL, "description": "the form's file; GET /tasks/{task_id} gives its JSON Schema"}}},
    "Task": {"type": "object", "required": ["id", "name", "case_number", "due_at", "form_name", "form"], "properties": {
        "id": {"type": "string"}, "name": {"type": "string", "description": "the BPMN element id"},
        "title": {"type": "string"}, "case_number": {"type": "string"}, "role": _TEXT_OR_NULL,
        "assignee": _TEXT_OR_NULL, "state": {"type": "string"}, "due_at": _TIME_OR_NULL, "created_at": _TIME,
        "form_name": _TEXT_OR_NULL,
        "form": {"type": ["object", "null"], "description": "JSON Schema the completion's data must match"}}},
    "TaskPage": {"type": "object", "required": ["tasks", "next"], "properties": {
        "tasks": {"type": "array", "items": _ref("TaskListItem")},
        "next": {**_TEXT_OR_NULL, "description": "the next page's URL; null on the last page"}}},
    "TaskSummary": {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "title": {"type": "string"},
        "role": _TEXT_OR_NULL, "assignee": _TEXT_OR_NULL, "due_at": _TIME_OR_NULL}},
    "Deadline": {"type": "object", "properties": {
        "element_id": {"type": "string"}, "name": {"type": "string"},
        "guards": {**_TEXT_OR_NULL, "description": "the task the timer is attached to"}, "due_at": _TIME,
        "status": {"type": "string", "enum": ["pending", "fired", "cancelled", "failed"]},
        "interrupting": {"type": "boolean"}}},
    "Notification": {"type": "object", "properties": {
        "role": {"type": "string"}, "recipients": {"type": "array", "items": {"type": "string"}},
        "subject": {"type": "string"}, "element_id": _TEXT_OR_NULL, "created_at": _TIME}},
    "Case": {"type": "object", "properties": {
        "number": {"type": "string"}, "process_id": {"type": "string"}, "definition_version": {"type": "integer"},
        "version": {"type": "integer", "description": "send as expected_version to refuse stale completions"},
        "status": {"type": "string", "enum": [status.value for status in CaseStatus]},
        "grade": {"type": ["string", "null"], "enum": ["general", "serious", "urgent", None]},
        "escalation_tier": {"type": "integer", "minimum": 0, "maximum": 3}, "outcome": _TEXT_OR_NULL,
        "channel": _TEXT_OR_NULL, "complaint_type": _TEXT_OR_NULL,
        "summary": {"type": "object", "description": "the registration, customer name and contact masked"},
        "waiting_for": {"type": "array", "items": {"type": "string"}, "description": "messages the case waits on"},
        "open_tasks": {"type": "array", "items": _ref("TaskSummary")},
        "deadlines": {"type": "array", "items": _ref("Deadline")},
        "notifications": {"type": "array", "items": _ref("Notification")},
        "created_at": _TIME, "updated_at": _TIME, "archived_at": _TIME_OR_NULL}},
    "Version": {"type": "object", "properties": {
        "version": {"type": "integer"}, "content_hash": {"type": "string"}, "deployed_by": {"type": "string"},
        "deployed_at": _TIME, "note": {"type": "string"}, "processes": {"type": "array", "items": {"type": "string"}}}},
    "DeployProblems": {"type": "object", "required": ["error", "message", "problems"], "properties": {
        "error": {"type": "string"}, "message": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "object", "properties": {
            "file": {"type": "string"}, "element": {"type": ["string", "null"]}, "message": {"type": "string"}}}}}},
    "Refusal": {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": "string"}, "message": {"type": "string"},
        "reasons": {"type": "array", "items": {"type": "string"}}}},
    "ApiToken": {"type": "object", "required": ["id", "name", "created_at", "expires_at", "active", "current"],
                 "properties": {
        "id": {"type": "string"}, "username": {"type": "string"}, "name": {"type": "string"},
        "created_at": _TIME, "last_used_at": _TIME_OR_NULL, "expires_at": _TIME, "revoked_at": _TIME_OR_NULL,
        "revoked_by": _TEXT_OR_NULL, "active": {"type": "boolean", "description": "neither revoked nor expired"},
        "current": {"type": "boolean", "description": "the token this call was made with"}}},
    "KnowledgeEntry": {"type": "object", "required": ["id", "problem", "cause", "solution", "product", "status",
                                                      "version", "source_case"], "properties": {
        "id": {"type": "integer"}, "problem": {"type": "string"}, "cause": {"type": "string"},
        "solution": {"type": "string"}, "product": {"type": "string"},
        "defect_type": {**_TEXT_OR_NULL, "description": "a code of the process owner's defect list"},
        "status": {"type": "string", "enum": ["active", "retired"]},
        "version": {"type": "integer", "minimum": 1, "description": "1 when made, +1 per correction or retirement"},
        "source_case": {**_TEXT_OR_NULL, "description": "the case the lesson comes from; null for a caller who "
                                                         "may not open it (e.g. a person it complains about)"},
        "created_at": _TIME, "updated_at": _TIME}},
    "HistoryEvent": {"type": "object", "properties": {
        "seq": {"type": "integer"}, "case_number": _TEXT_OR_NULL, "at": _TIME, "actor": {"type": "string"},
        "kind": {"type": "string", "examples": ["case_started", "task_completed", "message_received"]},
        "payload": {"type": "object"}, "deployment_version": {"type": ["integer", "null"]},
        "hash": {"type": "string", "description": "chained hash: the auditor's proof nothing was altered"}}},
}

PATHS: dict = {
    "/api/v1/session": {"post": _op(
        "Log in: a bearer token for the other calls", public=True, tags=("session",),
        description="The token is stored hashed under its name; GET /tokens lists a person's tokens and "
                    "DELETE /tokens/{token_id} revokes one at once.",
        body=_json({"type": "object", "required": ["username", "password"], "properties": {
            "username": {"type": "string"}, "password": {"type": "string", "format": "password"},
            "name": {"type": "string", "maxLength": 100, "description": "what the token is for (default api)"}}},
            {"username": "cs1", "password": "demo", "name": "crm sync"}),
        responses={"200": _ok("The token; it expires after API_TOKEN_HOURS or when revoked.", {
            "type": "object", "required": ["token", "id", "expires_at"], "properties": {
                "token": {"type": "string", "description": "shown this once: only its hash is kept"},
                "id": {"type": "string", "description": "the token's id in GET /tokens and DELETE /tokens/{token_id}"},
                "expires_at": _TIME}}),
            **_errors(400, 401, 422, 429)})},
    "/api/v1/tokens": {"parameters": [
        {"name": "username", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "whose tokens (administrators only; default: mine)"}], "get": _op(
        "My API tokens (an administrator: anyone's), newest first; revoked and expired ones for a week",
        tags=("session",),
        responses={"200": _ok("The tokens; never their secret.", {"type": "array", "items": _ref("ApiToken")}),
                   **_errors(401, 404)})},
    "/api/v1/tokens/{token_id}": {"parameters": [
        {"name": "token_id", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "the token's id (from GET /tokens)"}], "delete": _op(
        "Revoke a token: refused (401) from the next call on", tags=("session",),
        description="Mine, or anyone's for an administrator (admin = true in roles.toml); revoking twice "
                    "answers the same. Recorded in the history (token_revoked).",
        responses={"200": _ok("The token, revoked.", _ref("ApiToken")), **_errors(401, 404)})},
    "/api/v1/complaints": {"post": _op(
        "Register a complaint", tags=("cases",),
        description="The body is the deployed intake form (the intake process's start event names it). "
                    "Roles with register = true in the deployed roles.toml may register.",
        parameters=[{"name": "Idempotency-Key", "in": "header", "required": False,
                     "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                     "description": "A unique value per complaint (e.g. a UUID), kept with it (per caller, with a "
                                    "hash of the body). Retrying with the same key and body answers the first "
                                    "201 again, with Idempotent-Replayed: true, and files nothing new; the same "
                                    "key with a different body is 422 (code idempotency_key_reused).",
                     "example": "5f0c6c1e-8a1b-4d8e-9f43-2b7f4c1d9a10"}],
        body=_json({"type": "object", "description": "fields of the registration form (GET the deployed form for "
                                                     "their names)"}, {"<field>": "<value>"}),
        responses={"201": {**_ok("Registered; Location is the case. A replayed answer carries "
                                 "Idempotent-Replayed: true.", {
            "type": "object", "required": ["number"], "properties": {"number": {"type": "string"}}}),
            "headers": {"Location": {"schema": {"type": "string"}}, "Idempotent-Replayed": {
                "description": "true when this answers an earlier request with the same Idempotency-Key",
                "schema": {"type": "string", "enum": ["true"]}}}},
            **_errors(400, 401, 403, 422)})},
    "/api/v1/cases/{number}": {"parameters": [_NUMBER], "get": _op(
        "A case: status, grade, escalation tier, open tasks, deadlines", tags=("cases",),
        responses={"200": _ok("The case.", _ref("Case")), **_errors(401, 403, 404)})},
    "/api/v1/cases/{number}/history": {"parameters": [_NUMBER], "get": _op(
        "A case's history events, oldest first", tags=("cases",),
        responses={"200": _ok("The events.", {"type": "array", "items": _ref("HistoryEvent")}),
                   **_errors(401, 403, 404)})},
    "/api/v1/tasks": {"parameters": [
        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1,
                                                                        "maximum": 200, "default": 50}},
        {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0,
                                                                         "default": 0}}], "get": _op(
        "My open tasks (assigned to me, or unassigned in one of my roles), soonest due first, a page at a time",
        tags=("tasks",), description="Follow next until it is null. Each task names its form; "
                                     "GET /tasks/{task_id} gives the form's JSON Schema.",
        responses={"200": _ok("One page of tasks and the next page's URL.", _ref("TaskPage")),
                   **_errors(401, 422)})},
    "/api/v1/tasks/{task_id}": {"parameters": [_TASK_ID], "get": _op(
        "One task with its form's JSON Schema", tags=("tasks",),
        responses={"200": _ok("The task.", _ref("Task")), **_errors(401, 403, 404)})},
    "/api/v1/tasks/{task_id}/claim": {"parameters": [_TASK_ID], "post": _op(
        "Take a task of one of my roles (compare-and-set on who holds it)", tags=("tasks",),
        description="Of two colleagues claiming at once one wins; the other gets 409 with holder. Without a body "
                    "only a task nobody has claimed may be taken; to take it from a colleague, send "
                    "expected_holder: who you saw holding it.",
        body=_json({"type": "object", "properties": {"expected_holder": {
            "type": ["string", "null"], "description": "the assignee you saw (null: nobody); 409 if it changed"}}},
            {"expected_holder": "cs1"}), body_required=False,
        responses={"200": _ok("The task, now mine.", _ref("Task")), **_errors(400, 401, 403, 404, 409, 422)})},
    "/api/v1/tasks/{task_id}/complete": {"parameters": [_TASK_ID], "post": _op(
        "Complete my task with its form's data", tags=("tasks",),
        body=_json({"type": "object", "properties": {
            "data": {"type": "object", "description": "matches the task's form (its JSON Schema)"},
            "expected_version": {"type": "integer", "description": "the case version you read; 409 if it moved"}}},
            {"data": {"<field of the task's form>": "<value>"}}),
        responses={"200": _ok("Completed; the case's new version and status.", {
            "type": "object", "properties": {"id": {"type": "string"}, "case_number": {"type": "string"},
                                             "case_version": {"type": "integer"}, "case_status": {"type": "string"}}}),
            **_errors(400, 401, 403, 404, 409, 422)})},
    "/api/v1/messages": {"post": _op(
        "Deliver a message a case waits for (e.g. the customer's reply)", tags=("cases",),
        body=_json({"type": "object", "required": ["case_number", "name"], "properties": {
            "case_number": {"type": "string"}, "name": {"type": "string",
                                                        "description": "the message's name in the diagram"},
            "payload": {"type": "object", "description": "keys may not start with '_'"}}},
            {"case_number": "20260302-EMAIL-001", "name": "<message name>", "payload": {"<field>": "<value>"}}),
        responses={"200": _ok("Delivered.", {"type": "object", "properties": {
            "case_number": {"type": "string"}, "name": {"type": "string"}, "delivered": {"type": "boolean"}}}),
            **_errors(400, 401, 403, 404, 409, 422)})},
    "/api/v1/clock": {"post": _op(
        "Move the manual clock forward and fire due timers (demo and test servers only)", tags=("clock",),
        description="Exists only when the server runs with a manual clock (COMPLAINTFLOW_CLOCK=manual); "
                    "otherwise 404.",
        body=_json({"type": "object", "required": ["advance"], "properties": {
            "advance": {"type": "string", "description": "ISO 8601 duration", "examples": ["PT2H", "P1D"]}}},
            {"advance": "PT2H"}),
        responses={"200": _ok("The new time and how many timers fired.", {"type": "object", "properties": {
            "now": _TIME, "fired": {"type": "integer"}}}), **_errors(400, 401, 403, 404, 422)})},
    "/api/v1/deployments": {
        "get": _op("Deployed versions, oldest first", tags=("deployments",),
                   responses={"200": _ok("The versions.", {"type": "array", "items": _ref("Version")}),
                              **_errors(401)}),
        "post": _op(
            "Validate and deploy workflow files as a new version (process owners)", tags=("deployments",),
            description="files are laid over the newest version's files (null removes one) unless replace is "
                        "true. Any problem refuses the whole deploy and nothing changes.",
            body=_json({"type": "object", "required": ["files"], "properties": {
                "files": {"type": "object", "additionalProperties": {"type": ["string", "null"]},
                          "description": "relative path -> file text (null removes the file)"},
                "note": {"type": "string"}, "replace": {"type": "boolean"}}},
                {"files": {"calendar.toml": "[calendar]\ncountry = \"CN\"\n"}, "note": "calendar as default"}),
            responses={"201": _ok("Deployed as a new version.", {"type": "object", "properties": {
                "versions": {"type": "array", "items": _ref("Version")}, "unchanged": {"type": "boolean"}}}),
                "200": _ok("The files equal the newest version: nothing deployed.", {"type": "object"}),
                "422": _error("Refused: problems name the file, the element and what to change.", "DeployProblems"),
                **_errors(400, 401, 403)})},
    "/api/v1/deployments/{version}/diff": {"parameters": [
        {"name": "version", "in": "path", "required": True, "schema": _VERSION},
        {"name": "against", "in": "query", "required": False, "schema": _VERSION,
         "description": "the version to compare with (default: the one before)"}], "get": _op(
        "What a version changed: files, diagram elements and deadlines (layout ignored)", tags=("deployments",),
        responses={"200": _ok("The changes.", {"type": "object", "properties": {
            "from_version": {"type": "integer"}, "to_version": {"type": "integer"},
            "files_added": {"type": "array"}, "files_removed": {"type": "array"}, "files_changed": {"type": "array"},
            "elements_added": {"type": "array"}, "elements_removed": {"type": "array"},
            "elements_changed": {"type": "array"},
            "deadlines_changed": {"type": "array", "items": {"type": "object", "properties": {
                "file": {"type": "string"}, "element": {"type": "string"}, "name": {"type": "string"},
                "before": _TEXT_OR_NULL, "after": _TEXT_OR_NULL}}}}}), **_errors(401, 404)})},
    "/api/v1/cases/{number}/migration": {"parameters": [_NUMBER], "post": _op(
        "Move a waiting case to a newer deployed version (process owners)", tags=("deployments",),
        description="Safe only when no step that is done or under way changed; otherwise 409 with the reasons.",
        body=_json({"type": "object", "properties": {"to_version": _VERSION}}, {"to_version": 2}),
        responses={"200": _ok("Migrated.", {"type": "object", "properties": {
            "number": {"type": "string"}, "migrated": {"type": "boolean"}, "from_version": {"type": "integer"},
            "to_version": {"type": "integer"}, "reasons": {"type": "array", "items": {"type": "string"}}}}),
            "409": _error("Refused: reasons says which step done or under way changed.", "Refusal"),
            **_errors(400, 401, 403, 404, 422)})},
    "/api/v1/knowledge": {"parameters": [
        {"name": "q", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200},
         "description": "words (Chinese or English) every entry must contain, e.g. 卡纸 or paper jam"},
        {"name": "product", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200},
         "description": "only this product (case and spaces ignored)"},
        {"name": "defect_type", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200},
         "description": "only this defect type code"},
        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1,
                                                                        "maximum": 200, "default": 50}}], "get": _op(
        "Search the knowledge base: problem, cause and solution of closed analyses, newest first",
        tags=("knowledge",), description="Retired entries are left out. Chinese words of two characters and "
                                         "English words alike are found anywhere in the entry.",
        responses={"200": _ok("The entries found.", {"type": "object", "required": ["entries"], "properties": {
            "entries": {"type": "array", "items": _ref("KnowledgeEntry")}}}), **_errors(401, 422)})},
    "/api/v1/statistics": {"parameters": _STATISTICS_PARAMETERS, "get": _op(
        "A period's statistics: volume, on-time rate, satisfaction, shares, top defect types, repeats, "
        "escalations, compensation, with the previous comparable period", tags=("statistics",),
        description="For roles with statistics = true in roles.toml. Complaints registered in the period count "
                    "(the calendar's zone decides the days); the on-time rate judges the deadlines that fell due "
                    "in it. Cases the caller is involved in are never counted.",
        responses={"200": _ok("The figures.", _ref("Statistics")), **_errors(401, 403, 422)})},
    "/api/v1/openapi.json": {"get": _op(
        "This document", public=True, tags=("meta",),
        responses={"200": _ok("OpenAPI 3.1 document.", {"type": "object"})})},
}

DOCUMENT: dict = {
    "openapi": "3.1.0",
    "info": {"title": "complaintflow API", "version": "1",
             "description": "Complaint handling run by BPMN: register complaints, work tasks, read cases. "
                            "Errors are JSON {error, message} with a message a person can act on."},
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": PATHS,
    "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {
        "type": "http", "scheme": "bearer", "description": "a token from POST /api/v1/session"}}},
}


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(DOCUMENT)
