"""The improvement loop of seed 003: improvement items opened by the steps of complaints, linked to them.

An improvement item is a case of the process whose start event says ``improvement = true`` (here
``workflows/improvement.bpmn``). Nothing here knows when one opens: the diagrams say so, with two
functions their scripts call (``engine.spiff``):

- ``open_improvement(source, data)``: a suggestion, or a root-cause analysis's corrective and preventive
  actions, opens an item with ``data`` (checked against the item's start form), linked to the case;
- ``count_recurrence(group_by, threshold)``: the case is counted in its group of the calendar month of
  its registration; the group is the values of the fields the forms mark with the meanings ``group_by``
  (``"x-meaning"``: e.g. product and defect type), the threshold and grouping come from a decision table
  the process owner edits (``recurrence.dmn``). More than ``threshold`` cases open one item, linked to all
  of them; later cases of the group link to it.

Both run at the end of the step's save (``CaseWork.after_save``), in its transaction: the item, its links
and the history events commit with the step or not at all. The group's row is raised by an upsert that
holds it to the commit, so concurrent complaints of a group are counted one after the other and the item
opens once (its (group, month) key is unique).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine import history, spiff
from engine.casework import OpenCase
from engine.catalogue import Meaning, form_field
from engine.errors import WorkflowFailure
from engine.links import VERIFY
from engine.people import CUSTOMER
from engine.repository import Repository
from engine.runtime import Runtime
from engine.store.db import Database
from engine.store.enums import EventKind
from engine.store.models import Case, LinkToken, Notification
from engine.store.models_improvement import ImprovementLink, RecurrenceGroup, RecurrenceMember
from engine.store.prepared import PreparedValue

ITEM_CHANNEL = "improve"  # improvement items are numbered YYYYMMDD-IMPROVE-NNN
RECURRENCE = "recurrence"  # the source of an item a recurring problem opened (its links say so)
SYSTEM_ACTOR = "system"

_L, _G, _M, _C, _N, _LT = (ImprovementLink.__table__, RecurrenceGroup.__table__, RecurrenceMember.__table__,
                           Case.__table__, Notification.__table__, LinkToken.__table__)


def _raise_group(insert_of: Any) -> PreparedValue:
    statement = insert_of(_G).values(group_key=bindparam("group_key"), month=bindparam("month"), members=1)
    return PreparedValue(statement.on_conflict_do_update(
        index_elements=[_G.c.group_key, _G.c.month], set_={"members": _G.c.members + 1}).returning(_G.c.id))


# One statement: create the group's row or count one more in it; the row stays locked to the commit.
RAISE_GROUP = {"sqlite": _raise_group(sqlite.insert), "postgresql": _raise_group(postgresql.insert)}


@dataclass(frozen=True)
class LinkedCase:
    """A case at the other end of an improvement link."""

    number: str
    source: str
    status: str
    product: str | None
    linked_at: datetime


@dataclass(frozen=True)
class CaseLinks:
    """A case's improvement links: the items answering it (a complaint) and the cases it answers (an item)."""

    items: list[LinkedCase]
    cases: list[LinkedCase]


class Improvements:
    def __init__(self, db: Database, repository: Repository, runtime: Runtime) -> None:
        self._db, self._repository, self._runtime = db, repository, runtime

    # ------------------------------------------------------------ in the step's transaction

    def after_save(self, session: Session, case: OpenCase, snap: spiff.Snapshot) -> None:
        """Carry out the ``open_improvement`` and ``count_recurrence`` calls of the step just saved.

        An item has no customer of its own: its ``notify("customer", ...)`` goes to the customers of the
        complaints linked to it (their verification), each on their own case, so each reads it on their channel,
        in their language and on their status page.
        """
        if case.row.process_id == case.deployment.catalogue.improvement_process:
            self._tell_linked_customers(session, case, snap)
        for asked in list(case.notices):
            if isinstance(asked, spiff.Opening):
                self._open(session, case, asked.source, asked.data, [case.row.id], asked.element_id)
            elif isinstance(asked, spiff.Recurrence):
                self._count(session, case, snap.data, asked)

    def _tell_linked_customers(self, session: Session, case: OpenCase, snap: spiff.Snapshot) -> None:
        """Each linked complaint's customer gets the item's customer notices; a notice whose template says
        ``link = "verify"`` carries their own single-use link to say whether the problem is solved (valid for
        the ``customerLinkDays`` of the open step marked ``customerVerification``), naming complaint and item."""
        told = [n for n in spiff.notices_only(case.notices) if n.role == CUSTOMER]
        if not told:
            return
        conn = session.connection()
        linked = conn.execute(select(_L.c.case_id, _C.c.number).join(_C, _C.c.id == _L.c.case_id)
                              .where(_L.c.item_case_id == case.row.id).order_by(_L.c.id)).all()
        catalogue = case.deployment.catalogue
        days = catalogue.link_days(VERIFY, (), [t.task_spec.bpmn_id for t in snap.ready_user_tasks])
        rows, tokens = [], []
        for notice in told:
            asks = case.deployment.notice_links.get(notice.subject) == VERIFY
            for case_id, number in linked:
                token = secrets.token_urlsafe(32) if asks else None
                if token:
                    tokens.append({"id": token, "case_number": number, "item_number": case.row.number,
                                   "purpose": VERIFY, "created_at": case.moment,
                                   "expires_at": case.moment + timedelta(days=days), "used_at": None})
                rows.append({"case_id": case_id, "role": CUSTOMER, "subject": notice.subject,
                             "element_id": notice.element_id, "recipients": [], "link_token": token,
                             "created_at": case.moment})
        if tokens:
            conn.execute(insert(_LT), tokens)
        if rows:
            conn.execute(insert(_N), rows)

    def _open(self, session: Session, case: OpenCase, source: str, data: dict, members: list[int],
              element: str | None) -> str:
        deployment = self._repository.active()
        process = deployment.catalogue.improvement_process
        if process is None:
            raise WorkflowFailure("no deployed process has the start property improvement = true", element=element)
        form = deployment.start_form(process)
        data = dict(data)
        source_field = form_field(form, Meaning.IMPROVEMENT_SOURCE)
        if source_field:
            data.setdefault(source_field, source)
        number = self._runtime.start_within(session, process, data, SYSTEM_ACTOR, ITEM_CHANNEL)
        item_id = session.scalar(select(Case.id).where(Case.number == number))
        self._link(session, case, item_id, number, members, source)
        return number

    def _link(self, session: Session, case: OpenCase, item_id: int, item_number: str, members: list[int],
              source: str) -> None:
        """Link ``members`` to the item: one event on the item naming them, one on the case of this step."""
        conn, now = session.connection(), case.moment
        wanted = list(dict.fromkeys(members))
        known = set(session.scalars(select(_L.c.case_id).where(_L.c.item_case_id == item_id,
                                                                _L.c.case_id.in_(wanted))))  # not every link so far
        new = [m for m in wanted if m not in known]
        if not new:
            return
        conn.execute(insert(_L), [{"item_case_id": item_id, "case_id": m, "source": source, "created_at": now}
                                  for m in new])
        numbers = list(session.scalars(select(_C.c.number).where(_C.c.id.in_(new)).order_by(_C.c.id)))
        history.append(session, case_number=item_number, at=now, actor=SYSTEM_ACTOR,
                       kind=EventKind.IMPROVEMENT_LINKED, payload={"cases": numbers, "source": source},
                       deployment_version=None)
        case.row.head = history.append_at(conn, case.row.head, case_number=case.row.number, at=now,
                                          actor=SYSTEM_ACTOR, kind=EventKind.IMPROVEMENT_LINKED,
                                          payload={"item": item_number, "source": source}, deployment_version=None)

    def _count(self, session: Session, case: OpenCase, data: dict, asked: spiff.Recurrence) -> None:
        catalogue = case.deployment.catalogue
        values = []
        for name in asked.group_by:
            try:
                meaning = Meaning(name)
            except ValueError:
                raise WorkflowFailure(f"count_recurrence(): {name!r} is no x-meaning", element=asked.element_id) \
                    from None
            value = catalogue.value(data, meaning)
            if value in (None, "", []):
                return  # not known yet: counted by a later step that knows it
            values.append((meaning, value))
        conn = session.connection()
        if conn.execute(select(_M.c.group_id).where(_M.c.case_id == case.row.id)).first() is not None:
            return  # counted once, whichever step asks again
        key = json.dumps([[str(m), v] for m, v in values], ensure_ascii=False, sort_keys=True, default=str)[:500]
        month = case.row.created_at.astimezone(case.deployment.calendar.zone).strftime("%Y-%m")
        group_id = RAISE_GROUP[conn.dialect.name].run(conn, {"group_key": key, "month": month})
        conn.execute(insert(_M).values(case_id=case.row.id, group_id=group_id))
        members, item_id = conn.execute(select(_G.c.members, _G.c.item_case_id).where(_G.c.id == group_id)).one()
        if item_id is not None:
            item_number = session.scalar(select(_C.c.number).where(_C.c.id == item_id))
            self._link(session, case, item_id, item_number, [case.row.id], RECURRENCE)
            return
        if members <= asked.threshold:
            return
        everyone = list(conn.scalars(select(_M.c.case_id).where(_M.c.group_id == group_id).order_by(_M.c.case_id)))
        number = self._open(session, case, RECURRENCE, self._item_data(values, members, month), everyone,
                            asked.element_id)
        item_id = session.scalar(select(Case.id).where(Case.number == number))
        conn.execute(update(_G).where(_G.c.id == group_id).values(item_case_id=item_id))

    def _item_data(self, values: list[tuple[Meaning, Any]], members: int, month: str) -> dict:
        """The item's start data: the group's values in the fields of the item's form with the same meanings."""
        deployment = self._repository.active()
        form = deployment.start_form(deployment.catalogue.improvement_process or "")
        data: dict[str, Any] = {}
        for meaning, value in values:
            name = form_field(form, meaning)
            if name:
                data[name] = value
        described = form_field(form, Meaning.DESCRIPTION)
        if described:
            shown = ", ".join(str(v) for _m, v in values)
            data[described] = (f"{month} 同一问题（{shown}）已收到 {members} 起投诉。"
                               f" {members} complaints about the same problem ({shown}) in {month}.")
        return data

    # ------------------------------------------------------------ reading

    def links(self, number: str) -> CaseLinks:
        """The improvement items linked to case ``number`` and the cases linked to it (oldest first)."""
        with self._db.read() as session:
            case_id = session.scalar(select(_C.c.id).where(_C.c.number == number))
            other = _C.alias("other")

            def rows(mine: Any, theirs: Any) -> list[LinkedCase]:
                found = session.execute(
                    select(other.c.number, _L.c.source, other.c.status, other.c.product_name, _L.c.created_at)
                    .join(other, other.c.id == theirs).where(mine == case_id).order_by(_L.c.id)).all()
                return [LinkedCase(*row) for row in found]

            return CaseLinks(rows(_L.c.case_id, _L.c.item_case_id), rows(_L.c.item_case_id, _L.c.case_id))
