"""What one step changes in the deadline roll-up (``engine.deadline_rollup``), computed from what the step
writes: the timer rows it opens and closes (with which status), the task rows it closes (completed or
cancelled, at the step's moment) and the missed deadlines of those tasks, which the step keeps in its
``Mirror`` between steps. Nothing is read, so a step's roll-up costs one INSERT of deltas (none when no
deadline changed) whatever the case's age; only a step whose kept mirror was lost (its workflow loaded from
the database) reads the missed deadlines of its open tasks and its parked timers once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select

from engine.deadline_rollup import Judged, deadline
from engine.store.enums import TaskState, TimerStatus
from engine.store.models import Task, Timer

_TM, _T = Timer.__table__, Task.__table__


@dataclass(frozen=True)
class Guard:
    """A waiting deadline's step: the guarded element, its SpiffWorkflow task and that task's row, if any."""

    attached_to: str
    guarded: str | None
    role: str | None  # the task row's role and title (None: the guarded task has no row)
    title: str | None
    row: bool


@dataclass(frozen=True)
class Missed:
    """A fired deadline whose guarded task is still open: late "until now" until the task closes."""

    attached_to: str
    due: datetime
    role: str | None
    title: str | None


def guards(snap: Any) -> dict[str, Guard]:  # noqa: ANN401
    """Each waiting deadline's guard (spiff timer id -> ``Guard``), from the step's snapshot."""
    ready = {str(t.id): t for t in snap.ready_user_tasks}
    found: dict[str, Guard] = {}
    for timer in snap.timers:
        if timer.attached_to is None:
            continue
        task = ready.get(timer.attached_task_id)
        found[timer.spiff_task_id] = Guard(
            timer.attached_to, timer.attached_task_id,
            task.task_spec.lane if task is not None else None,
            (task.task_spec.bpmn_name or task.task_spec.bpmn_id) if task is not None else None, task is not None)
    return found


_KNOWN = (select(_TM.c.spiff_task_id, _TM.c.status, _TM.c.guarded_task_id, _TM.c.attached_to, _TM.c.due_at,
                 _T.c.role, _T.c.title)
          .select_from(_TM.outerjoin(_T, _T.c.id == _TM.c.guarded_task_id))
          .where(_TM.c.case_id == bindparam("case_id"), or_(
              _TM.c.status == TimerStatus.FAILED,
              and_(_TM.c.status == TimerStatus.FIRED, _TM.c.attached_to.is_not(None),
                   _TM.c.guarded_task_id.in_(bindparam("open", expanding=True))))))


def known(conn: Connection, case_id: int, missed: dict[str, tuple[Missed, ...]] | None,
          parked: frozenset[str] | None, open_tasks: list[str]) -> tuple[dict[str, tuple[Missed, ...]], frozenset[str]]:
    """The open tasks' missed deadlines and the parked timers: the mirror's, or read when it does not know them
    (one read bounded by the open tasks' deadlines and the case's parked timers)."""
    if missed is not None and parked is not None:
        return missed, parked
    found: dict[str, tuple[Missed, ...]] = {}
    failed: set[str] = set()
    for r in conn.execute(_KNOWN, {"case_id": case_id, "open": open_tasks}):
        if r.status == TimerStatus.FAILED:
            failed.add(r.spiff_task_id)
        else:
            found[r.guarded_task_id] = (*found.get(r.guarded_task_id, ()),
                                        Missed(r.attached_to, r.due_at, r.role, r.title))
    return found, frozenset(failed)


def changes(zone: str, dims: dict[str, Any], moment: datetime, before: dict[str, Guard], after: dict[str, Guard],
            before_due: dict[str, datetime], closed_tasks: dict[str, str], still_open: set[str],
            closed_timers: list[dict[str, Any]], opened_timers: list[dict[str, Any]],
            missed: dict[str, tuple[Missed, ...]], parked: frozenset[str]
            ) -> tuple[list[tuple[Judged | None, Judged | None]], dict[str, tuple[Missed, ...]], frozenset[str]]:
    """Each changed deadline's judgement before and after the step, and the missed deadlines and parked timers
    the next step starts from."""
    found: list[tuple[Judged | None, Judged | None]] = []

    def task_after(guard: Guard) -> tuple[str | None, datetime | None]:
        if not guard.row:
            return None, None
        if guard.guarded in closed_tasks:
            return closed_tasks[guard.guarded], moment
        return TaskState.OPEN, None

    def judged(attached_to: str, due: datetime, role: str | None, title: str | None, status: str,
               state: str | None, done: datetime | None) -> Judged | None:
        return deadline(zone, attached_to, due, role, title, status, state, done, dims)

    kept = {guarded: entries for guarded, entries in missed.items() if guarded not in closed_tasks}
    for guarded in sorted(set(missed) & set(closed_tasks)):  # late "until now" becomes late by so much
        for m in missed[guarded]:
            found.append((judged(m.attached_to, m.due, m.role, m.title, TimerStatus.FIRED, TaskState.OPEN, None),
                          judged(m.attached_to, m.due, m.role, m.title, TimerStatus.FIRED, closed_tasks[guarded],
                                 moment)))
    still_parked = set(parked)
    for closing in closed_timers:
        timer_id = closing["spiff_task"]
        if timer_id in parked:  # its row is not pending: the close leaves it as it is, it judges nothing
            continue
        guard = before.get(timer_id)
        if guard is None:
            continue
        due, status = before_due[timer_id], closing["new_status"]
        state, done = task_after(guard)
        found.append((judged(guard.attached_to, due, guard.role, guard.title, TimerStatus.PENDING,
                             TaskState.OPEN if guard.row else None, None),
                      judged(guard.attached_to, due, guard.role, guard.title, status, state, done)))
        if status == TimerStatus.FIRED and guard.row and guard.guarded in still_open:
            kept[guard.guarded] = (*kept.get(guard.guarded, ()), Missed(guard.attached_to, due, guard.role,
                                                                          guard.title))
    for opening in opened_timers:
        still_parked.discard(opening["spiff_task_id"])  # a new repetition's row is pending
        guard = after.get(opening["spiff_task_id"])
        if guard is None:
            continue
        state, done = task_after(guard)
        found.append((None, judged(guard.attached_to, opening["due_at"], guard.role, guard.title,
                                   TimerStatus.PENDING, state, done)))
    return found, kept, frozenset(still_parked)
