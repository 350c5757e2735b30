"""The review reports: a period's statistics as they were on the day the diagram's timer produced them.

A notice whose template names a ``report`` and its ``period`` (the weekly and monthly reports of
``reminders.bpmn``) stores, in the transaction of the step that raises it, the statistics of the last
full week or calendar month (``engine.report_files.last_period``) as a snapshot: the figures that day,
kept whatever happens to the cases later, one per period (a second notice of the same period reuses
it). The snapshot counts every case (it is the company's report); its drill-downs open the live case
lists, where each viewer's involved-staff rule applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select

from engine.report_files import last_period
from engine.statistics import Period, PeriodKind, Query, Statistics
from engine.store.db import Database
from engine.store.models import StatisticsReport

_R = StatisticsReport.__table__


@dataclass(frozen=True)
class StoredReport:
    id: int
    kind: str
    period_start: datetime
    period_end: datetime
    created_at: datetime
    figures: dict


def store(conn: Connection, kind: str, moment: datetime, zone: ZoneInfo, process: str | None) -> int:
    """The id of the report of the period before ``moment`` (stored now unless it already is), counting the
    cases of ``process`` (the complaints: the deployment's intake process)."""
    start, end = last_period(kind, moment, zone)
    found = conn.scalar(select(_R.c.id).where(_R.c.kind == kind, _R.c.period_start == start))
    if found is not None:
        return found
    figures = Statistics().figures_on(conn, Query(Period(PeriodKind(kind), start, end), process=process))
    return conn.execute(insert(_R).values(kind=kind, period_start=start, period_end=end, figures=figures,
                                          created_at=moment).returning(_R.c.id)).scalar_one()


def find_id(db: Database, kind: str, moment: datetime, zone: ZoneInfo) -> int | None:
    """The stored report of the period before ``moment`` (what a report notice links to)."""
    start, _end = last_period(kind, moment, zone)
    with db.reading() as conn:
        return conn.scalar(select(_R.c.id).where(_R.c.kind == kind, _R.c.period_start == start))


def listed(db: Database, limit: int = 200) -> list[StoredReport]:
    """The stored reports, newest period first (figures left out: the list shows the headline ones)."""
    with db.reading() as conn:
        rows = conn.execute(select(_R).order_by(_R.c.period_start.desc(), _R.c.kind).limit(limit)).all()
    return [StoredReport(r.id, r.kind, r.period_start, r.period_end, r.created_at, r.figures) for r in rows]


def get(db: Database, report_id: int) -> StoredReport | None:
    with db.reading() as conn:
        r = conn.execute(select(_R).where(_R.c.id == report_id)).first()
    return StoredReport(r.id, r.kind, r.period_start, r.period_end, r.created_at, r.figures) if r else None


def latest(db: Database, kind: str) -> StoredReport | None:
    with db.reading() as conn:
        found = conn.scalar(select(_R.c.id).where(_R.c.kind == kind).order_by(_R.c.period_start.desc()).limit(1))
    return get(db, found) if found is not None else None
