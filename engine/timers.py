"""Timers: our ``timer`` table is the truth, APScheduler is the alarm clock (``engine.scheduler``).

``fire_due`` fires every timer due by the engine's clock, each as of the moment it fell
due and in due order, so a deadline chain (tier 1 → tier 2 → tier 3) keeps its spacing
even when the scheduler was down. A firing and its timer's "fired" mark are one
transaction, so a timer fires exactly once whoever calls ``fire_due``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.orm import Session

from engine import deadline_rollup, history, spiff
from engine.casework import CaseWork, lock_case
from engine.clock import Clock
from engine.errors import EngineError
from engine.store.db import Database
from engine.store.enums import EventKind, TaskState, TimerStatus
from engine.store.models import Case, RoleMember, Task, Timer

log = logging.getLogger(__name__)
FIRING_LAG = timedelta(microseconds=1)  # SpiffWorkflow fires a timer strictly after its due time
MAX_FIRINGS_PER_CALL = 10_000
# The earliest pending timer due by :now (joined to its case, which the workers lock).
DUE = (select(Timer.id, Timer.case_id, Timer.due_at).join(Case, Case.id == Timer.case_id)
       .where(Timer.status == TimerStatus.PENDING, Timer.due_at <= bindparam("now"))
       .order_by(Timer.due_at, Timer.id).limit(1))


@dataclass
class Firing:
    """What one claim fired: the due times of the timers fired, and timers parked as failed."""

    fired: list[datetime]
    failed: int = 0


class Timers:
    def __init__(self, db: Database, clock: Clock, work: CaseWork) -> None:
        self._db, self._clock, self._work = db, clock, work

    def next_due(self) -> datetime | None:
        with self._db.read() as session:
            return session.scalar(select(Timer.due_at).where(Timer.status == TimerStatus.PENDING)
                                  .order_by(Timer.due_at).limit(1))

    def fire_due(self) -> int:
        """Fire every pending timer due by now; returns how many fired."""
        fired = 0
        for _ in range(MAX_FIRINGS_PER_CALL):
            now = self._clock.now()
            with self._db.read() as session:
                timer = session.execute(DUE.params(now=now)).first()
            if timer is None:
                break
            fired += len(self._fire_case(timer.case_id, timer.due_at, timer.id).fired)
        return fired

    def fire_due_for_case(self, *, case_id: int | None = None, number: str | None = None) -> int:
        """Fire one case's due timers (before a form or message is accepted for it)."""
        fired = 0
        for _ in range(MAX_FIRINGS_PER_CALL):
            now = self._clock.now()
            with self._db.read() as session:
                query = select(Timer.id, Timer.case_id, Timer.due_at).where(
                    Timer.status == TimerStatus.PENDING, Timer.due_at <= now)
                if case_id is not None:
                    query = query.where(Timer.case_id == case_id)
                else:
                    query = query.join(Case, Case.id == Timer.case_id).where(Case.number == number)
                timer = session.execute(query.order_by(Timer.due_at, Timer.id).limit(1)).first()
            if timer is None:
                break
            fired += len(self._fire_case(timer.case_id, timer.due_at, timer.id).fired)
        return fired

    def fire_next(self) -> Firing | None:
        """Claim one case with a due timer and fire its due timers; None when nothing is claimable.

        For the scheduler's workers (threads, processes, machines). On PostgreSQL the claim
        is ``FOR UPDATE OF case SKIP LOCKED`` in the firing's own transaction: a case another
        worker holds is skipped, never waited on, and never fired twice. SQLite has one writer
        at a time, so there the earliest timer is simply fired.
        """
        now = self._clock.now()
        if self._db.dialect != "postgresql":
            with self._db.read() as session:
                timer = session.execute(DUE.params(now=now)).first()
            return None if timer is None else self._fire_case(timer.case_id, timer.due_at, timer.id)
        timer = None
        try:
            with self._db.write() as session:
                timer = session.execute(DUE.params(now=now).with_for_update(
                    of=Case, skip_locked=True, key_share=True)).first()
                if timer is None:
                    return None
                return Firing(self._fire_locked(session, timer.case_id, timer.due_at, timer.id))
        except EngineError as exc:  # a final answer about this case; anything else (the database) is retried
            if timer is None:
                raise
            return Firing([], failed=self._record_incident(timer.case_id, timer.id, str(exc)))

    def _fire_case(self, case_id: int, due_at: datetime, timer_id: int) -> Firing:
        try:
            with self._db.write() as session:
                return Firing(self._fire_locked(session, case_id, due_at, timer_id))
        except EngineError as exc:
            return Firing([], failed=self._record_incident(case_id, timer_id, str(exc)))

    def _fire_locked(self, session: Session, case_id: int, due_at: datetime, timer_id: int) -> list[datetime]:
        """Fire a locked case's timers due by ``due_at`` as of that moment; returns their due times."""
        as_of = due_at + FIRING_LAG
        row = lock_case(session, case_id=case_id)
        due = session.scalars(
            select(Timer).where(Timer.case_id == case_id, Timer.status == TimerStatus.PENDING, Timer.due_at <= due_at)
        ).all()
        if not due:
            return []  # another scheduler fired it meanwhile
        case = self._work.open(session, row, as_of)
        with self._work.spiff_step(as_of, row.created_at) as notices:
            spiff.fire_timers(case.workflow)
        case.notices = notices
        case.also_told = fallback_holders(session, [t.guarded_task_id for t in due if t.guarded_task_id])
        labels = [{"element": t.element_id, "due_at": t.due_at.isoformat()} for t in due]
        self._work.save(session, case, actor="timer", kind=EventKind.TIMER_FIRED,
                        payload={"timers": labels, "as_of": as_of.isoformat()})
        still = session.scalar(select(Timer.status).where(Timer.id == timer_id))
        if still == TimerStatus.PENDING:
            raise EngineError(f"timer {timer_id} was due but SpiffWorkflow did not fire it")
        return [t.due_at for t in due]

    def _record_incident(self, case_id: int, timer_id: int, reason: str) -> int:
        """A timer that cannot fire is parked as failed and recorded, never retried in a tight loop.

        Returns 1 if this call parked it, 0 if another worker already had (one incident per timer).
        """
        now = self._clock.now()
        with self._db.write() as session:
            row = lock_case(session, case_id=case_id)
            with deadline_rollup.kept(session.connection(), case_id):  # a parked timer is no longer pending
                parked = session.execute(update(Timer).where(Timer.id == timer_id,
                                                             Timer.status == TimerStatus.PENDING)
                                         .values(status=TimerStatus.FAILED, closed_at=now)).rowcount
            if not parked:
                return 0
            # a kept workflow (in any process) would count the parked timer as pending: a new version makes the
            # next step load the case and read its parked timers
            session.execute(update(Case).where(Case.id == case_id).values(version=Case.version + 1))
            self._work.forget(case_id)
            log.error("timer %s of case %s failed: %s", timer_id, case_id, reason)
            history.append(session, case_number=row.number, at=now, actor="timer", kind=EventKind.INCIDENT,
                           payload={"timer_id": timer_id, "reason": reason}, deployment_version=None)
            return 1

    # ------------------------------------------------------------ the scheduler process

    def run_scheduler(self, stop: threading.Event | None = None, poll_seconds: float = 5.0,
                      lease_seconds: float | None = None, **options: Any) -> None:
        """Fire timers at their due times until ``stop`` is set; see ``engine.scheduler.run``."""
        from engine.scheduler import run

        run(self, self._db, self._clock, stop=stop, poll_seconds=poll_seconds, lease_seconds=lease_seconds,
            **options)


def fallback_holders(session: Session, task_ids: list[str]) -> list[str]:
    """Who holds these open tasks without being of the task's role: a fallback role's person (``roles.toml``).

    The deadline notices of such a task reach them too, whichever role the diagram tells.
    """
    if not task_ids:
        return []
    of_role = exists().where(RoleMember.role == Task.role, RoleMember.username == Task.assignee)
    return sorted(set(session.scalars(select(Task.assignee).where(
        Task.id.in_(task_ids), Task.state == TaskState.OPEN, Task.assignee.is_not(None), ~of_role))))
