"""The people a complaint is about: real staff, named at registration or at any step whose form marks a
field ``x-meaning: "involved-staff"`` (verification, responsibility, ...).

Names are matched to usernames case-insensitively (``CS1`` is ``cs1``); an unknown name is refused,
since a typo would let the person complained about see and handle the case. Each addition is one
``staff_involved`` history event in the step's own transaction, and the case leaves that person's
views at once: the ``involved_person`` rows every list excludes by, and their open tasks on the case
move to the next available person.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, func, select, update

from engine import history
from engine.casework import CaseRow
from engine.errors import StaffUnknown
from engine.people import assign
from engine.store.enums import EventKind, TaskState
from engine.store.models import Case, InvolvedPerson, Person, Task


def resolve(conn: Connection, field: str, names: object) -> list[str]:
    """The usernames ``names`` mean, in order and once each; ``StaffUnknown`` names any nobody has."""
    wanted = [str(name).strip() for name in (names or []) if str(name).strip()] if isinstance(names, list) else []
    if not wanted:
        return []
    lowered = {name.lower() for name in wanted}
    found = dict(conn.execute(select(func.lower(Person.username), Person.username)
                              .where(func.lower(Person.username).in_(lowered))).all())
    unknown = [name for name in wanted if name.lower() not in found]
    if unknown:
        raise StaffUnknown(field, unknown)
    return list(dict.fromkeys(found[name.lower()] for name in wanted))


def add(conn: Connection, row: CaseRow, names: list[str], *, element: str | None,
        roles: dict[str, dict], day: date) -> dict | None:
    """Add ``names`` to the case's people complained about; returns the history payload (None: nobody new).

    The case row and ``row`` get the whole list, so the step's own save already leaves them out of
    new tasks; each new person's open tasks on the case go to the next available person of the
    task's role (or its fallback). The caller appends the ``staff_involved`` event after its step's.
    """
    added = [name for name in names if name not in (row.involved_staff or [])]
    if not added:
        return None
    everyone = [*(row.involved_staff or []), *added]
    conn.execute(update(Case).where(Case.id == row.id).values(involved_staff=everyone))
    conn.execute(InvolvedPerson.__table__.insert(), [{"case_id": row.id, "username": name} for name in added])
    row.involved_staff = everyone
    moved = []
    held = conn.execute(select(Task.id, Task.element_id, Task.role, Task.assignee).where(
        Task.case_id == row.id, Task.state == TaskState.OPEN, Task.assignee.in_(added))).all()
    for task_id, task_element, role, holder in held:
        successor = assign(conn, role, set(everyone), roles, day).assignee
        conn.execute(update(Task).where(Task.id == task_id).values(assignee=successor, claimed=False))
        moved.append({"task_id": task_id, "element": task_element, "from": holder, "to": successor})
    return {"added": added, "element": element, "moved": moved}


def record(conn: Connection, row: CaseRow, payload: dict, *, actor: str, at: datetime,
           deployment_version: int | None) -> None:
    """The ``staff_involved`` event of an addition, on the case's chain."""
    row.head = history.append_at(conn, row.head, case_number=row.number, at=at, actor=actor,
                                 kind=EventKind.STAFF_INVOLVED, payload=payload, deployment_version=deployment_version)
