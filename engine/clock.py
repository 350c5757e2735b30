"""The one source of "now" for the product and for SpiffWorkflow.

SpiffWorkflow reads ``datetime.now(timezone.utc)`` inside its timer module. We
replace that module's ``datetime`` name with a subclass whose ``now`` asks the
clock bound to the current context, so a ``ManualClock`` drives the engine's
timers in tests and demos while production uses the real clock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Protocol

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware (UTC)."""


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return _real_datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to, for tests and demos."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or _real_datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a clock never goes back")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> datetime:
        """Jump forward to ``moment`` (used by replay)."""
        return self.advance(moment.astimezone(UTC) - self.now())


_real_datetime = datetime
_current: ContextVar[Clock | None] = ContextVar("complaintflow_clock", default=None)
_default = SystemClock()


def current() -> Clock:
    return _current.get() or _default


@contextlib.contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """Make ``clock`` the one SpiffWorkflow sees for the duration of the block."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


class _ClockedDatetime(_real_datetime):
    """``datetime`` whose ``now`` is the bound clock's time."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        moment = current().now()
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _ClockedDatetime
