"""People administration: accounts, their roles, each role's primary and backup, dated absences, disabling.

Only a person whose deployed role says ``admin = true`` may do any of it. Every change is one
transaction with its event in the history's system stream naming who did it (a task that changes
hands is also an event in its case's stream). Bad input is refused with a ``PeopleRefused`` code
the web translates (``engine.refusals``), and nothing is written.

Contact addresses and password hashes never enter the history: an event says which fields changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine import history
from engine.clock import Clock
from engine.errors import EngineError, NotAllowed, NotFound
from engine.people import hand_on, hash_password, local_day
from engine.sessions import Sessions
from engine.store.db import Database
from engine.store.enums import EventKind, HandOnReason
from engine.store.models import Absence, Event, Person, RoleMember

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
PHONE = re.compile(r"\+?[0-9][0-9 -]{2,38}")
PASSWORD_LEAST = 10
DISPLAY_MAX, EMAIL_MAX, NOTE_MAX = 100, 200, 200
ABSENCE_DAYS_MAX = 366  # one period: a year at most (longer: disable the account)


class PeopleRefused(EngineError):
    """An administration change refused for a reason the person can fix (the code says which)."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self._coded(**params)
        super().__init__(f"{code}: {params}")


@dataclass(frozen=True)
class AbsenceView:
    id: int
    username: str
    first_day: date
    last_day: date | None  # None: until further notice
    note: str
    created_by: str

    def covers(self, day: date) -> bool:
        return self.first_day <= day and (self.last_day is None or day <= self.last_day)


@dataclass(frozen=True)
class Change:
    """One administration event about an account, as its page lists it."""

    at: datetime
    actor: str
    kind: str
    payload: dict


ACCOUNT_KINDS = (EventKind.PERSON_CREATED, EventKind.PERSON_CHANGED, EventKind.PERSON_ROLES_CHANGED,
                 EventKind.ABSENCE_ADDED, EventKind.ABSENCE_REMOVED, EventKind.PERSON_DISABLED,
                 EventKind.PERSON_ENABLED)
SCANNED = 2000  # an account page reads at most this many of the latest administration events


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    email: str | None
    phone: str | None
    roles: tuple[tuple[str, int], ...]  # (role, rank) by role
    disabled_at: datetime | None
    absences: tuple[AbsenceView, ...]  # periods not over yet, soonest first

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


def _absence_view(row: Absence) -> AbsenceView:
    return AbsenceView(row.id, row.username, row.first_day, row.last_day, row.note, row.created_by)


def parse_day(value: str | date | None, field: str) -> date | None:
    """A calendar day from ``YYYY-MM-DD`` (None for an empty value)."""
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        if len(text) != 10:  # YYYY-MM-DD and nothing else (fromisoformat also takes 20260302)
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise PeopleRefused("people_date_invalid", field=field, value=text[:20]) from None


class PeopleAdmin:
    def __init__(self, db: Database, clock: Clock, roles: Callable[[], dict[str, dict]],
                 zone: Callable[[], tzinfo], is_admin: Callable[[str], bool], sessions: Sessions) -> None:
        self._db, self._clock, self._roles, self._zone, self._is_admin = db, clock, roles, zone, is_admin
        self._sessions = sessions

    def today(self) -> date:
        return local_day(self._clock.now(), self._zone())

    # ------------------------------------------------------------ reading

    def accounts(self) -> list[Account]:
        """Every account by username, with its roles and the absence periods not over yet (three queries)."""
        with self._db.read() as session:
            return self._accounts(session, session.scalars(select(Person).order_by(Person.username)).all())

    def account(self, username: str) -> Account:
        with self._db.read() as session:
            [found] = self._accounts(session, [self._person(session, username)])
            return found

    def changes(self, username: str, limit: int = 50) -> list[Change]:
        """The administration events about ``username``, newest first (from the last ``SCANNED`` of them)."""
        with self._db.read() as session:
            rows = session.execute(
                select(Event.at, Event.actor, Event.kind, Event.payload)
                .where(Event.stream == history.SYSTEM, Event.kind.in_(list(ACCOUNT_KINDS)))
                .order_by(Event.seq.desc()).limit(SCANNED)).all()
        found = []
        for at, actor, kind, payload in rows:
            data = json.loads(payload)
            if data.get("username") == username:
                found.append(Change(at, actor, kind, data))
        return found[:limit]

    def members(self) -> dict[str, list[str]]:
        """Each deployed role's members by rank (primary first)."""
        found: dict[str, list[str]] = {role: [] for role in self._roles()}
        with self._db.read() as session:
            for role, username in session.execute(select(RoleMember.role, RoleMember.username)
                                                  .order_by(RoleMember.role, RoleMember.rank)):
                found.setdefault(role, []).append(username)
        return found

    def _accounts(self, session: Session, people: Sequence[Person]) -> list[Account]:
        names = [person.username for person in people]
        roles: dict[str, list[tuple[str, int]]] = {}
        for username, role, rank in session.execute(
                select(RoleMember.username, RoleMember.role, RoleMember.rank)
                .where(RoleMember.username.in_(names)).order_by(RoleMember.role)):
            roles.setdefault(username, []).append((role, rank))
        periods: dict[str, list[AbsenceView]] = {}
        for row in session.scalars(select(Absence).where(
                Absence.username.in_(names), or_(Absence.last_day.is_(None), Absence.last_day >= self.today()))
                .order_by(Absence.first_day)):
            periods.setdefault(row.username, []).append(_absence_view(row))
        return [Account(person.username, person.display_name, person.email, person.phone,
                        tuple(roles.get(person.username, ())), person.disabled_at,
                        tuple(periods.get(person.username, ()))) for person in people]

    # ------------------------------------------------------------ accounts

    def create(self, actor: str, username: str, display_name: str, password: str, *, email: str = "",
               phone: str = "", roles: list[str] | None = None) -> Account:
        """A new account with an initial password (scrypt), contact addresses and roles (each as the last rank)."""
        self._require_admin(actor)
        username, display_name = username.strip(), display_name.strip()
        if not USERNAME.fullmatch(username):
            raise PeopleRefused("people_username_invalid", username=username[:70])
        display_name = self._display_name(display_name)
        if len(password) < PASSWORD_LEAST:
            raise PeopleRefused("people_password_short", least=PASSWORD_LEAST)
        email, phone = self._contact(email, phone)
        wanted = self._known_roles(roles or [])
        with self._db.write() as session:
            if session.scalar(select(func.count()).select_from(Person)
                              .where(func.lower(Person.username) == username.lower())):
                raise PeopleRefused("people_username_taken", username=username)
            session.add(Person(username=username, display_name=display_name, password_hash=hash_password(password),
                               email=email, phone=phone))
            session.flush()
            for role in wanted:
                session.add(RoleMember(role=role, username=username, rank=self._next_rank(session, role)))
                session.flush()
            self._record(session, actor, EventKind.PERSON_CREATED,
                         {"username": username, "display_name": display_name, "roles": wanted,
                          "contact": [name for name, value in (("email", email), ("phone", phone)) if value]})
        return self.account(username)

    def change(self, actor: str, username: str, *, display_name: str, email: str = "", phone: str = "") -> Account:
        """A new display name or contact addresses (where notices reach the person)."""
        self._require_admin(actor)
        display_name = self._display_name(display_name.strip())
        email, phone = self._contact(email, phone)
        with self._db.write() as session:
            person = self._person(session, username, lock=True)
            changed = [name for name, old, new in (("display_name", person.display_name, display_name),
                                                   ("email", person.email, email), ("phone", person.phone, phone))
                       if old != new]
            if changed:
                person.display_name, person.email, person.phone = display_name, email, phone
                self._record(session, actor, EventKind.PERSON_CHANGED, {"username": username, "changed": changed})
        return self.account(username)

    def set_roles(self, actor: str, username: str, roles: list[str]) -> Account:
        """The account's roles become ``roles``: a new role puts them last in its order, a dropped one removes them."""
        self._require_admin(actor)
        wanted = self._known_roles(roles)
        with self._db.write() as session:
            person = self._person(session, username, lock=True)
            held = {m.role: m for m in session.scalars(select(RoleMember).where(RoleMember.username == username))}
            removed = sorted(set(held) - set(wanted))
            added = [role for role in wanted if role not in held]
            if not (removed or added):
                return self._accounts(session, [person])[0]
            for role in removed:
                session.delete(held[role])
            session.flush()
            for role in added:
                session.add(RoleMember(role=role, username=username, rank=self._next_rank(session, role)))
                session.flush()
            self._keep_an_admin(session)
            self._record(session, actor, EventKind.PERSON_ROLES_CHANGED,
                         {"username": username, "added": added, "removed": removed})
            if removed:  # tasks of a role they no longer hold go to the role's next present person
                hand_on(session, username, self._roles(), self._clock.now(), self.today(),
                        reason=HandOnReason.ROLE_REMOVED, actor=actor, only_roles=set(removed))
        return self.account(username)

    def set_ranks(self, actor: str, role: str, primary: str, backup: str = "") -> list[str]:
        """``role``'s primary (rank 1) and backup (rank 2); its other members keep their order after them."""
        self._require_admin(actor)
        [role] = self._known_roles([role])
        primary, backup = primary.strip(), backup.strip()
        with self._db.write() as session:
            rows = session.scalars(select(RoleMember).where(RoleMember.role == role)
                                   .order_by(RoleMember.rank).with_for_update()).all()
            by_name = {row.username: row for row in rows}
            for name in (primary, backup):
                if name and name not in by_name:
                    raise PeopleRefused("people_not_in_role", username=name, role=role)
            if not primary or primary == backup:
                raise PeopleRefused("people_ranks_invalid", role=role)
            order = [primary, *([backup] if backup else []),
                     *(row.username for row in rows if row.username not in (primary, backup))]
            before = [row.username for row in rows]
            if order == before:
                return order
            for offset, row in enumerate(rows):  # out of the way first: (role, rank) is unique
                row.rank = 1000 + offset
            session.flush()
            for rank, name in enumerate(order, start=1):
                by_name[name].rank = rank
            session.flush()
            self._record(session, actor, EventKind.ROLE_RANKS_SET, {"role": role, "before": before, "after": order})
        return order

    # ------------------------------------------------------------ absences

    def add_absence(self, actor: str, username: str, first: str | date | None, last: str | date | None,
                    note: str = "") -> AbsenceView:
        """A period away, from ``first`` to ``last`` (days of the calendar's zone, both included; no last day:
        until further notice). If it covers today, the person's open tasks move on at once."""
        self._require_admin(actor)
        first_day, last_day = parse_day(first, "first_day"), parse_day(last, "last_day")
        if first_day is None:
            raise PeopleRefused("people_date_missing", field="first_day")
        if last_day is not None and last_day < first_day:
            raise PeopleRefused("people_dates_inverted", first=first_day, last=last_day)
        if last_day is not None and (last_day - first_day).days + 1 > ABSENCE_DAYS_MAX:
            raise PeopleRefused("people_absence_too_long", most=ABSENCE_DAYS_MAX)
        note = note.strip()
        if len(note) > NOTE_MAX:
            raise PeopleRefused("people_note_too_long", most=NOTE_MAX)
        now, today = self._clock.now(), self.today()
        with self._db.write() as session:
            self._person(session, username, lock=True)
            clash = session.scalars(select(Absence).where(
                Absence.username == username,
                or_(Absence.last_day.is_(None), Absence.last_day >= first_day),
                *([Absence.first_day <= last_day] if last_day is not None else []))).first()
            if clash is not None:
                raise PeopleRefused("people_dates_overlap", first=clash.first_day,
                                    last=clash.last_day.isoformat() if clash.last_day else "…")
            row = Absence(username=username, first_day=first_day, last_day=last_day, note=note,
                          created_by=actor, created_at=now)
            session.add(row)
            session.flush()
            view = _absence_view(row)
            moved = 0
            if view.covers(today):
                moved = hand_on(session, username, self._roles(), now, today, reason=HandOnReason.ABSENT, actor=actor)
            self._record(session, actor, EventKind.ABSENCE_ADDED,
                         {"username": username, "absence": row.id, "first_day": first_day.isoformat(),
                          "last_day": last_day.isoformat() if last_day else None, "tasks_moved": moved})
        return view

    def remove_absence(self, actor: str, username: str, absence_id: int) -> None:
        self._require_admin(actor)
        with self._db.write() as session:
            row = session.get(Absence, absence_id, with_for_update=True)
            if row is None or row.username != username:
                raise NotFound(f"no absence {absence_id} of {username}")
            self._record(session, actor, EventKind.ABSENCE_REMOVED,
                         {"username": username, "absence": row.id, "first_day": row.first_day.isoformat(),
                          "last_day": row.last_day.isoformat() if row.last_day else None})
            session.delete(row)

    # ------------------------------------------------------------ disabling

    def disable(self, actor: str, username: str) -> dict[str, int]:
        """The account can no longer log in: its sessions end, its API tokens are revoked and its open tasks
        go back to their role's group (nobody holding them), all in one transaction."""
        self._require_admin(actor)
        if username == actor:
            raise PeopleRefused("people_disable_self")
        now = self._clock.now()
        with self._db.write() as session:
            person = self._person(session, username, lock=True)
            if person.disabled_at is not None:
                return {"sessions": 0, "tokens": 0, "tasks": 0}
            person.disabled_at = now
            session.flush()
            self._keep_an_admin(session)
            ended, revoked = self._sessions.close_account(session, username, actor)
            returned = hand_on(session, username, self._roles(), now, self.today(), reason=HandOnReason.DISABLED,
                               actor=actor, to_group=True)
            counts = {"sessions": ended, "tokens": revoked, "tasks": returned}
            self._record(session, actor, EventKind.PERSON_DISABLED, {"username": username, **counts})
        return counts

    def enable(self, actor: str, username: str) -> None:
        self._require_admin(actor)
        with self._db.write() as session:
            person = self._person(session, username, lock=True)
            if person.disabled_at is None:
                return
            person.disabled_at = None
            self._record(session, actor, EventKind.PERSON_ENABLED, {"username": username})

    # ------------------------------------------------------------ shared

    def _require_admin(self, actor: str) -> None:
        if not self._is_admin(actor):
            raise NotAllowed(f"{actor} may not administer people (roles.toml: admin = true)")

    def _person(self, session: Session, username: str, *, lock: bool = False) -> Person:
        person = session.get(Person, username, with_for_update=lock) if username else None
        if person is None:
            raise NotFound(f"no person {username!r}")
        return person

    def _known_roles(self, roles: list[str]) -> list[str]:
        defined = self._roles()
        wanted = list(dict.fromkeys(role.strip() for role in roles if role.strip()))
        for role in wanted:
            if role not in defined:
                raise PeopleRefused("people_role_unknown", role=role[:70])
        return wanted

    @staticmethod
    def _display_name(name: str) -> str:
        if not name or len(name) > DISPLAY_MAX:
            raise PeopleRefused("people_display_name_invalid", most=DISPLAY_MAX)
        return name

    @staticmethod
    def _contact(email: str, phone: str) -> tuple[str | None, str | None]:
        email, phone = email.strip(), phone.strip()
        if email and (len(email) > EMAIL_MAX or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)):
            raise PeopleRefused("people_email_invalid", value=email[:70])
        if phone and not PHONE.fullmatch(phone):
            raise PeopleRefused("people_phone_invalid", value=phone[:45])
        return email or None, phone or None

    @staticmethod
    def _next_rank(session: Session, role: str) -> int:
        return (session.scalar(select(func.max(RoleMember.rank)).where(RoleMember.role == role)) or 0) + 1

    def _keep_an_admin(self, session: Session) -> None:
        """Refuse a change that leaves no enabled account with an ``admin = true`` role: nobody could undo it."""
        admin_roles = [role for role, info in self._roles().items() if info.get("admin") is True]
        if not admin_roles:
            return
        left = session.scalar(select(func.count()).select_from(RoleMember)
                              .join(Person, Person.username == RoleMember.username)
                              .where(RoleMember.role.in_(admin_roles), Person.disabled_at.is_(None)))
        if not left:
            raise PeopleRefused("people_last_admin")

    def _record(self, session: Session, actor: str, kind: EventKind, payload: dict) -> None:
        history.append(session, case_number=None, at=self._clock.now(), actor=actor, kind=kind, payload=payload,
                       deployment_version=None)

