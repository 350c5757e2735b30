"""The daily roll-up of deadline outcomes (``deadline_day``): what the on-time rate of the statistics and the
compliance report read, so that they cost what the answer holds (days × steps × roles), not what the period
holds (every deadline with its guarded task: about 400,000 rows for a year of 100,000 complaints).

A deadline is judged as ``engine.reports._outcome`` does: missed when its timer fired, met when its guarded
step was completed by the due time, pending while it waits, nothing otherwise (a step another path
cancelled, a timer held while its case is suspended). Each is counted here, per calendar day of its due
time (in the calendar's zone of the case's version), step (the guarded element's id, as data), role, for
the whole (``dim`` "") and for each value of the case columns the statistics filter by. For the
compliance report's worst lateness a row also keeps the greatest lateness of its missed deadlines whose
step was closed, and the earliest due time of those whose step is still open (late "until now").

Each step appends what it changes as ``deadline_delta`` rows (``step``: computed by the step from the rows it
writes, ``engine.step_deadlines``; one INSERT, none when nothing changed, no read of the case's deadlines).
The rare changes outside a step (a suspension, a resumption, a cancellation, a parked timer, a correction, a
move back, a version migration, a grade set, retention's purge) judge the case's deadlines before and after
(``kept``, ``forget``) and append the difference. No step updates a shared row, so completions and timer
firings of one step on one day never queue on a lock. The scheduler's lease holder folds the deltas into
``deadline_day`` (``fold``: each batch deleted and added in one short transaction; on PostgreSQL
``SKIP LOCKED``, so two folders never count a delta twice).
Readers add the deltas not folded yet (a few minutes' worth), so every answer is exact at any moment. A
greatest or earliest value taken away is computed again from that day's deadlines of the row at fold time,
and by a reader while such a delta waits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, bindparam, case, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from engine.access import not_involved
from engine.store.db import Database
from engine.store.enums import TaskState, TimerStatus
from engine.store.models import Case, DeadlineDay, DeadlineDelta, Deployment, InvolvedPerson, Task, Timer
from engine.store.prepared import Prepared

ALL = ""  # the dimension and value of the whole
DIMENSIONS = ("grade", "channel", "complaint_type", "product_name")  # the statistics' filter columns
DEFAULT_ZONE = "Asia/Shanghai"  # engine.calendar.CalendarConfig's default
_SEPARATORS = ("-", " ", "+", "(", ")", ".")
_DD, _DL, _TM, _C, _T = DeadlineDay.__table__, DeadlineDelta.__table__, Timer.__table__, Case.__table__, Task.__table__
_KEY = ("zone", "dim", "value", "day", "step", "role")
BATCH = 5000
_APPEND = Prepared(_DL.insert(), tuple(column.key for column in _DL.c if not column.primary_key))


def contact_key(contact: str | None) -> str | None:
    """The customer's contact as the repeat complaints compare it: separators dropped, lower case."""
    if contact is None or contact == "":
        return None
    for separator in _SEPARATORS:
        contact = contact.replace(separator, "")
    return contact.lower()[:200]


@dataclass(frozen=True)
class Judged:
    """What one decided deadline adds to the roll-up."""

    zone: str
    day: date
    step: str
    role: str
    title: str
    dims: tuple[tuple[str, str], ...]  # (column, value) for each filter column the case has a value in
    outcome: str  # met | missed | pending
    late: float | None = None  # missed, its step closed: seconds late
    open_due: datetime | None = None  # missed, its step still open: its due time

    def rows(self) -> Iterator[tuple]:
        yield (self.zone, ALL, ALL, self.day, self.step, self.role)
        for dim, value in self.dims:
            yield (self.zone, dim, value, self.day, self.step, self.role)


def judge(r: Any, zone: str) -> Judged | None:  # noqa: ANN401
    """``r``'s outcome as ``engine.reports._outcome`` decides it, or None (it judges nothing)."""
    if r.status == TimerStatus.FIRED:
        outcome = "missed"
    elif r.status == TimerStatus.PENDING:
        outcome = "pending"
    elif r.state == TaskState.COMPLETED and r.completed_at is not None and r.completed_at <= r.due_at:
        outcome = "met"
    else:
        return None
    late = open_due = None
    if outcome == "missed":
        if r.completed_at is not None:
            late = (r.completed_at - r.due_at).total_seconds()
        else:
            open_due = r.due_at
    dims = tuple((dim, str(getattr(r, dim))) for dim in DIMENSIONS if getattr(r, dim) is not None)
    day = r.due_at.astimezone(ZoneInfo(zone)).date()
    return Judged(zone, day, r.attached_to, r.role or "", r.title or "", dims, outcome, late, open_due)


_COLUMNS = (_TM.c.id, _TM.c.due_at, _TM.c.status, _TM.c.attached_to, _T.c.role, _T.c.title,
            _T.c.state, _T.c.completed_at, *(_C.c[dim] for dim in DIMENSIONS))
_DEADLINES = select(*_COLUMNS).select_from(_TM.join(_C, _C.c.id == _TM.c.case_id).outerjoin(
    _T, _T.c.id == _TM.c.guarded_task_id)).where(_TM.c.attached_to.is_not(None))
_OF_CASE = _DEADLINES.where(_TM.c.case_id == bindparam("case_id"))


def zone_key(zone: Any) -> str:  # noqa: ANN401
    """The calendar zone's name (a ``ZoneInfo`` or a name)."""
    return getattr(zone, "key", None) or str(zone)


def deadline(zone: str, attached_to: str, due: datetime, role: str | None, title: str | None, status: str,
             state: str | None, completed_at: datetime | None, dims: dict[str, Any]) -> Judged | None:
    """What one timer row adds, from values a step knows without reading the row (``judge``'s rules)."""
    return judge(SimpleNamespace(status=status, state=state, completed_at=completed_at, due_at=due,
                                 attached_to=attached_to, role=role, title=title, **dims), zone)


def judged_of(conn: Connection, case_id: int, zone: Any = None, **columns: Any) -> list[Judged]:  # noqa: ANN401
    """Every deadline of the case judged as its rows stand (``columns``: case columns the transaction writes
    later, e.g. the grade a step sets): the rare changes (interventions, corrections, a grade set) compare
    this before and after, which costs a read of the case's deadlines."""
    if zone is None:
        calendar = conn.scalar(select(Deployment.calendar).join(Case, Case.deployment_id == Deployment.id)
                               .where(Case.id == case_id))
        zone = (calendar or {}).get("timezone") or DEFAULT_ZONE
    key = zone_key(zone)
    rows = conn.execute(_OF_CASE, {"case_id": case_id}).all()
    if columns:
        rows = [SimpleNamespace(**(r._asdict() | columns)) for r in rows]
    return [judged for judged in (judge(r, key) for r in rows) if judged is not None]


class kept:  # noqa: N801 (a context manager read like a statement)
    """``with kept(conn, case_id): ...``: the case's deadlines judged before and after the block, their
    difference appended. For rare changes made outside a step (suspension, resumption, cancellation, a parked
    timer, a correction, a move back): two reads of the case's deadlines, exact whatever the block does."""

    def __init__(self, conn: Connection, case_id: int, zone: Any = None, zone_after: Any = None) -> None:  # noqa: ANN401
        self._conn, self._case_id, self._zone = conn, case_id, zone
        self._zone_after = zone_after if zone_after is not None else zone  # a migration may move the calendar
        self._before: list[Judged] = []

    def __enter__(self) -> kept:
        self._before = judged_of(self._conn, self._case_id, self._zone)
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:  # noqa: ANN401
        if kind is None:
            settle(self._conn, self._before, judged_of(self._conn, self._case_id, self._zone_after))


def forget(conn: Connection, case_id: int) -> None:
    """Take the case's deadlines out of the roll-up before their rows go (retention's purge)."""
    settle(conn, judged_of(conn, case_id), [])


def settle(conn: Connection, before: Iterable[Judged], after: Iterable[Judged]) -> None:
    """Append the roll-up change from ``before`` to ``after`` (one INSERT, none when they are equal)."""
    old, new = Counter(before), Counter(after)
    _apply(conn, list((old - new).elements()), list((new - old).elements()))


def step(conn: Connection, changes: Iterable[tuple[Judged | None, Judged | None]]) -> None:
    """Append a step's changes (each deadline's judgement before and after it), computed by the step from what
    it writes (``engine.casework``): one INSERT, none when nothing changed; nothing is read."""
    changes = list(changes)
    settle(conn, (b for b, _ in changes if b is not None), (a for _, a in changes if a is not None))


def _apply(conn: Connection, taken: list[Judged], added: list[Judged]) -> None:
    if not taken and not added:
        return
    totals: dict[tuple, dict[str, Any]] = {}
    for judged, sign in [*((j, 1) for j in added), *((j, -1) for j in taken)]:
        for key in judged.rows():
            entry = totals.setdefault(key, {"met": 0, "missed": 0, "pending": 0, "late_max": None,
                                           "open_since": None, "title": ""})
            entry[judged.outcome] += sign
            if sign > 0:
                _widen(entry, judged)
                entry["title"] = entry["title"] or judged.title
    stale = {key for judged in taken if judged.outcome == "missed" for key in judged.rows()}
    deltas = [dict(zip(_KEY, key, strict=True)) | entry | {"stale": key in stale}
              for key, entry in sorted(totals.items())
              if key in stale or entry["met"] or entry["missed"] or entry["pending"]
              or entry["late_max"] is not None or entry["open_since"] is not None]
    if deltas:
        _APPEND.run_many(conn, deltas)  # appended only: nothing another step holds


def fold(conn: Connection, limit: int = BATCH) -> int:
    """Fold up to ``limit`` of the oldest deltas into ``deadline_day`` and delete them, in the caller's
    transaction (keep it short); returns how many were folded. The deltas are taken by one ``DELETE ...
    RETURNING`` whose ids are locked ``SKIP LOCKED`` on PostgreSQL: a concurrent folder takes others."""
    ids = select(_DL.c.id).order_by(_DL.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    taken = conn.execute(delete(_DL).where(_DL.c.id.in_(ids)).returning(*_DL.c)).all()
    if not taken:
        return 0
    totals: dict[tuple, dict[str, Any]] = {}
    stale: set[tuple] = set()
    for row in taken:
        key = tuple(getattr(row, name) for name in _KEY)
        entry = totals.setdefault(key, {"met": 0, "missed": 0, "pending": 0, "late_max": None,
                                        "open_since": None, "title": ""})
        _merge(entry, row)
        if row.stale:
            stale.add(key)
    _upsert(conn, totals)
    if stale:
        _refresh(conn, sorted(stale))
    return len(taken)


def _merge(entry: dict[str, Any], row: Any) -> None:  # noqa: ANN401
    """Add one delta (or a grouped sum of them) to ``entry``: counts summed, lateness widened, a title kept."""
    for name in ("met", "missed", "pending"):
        entry[name] += int(getattr(row, name) or 0)
    _widen(entry, SimpleNamespace(late=row.late_max, open_due=row.open_since))
    entry["title"] = entry["title"] or row.title or ""


class Folder:
    """The scheduler's duty that folds the appended deltas into ``deadline_day``, a batch per transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def fold(self) -> int:
        """Fold every delta there is now (each batch its own short transaction); returns how many."""
        total = 0
        while True:
            with self._db.write() as session:
                folded = fold(session.connection())
            total += folded
            if folded < BATCH:
                return total


def _widen(entry: dict[str, Any], judged: Any) -> None:  # noqa: ANN401
    if judged.late is not None and (entry["late_max"] is None or judged.late > entry["late_max"]):
        entry["late_max"] = judged.late
    if judged.open_due is not None and (entry["open_since"] is None or judged.open_due < entry["open_since"]):
        entry["open_since"] = judged.open_due


def _upsert(conn: Connection, totals: dict[tuple, dict[str, Any]]) -> None:
    """Add the counts, each key's row locked in one order (two steps never wait on each other crosswise)."""
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_DD)
    new = insert.excluded
    statement = insert.on_conflict_do_update(index_elements=list(_KEY), set_={
        "met": _DD.c.met + new.met, "missed": _DD.c.missed + new.missed, "pending": _DD.c.pending + new.pending,
        "title": case((_DD.c.title == "", new.title), else_=_DD.c.title),
        "late_max": case((new.late_max.is_(None), _DD.c.late_max), (_DD.c.late_max.is_(None), new.late_max),
                         (new.late_max > _DD.c.late_max, new.late_max), else_=_DD.c.late_max),
        "open_since": case((new.open_since.is_(None), _DD.c.open_since), (_DD.c.open_since.is_(None), new.open_since),
                           (new.open_since < _DD.c.open_since, new.open_since), else_=_DD.c.open_since),
    })
    conn.execute(statement, [dict(zip(_KEY, key, strict=True)) | entry for key, entry in sorted(totals.items())])


def _bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return datetime.combine(day, time(), tzinfo=tz), datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)


def _extremes(conn: Connection, start: datetime, end: datetime, step: str, role: str, wanted: dict[str, str],
              viewer: str | None = None) -> tuple[float | None, datetime | None]:
    """The greatest lateness of a step's missed deadlines due in ``[start, end)`` whose step was closed, and the
    earliest due time of those still open: read from the step's fired timers (``ix_timer_step_status_due``)."""
    query = (select(_TM.c.due_at, _T.c.completed_at).select_from(_TM.join(_C, _C.c.id == _TM.c.case_id)
             .outerjoin(_T, _T.c.id == _TM.c.guarded_task_id))
             .where(_TM.c.attached_to == step, _TM.c.status == TimerStatus.FIRED, _TM.c.due_at >= start,
                    _TM.c.due_at < end, func.coalesce(_T.c.role, "") == role, *_case_filters(wanted)))
    if viewer is not None:
        query = query.where(not_involved(_TM.c.case_id, viewer))
    late_max = open_since = None
    for due, done in conn.execute(query):
        if done is not None:
            late = (done - due).total_seconds()
            late_max = late if late_max is None or late > late_max else late_max
        elif open_since is None or due < open_since:
            open_since = due
    return late_max, open_since


def _refresh(conn: Connection, keys: list[tuple]) -> None:
    """The greatest lateness and earliest open due time of ``keys``' rows, again from their day's deadlines."""
    for zone, dim, value, day, step, role in keys:
        late_max, open_since = _extremes(conn, *_bounds(day, zone), step, role, {} if dim == ALL else {dim: value})
        conn.execute(update(_DD).where(*(_DD.c[name] == part for name, part in zip(
            _KEY, (zone, dim, value, day, step, role), strict=True))).values(late_max=late_max, open_since=open_since))


def rebuild(conn: Connection) -> int:
    """The roll-up again from every deadline (a migration's backfill, a bulk load): returns the rows judged."""
    conn.execute(delete(_DL))
    conn.execute(delete(_DD))
    zones = {dep_id: (calendar or {}).get("timezone") or DEFAULT_ZONE
             for dep_id, calendar in conn.execute(select(Deployment.id, Deployment.calendar))}
    query = _DEADLINES.add_columns(_C.c.deployment_id).order_by(_TM.c.id)
    totals: dict[tuple, dict[str, Any]] = {}
    judged_count = 0
    for r in conn.execute(query).all():
        judged = judge(r, zones.get(r.deployment_id, DEFAULT_ZONE))
        if judged is None:
            continue
        judged_count += 1
        for key in judged.rows():
            entry = totals.setdefault(key, {"met": 0, "missed": 0, "pending": 0, "late_max": None,
                                           "open_since": None, "title": ""})
            entry[judged.outcome] += 1
            _widen(entry, judged)
            entry["title"] = entry["title"] or judged.title
    rows = [dict(zip(_KEY, key, strict=True)) | entry for key, entry in sorted(totals.items())]
    for start in range(0, len(rows), BATCH):
        conn.execute(_DD.insert(), rows[start:start + BATCH])
    return judged_count


def fill_contact_keys(conn: Connection, contacts: Iterable[tuple[int, str | None]]) -> None:
    """``case.contact_key`` of each (case id, contact)."""
    rows = [{"cid": case_id, "new_key": contact_key(contact)} for case_id, contact in contacts]
    statement = update(_C).where(_C.c.id == bindparam("cid")).values(contact_key=bindparam("new_key"))
    for start in range(0, len(rows), BATCH):
        conn.execute(statement, rows[start:start + BATCH])


# --- reading -------------------------------------------------------------------------------------------------

@dataclass
class StepFigures:
    """One step and role of a period, from the roll-up."""

    step: str
    role: str
    title: str
    met: int = 0
    missed: int = 0
    pending: int = 0
    late_max: float | None = None
    open_since: datetime | None = None

    def worst_late(self, now: datetime) -> float | None:
        """Seconds, as the compliance report's ``max((done or now) - due)`` over the missed ones."""
        if not self.missed:
            return None
        found = [late for late in (self.late_max, (now - self.open_since).total_seconds()
                                   if self.open_since is not None else None) if late is not None]
        return max(found) if found else None


def zone_of(conn: Connection, start: datetime, end: datetime) -> str | None:
    """The roll-up's zone when ``[start, end)`` is whole days of it, else None (answer from the rows)."""
    zone = getattr(start.tzinfo, "key", None)
    if not zone:
        return None
    tz = ZoneInfo(zone)
    if any(moment.astimezone(tz).timetz().replace(tzinfo=None) != time() for moment in (start, end)):
        return None
    # the two ends of the key's first column, each one index probe (SQLite optimises a lone min or max only)
    ends = [conn.scalar(select(extreme(table.c.zone))) for table in (_DD, _DL) for extreme in (func.min, func.max)]
    return zone if all(end in (None, zone) for end in ends) else None


def step_figures(conn: Connection, start: datetime, end: datetime, filters: dict[str, str],
                 viewer: str | None, extremes: bool = True) -> list[StepFigures] | None:
    """Each step and role of the deadlines due in ``[start, end)`` of cases whose columns equal ``filters``,
    never counting a case ``viewer`` is involved in; None when the roll-up cannot answer exactly (more
    than one filter, a period not made of the zone's days). ``extremes``: the worst lateness is wanted too,
    read again from the step's missed deadlines where one of the viewer's own held it."""
    wanted = {dim: value for dim, value in filters.items() if value}
    if len(wanted) > 1 or any(dim not in DIMENSIONS for dim in wanted):
        return None
    zone = zone_of(conn, start, end)
    if zone is None:
        return None
    dim, value = next(iter(wanted.items())) if wanted else (ALL, ALL)
    tz = ZoneInfo(zone)
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    found: dict[tuple[str, str], StepFigures] = {}
    stale: set[tuple[str, str]] = set()
    for table in (_DD, _DL):  # the folded days, then the deltas not folded yet (one snapshot)
        marked = func.max(case((_DL.c.stale, 1), else_=0)) if table is _DL else literal(0)
        for row in conn.execute(
                select(table.c.step, table.c.role, func.max(table.c.title).label("title"),
                       func.sum(table.c.met).label("met"), func.sum(table.c.missed).label("missed"),
                       func.sum(table.c.pending).label("pending"), func.max(table.c.late_max).label("late_max"),
                       func.min(table.c.open_since).label("open_since"), marked.label("stale"))
                .where(table.c.zone == zone, table.c.dim == dim, table.c.value == value, table.c.day >= first,
                       table.c.day < last)
                .group_by(table.c.step, table.c.role)):
            figures = found.setdefault((row.step, row.role), StepFigures(row.step, row.role, ""))
            entry = {"met": figures.met, "missed": figures.missed, "pending": figures.pending,
                     "late_max": figures.late_max, "open_since": figures.open_since, "title": figures.title}
            _merge(entry, row)
            figures.met, figures.missed, figures.pending = entry["met"], entry["missed"], entry["pending"]
            figures.late_max, figures.open_since, figures.title = entry["late_max"], entry["open_since"], entry["title"]
            if row.stale:
                stale.add((row.step, row.role))
    unsure = _subtract(conn, found, start, end, wanted, viewer, extremes) if viewer is not None else set()
    if extremes:  # a missed deadline taken away by a delta not folded yet: its row's extremes read again
        for key in sorted(unsure | stale):
            found[key].late_max, found[key].open_since = _extremes(conn, start, end, *key, wanted, viewer)
    return sorted((f for f in found.values() if f.met or f.missed or f.pending), key=lambda f: (f.step, f.role))


def _case_filters(wanted: dict[str, str]) -> list[ColumnElement[bool]]:
    return [_C.c[dim] == value for dim, value in wanted.items()]


def _subtract(conn: Connection, found: dict[tuple[str, str], StepFigures], start: datetime, end: datetime,
              wanted: dict[str, str], viewer: str, extremes: bool) -> set[tuple[str, str]]:
    """Take the viewer's own cases' deadlines out: one grouped count from ``involved_person`` by username to each
    case's timers (``ix_timer_case_status_due``) and their tasks. Returns the rows where one of them held the greatest
    lateness or earliest open due time (``extremes`` wanted), which a difference cannot give."""
    ip = InvolvedPerson.__table__
    outcome = _OUTCOME
    where = [ip.c.username == viewer, _TM.c.attached_to.is_not(None), _TM.c.due_at >= start, _TM.c.due_at < end]
    joined = _TM.join(ip, ip.c.case_id == _TM.c.case_id).outerjoin(_T, _T.c.id == _TM.c.guarded_task_id)
    if wanted:
        joined = joined.join(_C, _C.c.id == _TM.c.case_id)
    counted = conn.execute(select(_TM.c.attached_to, _T.c.role, *(func.sum(case((outcome == name, 1), else_=0))
                                                                   for name in ("met", "missed", "pending")))
                           .select_from(joined).where(*where, *_case_filters(wanted), outcome.is_not(None))
                           .group_by(_TM.c.attached_to, _T.c.role)).all()
    for step, task_role, met, missed, pending in counted:
        entry = found.setdefault((step, task_role or ""), StepFigures(step, task_role or "", ""))  # it was counted
        entry.met -= int(met or 0)
        entry.missed -= int(missed or 0)
        entry.pending -= int(pending or 0)
    unsure: set[tuple[str, str]] = set()
    if extremes:
        for step, task_role, due, done in conn.execute(
                select(_TM.c.attached_to, _T.c.role, _TM.c.due_at, _T.c.completed_at).select_from(joined)
                .where(*where, *_case_filters(wanted), _TM.c.status == TimerStatus.FIRED)):
            entry = found[(step, task_role or "")]
            if (done is not None and (done - due).total_seconds() == entry.late_max) or (
                    done is None and due == entry.open_since):
                unsure.add((step, task_role or ""))
    return unsure


# met | missed | pending, or NULL: ``engine.reports._outcome`` on the same columns
_OUTCOME = case(
    (_TM.c.status == TimerStatus.FIRED, "missed"),
    (_TM.c.status == TimerStatus.PENDING, "pending"),
    ((_T.c.state == TaskState.COMPLETED) & _T.c.completed_at.is_not(None) & (_T.c.completed_at <= _TM.c.due_at),
     "met"),
    else_=None,
)


def first_missed(conn: Connection, start: datetime, end: datetime, step: str, role: str, viewer: str | None,
                 limit: int) -> list[str]:
    """The cases of a step's first ``limit`` missed deadlines of the period, oldest due first: an index range
    of the step's fired timers (``ix_timer_step_status_due``), read until ``limit`` are found."""
    where = [_TM.c.attached_to == step, _TM.c.status == TimerStatus.FIRED, _TM.c.due_at >= start,
             _TM.c.due_at < end, func.coalesce(_T.c.role, "") == role]
    if viewer is not None:
        where.append(not_involved(_TM.c.case_id, viewer))
    return list(conn.scalars(
        select(_C.c.number).select_from(_TM.join(_C, _C.c.id == _TM.c.case_id)
                                        .outerjoin(_T, _T.c.id == _TM.c.guarded_task_id))
        .where(*where).order_by(_TM.c.due_at, _TM.c.id).limit(limit)))
