"""Registering complaints, reading a case and its history, delivering customers' messages."""

from __future__ import annotations

from flask import Response, g, jsonify, url_for

from engine.errors import FormInvalid, NotAllowed
from web.api.common import body, bp, jsonable, require_writer
from web.auth import token_required
from web.services import engine


@bp.post("/complaints")
@token_required
def register_complaint() -> tuple[Response, int, dict]:
    """Register a complaint (the registration form's fields); 201 with its number."""
    require_writer()
    eng = engine()
    if not eng.access.may_register(g.user.username):
        raise NotAllowed(f"{g.user.username} may not register complaints (customer service registers them)")
    number = eng.runtime.start("complaint", body(), g.user.username)
    return jsonify({"number": number}), 201, {"Location": url_for("api.get_case", number=number)}


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
    """A message the case waits for, e.g. ``customer_reply`` after verification asked for more."""
    require_writer()
    data = body()
    number, name, payload = data.get("case_number"), data.get("name"), data.get("payload", {})
    problems = {}
    if not isinstance(number, str) or not number:
        problems["case_number"] = "case_number is the complaint number, e.g. 20260302-PHONE-001"
    if not isinstance(name, str) or not name:
        problems["name"] = "name is the message the case waits for, e.g. customer_reply"
    if not isinstance(payload, dict):
        problems["payload"] = "payload is an object"
    if problems:
        raise FormInvalid(problems)
    eng = engine()
    eng.access.require_view(g.user.username, number)
    eng.runtime.message(number, name, payload, g.user.username)
    return jsonify({"case_number": number, "name": name, "delivered": True})
