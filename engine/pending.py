"""The pending-matters ledger (seed 002's 《未了事宜台帐》), read from the deployed files and the cases.

A case is a *pending matter* while one of its open tasks is an element the diagram marks
``pendingMatter = true`` (the account manager's wait for the customer): nothing here knows which
element that is, or which case fields hold the reason and the next action. The catalogue says so:
the fields of any form marked ``"x-meaning"`` ``pending-reason``, ``next-action`` and
``expected-return``, and the reminder tasks marked ``pendingReminder = true``. Their values come
from the case's history (the forms as submitted), so the ledger shows what was recorded and when,
including each month's reminder, without opening a single workflow.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, select

from engine import forms
from engine.access import Access, not_involved
from engine.catalogue import Catalogue, Meaning
from engine.errors import NotAllowed
from engine.repository import Repository
from engine.store.db import Database
from engine.store.enums import CaseStatus, EventKind, TaskState
from engine.store.models import Case, CustomerContact, Event, RoleMember, Task

LEDGER_RIGHT = "pending_ledger"  # the roles.toml setting that opens the ledger
_T, _C, _CC, _RM = Task.__table__, Case.__table__, CustomerContact.__table__, RoleMember.__table__


@dataclass(frozen=True)
class Reminder:
    """One monthly reminder as the account manager recorded it."""

    at: datetime
    by: str
    element: str
    data: dict[str, Any]
    form: str | None


@dataclass(frozen=True)
class PendingMatter:
    """One row of the ledger: an open pending matter."""

    case_number: str
    task_id: str
    title: str  # the waiting task's name, the next action when no form gave one
    customer: str  # masked unless the viewer's role may see contact details
    product: str | None
    grade: str | None
    reason: str | None  # the code the form recorded (e.g. parts_delayed); ``reason_label`` gives words
    since: datetime  # when the wait began (the task's start)
    holder: str | None
    next_action: str
    expected_return: date | None
    month: str  # YYYY-MM of ``since`` in the business calendar's zone
    reminders: tuple[Reminder, ...] = field(default=())
    reason_field: str | None = None  # the case field the reason is in (its form gives the reason's words)
    form_labels: dict[str, dict] = field(default_factory=dict, repr=False)

    def reason_label(self, language: str) -> str:
        """The reason in ``language`` (``zh-CN`` or ``en``), as the form that asked for it words it."""
        return value_label(self.form_labels, self.reason_field, self.reason, language)

    @property
    def last_reminder(self) -> Reminder | None:
        return self.reminders[-1] if self.reminders else None


class PendingMatters:
    def __init__(self, db: Database, repository: Repository, access: Access) -> None:
        self._db, self._repository, self._access = db, repository, access

    def may_see(self, username: str) -> bool:
        """Whether one of ``username``'s roles has ``pending_ledger = true`` in the active roles.toml."""
        return self._access.has_right(username, LEDGER_RIGHT)

    def ledger(self, viewer: str, month: str | None = None, holder: str | None = None) -> list[PendingMatter]:
        """The open pending matters ``viewer`` may see, oldest first; of one month (``YYYY-MM``) and one holder.

        A person never sees a case they are involved in; a role that does not see every case sees
        the cases where it has or had a task (as the case page allows).
        """
        if not self.may_see(viewer):
            raise NotAllowed(f"{viewer} may not see the pending-matters ledger")
        waits = self._open_waits(viewer)
        zone = self._repository.active().calendar.zone
        full = self._access.may_see_contact(viewer)
        numbers = sorted({row.number for row in waits})
        completed = self._completed(numbers)
        matters = []
        for row in waits:
            catalogue = self._repository.load(row.deployment_id).catalogue
            since_month = row.created_at.astimezone(zone).strftime("%Y-%m")
            if month and since_month != month:
                continue
            if holder and row.assignee != holder:
                continue
            matters.append(_matter(row, catalogue, completed.get(row.number, []), since_month, full))
        return sorted(matters, key=lambda m: (m.since, m.case_number))

    def _open_waits(self, viewer: str) -> list[Any]:
        with self._db.read() as session:
            conn = session.connection()
            deployments = conn.execute(select(_C.c.deployment_id).distinct()
                                       .where(_C.c.status == CaseStatus.OPEN)).scalars().all()
            elements = set()
            for deployment_id in deployments:
                elements |= self._repository.load(deployment_id).catalogue.pending_steps
            if not elements:
                return []
            query = (select(_T.c.id, _T.c.element_id, _T.c.title, _T.c.assignee, _T.c.created_at, _C.c.number,
                            _C.c.deployment_id, _C.c.product_name, _C.c.grade, _C.c.summary,
                            _CC.c.name.label("full_name"))
                     .join(_C, _C.c.id == _T.c.case_id).outerjoin(_CC, _CC.c.case_id == _C.c.id)
                     .where(_T.c.state == TaskState.OPEN, _T.c.element_id.in_(sorted(elements)),
                            not_involved(_C.c.id, viewer)))
            if not self._access.sees_all(viewer):
                mine = select(_RM.c.role).where(_RM.c.username == viewer)
                other = _T.alias("had_task")
                query = query.where(exists().where(other.c.case_id == _C.c.id, other.c.role.in_(mine)))
            rows = conn.execute(query).all()
        return [r for r in rows if r.element_id in self._repository.load(r.deployment_id).catalogue.pending_steps]

    def _completed(self, numbers: list[str]) -> dict[str, list[Any]]:
        """Each case's completed forms (history events), in order."""
        found: dict[str, list[Any]] = defaultdict(list)
        if not numbers:
            return found
        with self._db.read() as session:
            rows = session.execute(
                select(Event.case_number, Event.at, Event.actor, Event.payload, Event.deployment_version)
                .where(Event.case_number.in_(numbers), Event.kind == EventKind.TASK_COMPLETED)
                .order_by(Event.case_number, Event.stream_seq)).all()
        for row in rows:
            found[row.case_number].append(row)
        return found


def _matter(row: Any, catalogue: Catalogue, completed: list[Any], month: str, full_contact: bool) -> PendingMatter:
    reason_field = catalogue.field(Meaning.PENDING_REASON)
    next_field = catalogue.field(Meaning.NEXT_ACTION)
    return_field = catalogue.field(Meaning.EXPECTED_RETURN)
    values: dict[str, Any] = {}
    reminders = []
    for event in completed:
        payload = json.loads(event.payload) if event.payload else {}
        data = payload.get("data") or {}
        for name in (reason_field, next_field, return_field):
            if name and data.get(name) not in (None, ""):
                values[name] = data[name]
        element = payload.get("element")
        if element in catalogue.reminder_steps and event.at >= row.created_at:
            reminders.append(Reminder(event.at, event.actor, element, dict(data), catalogue.step_forms.get(element)))
    name_field = catalogue.field(Meaning.CUSTOMER_NAME)
    masked = (row.summary or {}).get(name_field) if name_field else None
    if full_contact and row.full_name:
        customer = row.full_name
    else:
        customer = masked or (forms.mask_name(row.full_name) if row.full_name else "")
    return PendingMatter(
        case_number=row.number, task_id=row.id, title=row.title, customer=customer, product=row.product_name,
        grade=row.grade, reason=values.get(reason_field) if reason_field else None, since=row.created_at,
        holder=row.assignee, next_action=str(values.get(next_field) or row.title) if next_field else row.title,
        expected_return=_date(values.get(return_field)) if return_field else None, month=month,
        reminders=tuple(reminders), reason_field=reason_field, form_labels=catalogue.forms)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def field_label(schema: dict | None, name: str, language: str) -> str:
    """A form field's label in ``language`` (``zh-CN`` or ``en``), else its title, else its name."""
    labels = ((schema or {}).get("x-ui") or {}).get("labels") or {}
    words = (labels.get(language) or {}).get("fields") or {}
    prop = ((schema or {}).get("properties") or {}).get(name) or {}
    return str(words.get(name) or prop.get("title") or name)


def value_label(catalogue_forms: dict[str, dict], name: str | None, code: Any, language: str) -> str:
    """The words a form gives for ``code`` of field ``name`` (an enum's label), else the code itself."""
    if code is None:
        return ""
    for schema in catalogue_forms.values():
        if name and name in ((schema or {}).get("properties") or {}):
            labels = ((schema.get("x-ui") or {}).get("labels") or {}).get(language) or {}
            words = (labels.get("enum") or {}).get(name) or {}
            if str(code) in words:
                return str(words[str(code)])
    return str(code)


__all__ = ["PendingMatter", "PendingMatters", "Reminder", "field_label", "value_label"]
