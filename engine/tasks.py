"""Inbox queries, claim and complete (≈ Camunda's TaskService)."""

from __future__ import annotations

import contextlib
from collections import namedtuple
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    bindparam,
    func,
    literal,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from engine import forms, history, involved, knowledge, lockstep, spiff
from engine.access import ROLES_OF, not_involved
from engine.casework import LOCK_COLUMNS, CaseRow, CaseWork, case_row, lock_case
from engine.catalogue import Meaning, form_field
from engine.clock import Clock
from engine.errors import (
    CaseArchived,
    CaseSuspended,
    FormInvalid,
    NotAllowed,
    NotFound,
    TaskAlreadyCompleted,
    TaskHeldByOther,
    TaskNotOpen,
    WorkflowFailure,
)
from engine.people import assign, local_day
from engine.repository import Repository
from engine.store.db import Database
from engine.store.enums import CaseStatus, EventKind
from engine.store.models import Case, RoleMember, Task, Timer
from engine.store.prepared import PreparedQuery

_T, _C = Task.__table__, Case.__table__
_VIEW = select(
    _T.c.id, _T.c.element_id, _T.c.title, _C.c.number, _T.c.role, _T.c.assignee, _T.c.state, _T.c.due_at,
    _T.c.form, _T.c.created_at, _C.c.deployment_id, _C.c.grade, _C.c.channel, _C.c.status.label("case_status"),
    _T.c.case_id,
).join(_C, _C.c.id == _T.c.case_id)
BY_CASE = _VIEW.where(_C.c.number == bindparam("number"), _T.c.state == bindparam("state")).order_by(_T.c.created_at)
BY_ID = _VIEW.where(_T.c.id == bindparam("task_id"))
ALL_ROLES = select(RoleMember.role).distinct()
_TM = Timer.__table__
LOCKED_TASK = PreparedQuery(select(
    _T.c.id, _T.c.case_id, _T.c.element_id, _T.c.role, _T.c.assignee, _T.c.state, _T.c.form, _T.c.completed_by,
    _T.c.completed_at, _T.c.claimed,
).where(_T.c.id == bindparam("task_id")))
# The completion's task read under the case lock, with the lock-step check in the same statement.
LOCKED_TASK_AND_DUE = PreparedQuery(LOCKED_TASK.statement.add_columns(
    lockstep.timers_due(_T.c.case_id).label("timers_due")))
# SQLite, whose write lock is taken at BEGIN: the case (as ``lock_case`` reads it), the task and the deadline check
# in one statement (``Tasks._lock_task``).
_TASK_COLUMNS = LOCKED_TASK_AND_DUE.statement.selected_columns
LockedTask = namedtuple("LockedTask", [column.key for column in _TASK_COLUMNS])  # noqa: PYI024
LOCKED_CASE_AND_TASK = PreparedQuery(
    select(*LOCK_COLUMNS, *(column.label(f"task_{column.key}") for column in _TASK_COLUMNS))
    .select_from(_T.join(_C, _C.c.id == _T.c.case_id))
    .where(_T.c.id == bindparam("task_id")))
UNCLAIM = update(_T).where(_T.c.id == bindparam("task_id")).values(
    assignee=bindparam("username", type_=_T.c.assignee.type), claimed=False)
CUSTOMER = "customer"
CLAIM = update(_T).where(_T.c.id == bindparam("task_id")).values(
    assignee=bindparam("username", type_=_T.c.assignee.type), claimed=True)


class _Unset:
    """The caller did not say who they saw holding the task."""


UNSET = _Unset()


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
    # The case's columns the inbox filters on.
    grade: str | None = None
    channel: str | None = None
    case_status: str = "open"


@dataclass(frozen=True)
class CaseBrief:
    """What tells one inbox row from the next: the customer (masked as the case keeps it), the product,
    the first words of the problem. Which fields those are, the case's deployed version says."""

    customer: str = ""
    product: str = ""
    problem: str = ""


PROBLEM_WORDS = 60  # characters of the description an inbox row shows


@dataclass(frozen=True)
class BoardPage:
    tasks: list[TaskView]
    more: bool  # another page follows
    steps: list[tuple[str, str, str | None, int]]  # (element, title, role, open tasks) for the step filter
    people: dict[str, list[str]]  # role -> its members by rank: whom a task of that role may go to


@dataclass(frozen=True)
class InboxQuery:
    """What a handler asks of their inbox: which tasks, in which order, which page."""

    scope: str = "all"  # all | mine (mine and nobody's yet) | group (my roles' tasks others hold)
    grade: str = ""  # a grade, "none" for not yet graded, "" for any
    channel: str = ""
    step: str = ""  # a BPMN element id
    overdue_at: datetime | None = None  # only tasks due by this moment
    sort: str = "due"  # due | due_desc | newest
    offset: int = 0
    limit: int | None = 50  # None: every matching task, without the counts and steps a page shows


@dataclass(frozen=True)
class InboxPage:
    tasks: list[TaskView]
    matching: int  # tasks that pass the filters; more than ``cap`` means "more than cap" (counting stopped)
    total: int  # every task the person may work on; more than ``cap`` likewise
    steps: list[tuple[str, str, str | None]]  # (element id, title, form file) of the steps of their roles
    cap: int = 0  # where counting stopped (0: not counted at all)


COUNT_CAP = 1000  # counting further costs a scan of the whole queue and helps nobody pick the next task


def _branches(username: str, roles: list[str], others: list[str], scope: str) -> list[list[ColumnElement[bool]]]:
    """Who may work on what in ``scope``, as branches that are each one range of an inbox index.

    Visible: the tasks of my roles, and those I hold in other roles (``others``: every other role
    known) or in none. "mine": of my roles' tasks those I hold or nobody does. "group": those
    others hold in my roles (this one filters its role's range rather than seeking it).
    """
    held = [[_T.c.role == role, _T.c.assignee == username] for role in others]
    held.append([_T.c.role.is_(None), _T.c.assignee == username])
    if scope == "mine":
        branches = [[_T.c.role == role, who] for role in roles
                    for who in (_T.c.assignee == username, _T.c.assignee.is_(None))] + held
    elif scope == "group":
        branches = [[_T.c.role == role, _T.c.assignee.is_not(None), _T.c.assignee != username] for role in roles]
    else:
        branches = [[_T.c.role == role] for role in roles] + held
    return [[_T.c.state == "open", *branch, not_involved(_T.c.case_id, username)] for branch in branches]


def _filters(query: InboxQuery) -> list[ColumnElement[bool]]:
    """The filters that read the task or its case (the scope shapes the branches instead)."""
    chosen: list[ColumnElement[bool]] = []
    if query.grade:
        chosen.append(_C.c.grade.is_(None) if query.grade == "none" else _C.c.grade == query.grade)
    if query.channel:
        chosen.append(_C.c.channel == query.channel)
    if query.step:
        chosen.append(_T.c.element_id == query.step)
    if query.overdue_at is not None:
        chosen.append(_T.c.due_at <= query.overdue_at)
    return chosen


def _orders(sort: str) -> list[tuple[ColumnElement[bool], list[tuple[str, bool]]]]:
    """The sort as parts, each with its order as (column, descending), one the inbox indexes walk as is.

    Tasks without a due time come last in the due sorts, as a part of their own, so no ``NULLS LAST``
    (which SQLite cannot read from an index) is needed; ties go by case (registration order), and
    ``id`` makes the order total for paging. The part without a due time is still ordered by
    ``due_at`` first (all NULL there, so the order is the same): that lets the database seek the
    NULL range of the due index instead of filtering a role's whole created-order range, which
    grows with the queue.
    """
    if sort == "newest":
        return [(true(), [("created_at", True), ("case_id", True), ("id", True)])]
    descending = sort == "due_desc"
    order = [(name, descending) for name in ("due_at", "created_at", "case_id", "id")]
    return [(_T.c.due_at.is_not(None), order), (_T.c.due_at.is_(None), order)]


def _ordered(columns, order: list[tuple[str, bool]]) -> list:  # noqa: ANN001
    return [columns[name].desc() if descending else columns[name] for name, descending in order]


def _page(branches: list[list[ColumnElement[bool]]], sort: str, offset: int, limit: int | None) -> Select:
    """The page: each branch and part reads at most ``offset + limit`` rows in order, the union the rest."""
    parts = []
    orders = _orders(sort)
    for number, (part, order) in enumerate(orders):
        for branch in branches:
            chosen = _VIEW.add_columns(literal(number).label("part")).where(*branch, part)
            chosen = chosen.order_by(*_ordered(_T.c, order))
            if limit is not None:
                chosen = chosen.limit(offset + limit)
            parts.append(select(chosen.subquery()))
    both = union_all(*parts).subquery()
    page = select(*(c for c in both.c if c.name != "part")).order_by(both.c.part, *_ordered(both.c, orders[0][1]))
    return page if limit is None else page.offset(offset).limit(limit)


def _capped_count(branches: list[list[ColumnElement[bool]]], cap: int, by_case: bool) -> Select:
    """How many rows the branches match, counting no further than ``cap + 1``.

    The case is joined only when a filter reads it (``by_case``): otherwise the index alone answers.
    """
    source = _T.join(_C, _C.c.id == _T.c.case_id) if by_case else _T
    found = union_all(*(select(_T.c.id).select_from(source).where(*branch) for branch in branches))
    return select(func.count()).select_from(found.limit(cap + 1).subquery())


class Tasks:
    def __init__(self, db: Database, clock: Clock, repository: Repository, work: CaseWork, timers) -> None:  # noqa: ANN001
        self._db, self._clock, self._repository, self._work, self._timers = db, clock, repository, work, timers

    def for_user(self, username: str) -> list[TaskView]:
        """The open tasks ``username`` may work on (assigned, or unassigned in their role), soonest first."""
        return self.inbox(username, InboxQuery(scope="mine", limit=None)).tasks

    def for_case(self, number: str, state: str = "open") -> list[TaskView]:
        return self._views(BY_CASE, {"number": number, "state": state})

    def get(self, task_id: str) -> TaskView:
        views = self._views(BY_ID, {"task_id": task_id})
        if not views:
            raise NotFound(f"no task {task_id}")
        return views[0]

    def inbox(self, username: str, query: InboxQuery) -> InboxPage:
        """One page of the tasks ``username`` may work on, filtered and sorted by the database.

        Visible: open tasks assigned to them or held in one of their roles, never on a case they
        are involved in. The query is a union of branches (a role's tasks, those one person holds
        in a role), each walking an index range in the page's order and stopping at the page's
        end; counts stop at ``COUNT_CAP``. So a page costs about what it shows, whatever the
        length of the queue.
        """
        with self._db.read() as session:
            conn = session.connection()
            roles = list(conn.execute(ROLES_OF, {"username": username}).scalars())
            known = set(conn.execute(ALL_ROLES).scalars()) | {lane for *_, lane in self._repository.active().user_steps}
            others = sorted(r for r in known - set(roles) if r is not None)
            visible = _branches(username, roles, others, "all")
            filters = _filters(query)
            chosen = [[*branch, *filters] for branch in _branches(username, roles, others, query.scope)]
            if query.limit is None:
                rows = conn.execute(_page(chosen, query.sort, 0, None)).all()
                return InboxPage([self._view_of(r) for r in rows], len(rows), len(rows), [])
            offset, limit = max(0, query.offset), max(1, query.limit)
            cap = max(COUNT_CAP, offset + limit)  # a deep page still learns whether another follows
            rows = conn.execute(_page(chosen, query.sort, offset, limit)).all()
            matching = conn.execute(_capped_count(chosen, cap, bool(query.grade or query.channel))).scalar_one()
            narrowed = filters or query.scope != "all"
            total = conn.execute(_capped_count(visible, cap, False)).scalar_one() if narrowed else matching
        steps = [(element, title, form) for element, title, form, role in self._repository.active().user_steps
                 if role in roles]
        return InboxPage([self._view_of(r) for r in rows], matching, total, steps, cap)

    def briefs(self, numbers: Iterable[str]) -> dict[str, CaseBrief]:
        """The inbox rows' briefs, one statement for a whole page."""
        wanted = sorted(set(numbers))
        if not wanted:
            return {}
        with self._db.reading(single_statement=True) as conn:
            rows = conn.execute(select(Case.number, Case.product_name, Case.summary, Case.deployment_id)
                                .where(Case.number.in_(wanted))).all()
        found = {}
        for r in rows:
            facts, summary = self._repository.load(r.deployment_id).catalogue, r.summary or {}
            problem = " ".join(str(facts.value(summary, Meaning.DESCRIPTION) or "").split())
            found[r.number] = CaseBrief(
                customer=str(facts.value(summary, Meaning.CUSTOMER_NAME) or ""),
                product=str(r.product_name or facts.value(summary, Meaning.PRODUCT) or ""),
                problem=problem if len(problem) <= PROBLEM_WORDS else problem[:PROBLEM_WORDS].rstrip() + "…")
        return found

    def _view_of(self, r: Row) -> TaskView:
        return TaskView(r.id, r.element_id, r.title, r.number, r.role, r.assignee, r.state, r.due_at,
                        self._repository.load(r.deployment_id).form(r.form), r.form, r.created_at,
                        r.grade, r.channel, r.case_status)

    def _views(self, query, params: dict) -> list[TaskView]:  # noqa: ANN001
        with self._db.reading(single_statement=True) as conn:
            rows = conn.execute(query, params).all()
        return [self._view_of(r) for r in rows]

    @contextlib.contextmanager
    def _open_for_change(self, task_id: str) -> Iterator[tuple[Session, Row, CaseRow]]:
        """A write transaction holding the task's case, the task read under that lock and still open."""
        with self._db.read() as session:
            case_id = session.scalar(select(Task.case_id).where(Task.id == task_id))
        if case_id is None:
            raise NotFound(f"no task {task_id}")
        with self._db.write() as session:
            task, case = self._locked(session, task_id, case_id)
            if case.status == CaseStatus.ARCHIVED:
                raise CaseArchived(case.number)
            if case.status == CaseStatus.SUSPENDED:
                raise CaseSuspended(case.number)
            self._check_open(task)
            yield session, task, case

    def claim(self, task_id: str, username: str, expected_holder: str | None | _Unset = UNSET) -> None:
        """Take a task of one of my roles: compare-and-set on who holds it, so of two racing claims one wins.

        ``expected_holder`` is who the caller saw holding it (None: nobody); the claim succeeds
        only if that is still so, else ``TaskHeldByOther`` names the holder now. Without it, a
        task someone has claimed is never taken from them silently: only one assigned by
        default (or nobody's) may be claimed. Claiming a task I already hold changes nothing.
        """
        now = self._clock.now()
        with self._open_for_change(task_id) as (session, task, case):
            _check_not_involved(case, username)
            has_role = session.get(RoleMember, (task.role, username)) is not None
            if not has_role:
                raise NotAllowed(f"{username} does not hold role {task.role} needed for this task")
            if task.assignee == username and task.claimed:
                return
            if task.assignee != username:
                taken = task.claimed if isinstance(expected_holder, _Unset) else task.assignee != expected_holder
                if taken:
                    raise TaskHeldByOther(task.id, task.assignee)
            previous = task.assignee
            session.connection().execute(CLAIM, {"task_id": task.id, "username": username})
            history.append(session, case_number=case.number, at=now, actor=username, kind=EventKind.TASK_CLAIMED,
                           payload={"task_id": task.id, "element": task.element_id, "from": previous},
                           deployment_version=None)

    def complete(self, task_id: str, username: str, data: dict, expected_version: int | None = None) -> None:
        """Submit a task's form. Exactly one of two racing completions wins; the other is told who won."""
        self._complete(task_id, username, data, expected_version, customer=False)

    def complete_for_customer(self, number: str, element: str, data: dict) -> None:
        """The customer answers a task themselves (e.g. the satisfaction survey through a signed link).

        Only a user task the diagram marks ``customerMayAnswer = true`` may be answered so;
        the history records the customer as the actor.
        """
        with self._db.read() as session:
            task_id = session.scalar(
                select(Task.id).join(Case, Case.id == Task.case_id)
                .where(Case.number == number, Task.element_id == element, Task.state == "open")
            )
        if task_id is None:
            raise NotFound(f"case {number} has no open {element!r} step for the customer to answer")
        self._complete(task_id, CUSTOMER, data, None, customer=True)

    def unclaim(self, task_id: str, username: str) -> None:
        """Give a claimed task back to the role's usual assignee (the first present member)."""
        now = self._clock.now()
        with self._open_for_change(task_id) as (session, task, case):
            if task.assignee != username:
                raise NotAllowed(f"task {task_id} is assigned to {task.assignee or 'nobody'}, not {username}")
            conn = session.connection()
            deployment = self._repository.load(case.deployment_id)
            successor = assign(conn, task.role, set(case.involved_staff or []) | {username}, deployment.roles,
                               local_day(now, deployment.calendar.zone)).assignee
            conn.execute(UNCLAIM, {"task_id": task.id, "username": successor})
            history.append(session, case_number=case.number, at=now, actor=username, kind=EventKind.TASK_UNCLAIMED,
                           payload={"task_id": task.id, "element": task.element_id, "to": successor},
                           deployment_version=None)

    def reassign(self, task_id: str, by: str, to: str | None) -> str | None:
        """A supervisor hands an open task to a named person of its role (``None``: back to the role's
        group, nobody holding it). Who may, ``roles.toml`` says (``reassign = true``); the person must hold
        the task's role and not be one of the people the case is about. Recorded with who did it."""
        now = self._clock.now()
        with self._open_for_change(task_id) as (session, task, case):
            _check_not_involved(case, by)
            if to is not None:
                _check_not_involved(case, to)
                if session.get(RoleMember, (task.role, to)) is None:
                    raise NotAllowed(f"{to} does not hold role {task.role} needed for this task")
            previous = task.assignee
            if previous == to:
                return previous
            session.connection().execute(CLAIM if to else UNCLAIM, {"task_id": task.id, "username": to})
            history.append(session, case_number=case.number, at=now, actor=by, kind=EventKind.TASK_REASSIGNED,
                           payload={"task_id": task.id, "element": task.element_id, "from": previous, "to": to},
                           deployment_version=None)
            return previous

    def board(self, viewer: str, *, sees_all: bool, role: str = "", step: str = "", holder: str = "",
              offset: int = 0, limit: int = 100) -> BoardPage:
        """The supervisor's board: open tasks of every role (for roles that see all) or of the viewer's
        roles, soonest deadline first, with counts per step; never a case the viewer is involved in."""
        with self._db.read() as session:
            conn = session.connection()
            mine = list(conn.execute(ROLES_OF, {"username": viewer}).scalars())
            where = [_T.c.state == "open", not_involved(_T.c.case_id, viewer)]
            if role:
                where.append(_T.c.role == role)
            if not sees_all:
                where.append(_T.c.role.in_(mine))
            counts = conn.execute(select(_T.c.element_id, _T.c.title, _T.c.role, func.count())
                                  .where(*where).group_by(_T.c.element_id, _T.c.title, _T.c.role)
                                  .order_by(func.count().desc())).all()
            if step:
                where.append(_T.c.element_id == step)
            if holder == "-":
                where.append(_T.c.assignee.is_(None))
            elif holder:
                where.append(_T.c.assignee == holder)
            rows = conn.execute(_VIEW.where(*where).order_by(_T.c.due_at.is_(None), _T.c.due_at, _T.c.created_at)
                                .offset(max(0, offset)).limit(max(1, limit) + 1)).all()
            members = conn.execute(select(RoleMember.role, RoleMember.username).order_by(RoleMember.role,
                                                                                         RoleMember.rank)).all()
        people: dict[str, list[str]] = {}
        for member in members:
            people.setdefault(member.role, []).append(member.username)
        return BoardPage([self._view_of(r) for r in rows[:limit]], len(rows) > limit,
                         [(r.element_id, r.title, r.role, r[3]) for r in counts], people)

    def for_group(self, username: str) -> list[TaskView]:
        """Open tasks of my roles that others hold: what my group is working on (I may claim them)."""
        return self.inbox(username, InboxQuery(scope="group", limit=None)).tasks

    def _complete(self, task_id: str, username: str, data: dict, expected_version: int | None,
                  customer: bool) -> None:
        # A form submitted after its deadline must not beat the escalation: the step finds the case's due
        # timers once it holds the case, and they fire first (the step names its case for that).
        held: list[int] = []
        try:
            lockstep.after_due_timers(
                lambda: self._timers.fire_due_for_case(case_id=held[-1]),
                lambda: self._complete_locked(task_id, held, username, data, expected_version, customer),
                fire_first=False)
        except WorkflowFailure as failure:
            if held:
                self._work.record_incident(self._db, username, failure, case_id=held[-1])
            raise

    def _complete_locked(self, task_id: str, held: list[int], username: str, data: dict,
                         expected_version: int | None, customer: bool) -> None:
        """One transaction, holding the task's case (whose id it appends to ``held``). The moment the step
        applies at is taken once the case is locked: a completion that waited for the lock is applied (and
        recorded) as of when it ran, after any deadline that passed meanwhile (``engine.lockstep``)."""
        with self._db.write() as session:
            case_row, task, now = self._lock_task(session, task_id)
            held.append(case_row.id)
            if task.timers_due:
                raise lockstep.DeadlinePassed
            if case_row.status == CaseStatus.ARCHIVED:
                raise CaseArchived(case_row.number)
            self._check_open(task)
            if not customer:
                _check_not_involved(case_row, username)
                if task.assignee != username:
                    if task.claimed and session.get(RoleMember, (task.role, username)) is not None:
                        # A colleague took it (perhaps from me, meanwhile): a conflict, not a prohibition.
                        raise TaskHeldByOther(task_id, task.assignee)
                    raise NotAllowed(f"task {task_id} is assigned to {task.assignee or 'nobody'}, not {username}")
            if task.form is None and data:  # a manual or plain task: "done", nothing to fill in
                raise FormInvalid({name: "this step has no form: mark it done without data" for name in data})
            deployment = self._repository.load(case_row.deployment_id)
            schema = deployment.form(task.form)
            clean = forms.validate(schema, data, today=forms.day_of(now, deployment.calendar.zone))
            added = None
            staff_field = form_field(schema, Meaning.INVOLVED_STAFF)
            if staff_field and staff_field in clean and not customer:
                # People complained about, added at this step: real staff, kept out of the case from now on;
                # the case data keeps everyone named so far under the field.
                names = involved.resolve(session.connection(), staff_field, clean[staff_field])
                added = involved.add(session.connection(), case_row, names, element=task.element_id,
                                     roles=deployment.roles, day=local_day(now, deployment.calendar.zone))
                clean[staff_field] = list(case_row.involved_staff)
            case = self._work.open(session, case_row, now, expected_version=expected_version)
            spiff_task = spiff.find_task(case.workflow, task_id)
            if spiff_task is None or spiff_task.state != TaskState.READY:
                raise TaskNotOpen(task_id, "no longer waiting")
            if customer and spiff.task_property(spiff_task, "customerMayAnswer") != "true":
                raise NotAllowed(f"step {task.element_id} is not one a customer may answer")
            with self._work.spiff_step(now, case_row.created_at) as notices:
                spiff.complete_user_task(case.workflow, spiff_task, clean)
            case.notices = notices
            self._work.save(session, case, actor=username, kind=EventKind.TASK_COMPLETED,
                            payload={"task_id": task_id, "element": task.element_id, "data": clean},
                            completed_task=(task_id, username))
            if added is not None:
                involved.record(session.connection(), case_row, added, actor=username, at=self._clock.now(),
                                deployment_version=deployment.version)
            if knowledge.marked_fields(schema):  # the form makes a knowledge-base entry (x-knowledge)
                case_row.head = knowledge.record(
                    session.connection(), case_row.head, catalogue=deployment.catalogue, number=case_row.number,
                    task_id=task_id, element=task.element_id, schema=schema, submitted=clean,
                    data=spiff.snapshot(case.workflow).data, actor=username, at=self._clock.now(),
                    deployment_version=deployment.version)

    def _lock_task(self, session: Session, task_id: str) -> tuple[CaseRow, Row, datetime]:
        """The task's case locked, the task read under that lock with whether a deadline of the case passed,
        and the moment the step applies at, taken once the lock is held.

        On SQLite the write transaction's BEGIN IMMEDIATE is the lock (held once ``connection()`` returns), so
        the case, its history head, the task and the deadline check are one statement. On PostgreSQL the case
        row's FOR UPDATE may wait for another step: the moment is taken after it, and the task and deadline
        are read by a second statement, which sees what that step committed.
        """
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            now = self._clock.now()
            found = LOCKED_CASE_AND_TASK.first(conn, {"task_id": task_id, "now": now})
            if found is None:
                raise NotFound(f"no task {task_id}")
            return case_row(found), LockedTask._make(found[len(LOCK_COLUMNS):]), now
        locked = lock_case(session, task_id=task_id)
        now = self._clock.now()
        task = LOCKED_TASK_AND_DUE.first(conn, {"task_id": task_id, "now": now})
        if task is None or task.case_id != locked.id:
            raise NotFound(f"no task {task_id}")
        return locked, task, now

    def _locked(self, session: Session, task_id: str, case_id: int) -> tuple[Row, CaseRow]:
        """The task read under its case's lock, so a racing completion is visible by now."""
        case = lock_case(session, case_id=case_id)
        task = LOCKED_TASK.first(session.connection(), {"task_id": task_id})
        if task is None or task.case_id != case_id:
            raise NotFound(f"no task {task_id}")
        return task, case

    @staticmethod
    def _check_open(task: Row) -> None:
        if task.state == "completed":
            raise TaskAlreadyCompleted(task.id, task.completed_by, task.completed_at)
        if task.state != "open":
            raise TaskNotOpen(task.id, task.state)


def _check_not_involved(case: CaseRow, username: str) -> None:
    if username in (case.involved_staff or []):
        raise NotAllowed(f"{username} is involved in case {case.number} and may not handle it")
