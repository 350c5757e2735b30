"""Registering complaints, reading a case and its history, delivering customers' messages."""

from __future__ import annotations

from flask import Response, g, jsonify, request, url_for

from engine.errors import FormInvalid, NotAllowed
from web.api.common import body, bp, jsonable, require_writer
from web.auth import token_required
from web.services import engine

IDEMPOTENCY_KEY = "Idempotency-Key"  # IETF draft-ietf-httpapi-idempotency-key-header
REPLAYED = "Idempotent-Replayed"  # as Stripe answers a retried request


@bp.post("/complaints")
@token_required
def register_complaint() -> tuple[Response, int, dict]:
    """Register a complaint (the registration form's fields); 201 with its number.

    With an ``Idempotency-Key`` header a retry answers the first request's 201 again (with
    ``Idempotent-Replayed: true``) instead of filing a second complaint; the same key with a
    different body is 422.
    """
    require_writer()
    eng = engine()
    if not eng.access.may_register(g.user.username):
        raise NotAllowed(f"{g.user.username} may not register complaints (customer service registers them)")
    data = body()
    key = request.headers.get(IDEMPOTENCY_KEY)
    headers = {}
    if key is None:
        number = eng.runtime.start(eng.repository.active().intake_process(), data, g.user.username)
    else:
        if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
            raise FormInvalid({IDEMPOTENCY_KEY: "an Idempotency-Key is 1 to 255 printable ASCII characters, "
                                                "e.g. a UUID"})
        started = eng.runtime.start_once(eng.repository.active().intake_process(), data, g.user.username, key)
        number = started.number
        if started.replayed:
            headers[REPLAYED] = "true"
    headers["Location"] = url_for("api.get_case", number=number)
    return jsonify({"number": number}), 201, headers


@bp.get("/cases/<number>")
@token_required
def get_case(number: str) -> Response:
    return jsonify(jsonable(engine().cases.get(number, viewer=g.user.username)))


@bp.get("/cases/<number>/history")
@token_required
def case_history(number: str) -> Response:
    eng = engine()
    eng.access.require_view(g.user.username, number)
    return jsonify(jsonable(eng.history.events(number)))


@bp.post("/messages")
@token_required
def deliver_message() -> Response:
    """A message the case waits for (its ``waiting_for`` lists them by the names the diagram gives)."""
    require_writer()
    data = body()
    number, name, payload = data.get("case_number"), data.get("name"), data.get("payload", {})
    problems = {}
    if not isinstance(number, str) or not number:
        problems["case_number"] = "case_number is the complaint number, e.g. 20260302-PHONE-001"
    if not isinstance(name, str) or not name:
        problems["name"] = "name is a message the case waits for (see its waiting_for)"
    if not isinstance(payload, dict):
        problems["payload"] = "payload is an object"
    if problems:
        raise FormInvalid(problems)
    eng = engine()
    eng.access.require_view(g.user.username, number)
    eng.runtime.message(number, name, payload, g.user.username)
    return jsonify({"case_number": number, "name": name, "delivered": True})
