"""What every API view shares: the blueprint, the JSON body, JSON-ready values, write checks."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import datetime

from flask import Blueprint, abort, g, request

from web.services import engine

bp = Blueprint("api", __name__, url_prefix="/api/v1")
VERSION_MAX = 2**31 - 1  # version numbers are 32-bit integer columns: a larger one names no version


def version_number(value: object) -> bool:
    """Whether ``value`` can be a deployed version's number (a bigger integer must not reach the database)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= VERSION_MAX


def body() -> dict:
    """The request's JSON object; anything else is a 400 that says what to send."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description="send a JSON object with Content-Type: application/json")
    return data


def jsonable(value: object) -> object:
    """Engine views (dataclasses, tuples, datetimes) as JSON values; datetimes as ISO 8601.

    Flask's own encoder writes datetimes as HTTP dates, which integrations parse badly.
    """
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def require_writer() -> None:
    """Refuse (403) a read-only caller such as an auditor before anything changes."""
    engine().access.require_write(g.user.username)
