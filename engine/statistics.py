"""The statistics of a period (seeds 000–003): volume, on-time rate, satisfaction, shares, top defect
types, repeat complaints, escalations and compensation, next to the previous comparable period.

Everything is counted by the database in grouped queries over indexed columns of ``case``: the facts
a statistic counts are copied from the case data to their own columns at every step
(``engine.casework.figures``), each field found by its ``x-meaning`` in the deployed forms, never by
its name; every grouping is an index-only range scan of ``(created_at, column)``. A period's cases are
the complaints registered in it (the calendar's zone decides the days); its on-time rate is judged on
the deadlines that fell due in it (as the compliance report), read from their daily roll-up
(``engine.deadline_rollup``), and its repeat complaints are grouped by the customer's contact key
column. A ``viewer`` never counts a case they are involved in, so what they drill into is what they
were shown: the figures over all the period's cases (index-only scans) less those of the viewer's own
involved cases, read once through ``involved_person``'s index (``_Involved``). A ``NOT EXISTS`` in every
grouped query would probe that index once per case per figure, which cost a year of 100,000 complaints
more than a second on SQLite.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Select, case, exists, func, select

from engine import deadline_rollup
from engine.access import not_involved
from engine.reports import _outcome
from engine.store.db import Database
from engine.store.models import Case, InvolvedPerson, Task, Timer

STATISTICS_RIGHT = "statistics"  # the roles.toml setting that opens the statistics and the review reports
TOP_DEFECTS = 10
DRILL_LIMIT = 500


class PeriodKind(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    CUSTOM = "custom"


class Dimension(StrEnum):
    """A share of the period's complaints, by one indexed column of ``case`` (the value is its name)."""

    TYPE = "complaint_type"
    CHANNEL = "channel"
    GRADE = "grade"
    PRODUCT = "product_name"
    DEPARTMENT = "department"
    CUSTOMER_CLASS = "customer_class"
    DEFECT_TYPE = "defect_type"
    SATISFACTION_LEVEL = "satisfaction_level"
    SATISFACTION = "satisfaction"
    TIER = "escalation_tier"


SHARES = (Dimension.TYPE, Dimension.CHANNEL, Dimension.GRADE, Dimension.PRODUCT, Dimension.DEPARTMENT,
          Dimension.CUSTOMER_CLASS)
FILTERS = (Dimension.TYPE, Dimension.CHANNEL, Dimension.GRADE, Dimension.PRODUCT)
NONE = "-"  # the drill-down value of "not recorded"


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: datetime  # inclusive, midnight in the calendar's zone
    end: datetime  # exclusive

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    def previous(self) -> Period:
        """The comparable period before: the week, month or quarter before, or as many days before."""
        zone = self.start.tzinfo
        first = self.start.date()
        if self.kind == PeriodKind.MONTH:
            return Period(self.kind, _midnight(_add_months(first, -1), zone), self.start)
        if self.kind == PeriodKind.QUARTER:
            return Period(self.kind, _midnight(_add_months(first, -3), zone), self.start)
        days = (self.end.date() - first).days
        return Period(self.kind, _midnight(first - timedelta(days=days), zone), self.start)

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "from": self.start.date().isoformat(), "to": self.last_day.isoformat()}


def period_of(kind: PeriodKind, day: date, zone: ZoneInfo, last: date | None = None) -> Period:
    """The week (Monday–Sunday), month or quarter holding ``day``, or the days ``day``–``last`` (custom)."""
    if kind == PeriodKind.WEEK:
        first = day - timedelta(days=day.weekday())
        return Period(kind, _midnight(first, zone), _midnight(first + timedelta(days=7), zone))
    if kind == PeriodKind.MONTH:
        first = day.replace(day=1)
        return Period(kind, _midnight(first, zone), _midnight(_add_months(first, 1), zone))
    if kind == PeriodKind.QUARTER:
        first = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        return Period(kind, _midnight(first, zone), _midnight(_add_months(first, 3), zone))
    last = last or day
    if last < day:
        raise ValueError("the end of the period is before its start")
    return Period(kind, _midnight(day, zone), _midnight(last + timedelta(days=1), zone))


@dataclass(frozen=True)
class Query:
    period: Period
    filters: dict[Dimension, str] = field(default_factory=dict)  # FILTERS only; "" or absent: all
    viewer: str | None = None  # never counts the cases they are involved in
    process: str | None = None  # the complaints' process (the catalogue's intake), not the standing ones


@dataclass(frozen=True)
class Drill:
    """Which cases stand behind one figure: a column's value, the repeats, or a step's missed deadlines."""

    dimension: Dimension | None = None
    value: str = ""
    repeat: bool = False
    missed_step: str = ""
    compensated: bool = False


class Statistics:
    """The figures on the engine's database, or on a caller's connection (``figures_on``: no database needed)."""

    def __init__(self, db: Database | None = None) -> None:
        self._db = db

    def figures(self, query: Query, previous: bool = True) -> dict[str, Any]:
        """All the figures of the period (JSON-ready), with the headline figures of the period before."""
        with self._database().reading() as conn:
            return self.figures_on(conn, query, previous)

    def _database(self) -> Database:
        if self._db is None:
            raise RuntimeError("these statistics read on a caller's connection only")
        return self._db

    def figures_on(self, conn: Connection, query: Query, previous: bool = True) -> dict[str, Any]:
        """``figures`` read on ``conn`` (a report stored in the transaction that produces it)."""
        query = _uninvolved(conn, query)
        found = self._figures(conn, query)
        if previous:
            before = Query(query.period.previous(), query.filters, query.viewer, query.process)
            found["previous"] = self._headline(conn, before)
        return found

    def _headline(self, conn: Connection, query: Query) -> dict[str, Any]:
        """The figures compared with the period before: fewer queries than the whole set."""
        where, less = self._where(_everyone(query)), _Involved.of(conn, query)  # one index-only query per figure
        volume = (conn.scalar(select(func.count()).select_from(Case).where(*where)) or 0) - less.volume
        average = self._satisfaction_average(conn, where, less)[0]
        compensation = self._compensation(conn, where, less)["total"]
        rolled = _rolled_up(conn, query)
        if rolled is not None:
            judged = {"met": sum(r.met for r in rolled), "missed": sum(r.missed for r in rolled)}
        else:
            outcome = _outcome()
            counted = (select(outcome, func.count()).select_from(Timer)
                       .outerjoin(Task, Task.id == Timer.guarded_task_id)
                       .where(*_deadlines(query.period), outcome.in_(("met", "missed")), *_deadline_filters(query))
                       .group_by(outcome))
            if query.filters:
                counted = counted.join(Case, Case.id == Timer.case_id)
            judged = dict(conn.execute(counted).all())
        return {"period": query.period.as_dict(), "volume": int(volume),
                "on_time_rate": _rate(judged.get("met", 0), judged.get("missed", 0)),
                "satisfaction_average": average,
                "repeats": self._repeat_count(conn, query),
                "compensation": round(float(compensation), 2)}

    def _figures(self, conn: Connection, query: Query) -> dict[str, Any]:
        where, less = self._where(_everyone(query)), _Involved.of(conn, query)
        volume = (conn.scalar(select(func.count()).select_from(Case).where(*where)) or 0) - less.volume
        shares = {d.value: self._shares(conn, where, d, volume, less) for d in SHARES}
        defects = self._shares(conn, where, Dimension.DEFECT_TYPE, volume, less, recorded_only=True)[:TOP_DEFECTS]
        return {
            "period": query.period.as_dict(),
            "filters": {d.value: v for d, v in query.filters.items() if v},
            "volume": volume,
            "on_time": self._on_time(conn, query),
            "ratings": self._satisfaction(conn, where, less),
            "shares": shares,
            "defect_types": defects,
            "repeats": {"count": self._repeat_count(conn, query)},
            "escalations": [row for row in self._shares(conn, where, Dimension.TIER, volume, less)
                            if row["key"] != "0"],
            "compensation": self._compensation(conn, where, less),
        }

    def cases(self, query: Query, drill: Drill, limit: int = DRILL_LIMIT) -> list[dict[str, Any]]:
        """The cases behind one figure, newest first: number, status, grade, product, type, registered."""
        # A step's missed deadlines are those that fell due in the period, whenever their case was registered.
        where = _filters(query) if drill.missed_step else self._where(query)
        if drill.repeat:
            numbers = self._repeats(query).subquery()
            where.append(Case.number.in_(select(numbers.c.number)))
        if drill.missed_step:
            where.append(Case.id.in_(select(Timer.case_id).outerjoin(Task, Task.id == Timer.guarded_task_id).where(
                *_deadlines(query.period), Timer.attached_to == drill.missed_step, _outcome() == "missed")))
        if drill.compensated:
            where.append(Case.compensation > 0)
        if drill.dimension is not None:
            column = Case.__table__.c[drill.dimension.value]
            if drill.value == NONE:
                where.append(column.is_(None))
            else:
                where.append(column == _typed(drill.dimension, drill.value))
        rows = conn_rows(self._database(), select(
            Case.number, Case.status, Case.grade, Case.product_name, Case.complaint_type, Case.channel,
            Case.defect_type, Case.satisfaction, Case.created_at,
        ).where(*where).order_by(Case.created_at.desc(), Case.id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]

    @staticmethod
    def _where(query: Query) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [Case.created_at >= query.period.start, Case.created_at < query.period.end]
        where += _filters(query)
        return where

    @staticmethod
    def _shares(conn: Connection, where: list, dimension: Dimension, volume: int, less: _Involved,
                recorded_only: bool = False) -> list[dict[str, Any]]:
        column = Case.__table__.c[dimension.value]
        query = select(column, func.count()).where(*where).group_by(column)
        if recorded_only:
            query = query.where(column.is_not(None))
        counts = Counter(dict(conn.execute(query).all()))
        counts.subtract(less.count(dimension.value))
        found = [{"key": NONE if key is None else str(key), "count": int(count),
                  "share": round(count / volume, 4) if volume else None}
                 for key, count in counts.items() if count > 0 and (key is not None or not recorded_only)]
        return sorted(found, key=lambda r: (-r["count"], r["key"]))

    @staticmethod
    def _satisfaction_average(conn: Connection, where: list, less: _Involved) -> tuple[float | None, int]:
        """The average score and how many answered (a sum and a count less the involved cases': exact)."""
        total, answered = conn.execute(select(func.coalesce(func.sum(Case.satisfaction), 0),
                                              func.count(Case.satisfaction)).where(*where)).one()
        scores = [score for score in less.values("satisfaction") if score is not None]
        total, answered = int(total) - sum(scores), int(answered) - len(scores)
        return (round(total / answered, 2) if answered else None), answered

    def _satisfaction(self, conn: Connection, where: list, less: _Involved) -> dict[str, Any]:
        average, answered = self._satisfaction_average(conn, where, less)
        scores = Counter(dict(conn.execute(select(Case.satisfaction, func.count()).where(
            *where, Case.satisfaction.is_not(None)).group_by(Case.satisfaction)).all()))
        scores.subtract(less.count("satisfaction"))
        levels = Counter(dict(conn.execute(select(Case.satisfaction_level, func.count()).where(
            *where, Case.satisfaction_level.is_not(None)).group_by(Case.satisfaction_level)).all()))
        levels.subtract(less.count("satisfaction_level"))
        levels = {level: count for level, count in levels.items() if level is not None and count > 0}
        rated = sum(levels.values())
        return {"average": average, "answered": answered,
                "scores": [{"key": str(score), "count": int(count)} for score, count in sorted(
                    (score, count) for score, count in scores.items() if score is not None and count > 0)],
                "levels": [{"key": level, "count": int(count), "share": round(count / rated, 4)}
                           for level, count in sorted(levels.items(), key=lambda r: (-r[1], r[0]))]}

    @staticmethod
    def _compensation(conn: Connection, where: list, less: _Involved) -> dict[str, Any]:
        total, cases = conn.execute(select(func.coalesce(func.sum(Case.compensation), 0), func.count()).where(
            *where, Case.compensation > 0)).one()
        paid = [float(money) for money in less.values("compensation") if money is not None and money > 0]
        # + 0.0: a difference rounded to nothing is 0.0, never -0.0
        return {"total": round(float(total) - sum(paid), 2) + 0.0, "cases": int(cases) - len(paid)}

    def _on_time(self, conn: Connection, query: Query) -> dict[str, Any]:
        """The daily roll-up of the period's decided deadlines (``engine.deadline_rollup``) with its pending
        ones; where the roll-up cannot answer (several filters, hours not whole days), one grouped query over
        the period's deadlines, read from indexes: the timers' by due time, the guarded tasks' by id
        (``ix_task_judged``); a case row only when a filter asks for its columns."""
        rolled = _rolled_up(conn, query)
        if rolled is not None:
            return _on_time_of([(r.step, r.title or r.step, r.role, r.met, r.missed, r.pending) for r in rolled])
        outcome = _outcome()
        counts = [func.sum(case((outcome == name, 1), else_=0)) for name in ("met", "missed", "pending")]
        base = (select(Timer.attached_to, Task.role, func.min(Timer.guarded_task_id), *counts).select_from(Timer)
                .outerjoin(Task, Task.id == Timer.guarded_task_id)
                .where(*_deadlines(query.period), outcome.is_not(None), *_deadline_filters(query))
                .group_by(Timer.attached_to, Task.role))
        if query.filters:
            base = base.join(Case, Case.id == Timer.case_id)
        rows = conn.execute(base).all()
        titles = dict(conn.execute(select(Task.id, Task.title).where(Task.id.in_({r[2] for r in rows if r[2]}))).all())
        return _on_time_of([(step, titles.get(sample) or step, role or "", met, missed, pending)
                            for step, role, sample, met, missed, pending in rows])

    def _repeat_count(self, conn: Connection, query: Query) -> int:
        """Each group of the period's complaints with the same customer and product counts its size less one:
        a grouped count over ``ix_case_repeat`` (the contact key is a case column), no join, no sort."""
        groups = (select(func.count().label("n")).where(*self._where(query), Case.product_name.is_not(None),
                                                        Case.contact_key.is_not(None))
                  .group_by(Case.contact_key, Case.product_name).subquery())
        return int(conn.scalar(select(func.coalesce(func.sum(groups.c.n - 1), 0))) or 0)

    def _repeats(self, query: Query) -> Select:
        """Complaints of the period whose customer (contact, separators ignored) complained about the same
        product earlier in the period: each such complaint after the first is one repeat."""
        rank = func.row_number().over(partition_by=(Case.contact_key, Case.product_name),
                                      order_by=(Case.created_at, Case.id))
        ranked = (select(Case.number, rank.label("rank"))
                  .where(*self._where(query), Case.product_name.is_not(None), Case.contact_key.is_not(None))
                  .subquery())
        return select(ranked.c.number).where(ranked.c.rank > 1)


def _on_time_of(rows: list[tuple[str, str, str, int, int, int]]) -> dict[str, Any]:
    """The on-time figures of (step, title, role, met, missed, pending) rows: per step and role, per role, all."""
    steps = [{"step": step, "title": title, "role": role, "met": int(met), "missed": int(missed),
              "pending": int(pending), "rate": _rate(met, missed)}
             for step, title, role, met, missed, pending in rows]
    steps.sort(key=lambda r: (r["step"], r["role"]))
    roles: dict[str, dict[str, Any]] = {}
    for row in steps:
        entry = roles.setdefault(row["role"], {"role": row["role"], "met": 0, "missed": 0, "pending": 0})
        for key in ("met", "missed", "pending"):
            entry[key] += row[key]
    for entry in roles.values():
        entry["rate"] = _rate(entry["met"], entry["missed"])
    met, missed = sum(r["met"] for r in steps), sum(r["missed"] for r in steps)
    return {"rate": _rate(met, missed), "met": met, "missed": missed,
            "pending": sum(r["pending"] for r in steps), "steps": steps, "roles": sorted(
                roles.values(), key=lambda r: r["role"])}


def _rolled_up(conn: Connection, query: Query) -> list[deadline_rollup.StepFigures] | None:
    """The period's deadlines per step and role from the daily roll-up, or None where it cannot answer."""
    filters = {d.value: value for d, value in query.filters.items() if value and d in FILTERS}
    return deadline_rollup.step_figures(conn, query.period.start, query.period.end, filters, query.viewer,
                                        extremes=False)


_INVOLVED_COLUMNS = tuple(Case.__table__.c[d.value] for d in Dimension) + (Case.__table__.c.compensation,)


@dataclass(frozen=True)
class _Involved:
    """The viewer's involved cases of the period, with the columns the figures count: every figure is the
    one over all the period's cases less theirs (one read through ``ix_involved_person_username``)."""

    columns: dict[str, tuple] = field(default_factory=dict)  # column name -> its values, one per case
    volume: int = 0

    @classmethod
    def of(cls, conn: Connection, query: Query) -> _Involved:
        if query.viewer is None:
            return cls()
        rows = conn.execute(select(*_INVOLVED_COLUMNS).select_from(
            InvolvedPerson.__table__.join(Case, Case.id == InvolvedPerson.case_id)).where(
            InvolvedPerson.username == query.viewer, *Statistics._where(_everyone(query)))).all()
        values = list(zip(*rows, strict=True)) if rows else [() for _ in _INVOLVED_COLUMNS]
        return cls({column.name: column_values for column, column_values in zip(_INVOLVED_COLUMNS, values,
                                                                                 strict=True)}, len(rows))

    def values(self, column: str) -> tuple:
        return self.columns.get(column, ())

    def count(self, column: str) -> Counter:
        return Counter(self.values(column))


def _everyone(query: Query) -> Query:
    return replace(query, viewer=None)


def _uninvolved(conn: Connection, query: Query) -> Query:
    """``query`` without its viewer when they are involved in no case at all (most people): no per-row check."""
    if query.viewer is None or conn.scalar(select(exists().where(InvolvedPerson.username == query.viewer))):
        return query
    return replace(query, viewer=None)


def conn_rows(db: Database, query: Select) -> list:
    with db.reading() as conn:
        return conn.execute(query).all()


def _filters(query: Query) -> list[ColumnElement[bool]]:
    where = [Case.__table__.c[d.value] == value for d, value in query.filters.items() if value and d in FILTERS]
    if query.process is not None:
        where.append(Case.process_id == query.process)
    if query.viewer is not None:
        where.append(not_involved(Case.id, query.viewer))
    return where


def _deadline_filters(query: Query) -> list[ColumnElement[bool]]:
    """The filters of the period's deadlines: any process's (as the compliance report), the case's columns
    only when a filter names them, never a case the viewer is involved in."""
    where = [Case.__table__.c[d.value] == value for d, value in query.filters.items() if value and d in FILTERS]
    if query.viewer is not None:
        where.append(not_involved(Timer.case_id, query.viewer))
    return where


def _deadlines(period: Period) -> list[ColumnElement[bool]]:
    return [Timer.attached_to.is_not(None), Timer.due_at >= period.start, Timer.due_at < period.end]


def _typed(dimension: Dimension, value: str) -> Any:
    if dimension in (Dimension.SATISFACTION, Dimension.TIER):
        try:
            return int(value)
        except ValueError:
            return -1  # matches nothing
    return value


def _rate(met: int, missed: int) -> float | None:
    decided = int(met) + int(missed)
    return round(int(met) / decided, 4) if decided else None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _midnight(day: date, zone: Any) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


