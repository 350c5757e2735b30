"""Deadline compliance: for a period, per step and role, how many deadlines were met or missed
and by how much, with the cases behind each figure; and a search over cases for auditors."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, exists, func, literal, select

from engine import deadline_rollup, defect_statistics
from engine.access import not_involved
from engine.clock import Clock
from engine.store.db import Database
from engine.store.models import Case, Deployment, InvolvedPerson, Task, Timer

MISSED_SHOWN = 20  # a summary names this many of a step's missed cases; the exports name them all


@dataclass(frozen=True)
class DeadlineOutcome:
    case_number: str
    deadline: str  # the timer's element id
    due_at: datetime
    outcome: str  # met | missed | pending
    done_at: datetime | None  # when the guarded step was completed
    margin: timedelta  # early (positive) for met, late (positive) for missed, late so far for pending overdue


@dataclass
class ComplianceRow:
    step: str  # the guarded task's element id
    step_title: str
    role: str | None
    met: list[DeadlineOutcome] = field(default_factory=list)
    missed: list[DeadlineOutcome] = field(default_factory=list)
    pending: list[DeadlineOutcome] = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        decided = len(self.met) + len(self.missed)
        return len(self.met) / decided if decided else None

    @property
    def worst_late(self) -> timedelta | None:
        return max((o.margin for o in self.missed), default=None)

    @property
    def median_late(self) -> timedelta | None:
        return statistics.median(o.margin for o in self.missed) if self.missed else None


@dataclass(frozen=True)
class ComplianceSummaryRow:
    """One step and role of the compliance report as counts, computed by the database."""

    step: str
    step_title: str
    role: str | None
    met: int
    missed: int
    pending: int
    worst_late: timedelta | None
    missed_cases: tuple[str, ...]  # the first MISSED_SHOWN missed cases, oldest deadline first

    @property
    def on_time_rate(self) -> float | None:
        decided = self.met + self.missed
        return self.met / decided if decided else None


@dataclass(frozen=True)
class ComplianceReport:
    start: datetime
    end: datetime
    rows: list[ComplianceRow]


@dataclass(frozen=True)
class CaseHit:
    number: str
    status: str
    grade: str | None
    outcome: str | None
    channel: str | None
    product_name: str | None
    escalation_tier: int
    version: int
    created_at: datetime
    archived_at: datetime | None


class Reports:
    def __init__(self, db: Database, clock: Clock, repository: Any = None) -> None:
        self._db, self._clock, self._repository = db, clock, repository

    def defect_types(self, start: datetime, end: datetime) -> list[tuple[str, int]]:
        """Cases per defect type recorded in ``[start, end)``, most frequent first (``engine.defect_statistics``)."""
        return defect_statistics.defect_types(self._db, self._repository, start, end)

    def compliance(self, start: datetime, end: datetime, viewer: str | None = None) -> ComplianceReport:
        """Deadlines that fell due in ``[start, end)``, each judged against its guarded step.

        A deadline is met when its step was completed by the due time, missed when the timer
        fired, pending while it has not come yet; a deadline whose step was cancelled by another
        path (e.g. an escalation) judges nothing and is left out. A ``viewer`` never sees the
        cases they are involved in.
        """
        now = self._clock.now()
        rows = self._deadlines(*_period(start, end, viewer), _outcome().is_not(None))
        grouped: dict[tuple[str, str | None], ComplianceRow] = {}
        for r in rows:
            outcome = _judge(r, now)
            if outcome is None:
                continue
            key = (r.attached_to, r.role)
            row = grouped.setdefault(key, ComplianceRow(r.attached_to, r.title or r.attached_to, r.role))
            getattr(row, outcome.outcome).append(outcome)
        return ComplianceReport(start, end, sorted(grouped.values(), key=lambda x: (x.step, x.role or "")))

    def compliance_summary(self, start: datetime, end: datetime, viewer: str | None = None
                           ) -> list[ComplianceSummaryRow]:
        """The report's figures per step and role, counted and compared by the database (see ``compliance``).

        One grouped query over the timers of the period (indexed by due time) and one for the
        first missed cases of each row: the page costs the same at 1,000 or 100,000 cases a month.
        """
        now = self._clock.now()
        with self._db.read() as session:
            rolled = self._rolled_up(session.connection(), start, end, viewer, now)
        if rolled is not None:
            return rolled
        outcome = _outcome()
        where = [*_period(start, end, viewer), outcome.is_not(None)]
        late = self._seconds_between(Timer.due_at, func.coalesce(Task.completed_at, literal(now, Timer.due_at.type)))
        counts = [func.sum(case((outcome == name, 1), else_=0)) for name in ("met", "missed", "pending")]
        grouped = (select(Timer.attached_to, Task.role, func.min(Task.title), *counts,
                          func.max(case((outcome == "missed", late), else_=None)))
                   .select_from(Timer).outerjoin(Task, Task.id == Timer.guarded_task_id).where(*where)
                   .group_by(Timer.attached_to, Task.role))
        rank = func.row_number().over(partition_by=(Timer.attached_to, Task.role), order_by=(Timer.due_at, Timer.id))
        ranked = (select(Timer.attached_to, Task.role, Case.number, rank.label("rank"))
                  .select_from(Timer).join(Case, Case.id == Timer.case_id)
                  .outerjoin(Task, Task.id == Timer.guarded_task_id).where(*where, outcome == "missed").subquery())
        with self._db.read() as session:
            figures = session.execute(grouped).all()
            missed: dict[tuple[str, str | None], list[str]] = {}
            for step, role, number in session.execute(
                    select(ranked.c.attached_to, ranked.c.role, ranked.c.number)
                    .where(ranked.c.rank <= MISSED_SHOWN).order_by(ranked.c.rank)):
                missed.setdefault((step, role), []).append(number)
        rows = [ComplianceSummaryRow(step, title or step, role, int(met), int(miss), int(pending),
                                     timedelta(seconds=max(0.0, float(worst))) if worst is not None else None,
                                     tuple(missed.get((step, role), ())))
                for step, role, title, met, miss, pending, worst in figures]
        return sorted(rows, key=lambda r: (r.step, r.role or ""))

    @staticmethod
    def _rolled_up(conn: Connection, start: datetime, end: datetime, viewer: str | None, now: datetime
                   ) -> list[ComplianceSummaryRow] | None:
        """The summary from the daily roll-up (``engine.deadline_rollup``): its rows for the counts and the
        worst lateness, the pending timers of the period, and per row the first missed cases read from
        the step's fired timers in due order; None where the roll-up cannot answer (hours not whole days)."""
        if viewer is not None and not conn.scalar(select(exists().where(InvolvedPerson.username == viewer))):
            viewer = None  # involved in nothing (most auditors): nothing to take out
        figures = deadline_rollup.step_figures(conn, start, end, {}, viewer)
        if figures is None:
            return None
        rows = []
        for f in figures:
            worst = f.worst_late(now)
            missed = deadline_rollup.first_missed(conn, start, end, f.step, f.role, viewer, MISSED_SHOWN
                                                  ) if f.missed else []
            rows.append(ComplianceSummaryRow(
                f.step, f.title or f.step, f.role or None, f.met, f.missed, f.pending,
                timedelta(seconds=max(0.0, worst)) if worst is not None else None, tuple(missed)))
        return rows

    def _seconds_between(self, earlier: ColumnElement, later: ColumnElement) -> ColumnElement:
        if self._db.dialect == "postgresql":
            return func.extract("epoch", later - earlier)
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0

    def case_deadlines(self, number: str) -> dict[tuple[str, datetime], DeadlineOutcome]:
        """Each judged deadline of one case, by (element id, due time): met early by / missed late by."""
        now = self._clock.now()
        rows = self._deadlines(Case.number == number)
        judged = {}
        for r in rows:
            outcome = _judge(r, now)
            if outcome is not None:
                judged[(r.element_id, r.due_at)] = outcome
        return judged

    def _deadlines(self, *where: Any) -> list:
        """Deadlines that guard a step, with that step's role and completion, oldest due first."""
        with self._db.read() as session:
            return session.execute(
                select(Timer.element_id, Timer.due_at, Timer.status, Timer.attached_to, Case.number,
                       Task.title, Task.role, Task.state, Task.completed_at)
                .join(Case, Case.id == Timer.case_id)
                .outerjoin(Task, Task.id == Timer.guarded_task_id)
                .where(Timer.attached_to.is_not(None), *where)
                .order_by(Timer.due_at)
            ).all()

    def search(self, *, number: str = "", product: str = "", grade: str = "", outcome: str = "",
               status: str = "", created_from: datetime | None = None, created_to: datetime | None = None,
               limit: int = 200, viewer: str | None = None) -> list[CaseHit]:
        """Cases by number (part of it), product, grade, outcome, status and registration dates, newest first.

        A ``viewer`` never finds the cases they are involved in.
        """
        query = (select(Case.number, Case.status, Case.grade, Case.outcome, Case.channel, Case.product_name,
                        Case.escalation_tier, Deployment.version, Case.created_at, Case.archived_at)
                 .join(Deployment, Deployment.id == Case.deployment_id))
        if viewer is not None:
            query = query.where(not_involved(Case.id, viewer))
        if number:
            query = query.where(Case.number.like(f"%{_escape(number.strip().upper())}%", escape="\\"))
        if product:
            # The product column only: a LIKE over the whole summary would let a searcher recover its
            # other fields (the contact's digits) one character at a time.
            query = query.where(Case.product_name.like(f"%{_escape(product.strip())}%", escape="\\"))
        for column, value in ((Case.grade, grade), (Case.outcome, outcome), (Case.status, status)):
            if value:
                query = query.where(column == value)
        if created_from is not None:
            query = query.where(Case.created_at >= created_from)
        if created_to is not None:
            query = query.where(Case.created_at < created_to)
        with self._db.read() as session:
            found = session.execute(query.order_by(Case.created_at.desc()).limit(limit)).all()
        return [CaseHit(*row) for row in found]


def _outcome() -> ColumnElement:
    """met | missed | pending, or NULL for a deadline whose step another path cancelled (see ``compliance``)."""
    return case(
        (Timer.status == "fired", "missed"),
        (Timer.status == "pending", "pending"),
        (and_(Task.state == "completed", Task.completed_at.is_not(None), Task.completed_at <= Timer.due_at), "met"),
        else_=None,
    )


def _period(start: datetime, end: datetime, viewer: str | None) -> list[ColumnElement[bool]]:
    where = [Timer.attached_to.is_not(None), Timer.due_at >= start, Timer.due_at < end]  # deadlines of a step
    return where if viewer is None else [*where, not_involved(Timer.case_id, viewer)]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _judge(r, now: datetime) -> DeadlineOutcome | None:  # noqa: ANN001
    base = {"case_number": r.number, "deadline": r.element_id, "due_at": r.due_at, "done_at": r.completed_at}
    if r.status == "fired":
        late = (r.completed_at or now) - r.due_at
        return DeadlineOutcome(outcome="missed", margin=max(late, timedelta(0)), **base)
    if r.status == "pending":
        return DeadlineOutcome(outcome="pending", margin=max(now - r.due_at, timedelta(0)), **base)
    if r.state == "completed" and r.completed_at is not None and r.completed_at <= r.due_at:
        return DeadlineOutcome(outcome="met", margin=r.due_at - r.completed_at, **base)
    return None
