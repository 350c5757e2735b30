"""A date in a timer without a zone is in the business calendar's zone, not the server's.

A process owner who writes ``"2026-12-01T09:00:00"`` means 09:00 where the business is (the
zone of ``calendar.toml``). SpiffWorkflow reads such a text in the zone of the machine it runs
on (UTC on most servers: 8 hours off for Asia/Shanghai). The value a timer expression gives is
therefore given the calendar's zone the moment it is computed, before SpiffWorkflow stores it;
a text with a zone, a duration or anything else is left as written.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def in_zone(text: str, zone: tzinfo) -> str:
    """``text`` with every date-time in it that has no zone put in ``zone`` (a cycle's start too)."""
    if not isinstance(text, str):
        return text
    stripped = text.strip()
    if stripped.upper().startswith("R"):
        parts = stripped.split("/")
        return "/".join([parts[0], *(_zoned(part, zone) for part in parts[1:])])
    return _zoned(stripped, zone)


def _zoned(text: str, zone: tzinfo) -> str:
    if not text or text.upper().startswith("P") or "W" in text.upper():
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        return text
    return moment.replace(tzinfo=zone).isoformat()


def _timer_expressions(task_spec: Any) -> set[str]:
    """The timer expressions an element (or an event-based gateway, for its events) evaluates."""
    definition = getattr(task_spec, "event_definition", None)
    found: set[str] = set()
    stack = [definition] if definition is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, TimerEventDefinition):
            found.add(current.expression)
        stack.extend(getattr(current, "event_definitions", None) or [])
    return found


class ZonedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine, with timer values put in the calendar's zone."""

    def __init__(self, zone: tzinfo, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.zone = zone

    def evaluate(self, task, expression, external_context=None):  # noqa: ANN001, ANN201
        value = super().evaluate(task, expression, external_context)
        if isinstance(value, str) and expression in _timer_expressions(task.task_spec):
            return in_zone(value, self.zone)
        return value
