"""Read a case as a person sees it: status, grade, tier, tasks, deadlines, notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from engine import forms
from engine.access import Access
from engine.errors import NotFound
from engine.store.db import Database
from engine.store.models import Case, CustomerContact, Deployment, Notification, Task, Timer


@dataclass(frozen=True)
class Deadline:
    element_id: str
    name: str
    guards: str | None  # the task element it is attached to
    due_at: datetime
    status: str  # pending | fired | cancelled | failed
    interrupting: bool


@dataclass(frozen=True)
class NotificationView:
    role: str
    recipients: tuple[str, ...]
    subject: str
    element_id: str | None
    created_at: datetime
    id: int | None = None  # the outbox row: its deliveries are ``Notifications.for_case``


@dataclass(frozen=True)
class TaskSummary:
    id: str
    name: str
    title: str
    role: str | None
    assignee: str | None
    due_at: datetime | None


@dataclass(frozen=True)
class CaseView:
    number: str
    process_id: str
    definition_version: int
    version: int
    status: str
    grade: str | None
    escalation_tier: int
    outcome: str | None
    channel: str | None
    complaint_type: str | None
    summary: dict
    waiting_for: tuple[str, ...]  # messages (e.g. the customer's reply) the case waits on
    open_tasks: tuple[TaskSummary, ...]
    deadlines: tuple[Deadline, ...]
    notifications: tuple[NotificationView, ...]
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None

    @property
    def pending_deadlines(self) -> tuple[Deadline, ...]:
        return tuple(d for d in self.deadlines if d.status == "pending")


_C, _D, _T, _TM, _N, _CC = (Case.__table__, Deployment.__table__, Task.__table__, Timer.__table__,
                             Notification.__table__, CustomerContact.__table__)
CASE_BY_NUMBER = select(
    _C.c.id, _C.c.number, _C.c.process_id, _D.c.version.label("definition_version"), _C.c.version, _C.c.status,
    _C.c.grade, _C.c.escalation_tier, _C.c.outcome, _C.c.channel, _C.c.complaint_type, _C.c.summary,
    _C.c.waiting_for, _C.c.involved_staff, _C.c.created_at, _C.c.updated_at, _C.c.archived_at,
).join(_D, _D.c.id == _C.c.deployment_id).where(_C.c.number == bindparam("number"))
OPEN_TASKS = select(_T.c.id, _T.c.element_id, _T.c.title, _T.c.role, _T.c.assignee, _T.c.due_at).where(
    _T.c.case_id == bindparam("case_id"), _T.c.state == "open").order_by(_T.c.created_at)
TIMERS = select(_TM.c.element_id, _TM.c.name, _TM.c.attached_to, _TM.c.due_at, _TM.c.status, _TM.c.interrupting).where(
    _TM.c.case_id == bindparam("case_id")).order_by(_TM.c.due_at)
NOTIFICATIONS = select(_N.c.role, _N.c.recipients, _N.c.subject, _N.c.element_id, _N.c.created_at, _N.c.id).where(
    _N.c.case_id == bindparam("case_id")).order_by(_N.c.id)


@dataclass(frozen=True)
class ContactView:
    name: str
    contact: str
    full: bool  # False: masked, the viewer's roles may not see more


@dataclass(frozen=True)
class PublicStatus:
    """What a customer may learn about their complaint: nothing internal."""

    number: str
    status: str  # open | archived
    stage: tuple[str, ...]  # the steps under way, by their diagram names
    waiting_for_customer: tuple[str, ...]  # messages the case waits for from the customer
    next_due: datetime | None
    registered_at: datetime
    outcome: str | None


CONTACT = select(_C.c.id, _C.c.summary, _CC.c.name, _CC.c.contact).outerjoin(
    _CC, _CC.c.case_id == _C.c.id).where(_C.c.number == bindparam("number"))


class Cases:
    def __init__(self, db: Database, access: Access) -> None:
        self._db, self._access = db, access

    def get(self, number: str, viewer: str | None = None) -> CaseView:
        """The case. A ``viewer`` (username) who may not open it gets ``NotAllowed`` (see ``Access``)."""
        if viewer is not None:
            self._access.require_view(viewer, number)
        with self._db.reading() as conn:
            row = conn.execute(CASE_BY_NUMBER, {"number": number}).first()
            if row is None:
                raise NotFound(f"no case {number}")
            tasks = conn.execute(OPEN_TASKS, {"case_id": row.id}).all()
            timers = conn.execute(TIMERS, {"case_id": row.id}).all()
            notes = conn.execute(NOTIFICATIONS, {"case_id": row.id}).all()
        return CaseView(
            number=row.number, process_id=row.process_id, definition_version=row.definition_version,
            version=row.version, status=row.status, grade=row.grade, escalation_tier=row.escalation_tier,
            outcome=row.outcome, channel=row.channel, complaint_type=row.complaint_type,
            summary=dict(row.summary or {}), waiting_for=tuple(row.waiting_for or ()),
            open_tasks=tuple(TaskSummary(*t) for t in tasks),
            deadlines=tuple(Deadline(*t) for t in timers),
            notifications=tuple(NotificationView(n.role, tuple(n.recipients or ()), n.subject, n.element_id,
                                                 n.created_at, n.id) for n in notes),
            created_at=row.created_at, updated_at=row.updated_at, archived_at=row.archived_at,
        )

    def numbers(self, status: str | None = None, process_id: str | None = None) -> list[str]:
        with self._db.read() as session:
            query = select(Case.number).order_by(Case.id)
            if status:
                query = query.where(Case.status == status)
            if process_id:
                query = query.where(Case.process_id == process_id)
            return list(session.scalars(query))

    def contact(self, number: str, viewer: str) -> ContactView:
        """The customer's name and contact: in full for roles that call customers, else masked."""
        self._access.require_view(viewer, number)
        with self._db.read() as session:
            row = session.connection().execute(CONTACT, {"number": number}).first()
        if row is None:
            raise NotFound(f"no case {number}")
        if self._access.may_see_contact(viewer) and (row.name or row.contact):
            return ContactView(row.name or "", row.contact or "", True)
        last4 = (row.summary or {}).get(forms.CONTACT_LAST4) or (forms.last4(row.contact) if row.contact else "")
        return ContactView(forms.mask_name(row.name) if row.name else "", f"****{last4}" if last4 else "", False)

    def public(self, number: str) -> PublicStatus:
        """The customer's view of case ``number``, for a customer who proved it is theirs (a one-time code)."""
        view = self.get(number)
        pending = [d.due_at for d in view.pending_deadlines]
        return PublicStatus(
            number=view.number, status=view.status, stage=tuple(t.title for t in view.open_tasks),
            waiting_for_customer=view.waiting_for, next_due=min(pending) if pending else None,
            registered_at=view.created_at, outcome=view.outcome,
        )
