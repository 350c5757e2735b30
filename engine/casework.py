"""One state change of one case: load it locked, let SpiffWorkflow run, write everything back.

Every service that changes a case goes through ``CaseWork``: the workflow state, the task
and timer mirrors, the outbox and the history event are written in the caller's single
transaction, and the case's version number guards against stale writers.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine import clock as clock_module
from engine import history, spiff
from engine.clock import Clock
from engine.errors import CaseArchived, NotFound, StaleCase, WorkflowFailure
from engine.people import pick_assignee, role_members
from engine.repository import LoadedDeployment, Repository
from engine.store.models import Case, Notification, Task, Timer


@dataclass
class OpenCase:
    """A case loaded for change inside a write transaction."""

    row: CaseRow
    deployment: LoadedDeployment
    workflow: Any
    moment: datetime  # the time this change happens at (a timer's due time when firing late)
    notices: list[spiff.Notice] = field(default_factory=list)

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

    @classmethod
    def of(cls, case: Case) -> CaseRow:
        return cls(*(getattr(case, name) for name in cls.__dataclass_fields__))


_CASE = Case.__table__
_LOCK = select(*(_CASE.c[name] for name in CaseRow.__dataclass_fields__)).with_for_update()
LOCK_BY_ID = _LOCK.where(_CASE.c.id == bindparam("case_id"))
LOCK_BY_NUMBER = _LOCK.where(_CASE.c.number == bindparam("number"))
CASE_STATE = select(_CASE.c.state).where(_CASE.c.id == bindparam("case_id"))


def lock_case(session: Session, *, number: str | None = None, case_id: int | None = None) -> CaseRow:
    """Lock the case row for this transaction (PostgreSQL: FOR UPDATE; SQLite: BEGIN IMMEDIATE)."""
    conn = session.connection()
    if number is not None:
        found = conn.execute(LOCK_BY_NUMBER, {"number": number}).first()
    else:
        found = conn.execute(LOCK_BY_ID, {"case_id": case_id}).first()
    if found is None:
        raise NotFound(f"no case {number or case_id}")
    return CaseRow(*found)


class WorkflowCache:
    """Workflows as last committed, by case id and version, so a busy case skips deserialising.

    ``take`` removes the entry: the caller mutates the workflow, and only a committed save
    puts it back under the new version. Any other writer bumps the version in the database,
    so a stale entry can never match.
    """

    def __init__(self, size: int = 128) -> None:
        self._items: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def take(self, case_id: int, version: int) -> Any | None:
        with self._lock:
            entry = self._items.pop(case_id, None)
        return entry[1] if entry is not None and entry[0] == version else None

    def put(self, case_id: int, version: int, workflow: Any) -> None:
        with self._lock:
            self._items[case_id] = (version, workflow)
            self._items.move_to_end(case_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class CaseWork:
    def __init__(self, repository: Repository, clock: Clock) -> None:
        self._repository, self._clock = repository, clock
        self._cache = WorkflowCache()

    @contextlib.contextmanager
    def spiff_step(self, moment: datetime) -> Iterator[list[spiff.Notice]]:
        """SpiffWorkflow sees ``moment`` as now; its errors become ``WorkflowFailure``."""
        with clock_module.using(FrozenClock(moment)), spiff.collecting_notices() as notices:
            try:
                yield notices
            except SpiffWorkflowException as exc:
                raise WorkflowFailure(f"the diagram failed: {_describe(exc)}") from exc

    def open(self, session: Session, row: CaseRow, moment: datetime | None = None,
             expected_version: int | None = None, allow_archived: bool = False) -> OpenCase:
        if row.status == "archived" and not allow_archived:
            raise CaseArchived(row.number)
        if expected_version is not None and expected_version != row.version:
            raise StaleCase(row.number, expected_version, row.version)
        deployment = self._repository.load(row.deployment_id)
        workflow = self._cache.take(row.id, row.version)
        if workflow is None:
            spec, subs = deployment.specs(row.process_id)
            state = session.connection().execute(CASE_STATE, {"case_id": row.id}).scalar_one()
            workflow = spiff.load_state(state, spec, subs, deployment.script_engine)
        return OpenCase(row, deployment, workflow, moment or self._clock.now())

    def save(self, session: Session, case: OpenCase, *, actor: str, kind: str, payload: dict,
             completed_task: tuple[str, str] | None = None) -> None:
        """Write the workflow and everything mirrored from it, then append the history event."""
        row, wf, moment = case.row, case.workflow, case.moment
        if row.id is None:
            raise RuntimeError("save() needs a flushed case row")
        involved = set(row.involved_staff or [])
        snap = spiff.snapshot(wf)
        conn = session.connection()
        sync_tasks(conn, row, snap, moment, involved, completed_task)
        sync_timers(conn, row, wf, snap, moment)
        for notice in case.notices:
            recipients = [] if notice.role == "customer" else role_members(conn, notice.role, involved)
            conn.execute(INSERT_NOTIFICATION, {
                "case_id": row.id, "role": notice.role, "recipients": recipients, "subject": notice.subject,
                "element_id": notice.element_id, "created_at": moment})
        data = snap.data
        values = {
            "state": spiff.dump_state(wf),
            "version": row.version + 1,
            "updated_at": moment,
            "grade": data.get("grade") or row.grade,
            "escalation_tier": int(data.get("escalation_tier") or 0),
            "outcome": data.get("outcome") or row.outcome,
            "waiting_for": sorted(snap.messages),
            "status": row.status,
            "archived_at": row.archived_at,
        }
        if wf.completed:
            values.update(status="archived", archived_at=moment)
        params = {f"new_{key}": value for key, value in values.items()}
        result = conn.execute(SAVE_CASE, {"case_id": row.id, "expected": row.version, **params})
        if result.rowcount != 1:
            raise StaleCase(row.number, row.version, row.version + 1)
        for key, value in values.items():
            if key in CaseRow.__dataclass_fields__:
                setattr(row, key, value)
        case_id, version = row.id, values["version"]
        session.info.setdefault("after_commit", []).append(lambda: self._cache.put(case_id, version, wf))
        payload = dict(payload)
        payload["notified"] = [{"role": n.role, "subject": n.subject} for n in case.notices]
        payload["open_tasks"] = sorted(t.task_spec.bpmn_id for t in snap.ready_user_tasks)
        payload["status"] = values.get("status", row.status)
        history.append(session, case_number=row.number, at=self._clock.now(), actor=actor, kind=kind,
                       payload=payload, deployment_version=case.deployment.version)


# Prebuilt Core statements: save() runs on every step of every case, and building and
# caching an ORM statement each time costs more than SQLite spends executing it.
_T, _TM, _C, _N = Task.__table__, Timer.__table__, Case.__table__, Notification.__table__
OPEN_TASKS = select(_T.c.id, _T.c.due_at).where(_T.c.case_id == bindparam("case_id"), _T.c.state == "open")
SET_TASK_DUE = update(_T).where(_T.c.id == bindparam("task_id")).values(
    due_at=bindparam("new_due", type_=_T.c.due_at.type))
CLOSE_TASK = update(_T).where(_T.c.id == bindparam("task_id")).values(
    state=bindparam("new_state", type_=_T.c.state.type), completed_by=bindparam("by", type_=_T.c.completed_by.type),
    completed_at=bindparam("at", type_=_T.c.completed_at.type))
INSERT_TASK = insert(_T)
PENDING_TIMERS = select(_TM.c.id, _TM.c.spiff_task_id, _TM.c.element_id).where(
    _TM.c.case_id == bindparam("case_id"), _TM.c.status == "pending")
CLOSE_TIMER = update(_TM).where(_TM.c.id == bindparam("timer_id")).values(
    status=bindparam("new_status", type_=_TM.c.status.type), closed_at=bindparam("at", type_=_TM.c.closed_at.type))
INSERT_TIMER = insert(_TM)
INSERT_NOTIFICATION = insert(_N)
SAVE_CASE = update(_C).where(_C.c.id == bindparam("case_id"), _C.c.version == bindparam("expected")).values(
    {column: bindparam(f"new_{column}", type_=_C.c[column].type) for column in (
        "state", "version", "updated_at", "grade", "escalation_tier", "outcome", "waiting_for", "status",
        "archived_at")})


def sync_tasks(conn: Connection, row: CaseRow, snap: spiff.Snapshot, moment: datetime, involved: set[str],
               completed_task: tuple[str, str] | None) -> None:
    """Mirror the ready user tasks into ``task``."""
    ready = {str(t.id): t for t in snap.ready_user_tasks}
    due_of: dict[str, datetime] = {}
    for timer in snap.timers:
        guarded = timer.attached_task_id
        if guarded and (guarded not in due_of or timer.due_at < due_of[guarded]):
            due_of[guarded] = timer.due_at
    known = set()
    for task_id, due_at in conn.execute(OPEN_TASKS, {"case_id": row.id}).all():
        known.add(task_id)
        if task_id in ready:
            if task_id in due_of and due_of[task_id] != due_at:
                conn.execute(SET_TASK_DUE, {"task_id": task_id, "new_due": due_of[task_id]})
        elif completed_task and task_id == completed_task[0]:
            conn.execute(CLOSE_TASK, {"task_id": task_id, "new_state": "completed", "by": completed_task[1],
                                      "at": moment})
        else:
            conn.execute(CLOSE_TASK, {"task_id": task_id, "new_state": "cancelled", "by": None, "at": moment})
    for task_id, task in ready.items():
        if task_id in known:
            continue
        role = task.task_spec.lane
        conn.execute(INSERT_TASK, {
            "id": task_id, "case_id": row.id, "element_id": task.task_spec.bpmn_id,
            "title": task.task_spec.bpmn_name or task.task_spec.bpmn_id, "role": role,
            "assignee": pick_assignee(conn, role, involved), "claimed": False, "state": "open",
            "form": spiff.user_task_form(task), "due_at": due_of.get(task_id), "created_at": moment,
        })


def sync_timers(conn: Connection, row: CaseRow, wf: Any, snap: spiff.Snapshot, moment: datetime) -> None:
    """Mirror the waiting timers into ``timer``, closing those no longer waited on as fired or cancelled."""
    waiting = {t.spiff_task_id: t for t in snap.timers}
    known = set()
    for timer_id, spiff_task_id, element_id in conn.execute(PENDING_TIMERS, {"case_id": row.id}).all():
        known.add(spiff_task_id)
        if spiff_task_id in waiting:
            continue
        status = "fired" if spiff.timer_fired(wf, spiff_task_id, element_id) else "cancelled"
        conn.execute(CLOSE_TIMER, {"timer_id": timer_id, "new_status": status, "at": moment})
    for task_id, t in waiting.items():
        if task_id not in known:
            conn.execute(INSERT_TIMER, {
                "case_id": row.id, "spiff_task_id": task_id, "element_id": t.element_id, "name": t.name,
                "attached_to": t.attached_to, "guarded_task_id": t.attached_task_id,
                "interrupting": t.interrupting, "due_at": t.due_at,
                "status": "pending", "created_at": moment,
            })


def _describe(exc: SpiffWorkflowException) -> str:
    task = getattr(exc, "task", None)
    where = f" at {task.task_spec.bpmn_id}" if task is not None and hasattr(task.task_spec, "bpmn_id") else ""
    return f"{exc}{where}"
