"""Health: what the database says about the engine, for ``/readyz`` and the Prometheus gauges.

Everything is read from the database at the moment it is asked, so any process (a web
worker, a scheduler, a standby) answers the same.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from engine.clock import Clock
from engine.lease import someone_holds
from engine.store.db import Database
from engine.store.models import Notification, Task, Timer


@dataclass(frozen=True)
class Snapshot:
    """The figures the gauges and the readiness checks are made of."""

    timers_pending: int
    timers_due: int
    oldest_due_at: datetime | None
    open_tasks: int
    incidents: int  # timers parked as failed
    outbox_backlog: int
    lease_alive: bool
    lease_holder: str | None
    now: datetime

    @property
    def overdue_seconds(self) -> float:
        """How long the oldest pending timer has been due (0 when none is)."""
        return max(0.0, (self.now - self.oldest_due_at).total_seconds()) if self.oldest_due_at else 0.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Thresholds:
    """When ``/readyz`` says no: timers behind by more than ``timer_lag_seconds``, outbox over ``outbox_backlog``."""

    timer_lag_seconds: float = 60.0
    outbox_backlog: int = 1000

    @classmethod
    def from_env(cls) -> Thresholds:
        return cls(float(os.environ.get("COMPLAINTFLOW_READY_TIMER_LAG_SECONDS", "60")),
                   int(os.environ.get("COMPLAINTFLOW_READY_OUTBOX_BACKLOG", "1000")))


class Health:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db, self._clock = db, clock

    def snapshot(self) -> Snapshot:
        now = self._clock.now()
        pending = Timer.status == "pending"
        with self._db.read() as session:
            timers_pending = session.scalar(select(func.count()).where(pending)) or 0
            due = session.execute(
                select(func.count(), func.min(Timer.due_at)).where(pending, Timer.due_at <= now)).one()
            open_tasks = session.scalar(select(func.count()).where(Task.state == "open")) or 0
            incidents = session.scalar(select(func.count()).where(Timer.status == "failed")) or 0
            backlog = session.scalar(select(func.count()).where(Notification.delivered_at.is_(None))) or 0
        alive, holder = someone_holds(self._db)
        return Snapshot(timers_pending, due[0] or 0, due[1], open_tasks, incidents, backlog, alive, holder, now)

    def readiness(self, thresholds: Thresholds | None = None) -> list[Check]:
        """One check per condition; all must pass for the instance to be ready."""
        limits = thresholds or Thresholds.from_env()
        try:
            s = self.snapshot()
        except Exception as exc:
            return [Check("database", False, f"unreachable: {type(exc).__name__}")]
        behind = s.overdue_seconds
        return [
            Check("database", True, "reachable"),
            Check("scheduler", s.lease_alive,
                  "a live scheduler holds the lease" if s.lease_alive else "no live scheduler holds the lease"),
            Check("timers", behind <= limits.timer_lag_seconds,
                  f"oldest due timer waiting {behind:.0f} s (limit {limits.timer_lag_seconds:.0f} s), "
                  f"{s.timers_due} due"),
            Check("outbox", s.outbox_backlog <= limits.outbox_backlog,
                  f"{s.outbox_backlog} undelivered (limit {limits.outbox_backlog})"),
        ]
