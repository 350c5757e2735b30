"""Timers: our ``timer`` table is the truth, APScheduler is the alarm clock.

``fire_due`` fires every timer due by the engine's clock, each as of the moment it fell
due and in due order, so a deadline chain (tier 1 → tier 2 → tier 3) keeps its spacing
even when the scheduler was down. A firing and its timer's "fired" mark are one
transaction, so a timer fires exactly once whoever calls ``fire_due``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select, update

from engine import history, spiff
from engine.casework import CaseWork, lock_case
from engine.clock import Clock, SystemClock
from engine.errors import EngineError
from engine.store.db import Database
from engine.store.models import Case, SchedulerLease, Timer

log = logging.getLogger(__name__)
FIRING_LAG = timedelta(microseconds=1)  # SpiffWorkflow fires a timer strictly after its due time
MAX_FIRINGS_PER_CALL = 10_000


class Timers:
    def __init__(self, db: Database, clock: Clock, work: CaseWork) -> None:
        self._db, self._clock, self._work = db, clock, work

    def next_due(self) -> datetime | None:
        with self._db.read() as session:
            return session.scalar(select(Timer.due_at).where(Timer.status == "pending").order_by(Timer.due_at).limit(1))

    def fire_due(self) -> int:
        """Fire every pending timer due by now; returns how many fired."""
        fired = 0
        for _ in range(MAX_FIRINGS_PER_CALL):
            now = self._clock.now()
            with self._db.read() as session:
                timer = session.execute(
                    select(Timer.id, Timer.case_id, Timer.due_at)
                    .where(Timer.status == "pending", Timer.due_at <= now)
                    .order_by(Timer.due_at, Timer.id).limit(1)
                ).first()
            if timer is None:
                break
            fired += self._fire_case(timer.case_id, timer.due_at, timer.id)
        return fired

    def fire_due_for_case(self, *, case_id: int | None = None, number: str | None = None) -> int:
        """Fire one case's due timers (before a form or message is accepted for it)."""
        fired = 0
        for _ in range(MAX_FIRINGS_PER_CALL):
            now = self._clock.now()
            with self._db.read() as session:
                query = select(Timer.id, Timer.case_id, Timer.due_at).where(
                    Timer.status == "pending", Timer.due_at <= now)
                if case_id is not None:
                    query = query.where(Timer.case_id == case_id)
                else:
                    query = query.join(Case, Case.id == Timer.case_id).where(Case.number == number)
                timer = session.execute(query.order_by(Timer.due_at, Timer.id).limit(1)).first()
            if timer is None:
                break
            fired += self._fire_case(timer.case_id, timer.due_at, timer.id)
        return fired

    def _fire_case(self, case_id: int, due_at: datetime, timer_id: int) -> int:
        as_of = due_at + FIRING_LAG
        try:
            with self._db.write() as session:
                row = lock_case(session, case_id=case_id)
                due = session.scalars(
                    select(Timer).where(Timer.case_id == case_id, Timer.status == "pending", Timer.due_at <= due_at)
                ).all()
                if not due:
                    return 0  # another scheduler fired it meanwhile
                case = self._work.open(session, row, as_of)
                with self._work.spiff_step(as_of) as notices:
                    spiff.fire_timers(case.workflow)
                case.notices = notices
                labels = [{"element": t.element_id, "due_at": t.due_at.isoformat()} for t in due]
                self._work.save(session, case, actor="timer", kind="timer_fired",
                                payload={"timers": labels, "as_of": as_of.isoformat()})
                still = session.scalar(select(Timer.status).where(Timer.id == timer_id))
                if still == "pending":
                    raise EngineError(f"timer {timer_id} was due but SpiffWorkflow did not fire it")
                return len(due)
        except EngineError as exc:
            self._record_incident(case_id, timer_id, str(exc))
            return 0

    def _record_incident(self, case_id: int, timer_id: int, reason: str) -> None:
        """A timer that cannot fire is parked as failed and recorded, never retried in a tight loop."""
        log.error("timer %s of case %s failed: %s", timer_id, case_id, reason)
        now = self._clock.now()
        with self._db.write() as session:
            row = lock_case(session, case_id=case_id)
            session.execute(update(Timer).where(Timer.id == timer_id).values(status="failed", closed_at=now))
            history.append(session, case_number=row.number, at=now, actor="timer", kind="incident",
                           payload={"timer_id": timer_id, "reason": reason}, deployment_version=None)

    # ------------------------------------------------------------ the scheduler process

    def run_scheduler(self, stop: threading.Event | None = None, poll_seconds: float = 30.0,
                      lease_seconds: float = 60.0) -> None:
        """Fire timers at their due times until ``stop`` is set (or forever).

        At start it fires everything that fell due while nothing was running. Only the
        holder of the database lease fires; another scheduler waits to take over.
        """
        stop = stop or threading.Event()
        lease = Lease(self._db, lease_seconds)
        scheduler = BackgroundScheduler(timezone=UTC)

        def tick() -> None:
            try:
                if lease.hold() and (fired := self.fire_due()):
                    log.info("fired %d timer(s)", fired)
            except Exception:  # keep the alarm clock alive; the error is logged
                log.exception("firing timers failed")
            if not stop.is_set():
                scheduler.add_job(tick, "date", run_date=self._next_alarm(poll_seconds), id="tick",
                                  replace_existing=True)

        scheduler.add_job(tick, "date", run_date=datetime.now(UTC), id="tick")
        scheduler.start()
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=True)
            lease.release()

    def _next_alarm(self, poll_seconds: float) -> datetime:
        """The next due timer on the real clock, but no later than one poll interval away.

        Polling picks up timers that other processes (the web app) created meanwhile.
        """
        now = datetime.now(UTC)
        latest = now + timedelta(seconds=poll_seconds)
        nxt = self.next_due()
        if nxt is None or not isinstance(self._clock, SystemClock):
            return latest
        return max(now + timedelta(milliseconds=50), min(latest, nxt + FIRING_LAG))


class Lease:
    """One scheduler per database: a row with the holder and an expiry on the real clock."""

    def __init__(self, db: Database, seconds: float) -> None:
        self._db, self._seconds = db, seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def hold(self) -> bool:
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=self._seconds)
        with self._db.write() as session:
            lease = session.scalars(select(SchedulerLease).where(SchedulerLease.id == 1).with_for_update()).first()
            if lease is None:
                session.add(SchedulerLease(id=1, holder=self.holder, expires_at=expires))
                return True
            if lease.holder == self.holder or lease.expires_at < now:
                lease.holder, lease.expires_at = self.holder, expires
                return True
            return False

    def release(self) -> None:
        with self._db.write() as session:
            lease = session.get(SchedulerLease, 1)
            if lease is not None and lease.holder == self.holder:
                lease.expires_at = datetime.now(UTC) - timedelta(seconds=1)
