"""Accounts of people who sign in through the company's identity provider (OpenID Connect).

The provider says who someone is (issuer + subject) and which groups they are in; the deployed
``roles.toml`` says which groups give which role (``groups = [...]`` on a role). At each sign-in
the account's roles become exactly those of its groups in the active version, so a person who
leaves a team at the provider loses the role at their next sign-in; each change is a
``sign_in_roles_set`` event in the history's system stream (who, which groups, roles before and
after). An account is created at the first sign-in only when its groups give a role: nobody holds
an account with no role. Such an account has no usable password: it signs in only through the
provider. A provider's user never becomes an existing local account, even one of the same name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import history, roles
from engine.clock import Clock
from engine.errors import NotAllowed
from engine.people import PersonView, away_today
from engine.store.db import Database
from engine.store.enums import EventKind
from engine.store.models import ExternalIdentity, Person, RoleMember

NO_PASSWORD = "external"  # not a scrypt hash: no password ever matches it (engine.people.check_password)
USERNAME_MAX, DISPLAY_NAME_MAX, EMAIL_MAX = 64, 100, 200
ISSUER_MAX, SUBJECT_MAX = 500, 255
_NOT_IN_USERNAME = re.compile(r"[^\w.@-]+")
TRIES = 3  # two first sign-ins racing for one name or rank: the loser tries again


class NoRoleForGroups(NotAllowed):
    """The person's groups give no role of the deployed version: no account, no sign-in."""

    code = "sign_in_no_role"

    def __init__(self, groups: list[str]) -> None:
        super().__init__(f"the groups {groups} map to no role in the deployed roles.toml")
        self._coded(groups=", ".join(groups) or "-")


class AccountDisabled(NotAllowed):
    """The account is disabled: the provider's word does not open it again."""

    code = "account_disabled"

    def __init__(self, username: str) -> None:
        super().__init__(f"the account {username!r} is disabled")
        self._coded(username=username)


@dataclass(frozen=True)
class ProviderClaims:
    """What the identity provider vouched for, already checked (signature, issuer, audience, nonce)."""

    issuer: str
    subject: str
    preferred_username: str | None = None
    name: str | None = None
    email: str | None = None
    groups: frozenset[str] = field(default_factory=frozenset)


def groups_of(value: Any) -> frozenset[str]:
    """The groups claim as names: a list of strings, or one string (as some providers send a single group)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return frozenset()
    return frozenset(name for name in value if isinstance(name, str) and name)


def disabled(person: Person) -> bool:
    """Whether an administrator disabled the account (people administration): the provider's word
    does not open it again."""
    return person.disabled_at is not None


def username_base(claims: ProviderClaims) -> str:
    """A readable username from ``preferred_username`` (else the e-mail's name), safe in a URL path."""
    wanted = claims.preferred_username or (claims.email or "").split("@")[0] or "user"
    cleaned = _NOT_IN_USERNAME.sub("-", wanted).strip("-.")
    return cleaned[:USERNAME_MAX - 4] or "user"


class Identities:
    """Sign-in through the identity provider: the account by issuer and subject, its roles by its groups."""

    def __init__(self, db: Database, clock: Clock, deployed_roles: Callable[[], dict[str, dict]],
                 today: Callable[[], date]) -> None:
        """``today()``: the calendar's day by the engine clock, the day absence periods are read in."""
        self._db, self._clock, self._roles, self._today = db, clock, deployed_roles, today

    def sign_in(self, claims: ProviderClaims) -> PersonView:
        """The account of these claims, created or updated, with the roles of its groups.

        Raises ``NoRoleForGroups`` when the groups give no role (a new account is then not created;
        an existing one loses its roles, recorded, and is refused) and ``AccountDisabled``.
        """
        if not claims.subject or len(claims.subject) > SUBJECT_MAX or len(claims.issuer) > ISSUER_MAX:
            raise NotAllowed("the provider's issuer or subject is empty or too long")
        wanted = roles.for_groups(self._roles(), set(claims.groups))
        for attempt in range(TRIES):
            try:
                view = self._sign_in_once(claims, wanted)
                break
            except IntegrityError:
                if attempt == TRIES - 1:
                    raise
        if not view.roles:
            raise NoRoleForGroups(sorted(claims.groups))
        return view

    def _sign_in_once(self, claims: ProviderClaims, wanted: set[str]) -> PersonView:
        now = self._clock.now()
        with self._db.write() as session:
            identity = session.get(ExternalIdentity, (claims.issuer, claims.subject), with_for_update=True)
            created = identity is None
            if identity is None:
                if not wanted:
                    raise NoRoleForGroups(sorted(claims.groups))
                person = self._new_person(session, claims)
                session.add(ExternalIdentity(issuer=claims.issuer, subject=claims.subject, username=person.username,
                                             created_at=now, last_sign_in_at=now))
            else:
                person = session.get(Person, identity.username)
                if disabled(person):
                    raise AccountDisabled(person.username)
                identity.last_sign_in_at = now
                if claims.name:
                    person.display_name = claims.name[:DISPLAY_NAME_MAX]
                if claims.email:
                    person.email = claims.email[:EMAIL_MAX]
            session.flush()
            before = set(session.scalars(select(RoleMember.role).where(RoleMember.username == person.username)))
            if before != wanted:
                self._set_roles(session, person.username, before, wanted)
                history.append(session, case_number=None, at=now, actor=person.username,
                               kind=EventKind.SIGN_IN_ROLES_SET,
                               payload={"username": person.username, "issuer": claims.issuer,
                                        "subject": claims.subject, "groups": sorted(claims.groups),
                                        "before": sorted(before), "after": sorted(wanted), "created": created},
                               deployment_version=None)
            return PersonView(person.username, person.display_name, away_today(session, person.username, self._today()),
                              tuple(sorted(wanted)), disabled(person))

    def _new_person(self, session: Session, claims: ProviderClaims) -> Person:
        base = username_base(claims)
        username, number = base, 1
        while session.get(Person, username) is not None:
            number += 1
            username = f"{base}-{number}"
        person = Person(username=username, display_name=(claims.name or username)[:DISPLAY_NAME_MAX],
                        password_hash=NO_PASSWORD, email=(claims.email or None) and claims.email[:EMAIL_MAX])
        session.add(person)
        session.flush()
        return person

    @staticmethod
    def _set_roles(session: Session, username: str, before: set[str], wanted: set[str]) -> None:
        """Leave the roles no group gives any more; join the new ones after their present members (rank)."""
        for role in before - wanted:
            session.delete(session.get(RoleMember, (role, username)))
        session.flush()
        for role in sorted(wanted - before):
            last = session.scalar(select(func.max(RoleMember.rank)).where(RoleMember.role == role)) or 0
            session.add(RoleMember(role=role, username=username, rank=last + 1))
            session.flush()

    def identity_of(self, username: str) -> tuple[str, str] | None:
        """The (issuer, subject) an account signs in as, or None for a local account."""
        with self._db.read() as session:
            row = session.scalars(select(ExternalIdentity).where(ExternalIdentity.username == username)).first()
            return (row.issuer, row.subject) if row is not None else None
