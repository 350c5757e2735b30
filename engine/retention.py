"""Keeping records for the retention period (3 years by default), and purging them after it.

An archived case is read-only. Once its retention period has passed, a purge removes what
it says about people (registration, contact, forms, attachments) but leaves its events in
the history chain with their digests, so the chain stays verifiable; the purge itself is
recorded. Open cases and cases archived more recently are never touched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, delete, select, update

from engine import deadline_rollup, history, workflow_state
from engine.casework import lock_case
from engine.clock import Clock
from engine.store.db import Database
from engine.store.enums import CaseStatus, EventKind
from engine.store.models import (
    Attachment,
    Case,
    CustomerContact,
    Delivery,
    Event,
    InvolvedPerson,
    LinkToken,
    Notification,
    Task,
    Timer,
)

DEFAULT_RETENTION_YEARS = 3
_E = Event.__table__
EVENTS_TO_PURGE = select(_E.c.seq, _E.c.payload).where(
    _E.c.case_number == bindparam("number"), _E.c.payload_digest.is_(None), _E.c.kind != EventKind.CASE_PURGED)
PURGE_EVENT = update(_E).where(_E.c.seq == bindparam("event_seq")).values(
    payload=history.PURGED, payload_digest=bindparam("digest", type_=_E.c.payload_digest.type))


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar date ``years`` earlier: "kept for 3 years" counts calendar years, not 3 x 365
    days (which falls a day short across a leap day). A 29 February with no match becomes the 28th,
    the earlier cut-off, so nothing is ever purged before its full term."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def retention_cutoff(now: datetime, days: int | None = None) -> datetime:
    """Archived before this moment means past retention: ``days`` when given (the CLI's --days or
    COMPLAINTFLOW_RETENTION_DAYS), else COMPLAINTFLOW_RETENTION_YEARS calendar years (3 by default)."""
    if days is None and os.environ.get("COMPLAINTFLOW_RETENTION_DAYS"):
        days = int(os.environ["COMPLAINTFLOW_RETENTION_DAYS"])
    if days is not None:
        return now - timedelta(days=days)
    return years_before(now, int(os.environ.get("COMPLAINTFLOW_RETENTION_YEARS", DEFAULT_RETENTION_YEARS)))


@dataclass(frozen=True)
class PurgeResult:
    number: str
    events: int
    attachments: int


class Retention:
    def __init__(self, db: Database, clock: Clock, attachments_folder: Path) -> None:
        self._db, self._clock, self._folder = db, clock, Path(attachments_folder)

    def due(self, days: int | None = None) -> list[str]:
        """Archived cases whose retention period has passed."""
        cutoff = retention_cutoff(self._clock.now(), days)
        with self._db.read() as session:
            return list(session.scalars(select(Case.number).where(
                Case.status == CaseStatus.ARCHIVED, Case.archived_at <= cutoff).order_by(Case.id)))

    def purge(self, actor: str, days: int | None = None) -> list[PurgeResult]:
        """Purge every case past retention, one transaction each."""
        return [self._purge(number, actor, days) for number in self.due(days)]

    def _purge(self, number: str, actor: str, days: int | None) -> PurgeResult:
        now = self._clock.now()
        cutoff = retention_cutoff(now, days)
        files: list[Path] = []
        with self._db.write() as session:
            row = lock_case(session, number=number)
            conn = session.connection()
            archived_at = session.scalar(select(Case.archived_at).where(Case.id == row.id))
            if row.status != CaseStatus.ARCHIVED or archived_at is None or archived_at > cutoff:
                return PurgeResult(number, 0, 0)  # reopened or not yet due: nothing to do
            events = conn.execute(EVENTS_TO_PURGE, {"number": number}).all()
            for seq, payload in events:
                conn.execute(PURGE_EVENT, {"event_seq": seq, "digest": history.payload_digest(payload)})
            stored = session.scalars(select(Attachment.stored_as).where(Attachment.case_id == row.id)).all()
            files = [self._folder / name for name in stored]
            deadline_rollup.forget(conn, row.id)  # its deadlines leave the statistics with their rows
            for model in (Attachment, Task, Timer, Delivery, Notification, CustomerContact, InvolvedPerson):
                conn.execute(delete(model.__table__).where(model.__table__.c.case_id == row.id))
            workflow_state.drop(conn, row.id)
            conn.execute(delete(LinkToken.__table__).where(LinkToken.__table__.c.case_number == number))
            conn.execute(update(Case.__table__).where(Case.__table__.c.id == row.id).values(
                status="purged", state="{}", summary={}, involved_staff=[], waiting_for=[], product_name=None,
                contact_key=None,
                version=row.version + 1, updated_at=now))
            history.append(session, case_number=number, at=now, actor=actor, kind=EventKind.CASE_PURGED,
                           payload={"case": number, "events": len(events), "attachments": len(files),
                                    "archived_at": archived_at.isoformat(), "retention_cutoff": cutoff.isoformat()},
                           deployment_version=None)
        for path in files:  # the rows are gone for good: now the files
            path.unlink(missing_ok=True)
        return PurgeResult(number, len(events), len(files))
