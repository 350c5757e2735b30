"""Inbox queries, claim and complete (≈ Camunda's TaskService)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from engine import forms, history, spiff
from engine.casework import CaseWork, lock_case
from engine.clock import Clock
from engine.errors import CaseArchived, NotAllowed, NotFound, TaskAlreadyCompleted, TaskNotOpen
from engine.repository import Repository
from engine.store.db import Database
from engine.store.models import Case, RoleMember, Task, Timer


@dataclass(frozen=True)
class TaskView:
    id: str
    name: str  # the BPMN element id
    title: str
    case_number: str
    role: str | None
    assignee: str | None
    state: str
    due_at: datetime | None
    form: dict | None
    form_file: str | None
    created_at: datetime


class Tasks:
    def __init__(self, db: Database, clock: Clock, repository: Repository, work: CaseWork, timers) -> None:  # noqa: ANN001
        self._db, self._clock, self._repository, self._work, self._timers = db, clock, repository, work, timers

    def for_user(self, username: str) -> list[TaskView]:
        """The open tasks assigned to ``username``, soonest deadline first."""
        with self._db.read() as session:
            rows = session.execute(
                select(Task, Case.number, Case.deployment_id)
                .join(Case, Case.id == Task.case_id)
                .where(Task.assignee == username, Task.state == "open")
            ).all()
            views = [self._view(task, number, deployment_id) for task, number, deployment_id in rows]
        far = datetime.max.replace(tzinfo=None)
        return sorted(views, key=lambda v: (v.due_at.replace(tzinfo=None) if v.due_at else far, v.created_at))

    def for_case(self, number: str, state: str = "open") -> list[TaskView]:
        with self._db.read() as session:
            rows = session.execute(
                select(Task, Case.number, Case.deployment_id)
                .join(Case, Case.id == Task.case_id)
                .where(Case.number == number, Task.state == state)
                .order_by(Task.created_at)
            ).all()
            return [self._view(task, n, d) for task, n, d in rows]

    def get(self, task_id: str) -> TaskView:
        with self._db.read() as session:
            row = session.execute(
                select(Task, Case.number, Case.deployment_id).join(Case, Case.id == Task.case_id)
                .where(Task.id == task_id)
            ).one_or_none()
            if row is None:
                raise NotFound(f"no task {task_id}")
            return self._view(*row)

    def _view(self, task: Task, number: str, deployment_id: int) -> TaskView:
        form = self._repository.load(deployment_id).form(task.form)
        return TaskView(task.id, task.element_id, task.title, number, task.role, task.assignee, task.state,
                        task.due_at, form, task.form, task.created_at)

    def claim(self, task_id: str, username: str) -> None:
        """Take a task of one of my roles from whoever has it now."""
        now = self._clock.now()
        with self._db.read() as session:
            case_id = session.scalar(select(Task.case_id).where(Task.id == task_id))
        if case_id is None:
            raise NotFound(f"no task {task_id}")
        with self._db.write() as session:
            task, case = self._locked(session, task_id, case_id)
            if case.status == "archived":
                raise CaseArchived(case.number)
            self._check_open(task)
            _check_not_involved(case, username)
            has_role = session.get(RoleMember, (task.role, username)) is not None
            if not has_role:
                raise NotAllowed(f"{username} does not hold role {task.role} needed for this task")
            previous, task.assignee, task.claimed = task.assignee, username, True
            history.append(session, case_number=case.number, at=now, actor=username, kind="task_claimed",
                           payload={"task_id": task.id, "element": task.element_id, "from": previous},
                           deployment_version=None)

    def complete(self, task_id: str, username: str, data: dict, expected_version: int | None = None) -> None:
        """Submit a task's form. Exactly one of two racing completions wins; the other is told who won."""
        now = self._clock.now()
        overdue = exists().where(Timer.case_id == Task.case_id, Timer.status == "pending", Timer.due_at <= now)
        with self._db.read() as session:
            known = session.execute(select(Task.case_id, overdue).where(Task.id == task_id)).first()
        if known is None:
            raise NotFound(f"no task {task_id}")
        case_id, has_overdue = known
        if has_overdue:
            # A form submitted after its deadline must not beat the escalation: fire due timers first.
            self._timers.fire_due_for_case(case_id=case_id)
        with self._db.write() as session:
            task, case_row = self._locked(session, task_id, case_id)
            if case_row.status == "archived":
                raise CaseArchived(case_row.number)
            self._check_open(task)
            _check_not_involved(case_row, username)
            if task.assignee != username:
                raise NotAllowed(f"task {task_id} is assigned to {task.assignee or 'nobody'}, not {username}")
            clean = forms.validate(self._repository.load(case_row.deployment_id).form(task.form), data)
            case = self._work.open(session, case_row, now, expected_version=expected_version)
            spiff_task = spiff.find_task(case.workflow, task_id)
            if spiff_task is None or spiff_task.state != TaskState.READY:
                raise TaskNotOpen(task_id, "no longer waiting")
            with self._work.spiff_step(now) as notices:
                spiff.complete_user_task(case.workflow, spiff_task, clean)
            case.notices = notices
            self._work.save(session, case, actor=username, kind="task_completed",
                            payload={"task_id": task_id, "element": task.element_id, "data": clean},
                            completed_task=(task_id, username))

    def _locked(self, session: Session, task_id: str, case_id: int) -> tuple[Task, Case]:
        """The task read under its case's lock, so a racing completion is visible by now."""
        case = lock_case(session, case_id=case_id)
        task = session.get(Task, task_id, populate_existing=True)
        if task is None or task.case_id != case_id:
            raise NotFound(f"no task {task_id}")
        return task, case

    @staticmethod
    def _check_open(task: Task) -> None:
        if task.state == "completed":
            raise TaskAlreadyCompleted(task.id, task.completed_by, task.completed_at)
        if task.state != "open":
            raise TaskNotOpen(task.id, task.state)


def _check_not_involved(case: Case, username: str) -> None:
    if username in (case.involved_staff or []):
        raise NotAllowed(f"{username} is involved in case {case.number} and may not handle it")
