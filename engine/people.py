"""People, their roles, absence, and who gets a task.

Every role has a primary (rank 1) and a backup (rank 2, ...). A task goes to the first
person of its role who is present on the case's current day (enabled, and no absence period
of theirs covers that day in the calendar's zone) and is not one of the people complained about. When the
role has nobody such, the task follows the role's ``fallback`` chain in ``roles.toml``
(e.g. specialist → supervisor → manager): a task nobody can see would stall the case and
its deadline notices would reach nobody.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Date, bindparam, exists, literal, or_, select
from sqlalchemy.orm import Session

from engine import history
from engine.calendar import CalendarConfig
from engine.clock import Clock
from engine.errors import NotFound
from engine.store.db import Database
from engine.store.enums import EventKind, HandOnReason, TaskState
from engine.store.models import Absence, Case, Notification, Person, RoleMember, Task
from engine.store.prepared import PreparedQuery

DEMO_PASSWORD = "demo"
DEMO_MAIL_DOMAIN = "demo.complaintflow.test"
CUSTOMER = "customer"  # notify("customer", ...): the case's own customer, at the contact given at intake
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


@lru_cache(maxsize=1)
def _demo_hash() -> str:
    # One hash for every demo login: seeding stays fast; demo data is not a secret.
    return hash_password(DEMO_PASSWORD)


@dataclass(frozen=True)
class PersonView:
    username: str
    display_name: str
    absent: bool  # away today (a dated absence period covers today in the calendar's zone)
    roles: tuple[str, ...]
    disabled: bool = False


_RM, _P, _A = RoleMember.__table__, Person.__table__, Absence.__table__


def away_on(username: ColumnElement, first: str = "day", last: str = "day_too") -> ColumnElement[bool]:
    """True for a person with an absence period covering the day bound as ``first`` and ``last`` (the same day)."""
    return exists().where(_A.c.username == username, _A.c.first_day <= bindparam(first, type_=Date),
                          or_(_A.c.last_day.is_(None), _A.c.last_day >= bindparam(last, type_=Date)))


ROLE_MEMBERS = PreparedQuery(  # read at every step that opens a task or sends a notice
    select(_RM.c.username)
    .join(_P, _P.c.username == _RM.c.username)
    .where(_RM.c.role == bindparam("role"), _P.c.disabled_at.is_(None), ~away_on(_RM.c.username))
    .order_by(_RM.c.rank)
)


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The calendar day ``moment`` falls on in the calendar's zone: absence periods are counted in these days."""
    return moment.astimezone(zone).date()


Roster = dict[tuple[str, date], list[str]]  # (role, day) -> members present, as read in this transaction


def role_members(conn: Connection | Session, role: str, excluded: set[str], day: date,
                 roster: Roster | None = None) -> list[str]:
    """The members of ``role`` present on ``day``, by rank (primary first), leaving out ``excluded``.

    Present: enabled, and no absence period of theirs covers ``day``. ``roster`` keeps what was read
    for the caller's transaction (a step that opens several tasks of a role and notifies it reads it once).
    """
    found = roster.get((role, day)) if roster is not None else None
    if found is None:
        found = [username for (username,) in ROLE_MEMBERS.all(conn.connection() if isinstance(conn, Session) else conn,
                                                              {"role": role, "day": day, "day_too": day})]
        if roster is not None:
            roster[(role, day)] = found
    return [username for username in found if username not in excluded]


def pick_assignee(conn: Connection | Session, role: str | None, excluded: set[str], day: date,
                  roster: Roster | None = None) -> str | None:
    """The first member of ``role`` present on ``day`` by rank who is not excluded, or None."""
    if not role:
        return None
    members = role_members(conn, role, excluded, day, roster)
    return members[0] if members else None


FALLBACK_NOTICE = "task_to_fallback"  # the subject of the notice a fallback person gets (labels, template)


def fallback_chain(roles: dict[str, dict], role: str) -> list[str]:
    """The roles after ``role`` in its ``fallback`` chain, in order (deploy refuses cycles; stop at one anyway)."""
    chain: list[str] = []
    current = (roles.get(role) or {}).get("fallback")
    while isinstance(current, str) and current and current != role and current not in chain:
        chain.append(current)
        current = (roles.get(current) or {}).get("fallback")
    return chain


@dataclass(frozen=True)
class Assignment:
    """Who gets a task; ``fallback_role`` is the role that stood in when the task's own had nobody."""

    assignee: str | None
    fallback_role: str | None = None


def assign(conn: Connection | Session, role: str | None, excluded: set[str], roles: dict[str, dict],
           day: date, roster: Roster | None = None) -> Assignment:
    """The task's role's first member available on ``day``, else the first along its fallback chain.

    ``day`` is the case's current moment in the calendar's zone (the engine clock), so a demo clock
    and a replay assign as the live run did.
    """
    if not role:
        return Assignment(None)
    own = pick_assignee(conn, role, excluded, day, roster)
    if own is not None:
        return Assignment(own)
    for fallback in fallback_chain(roles, role):
        found = pick_assignee(conn, fallback, excluded, day, roster)
        if found is not None:
            return Assignment(found, fallback)
    return Assignment(None)


def notice_recipients(conn: Connection | Session, role: str, excluded: set[str], roles: dict[str, dict],
                      day: date, roster: Roster | None = None) -> list[str]:
    """Who reads a notice to ``role``: its members available on ``day``, else those of the first fallback role
    that has any."""
    members = role_members(conn, role, excluded, day, roster)
    for fallback in fallback_chain(roles, role) if not members else ():
        members = role_members(conn, fallback, excluded, day, roster)
        if members:
            break
    return members


def record_fallback(case_id: int, element: str, task_id: str, role: str, chosen: Assignment,
                    moment: datetime) -> tuple[dict, dict]:
    """The outbox row telling the fallback person, and the payload of the history event recording it."""
    notice = {"case_id": case_id, "role": chosen.fallback_role, "subject": FALLBACK_NOTICE, "element_id": element,
              "recipients": [chosen.assignee], "created_at": moment}
    payload = {"task_id": task_id, "element": element, "role": role, "fallback_role": chosen.fallback_role,
               "to": chosen.assignee}
    return notice, payload


def hand_on(session: Session, username: str, roles: dict[str, dict], moment: datetime, day: date, *,
            reason: HandOnReason, actor: str, to_group: bool = False, only_roles: set[str] | None = None) -> int:
    """Move ``username``'s open tasks on: to the next person of the role available on ``day`` (or its
    fallback), or back to the role's group, nobody holding them (``to_group``: a disabled account).

    ``only_roles`` limits the move to tasks of those roles (roles the person no longer holds). Each move
    is a ``task_reassigned`` event in its case's history, by ``actor``, with ``reason``, in the caller's
    transaction. Returns how many tasks moved.
    """
    moved = 0
    tasks = session.scalars(
        select(Task).where(Task.assignee == username, Task.state == TaskState.OPEN,
                           *([Task.role.in_(only_roles)] if only_roles is not None else []))
        .order_by(Task.created_at)
    ).all()
    for task in tasks:
        case = session.get(Case, task.case_id)
        chosen = Assignment(None) if to_group else assign(session, task.role, set(case.involved_staff or []),
                                                            roles, day)
        new = chosen.assignee
        if new == task.assignee:
            continue
        task.assignee, task.claimed = new, False
        moved += 1
        payload = {"task_id": task.id, "element": task.element_id, "from": username, "to": new, "reason": reason}
        if chosen.fallback_role is not None:
            notice, recorded = record_fallback(case.id, task.element_id, task.id, task.role, chosen, moment)
            session.add(Notification(**notice))
            payload["fallback_role"] = recorded["fallback_role"]
        history.append(session, case_number=case.number, at=moment, actor=actor,
                       kind=EventKind.TASK_REASSIGNED, payload=payload, deployment_version=None)
    return moved


@dataclass(frozen=True)
class Away:
    """One absence period as the board's calendar shows it."""

    username: str
    display_name: str
    first_day: date
    last_day: date | None  # None: until further notice
    note: str


def away_today(session: Session, username: str, day: date) -> bool:
    return bool(session.scalar(select(away_on(literal(username))), {"day": day, "day_too": day}))


class People:
    def __init__(self, db: Database, clock: Clock, roles: Callable[[], dict[str, dict]],
                 zone: Callable[[], tzinfo] | None = None) -> None:
        self._db, self._clock, self._roles = db, clock, roles
        self._zone = zone or (lambda: ZoneInfo(CalendarConfig.timezone))

    def today(self) -> date:
        """Today in the calendar's zone, by the engine's clock (absence periods are in these days)."""
        return local_day(self._clock.now(), self._zone())


    def add(self, username: str, display_name: str, password: str, roles: dict[str, int]) -> None:
        """Create or update a person; ``roles`` maps role -> rank (1 primary, 2 backup)."""
        with self._db.write() as session:
            self._upsert(session, username, display_name, hash_password(password), roles)

    def _upsert(self, session: Session, username: str, display_name: str, password_hash: str,
                roles: dict[str, int]) -> None:
        person = session.get(Person, username)
        if person is None:
            session.add(Person(username=username, display_name=display_name, password_hash=password_hash))
        else:
            person.display_name, person.password_hash = display_name, password_hash
        session.flush()
        for role, rank in roles.items():
            existing = session.scalars(
                select(RoleMember).where(RoleMember.role == role, RoleMember.rank == rank)
            ).one_or_none()
            if existing is not None and existing.username != username:
                session.delete(existing)
                session.flush()
            if session.get(RoleMember, (role, username)) is None:
                session.add(RoleMember(role=role, username=username, rank=rank))

    def seed_demo(self) -> list[str]:
        """A primary and a backup for every deployed role (cs1/cs2, sup1/sup2, ...), owner1, auditor1."""
        created = []
        defined = self._roles()
        if not defined:
            raise NotFound("nothing is deployed yet: deploy first, the demo people follow the deployed roles")
        with self._db.write() as session:
            for role, info in defined.items():
                prefix = info.get("demo")
                if not prefix:
                    continue
                ranks = (1, 2) if info.get("backup", True) else (1,)
                for rank in ranks:
                    username = f"{prefix}{rank}"
                    label = f"{info.get('zh', role)} {'(主)' if rank == 1 else '(备)'}"
                    self._upsert(session, username, label, _demo_hash(), {role: rank})
                    session.flush()
                    person = session.get(Person, username)
                    person.email = person.email or f"{username}@{DEMO_MAIL_DOMAIN}"
                    created.append(username)
        return created

    def authenticate(self, username: str, password: str) -> PersonView | None:
        """The person if the password is theirs, else None (an unknown name costs the same time)."""
        with self._db.read() as session:
            person = session.get(Person, username)
            stored = person.password_hash if person is not None else _demo_hash()
            if not check_password(password, stored) or person is None or person.disabled_at is not None:
                return None
        return self.get(username)

    def get(self, username: str) -> PersonView:
        with self._db.read() as session:
            person = session.get(Person, username)
            if person is None:
                raise NotFound(f"no person {username!r}")
            roles = session.scalars(select(RoleMember.role).where(RoleMember.username == username)).all()
            return PersonView(person.username, person.display_name, away_today(session, username, self.today()),
                              tuple(sorted(roles)), person.disabled_at is not None)

    def set_contact(self, username: str, *, email: str | None = None, phone: str | None = None,
                    channels: list[str] | None = None, locale: str | None = None) -> None:
        """Where notices reach the person: e-mail, phone, the channels they want (None: all but SMS), language."""
        with self._db.write() as session:
            person = session.get(Person, username)
            if person is None:
                raise NotFound(f"no person {username!r}")
            person.email, person.phone, person.channels, person.locale = email, phone, channels, locale

    def away_between(self, usernames: Iterable[str], first: date, last: date) -> list[Away]:
        """The absence periods of ``usernames`` that touch the days ``first`` to ``last``, soonest first."""
        names = sorted(set(usernames))
        if not names:
            return []
        with self._db.read() as session:
            rows = session.execute(
                select(Absence, Person.display_name).join(Person, Person.username == Absence.username)
                .where(Absence.username.in_(names), Absence.first_day <= last,
                       or_(Absence.last_day.is_(None), Absence.last_day >= first))
                .order_by(Absence.first_day, Absence.username).limit(500)).all()
            return [Away(row.username, name, row.first_day, row.last_day, row.note) for row, name in rows]

    def hand_on_from_absent(self) -> int:
        """Open tasks held by someone away today (a period that began after they got the task) move to the
        next present person of the role; the scheduler's lease holder runs it. How many moved."""
        now, today = self._clock.now(), self.today()
        with self._db.write() as session:
            holders = session.scalars(
                select(Task.assignee).distinct()
                .where(Task.state == TaskState.OPEN, Task.assignee.is_not(None), away_on(Task.assignee)),
                {"day": today, "day_too": today}).all()
            roles = self._roles() if holders else {}
            return sum(hand_on(session, username, roles, now, today, reason=HandOnReason.ABSENT, actor="system")
                       for username in holders)

    def set_absent(self, username: str, absent: bool, actor: str = "system") -> int:
        """Mark someone away from today until further notice (or back from today); their open tasks move
        to the next present person of the role.

        The on/off form of a dated absence (``PeopleAdmin.add_absence`` takes dates): away opens a period
        from today with no last day; back ends every period covering today (yesterday becomes its last day,
        a period that began today is dropped). Returns how many tasks moved; each move is in its case's history.
        """
        now, today = self._clock.now(), self.today()
        with self._db.write() as session:
            if session.get(Person, username) is None:
                raise NotFound(f"no person {username!r}")
            covering = session.scalars(select(Absence).where(
                Absence.username == username, Absence.first_day <= today,
                or_(Absence.last_day.is_(None), Absence.last_day >= today))).all()
            if not absent:
                for period in covering:
                    if period.first_day >= today:
                        session.delete(period)
                    else:
                        period.last_day = today - timedelta(days=1)
                return 0
            if not covering:
                session.add(Absence(username=username, first_day=today, last_day=None, note="",
                                    created_by=actor, created_at=now))
                session.flush()
            return hand_on(session, username, self._roles(), now, today, reason=HandOnReason.ABSENT, actor="system")
