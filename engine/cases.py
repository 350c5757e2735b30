"""Read a case as a person sees it: status, grade, tier, tasks, deadlines, notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.errors import NotAllowed, NotFound
from engine.store.db import Database
from engine.store.models import Case, Deployment, Notification, Task, Timer


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


class Cases:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, number: str, viewer: str | None = None) -> CaseView:
        """The case; ``viewer`` (a username) is refused when they are involved in it."""
        with self._db.read() as session:
            row = session.scalars(select(Case).where(Case.number == number)).one_or_none()
            if row is None:
                raise NotFound(f"no case {number}")
            if viewer is not None and viewer in (row.involved_staff or []):
                raise NotAllowed(f"{viewer} is involved in case {number} and may not see it")
            version = session.scalar(select(Deployment.version).where(Deployment.id == row.deployment_id))
            tasks = session.scalars(
                select(Task).where(Task.case_id == row.id, Task.state == "open").order_by(Task.created_at)
            ).all()
            timers = session.scalars(select(Timer).where(Timer.case_id == row.id).order_by(Timer.due_at)).all()
            notes = session.scalars(
                select(Notification).where(Notification.case_id == row.id).order_by(Notification.id)
            ).all()
            return CaseView(
                number=row.number, process_id=row.process_id, definition_version=version, version=row.version,
                status=row.status, grade=row.grade, escalation_tier=row.escalation_tier, outcome=row.outcome,
                channel=row.channel, complaint_type=row.complaint_type, summary=dict(row.summary or {}),
                waiting_for=tuple(row.waiting_for or ()),
                open_tasks=tuple(TaskSummary(t.id, t.element_id, t.title, t.role, t.assignee, t.due_at) for t in tasks),
                deadlines=tuple(Deadline(t.element_id, t.name, t.attached_to, t.due_at, t.status, t.interrupting)
                                for t in timers),
                notifications=tuple(NotificationView(n.role, tuple(n.recipients or ()), n.subject, n.element_id,
                                                     n.created_at) for n in notes),
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
