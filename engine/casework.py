"""One state change of one case: load it locked, let SpiffWorkflow run, write everything back.

Every service that changes a case goes through ``CaseWork``: the workflow state, the task
and timer mirrors, the outbox and the history event are written in the caller's single
transaction, and the case's version number guards against stale writers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine import clock as clock_module
from engine import (
    deadline_rollup,
    decision_tasks,
    history,
    review_reports,
    sandbox,
    spiff,
    step_deadlines,
    workflow_state,
)
from engine.catalogue import Meaning
from engine.clock import Clock
from engine.errors import CaseArchived, CaseSuspended, DecisionFailure, NotFound, StaleCase, WorkflowFailure
from engine.links import VERIFY
from engine.people import CUSTOMER, Assignment, Roster, assign, local_day, notice_recipients, record_fallback
from engine.repository import LoadedDeployment, Repository
from engine.store.enums import CaseStatus, EventKind
from engine.store.models import Case, LinkToken, Notification, Task, Timer
from engine.store.prepared import Prepared, PreparedQuery


@dataclass(frozen=True)
class Mirror:
    """What the ``task`` and ``timer`` tables hold of a case: its open tasks and pending timers.

    Each save leaves them exactly as the workflow stands, so the next step knows them without
    reading them back: it compares the workflow before and after and writes the difference.
    """

    tasks: dict[str, datetime | None] = field(default_factory=dict)  # open task id -> due
    # pending timer: spiff task id -> (element id, due): a cycle timer's next repetition is a new row
    timers: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    # The case data's values behind the statistics columns as the last save wrote them (None: not known, as
    # for a workflow loaded from the database): a step that changed none of them leaves the columns alone.
    figures: tuple | None = None
    # For the deadline roll-up (engine.step_deadlines): each pending deadline's step and task row; the fired
    # deadlines of open tasks and the parked timers (None: not known, as for a workflow loaded from the database).
    guards: dict[str, step_deadlines.Guard] = field(default_factory=dict)
    missed: dict[str, tuple[step_deadlines.Missed, ...]] | None = field(default_factory=dict)
    parked: frozenset[str] | None = frozenset()

    @classmethod
    def of(cls, snap: spiff.Snapshot) -> Mirror:
        return cls({str(t.id): None for t in snap.ready_user_tasks} | _due_of(snap),
                   {t.spiff_task_id: (t.element_id, t.due_at) for t in snap.timers},
                   guards=step_deadlines.guards(snap), missed=None, parked=None)


def _due_of(snap: spiff.Snapshot) -> dict[str, datetime]:
    """Each ready task's due time: its earliest waiting boundary timer."""
    ready = {str(t.id) for t in snap.ready_user_tasks}
    due_of: dict[str, datetime] = {}
    for timer in snap.timers:
        guarded = timer.attached_task_id
        if guarded in ready and (guarded not in due_of or timer.due_at < due_of[guarded]):
            due_of[guarded] = timer.due_at
    return due_of


@dataclass
class OpenCase:
    """A case loaded for change inside a write transaction."""

    row: CaseRow
    deployment: LoadedDeployment
    workflow: Any
    moment: datetime  # the time this change happens at (a timer's due time when firing late)
    notices: list[spiff.Notice] = field(default_factory=list)
    mirrored: Mirror = field(default_factory=Mirror)  # the tables as the last save left them (a new case: empty)
    also_told: list[str] = field(default_factory=list)  # fallback holders of tasks whose deadline raised the notices
    recounted: bool = False  # the caller judges the case's deadlines before and after (deadline_rollup.kept)

    @property
    def number(self) -> str:
        return self.row.number


class FrozenClock:
    """The engine's time for one step (a late timer fires as of when it fell due)."""

    def __init__(self, moment: datetime) -> None:
        self._moment = moment

    def now(self) -> datetime:
        return self._moment


@dataclass
class CaseRow:
    """The columns of a locked case that a step reads and writes (the big ``state`` only on demand)."""

    id: int
    number: str
    process_id: str
    deployment_id: int
    version: int
    status: str
    grade: str | None
    outcome: str | None
    involved_staff: list
    archived_at: datetime | None
    created_at: datetime  # the registration: what ``case_started()`` gives deployed expressions
    channel: str | None  # what the deadline roll-up counts a step's deadlines under, with the grade
    complaint_type: str | None
    product_name: str | None
    # The case's history stream head as read with the lock ((seq, hash); None: no event yet), which only
    # writers holding the lock move: the step's append needs not read it again.
    head: tuple[int, str] | None | history.Unread = history.UNREAD

    @classmethod
    def of(cls, case: Case) -> CaseRow:
        return cls(*(getattr(case, name) for name in _COLUMNS))


_CASE = Case.__table__
_COLUMNS = [name for name in CaseRow.__dataclass_fields__ if name != "head"]
LOCK_COLUMNS = (*(_CASE.c[name] for name in _COLUMNS), _CASE.c.head_seq, _CASE.c.head_hash)  # a CaseRow, its head
# FOR NO KEY UPDATE: steps exclude each other, yet rows inserted meanwhile that refer to the case (a linked
# item's notices, its tasks) take only the foreign key's KEY SHARE lock and do not wait for, or deadlock with, it.
_LOCK = select(*LOCK_COLUMNS).with_for_update(of=_CASE, key_share=True)
LOCK_BY_ID = PreparedQuery(_LOCK.where(_CASE.c.id == bindparam("case_id")))
LOCK_BY_NUMBER = PreparedQuery(_LOCK.where(_CASE.c.number == bindparam("number")))
_T = Task.__table__
LOCK_BY_TASK = PreparedQuery(_LOCK.where(
    _CASE.c.id == select(_T.c.case_id).where(_T.c.id == bindparam("task_id")).scalar_subquery()))


def lock_case(session: Session, *, number: str | None = None, case_id: int | None = None,
              task_id: str | None = None) -> CaseRow:
    """Lock the case row (by its number, its id or one of its tasks) for this transaction (PostgreSQL:
    FOR UPDATE; SQLite: BEGIN IMMEDIATE)."""
    conn = session.connection()
    if number is not None:
        found = LOCK_BY_NUMBER.first(conn, {"number": number})
    elif task_id is not None:
        found = LOCK_BY_TASK.first(conn, {"task_id": task_id})
        if found is None:
            raise NotFound(f"no task {task_id}")
    else:
        found = LOCK_BY_ID.first(conn, {"case_id": case_id})
    if found is None:
        raise NotFound(f"no case {number or case_id}")
    return case_row(found)


def case_row(found: Any) -> CaseRow:
    """The ``CaseRow`` of a locked read's first ``LOCK_COLUMNS``."""
    *columns, seq, digest = found[:len(LOCK_COLUMNS)]
    return CaseRow(*columns, head=(seq, digest) if seq else None)


class WorkflowCache:
    """Workflows as last committed (with their mirror), by case id and version, so a busy case skips deserialising.

    ``take`` removes the entry: the caller mutates the workflow, and only a committed save
    puts it back under the new version. Any other writer bumps the version in the database,
    so a stale entry can never match.
    """

    def __init__(self, size: int = 128) -> None:
        self._items: OrderedDict[int, tuple[int, Any, Mirror]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def take(self, case_id: int, version: int) -> tuple[Any, Mirror] | None:
        with self._lock:
            entry = self._items.pop(case_id, None)
        return entry[1:] if entry is not None and entry[0] == version else None

    def put(self, case_id: int, version: int, workflow: Any, mirror: Mirror) -> None:
        with self._lock:
            self._items[case_id] = (version, workflow, mirror)
            self._items.move_to_end(case_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class CaseWork:
    def __init__(self, repository: Repository, clock: Clock) -> None:
        self._repository, self._clock = repository, clock
        self._cache = WorkflowCache()
        # Run at the end of every save, in its transaction: (session, case, snapshot) -> None.
        self.after_save: list[Callable[[Session, OpenCase, spiff.Snapshot], None]] = []

    def forget(self, case_id: int) -> None:
        """Drop the case's kept workflow (a change made outside a step that its mirror cannot know of)."""
        self._cache.take(case_id, -1)

    @contextlib.contextmanager
    def spiff_step(self, moment: datetime, started: datetime | None = None) -> Iterator[list[spiff.Notice]]:
        """SpiffWorkflow sees ``moment`` as now and ``started`` as the case's registration; its errors become
        ``WorkflowFailure``."""
        with clock_module.using(FrozenClock(moment)), spiff.case_started_at(started), \
                spiff.collecting_notices() as notices:
            try:
                yield notices
            except SpiffWorkflowException as exc:
                task = getattr(exc, "task", None)
                element = getattr(task.task_spec, "bpmn_id", None) if task is not None else None
                if isinstance(exc, decision_tasks.DecisionFailed):
                    raise DecisionFailure(exc.code, exc.params, element=element) from exc
                cause = exc.__cause__ or exc.__context__
                limit = cause.limit if isinstance(cause, sandbox.LimitExceeded) else None
                raise WorkflowFailure(f"the diagram failed: {_describe(exc)}", element=element,
                                      limit=limit) from exc

    def record_incident(self, db: Any, actor: str, failure: WorkflowFailure, *, case_id: int | None = None,
                        number: str | None = None) -> None:
        """A person's step the diagram failed (rolled back, the person told): kept on the case's history.

        A failing script or expression (an error, a time or size limit) is the process owner's to fix:
        the event names the element, so it is found without the person's report.
        """
        with db.write() as session:
            row = lock_case(session, case_id=case_id) if case_id is not None else lock_case(session, number=number)
            history.append(session, case_number=row.number, at=self._clock.now(), actor=actor, kind=EventKind.INCIDENT,
                           payload={"reason": str(failure), "element": failure.element}, deployment_version=None)

    def open(self, session: Session, row: CaseRow, moment: datetime | None = None,
             expected_version: int | None = None, allow_archived: bool = False) -> OpenCase:
        if row.status == CaseStatus.ARCHIVED and not allow_archived:
            raise CaseArchived(row.number)
        if row.status == CaseStatus.SUSPENDED:
            raise CaseSuspended(row.number)
        if expected_version is not None and expected_version != row.version:
            raise StaleCase(row.number, expected_version, row.version)
        deployment = self._repository.load(row.deployment_id)
        cached = self._cache.take(row.id, row.version)
        if cached is None:
            spec, subs = deployment.specs(row.process_id)
            workflow = workflow_state.load(session.connection(), row.id, spec, subs, deployment.script_engine)
            cached = workflow, Mirror.of(spiff.snapshot(workflow))
        workflow, mirror = cached
        return OpenCase(row, deployment, workflow, moment or self._clock.now(), mirrored=mirror)

    @staticmethod
    def _customer_link(case: OpenCase, snap: Any, notice: Any, links: list[dict[str, Any]]) -> str | None:
        """A customer notice whose template names a link gets a single-use one, valid for the days the
        diagram gives what it answers (the message the case now waits for, or its open step)."""
        purpose = case.deployment.notice_links.get(notice.subject) if notice.role == CUSTOMER else None
        if purpose is None or purpose == VERIFY:  # verify: one per linked complaint (engine.improvements)
            return None
        days = case.deployment.catalogue.link_days(purpose, snap.messages,
                                                   [t.task_spec.bpmn_id for t in snap.ready_user_tasks])
        token = secrets.token_urlsafe(32)
        links.append({"id": token, "purpose": purpose, "created_at": case.moment,
                      "expires_at": case.moment + timedelta(days=days), "used_at": None})
        return token

    def save(self, session: Session, case: OpenCase, *, actor: str, kind: str, payload: dict,
             completed_task: tuple[str, str] | None = None,
             numbering: Callable[[Connection], dict[str, Any]] | None = None) -> None:
        """Write the workflow and everything mirrored from it, then append the history event.

        ``numbering`` (a registration) runs after the mirrors and before the workflow state, the case
        row and the history event, which carry the case's number: it takes the number there, so the
        daily counter's row (locked until the commit on PostgreSQL) is held for the last few statements.
        It returns the case's ``number`` and ``summary``, written with the case's update.
        """
        row, wf, moment = case.row, case.workflow, case.moment
        if row.id is None:
            raise RuntimeError("save() needs a flushed case row")
        involved = set(row.involved_staff or [])
        snap = spiff.snapshot(wf)
        conn = session.connection()
        mirror = Mirror.of(snap)
        roles, day = case.deployment.roles, local_day(moment, case.deployment.calendar.zone)
        roster: Roster = {}  # role members read once per step, whoever asks
        before = case.mirrored
        zone = deadline_rollup.zone_key(case.deployment.calendar.zone)
        grade = case.deployment.catalogue.value(snap.data, Meaning.GRADE) or row.grade
        # The roll-up: a step computes its deadlines' changes from what it writes (no read); a grade set on a
        # case with deadlines moves them all, so that rare step judges them before and after.
        regraded = not case.recounted and grade != row.grade and row.version > 0
        judged_before = deadline_rollup.judged_of(conn, row.id, zone) if regraded else []
        missed, parked = (None, None) if case.recounted or regraded else step_deadlines.known(
            conn, row.id, before.missed, before.parked, list(before.tasks))
        fallbacks = sync_tasks(conn, row, snap, mirror, before, moment, involved, completed_task, roles, day,
                               roster)
        closed_timers, opened_timers = sync_timers(conn, row, wf, snap, before, moment)
        # before the complaint number is taken (its counter's row stays locked to the commit)
        if regraded:
            deadline_rollup.settle(conn, judged_before, deadline_rollup.judged_of(conn, row.id, zone, grade=grade))
        elif missed is not None and parked is not None:
            closed_tasks = {task_id: "completed" if completed_task and task_id == completed_task[0] else "cancelled"
                            for task_id in before.tasks if task_id not in mirror.tasks}
            dims = {"grade": grade, "channel": row.channel, "complaint_type": row.complaint_type,
                    "product_name": row.product_name}
            found, missed, parked = step_deadlines.changes(
                zone, dims, moment, before.guards, mirror.guards, {k: due for k, (_e, due) in before.timers.items()},
                closed_tasks, set(mirror.tasks), closed_timers, opened_timers, missed, parked)
            deadline_rollup.step(conn, found)
            parked = parked & set(mirror.timers)
        links: list[dict[str, Any]] = []
        outbox = [{
            "case_id": row.id, "role": notice.role, "subject": notice.subject, "element_id": notice.element_id,
            "recipients": [] if notice.role == CUSTOMER else _with(
                notice_recipients(conn, notice.role, involved, roles, day, roster), case.also_told),
            "link_token": self._customer_link(case, snap, notice, links), "created_at": moment}
            for notice in spiff.notices_only(case.notices)] + [
            {**notice, "link_token": None} for notice, _payload in fallbacks]
        if outbox:
            INSERT_NOTIFICATION.run_many(conn, outbox)
        for period in {case.deployment.report_periods.get(notice.subject)
                       for notice in spiff.notices_only(case.notices)} - {None}:
            review_reports.store(conn, period, moment, case.deployment.calendar.zone,  # the report the notice carries
                                 case.deployment.catalogue.intake_process)
        numbered = numbering(conn) if numbering is not None else {}
        if links:  # after the numbering: a link names the case by its number
            conn.execute(insert(_LT), [{**link, "case_number": row.number} for link in links])
        data, facts = snap.data, case.deployment.catalogue  # which fields mean grade, tier, outcome
        raw = figure_values(facts, data)
        counted = numbered or raw is None or raw != case.mirrored.figures  # else the columns hold them already
        mirror = dataclasses.replace(mirror, figures=raw, missed=missed, parked=parked)
        values = {
            "state": workflow_state.write(conn, row.id, wf),
            "version": row.version + 1,
            "updated_at": moment,
            "grade": facts.value(data, Meaning.GRADE) or row.grade,
            "escalation_tier": int(facts.value(data, Meaning.TIER) or 0),
            "outcome": facts.value(data, Meaning.OUTCOME) or row.outcome,
            "waiting_for": sorted(snap.messages),
            "status": row.status,
            "archived_at": row.archived_at,
            **(figures(facts, data) if counted else {}),
        }
        if wf.completed:
            values.update(status=CaseStatus.ARCHIVED, archived_at=moment)
        payload = dict(payload)
        payload["notified"] = [{"role": n.role, "subject": n.subject} for n in spiff.notices_only(case.notices)]
        payload["open_tasks"] = sorted(t.task_spec.bpmn_id for t in snap.ready_user_tasks)
        payload["status"] = values["status"]
        # The step's event, then one per task given to a fallback person; the case row's update moves the head.
        if isinstance(row.head, history.Unread):
            row.head = history.read_head(conn, row.number)
        events, head = history.chained(
            row.head, [(actor, kind, payload), *(("system", EventKind.TASK_TO_FALLBACK, fallback)
                                                 for _notice, fallback in fallbacks)],
            case_number=row.number, at=self._clock.now(), deployment_version=case.deployment.version)
        values.update(head_seq=head[0], head_hash=head[1])
        params = {f"new_{key}": value for key, value in (values | numbered).items()}
        statement = SAVE_NEW_CASE if numbered else SAVE_CASE if counted else SAVE_CASE_ONLY
        if statement.run(conn, {"case_id": row.id, "expected": row.version,
                                "old_head": row.head[0] if row.head else 0, **params}) != 1:
            raise StaleCase(row.number, row.version, row.version + 1)
        history.INSERT_EVENT.run_many(conn, events)
        row.head = head
        for key, value in values.items():
            if key in CaseRow.__dataclass_fields__:
                setattr(row, key, value)
        case_id, version = row.id, values["version"]
        if values["status"] != CaseStatus.ARCHIVED:  # archived: no more steps, keep no cache
            session.info.setdefault("after_commit", []).append(lambda: self._cache.put(case_id, version, wf, mirror))
        for after_step in self.after_save:  # what the step asked besides notices (improvement items), same transaction
            after_step(session, case, snap)


# Prebuilt Core statements: save() runs on every step of every case, and building and
# caching an ORM statement each time costs more than SQLite spends executing it. Each runs
# once per step with all its rows (executemany), whatever the number of tasks or timers.
_TM, _C, _N = Timer.__table__, Case.__table__, Notification.__table__
SET_TASK_DUE = Prepared(update(_T).where(_T.c.id == bindparam("task_id")).values(
    due_at=bindparam("new_due", type_=_T.c.due_at.type)))
CLOSE_TASK = Prepared(update(_T).where(_T.c.id == bindparam("task_id"), _T.c.state == "open").values(
    state=bindparam("new_state", type_=_T.c.state.type), completed_by=bindparam("by", type_=_T.c.completed_by.type),
    completed_at=bindparam("at", type_=_T.c.completed_at.type)))
INSERT_TASK = Prepared(insert(_T), ("id", "case_id", "element_id", "title", "role", "assignee", "claimed", "state",
                                    "form", "due_at", "created_at"))
CLOSE_TIMER = Prepared(update(_TM).where(
    _TM.c.case_id == bindparam("case"), _TM.c.spiff_task_id == bindparam("spiff_task"), _TM.c.status == "pending",
).values(status=bindparam("new_status", type_=_TM.c.status.type),
         closed_at=bindparam("at", type_=_TM.c.closed_at.type)))
INSERT_TIMER = Prepared(insert(_TM), ("case_id", "spiff_task_id", "element_id", "name", "attached_to",
                                      "guarded_task_id", "interrupting", "due_at", "status", "created_at"))
INSERT_NOTIFICATION = Prepared(insert(_N), ("case_id", "role", "subject", "element_id", "recipients", "link_token",
                                            "created_at"))
_LT = LinkToken.__table__
# The counted facts of a case (engine/statistics.py): which field holds each, the forms' x-meaning says.
# The compensation counted is the one paid (the field of the step carrying the plan out), never a proposed
# plan's amount: a rejected plan, or one replaced by an escalation tier's, paid nothing.
FIGURES = {"customer_class": Meaning.CUSTOMER_CLASS, "defect_type": Meaning.DEFECT_TYPE,
           "department": Meaning.DEPARTMENT, "satisfaction": Meaning.SATISFACTION,
           "satisfaction_level": Meaning.SATISFACTION_LEVEL, "compensation": Meaning.COMPENSATION_PAID}
_STEP = ("state", "version", "updated_at", "grade", "escalation_tier", "outcome", "waiting_for", "status",
         "archived_at", "head_seq", "head_hash")
_SAVED = (*_STEP, *FIGURES)


# Each statistics column's Python type and (text) length, read once.
_FIGURE_TYPES = {column: (_C.c[column].type.python_type, getattr(_C.c[column].type, "length", None))
                 for column in FIGURES}
_SCALARS = (str, int, float, type(None))  # values that cannot change in place behind a kept reference


def figure_values(facts: Any, data: dict) -> tuple | None:
    """The data's values behind the statistics columns, to compare with the last save's; None when one of
    them is not a plain scalar (it could change in place, so the comparison would prove nothing)."""
    found = tuple(facts.value(data, meaning) for meaning in FIGURES.values())
    return found if all(type(value) in _SCALARS for value in found) else None


def figures(facts: Any, data: dict) -> dict[str, Any]:
    """The case's counted facts from its data, each typed for its column (a malformed value counts as none)."""
    found: dict[str, Any] = {}
    for column, meaning in FIGURES.items():
        value = facts.value(data, meaning)
        kind, length = _FIGURE_TYPES[column]
        try:
            found[column] = None if value is None or value == "" else kind(value)
        except (TypeError, ValueError):
            found[column] = None
        if isinstance(found[column], str):
            found[column] = found[column][:length]
    return found


def _save_case(columns: tuple[str, ...]) -> Prepared:
    """The step's update of its case row: guarded by the version and the history head the lock read."""
    return Prepared(update(_C).where(_C.c.id == bindparam("case_id"), _C.c.version == bindparam("expected"),
                                     _C.c.head_seq == bindparam("old_head")).values(
        {column: bindparam(f"new_{column}", type_=_C.c[column].type) for column in columns}))


SAVE_CASE = _save_case(_SAVED)
SAVE_CASE_ONLY = _save_case(_STEP)  # a step that changed none of the statistics columns' values
SAVE_NEW_CASE = _save_case((*_SAVED, "number", "summary"))  # a registration's, whose number is taken late


def sync_tasks(conn: Connection, row: CaseRow, snap: spiff.Snapshot, now: Mirror, before: Mirror, moment: datetime,
               involved: set[str], completed_task: tuple[str, str] | None,
               roles: dict[str, dict], day: date, roster: Roster | None = None) -> list[tuple[dict, dict]]:
    """Mirror the ready user tasks into ``task``: close those gone, move due times, open the new ones.

    Returns, for each new task given to a fallback role's person, the outbox row telling them and
    the history payload recording it.
    """
    closed = [{"task_id": task_id, "new_state": "completed", "by": completed_task[1], "at": moment}
              if completed_task and task_id == completed_task[0] else
              {"task_id": task_id, "new_state": "cancelled", "by": None, "at": moment}
              for task_id in before.tasks if task_id not in now.tasks]
    if closed:
        CLOSE_TASK.run_many(conn, closed)
    moved = [{"task_id": task_id, "new_due": due} for task_id, due in now.tasks.items()
             if task_id in before.tasks and due is not None and due != before.tasks[task_id]]
    if moved:
        SET_TASK_DUE.run_many(conn, moved)
    opened, fallbacks = [], []
    for task in snap.ready_user_tasks:
        task_id = str(task.id)
        if task_id in before.tasks:
            continue
        role = task.task_spec.lane
        chosen: Assignment = assign(conn, role, involved, roles, day, roster)
        if chosen.fallback_role is not None:
            fallbacks.append(record_fallback(row.id, task.task_spec.bpmn_id, task_id, role, chosen, moment))
        opened.append({
            "id": task_id, "case_id": row.id, "element_id": task.task_spec.bpmn_id,
            "title": task.task_spec.bpmn_name or task.task_spec.bpmn_id, "role": role,
            "assignee": chosen.assignee, "claimed": False, "state": "open",
            "form": spiff.user_task_form(task), "due_at": now.tasks[task_id], "created_at": moment,
        })
    if opened:
        INSERT_TASK.run_many(conn, opened)
    return fallbacks


def sync_timers(conn: Connection, row: CaseRow, wf: Any, snap: spiff.Snapshot, before: Mirror,
                moment: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Mirror the waiting timers into ``timer``, closing those no longer waited on as fired or cancelled;
    returns the closings and the new rows (what the deadline roll-up counts from).

    A cycle timer keeps its SpiffWorkflow task from one repetition to the next: a repetition that
    fell due is closed as fired and the next one gets a row of its own, so each fires once.
    """
    waiting = {t.spiff_task_id: t for t in snap.timers}
    closed = [{"case": row.id, "spiff_task": task_id, "at": moment,
               "new_status": "fired" if spiff.timer_fired(wf, task_id, element_id) else "cancelled"}
              for task_id, (element_id, _due) in before.timers.items() if task_id not in waiting]
    repeated = {task_id for task_id, (_element, due) in before.timers.items()
                if task_id in waiting and waiting[task_id].due_at != due}
    closed += [{"case": row.id, "spiff_task": task_id, "at": moment, "new_status": "fired"} for task_id in repeated]
    if closed:
        CLOSE_TIMER.run_many(conn, closed)
    opened = [{
        "case_id": row.id, "spiff_task_id": task_id, "element_id": t.element_id, "name": t.name,
        "attached_to": t.attached_to, "guarded_task_id": t.attached_task_id, "interrupting": t.interrupting,
        "due_at": t.due_at, "status": "pending", "created_at": moment,
    } for task_id, t in waiting.items() if task_id not in before.timers or task_id in repeated]
    if opened:
        INSERT_TIMER.run_many(conn, opened)
    return closed, opened


def _with(recipients: list[str], extra: list[str]) -> list[str]:
    """``recipients`` then those of ``extra`` not among them (the role's order first)."""
    return recipients + [name for name in extra if name not in recipients]


def _describe(exc: SpiffWorkflowException) -> str:
    task = getattr(exc, "task", None)
    where = f" at {task.task_spec.bpmn_id}" if task is not None and hasattr(task.task_spec, "bpmn_id") else ""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, sandbox.LimitExceeded):  # the element's code ran out of time or size: say so first
        return f"{cause}{where}"
    return f"{exc}{where}"
