"""People, their roles, absence, and who gets a task.

Every role has a primary (rank 1) and a backup (rank 2, ...). A task goes to the first
person of its role who is present and is not one of the people complained about.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from engine import history
from engine.clock import Clock
from engine.errors import NotFound
from engine.store.db import Database
from engine.store.enums import EventKind
from engine.store.models import Case, Person, RoleMember, Task
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
    absent: bool
    roles: tuple[str, ...]


_RM, _P = RoleMember.__table__, Person.__table__
ROLE_MEMBERS = PreparedQuery(  # read at every step that opens a task or sends a notice
    select(_RM.c.username, _P.c.absent)
    .join(_P, _P.c.username == _RM.c.username)
    .where(_RM.c.role == bindparam("role"))
    .order_by(_RM.c.rank)
)


def role_members(conn: Connection | Session, role: str, excluded: set[str]) -> list[str]:
    """The present members of ``role`` by rank (primary first), leaving out ``excluded``."""
    rows = ROLE_MEMBERS.all(conn.connection() if isinstance(conn, Session) else conn, {"role": role})
    return [username for username, absent in rows if not absent and username not in excluded]


def pick_assignee(conn: Connection | Session, role: str | None, excluded: set[str]) -> str | None:
    """The first present member of ``role`` by rank who is not excluded, or None."""
    if not role:
        return None
    members = role_members(conn, role, excluded)
    return members[0] if members else None


class People:
    def __init__(self, db: Database, clock: Clock, roles: Callable[[], dict[str, dict]]) -> None:
        self._db, self._clock, self._roles = db, clock, roles

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
            if not check_password(password, stored) or person is None:
                return None
        return self.get(username)

    def get(self, username: str) -> PersonView:
        with self._db.read() as session:
            person = session.get(Person, username)
            if person is None:
                raise NotFound(f"no person {username!r}")
            roles = session.scalars(select(RoleMember.role).where(RoleMember.username == username)).all()
            return PersonView(person.username, person.display_name, person.absent, tuple(sorted(roles)))

    def set_contact(self, username: str, *, email: str | None = None, phone: str | None = None,
                    channels: list[str] | None = None, locale: str | None = None) -> None:
        """Where notices reach the person: e-mail, phone, the channels they want (None: all but SMS), language."""
        with self._db.write() as session:
            person = session.get(Person, username)
            if person is None:
                raise NotFound(f"no person {username!r}")
            person.email, person.phone, person.channels, person.locale = email, phone, channels, locale

    def set_absent(self, username: str, absent: bool) -> int:
        """Mark someone away (or back); their open tasks move to the next present person of the role.

        Returns how many tasks moved. Each move is recorded in its case's history.
        """
        moved = 0
        now = self._clock.now()
        with self._db.write() as session:
            person = session.get(Person, username)
            if person is None:
                raise NotFound(f"no person {username!r}")
            person.absent = absent
            session.flush()
            if not absent:
                return 0
            tasks = session.scalars(
                select(Task).where(Task.assignee == username, Task.state == "open").order_by(Task.created_at)
            ).all()
            for task in tasks:
                case = session.get(Case, task.case_id)
                new = pick_assignee(session, task.role, set(case.involved_staff or []))
                if new == task.assignee:
                    continue
                task.assignee, task.claimed = new, False
                moved += 1
                history.append(
                    session, case_number=case.number, at=now, actor="system", kind=EventKind.TASK_REASSIGNED,
                    payload={"task_id": task.id, "element": task.element_id, "from": username, "to": new,
                             "reason": "absent"},
                    deployment_version=None,
                )
        return moved
