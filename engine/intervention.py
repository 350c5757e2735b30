"""Supervisors stepping in on a case, as Camunda Cockpit and spiff-arena let them: suspend and resume,
cancel with a reason. Each is one transaction and an event in the case's history that replay follows.

- **Suspend**: the case is on hold. Its pending deadlines are held (they leave the timers' queue, so
  no worker fires them and no health check counts them late); steps, customer answers and claims are
  refused with ``CaseSuspended``.
- **Resume**: held deadlines are pending again with their own due times: one that fell due during
  the hold fires at once, as after a scheduler outage (the escalation it starts is not skipped).
- **Cancel** (a complaint opened by mistake, a duplicate): open steps and deadlines are cancelled and
  the case is archived with the outcome ``cancelled``; the reason is in the history.

Who may, the deployed ``roles.toml`` says (``intervene = true``).
"""

from __future__ import annotations

from sqlalchemy import update

from engine import deadline_rollup, history
from engine.casework import lock_case
from engine.clock import Clock
from engine.errors import CaseArchived, CaseNotOpen, FormInvalid
from engine.store.db import Database
from engine.store.enums import CaseStatus, EventKind, TaskState, TimerStatus
from engine.store.models import Case, Task, Timer

MAX_REASON = 500
CANCELLED_OUTCOME = "cancelled"
REASON_FIELD = "reason"


def required_reason(text: str | None) -> str:
    reason = (text or "").strip()
    if not reason:
        raise FormInvalid({REASON_FIELD: "this field is required"})
    if len(reason) > MAX_REASON:
        raise FormInvalid({REASON_FIELD: f"is too long (at most {MAX_REASON} characters)"})
    return reason


class Intervention:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db, self._clock = db, clock

    def suspend(self, number: str, by: str, reason: str) -> None:
        self._change(number, by, reason, CaseStatus.OPEN, CaseStatus.SUSPENDED, EventKind.CASE_SUSPENDED,
                     TimerStatus.PENDING, TimerStatus.HELD)

    def resume(self, number: str, by: str, reason: str = "") -> None:
        self._change(number, by, reason or "-", CaseStatus.SUSPENDED, CaseStatus.OPEN, EventKind.CASE_RESUMED,
                     TimerStatus.HELD, TimerStatus.PENDING)

    def _change(self, number: str, by: str, reason: str, before: CaseStatus, after: CaseStatus, kind: EventKind,
                timers_from: TimerStatus, timers_to: TimerStatus) -> None:
        reason = required_reason(reason)
        now = self._clock.now()
        with self._db.write() as session:
            case = lock_case(session, number=number)
            if case.status != before:
                raise CaseArchived(number) if case.status == CaseStatus.ARCHIVED else CaseNotOpen(number, case.status)
            with deadline_rollup.kept(session.connection(), case.id):  # a held timer is no longer pending, and back
                moved = session.execute(update(Timer).where(Timer.case_id == case.id, Timer.status == timers_from)
                                        .values(status=timers_to)).rowcount
                session.execute(update(Case).where(Case.id == case.id).values(status=after, updated_at=now))
            history.append(session, case_number=number, at=now, actor=by, kind=kind,
                           payload={"reason": reason, "timers": moved}, deployment_version=None)

    def cancel(self, number: str, by: str, reason: str) -> None:
        reason = required_reason(reason)
        now = self._clock.now()
        with self._db.write() as session:
            case = lock_case(session, number=number)
            if case.status == CaseStatus.ARCHIVED:
                raise CaseArchived(number)
            with deadline_rollup.kept(session.connection(), case.id):  # its pending deadlines judge nothing now
                tasks = session.execute(update(Task).where(Task.case_id == case.id, Task.state == TaskState.OPEN)
                                        .values(state=TaskState.CANCELLED)).rowcount
                session.execute(update(Timer).where(Timer.case_id == case.id,
                                                    Timer.status.in_((TimerStatus.PENDING, TimerStatus.HELD)))
                                .values(status=TimerStatus.CANCELLED, closed_at=now))
                session.execute(update(Case).where(Case.id == case.id).values(
                    status=CaseStatus.ARCHIVED, outcome=CANCELLED_OUTCOME, archived_at=now, updated_at=now,
                    waiting_for=[]))
            history.append(session, case_number=number, at=now, actor=by, kind=EventKind.CASE_CANCELLED,
                           payload={"reason": reason, "tasks": tasks, "outcome": CANCELLED_OUTCOME},
                           deployment_version=None)
