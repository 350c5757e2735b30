"""One state change of one case: load it locked, let SpiffWorkflow run, write everything back.

Every service that changes a case goes through ``CaseWork``: the workflow state, the task
and timer mirrors, the outbox and the history event are written in the caller's single
transaction, and the case's version number guards against stale writers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import select, update
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

    row: Case
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


def lock_case(session: Session, *, number: str | None = None, case_id: int | None = None) -> Case:
    query = select(Case).with_for_update()
    query = query.where(Case.number == number) if number is not None else query.where(Case.id == case_id)
    row = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if row is None:
        raise NotFound(f"no case {number or case_id}")
    return row


class CaseWork:
    def __init__(self, repository: Repository, clock: Clock) -> None:
        self._repository, self._clock = repository, clock

    @contextlib.contextmanager
    def spiff_step(self, moment: datetime) -> Iterator[list[spiff.Notice]]:
        """SpiffWorkflow sees ``moment`` as now; its errors become ``WorkflowFailure``."""
        with clock_module.using(FrozenClock(moment)), spiff.collecting_notices() as notices:
            try:
                yield notices
            except SpiffWorkflowException as exc:
                raise WorkflowFailure(f"the diagram failed: {_describe(exc)}") from exc

    def open(self, session: Session, row: Case, moment: datetime | None = None,
             expected_version: int | None = None, allow_archived: bool = False) -> OpenCase:
        if row.status == "archived" and not allow_archived:
            raise CaseArchived(row.number)
        if expected_version is not None and expected_version != row.version:
            raise StaleCase(row.number, expected_version, row.version)
        deployment = self._repository.load(row.deployment_id)
        spec, subs = deployment.specs(row.process_id)
        workflow = spiff.load_state(row.state, spec, subs, deployment.script_engine)
        return OpenCase(row, deployment, workflow, moment or self._clock.now())

    def save(self, session: Session, case: OpenCase, *, actor: str, kind: str, payload: dict,
             completed_task: tuple[str, str] | None = None) -> None:
        """Write the workflow and everything mirrored from it, then append the history event."""
        row, wf, moment = case.row, case.workflow, case.moment
        involved = set(row.involved_staff or [])
        sync_tasks(session, row, wf, moment, involved, completed_task)
        sync_timers(session, row, wf, moment)
        for notice in case.notices:
            recipients = [] if notice.role == "customer" else role_members(session, notice.role, involved)
            session.add(Notification(case_id=row.id, role=notice.role, recipients=recipients,
                                     subject=notice.subject, element_id=notice.element_id, created_at=moment))
        data = spiff.current_data(wf)
        values = {
            "state": spiff.dump_state(wf),
            "version": row.version + 1,
            "updated_at": moment,
            "grade": data.get("grade") or row.grade,
            "escalation_tier": int(data.get("escalation_tier") or 0),
            "outcome": data.get("outcome") or row.outcome,
            "waiting_for": sorted(spiff.waiting_messages(wf)),
        }
        if wf.completed:
            values.update(status="archived", archived_at=moment)
        if row.id is None:
            raise RuntimeError("save() needs a flushed case row")
        result = session.execute(
            update(Case).where(Case.id == row.id, Case.version == row.version).values(**values)
        )
        if result.rowcount != 1:
            raise StaleCase(row.number, row.version, row.version + 1)
        for key, value in values.items():
            setattr(row, key, value)
        payload = dict(payload)
        payload["notified"] = [{"role": n.role, "subject": n.subject} for n in case.notices]
        payload["open_tasks"] = sorted(t.task_spec.bpmn_id for t in spiff.ready_user_tasks(wf))
        payload["status"] = values.get("status", row.status)
        history.append(session, case_number=row.number, at=self._clock.now(), actor=actor, kind=kind,
                       payload=payload, deployment_version=case.deployment.version)


def sync_tasks(session: Session, row: Case, wf: Any, moment: datetime, involved: set[str],
               completed_task: tuple[str, str] | None) -> None:
    ready = {str(t.id): t for t in spiff.ready_user_tasks(wf)}
    timers = spiff.waiting_timers(wf)
    open_rows = session.scalars(select(Task).where(Task.case_id == row.id, Task.state == "open")).all()
    known = set()
    for task_row in open_rows:
        known.add(task_row.id)
        if task_row.id in ready:
            due = [t.due_at for t in timers if t.attached_task_id == task_row.id]
            if due:
                task_row.due_at = min(due)
            continue
        if completed_task and task_row.id == completed_task[0]:
            task_row.state, task_row.completed_by = "completed", completed_task[1]
        else:
            task_row.state = "cancelled"
        task_row.completed_at = moment
    for task_id, task in ready.items():
        if task_id in known:
            continue
        role = task.task_spec.lane
        due = [t.due_at for t in timers if t.attached_task_id == task_id]
        session.add(Task(
            id=task_id, case_id=row.id, element_id=task.task_spec.bpmn_id,
            title=task.task_spec.bpmn_name or task.task_spec.bpmn_id, role=role,
            assignee=pick_assignee(session, role, involved), form=spiff.user_task_form(task),
            due_at=min(due) if due else None, created_at=moment, state="open",
        ))


def sync_timers(session: Session, row: Case, wf: Any, moment: datetime) -> None:
    waiting = {t.spiff_task_id: t for t in spiff.waiting_timers(wf)}
    pending = session.scalars(select(Timer).where(Timer.case_id == row.id, Timer.status == "pending")).all()
    known = set()
    for timer in pending:
        known.add(timer.spiff_task_id)
        if timer.spiff_task_id in waiting:
            continue
        fired = spiff.timer_fired(wf, timer.spiff_task_id, timer.element_id)
        timer.status, timer.closed_at = ("fired" if fired else "cancelled"), moment
    for task_id, waiting_timer in waiting.items():
        if task_id in known:
            continue
        session.add(Timer(
            case_id=row.id, spiff_task_id=task_id, element_id=waiting_timer.element_id, name=waiting_timer.name,
            attached_to=waiting_timer.attached_to, interrupting=waiting_timer.interrupting,
            due_at=waiting_timer.due_at, status="pending", created_at=moment,
        ))


def _describe(exc: SpiffWorkflowException) -> str:
    task = getattr(exc, "task", None)
    where = f" at {task.task_spec.bpmn_id}" if task is not None and hasattr(task.task_spec, "bpmn_id") else ""
    return f"{exc}{where}"
