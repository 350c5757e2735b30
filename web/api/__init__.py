"""JSON API ``/api/v1`` for integrations and the customer portal's scripts.

Every call but ``POST /session`` and ``GET /openapi.json`` sends ``Authorization: Bearer
<token>``. Errors are JSON ``{"error", "message"}`` (plus ``errors`` per field on 422), made
by ``web.errors`` from the engine's exceptions; never a stack trace. The routes live in the
modules below, which register themselves on ``bp``; ``openapi`` describes them all.
"""

from __future__ import annotations

from web.api import cases, clock, deployments, knowledge, openapi, session, statistics, tasks, tokens
from web.api.common import bp

__all__ = ["bp", "cases", "clock", "deployments", "knowledge", "openapi", "session", "statistics", "tasks", "tokens"]
