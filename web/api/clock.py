"""``POST /clock``: move a manual clock forward and fire what fell due (demos and tests only).

With the real clock the route answers 404, as if it did not exist: time is not for clients
to move in production.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Response, abort, current_app, jsonify
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.clock import ManualClock
from engine.errors import FormInvalid
from web.api.common import body, bp, require_writer
from web.auth import token_required
from web.services import engine

ADVANCE_HINT = "advance is an ISO 8601 duration such as PT2H or P1DT30M"
MOST = timedelta(days=366 * 100)  # a demo moves days or years, never centuries: far dates overflow and spin


def parse_advance(text: object, clock: ManualClock) -> timedelta:
    """An ISO 8601 duration from now (months count real month lengths, as Spiff's timers do)."""
    if not isinstance(text, str) or not text.strip() or len(text) > 64:
        raise FormInvalid({"advance": ADVANCE_HINT})
    if any(len(figure) > 6 for figure in re.findall(r"\d+", text)):  # refused before Spiff counts them out
        raise FormInvalid({"advance": ADVANCE_HINT + " (at most 100 years)"})
    try:
        parsed = TimerEventDefinition.parse_iso_duration(text.strip())
        delta = TimerEventDefinition.get_timedelta_from_start(parsed, clock.now()) if parsed else None
    except Exception:  # noqa: BLE001  Spiff raises a bare Exception for a bad duration (OverflowError too)
        delta = None
    if delta is not None and delta > MOST:
        raise FormInvalid({"advance": ADVANCE_HINT + " (at most 100 years)"})
    if delta is None or delta <= timedelta(0):
        raise FormInvalid({"advance": ADVANCE_HINT + " (and more than zero)"})
    return delta


@bp.post("/clock")
def advance_clock() -> Response:
    if not current_app.config.get("MANUAL_CLOCK"):
        abort(404, description="there is no clock to move: this server runs on real time")
    return _advance()


@token_required
def _advance() -> Response:
    require_writer()
    eng = engine()
    clock = eng.clock
    if not isinstance(clock, ManualClock):
        abort(404, description="there is no clock to move: this server runs on real time")
    now = clock.advance(parse_advance(body().get("advance"), clock))
    fired = eng.timers.fire_due()
    return jsonify({"now": now.isoformat(), "fired": fired})
