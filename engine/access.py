"""Who may see and do what, from the active deployed version's ``roles.toml``: the process owners' file.

A person sees a case when they are not involved in it (the people complained about never
do) and either one of their roles sees every case or one of their roles has or had a
task on it, or a task on it was given to them (as a role's fallback). Full customer contact
details are for the roles that call
customers.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, bindparam, exists, or_, select

from engine.errors import NotAllowed, NotFound
from engine.store.db import Database
from engine.store.models import Case, InvolvedPerson, RoleMember, Task

_C, _T, _RM, _IP = Case.__table__, Task.__table__, RoleMember.__table__, InvolvedPerson.__table__
ROLES_OF = select(_RM.c.role).where(_RM.c.username == bindparam("username"))


def not_involved(case_id: ColumnElement, username: str) -> ColumnElement[bool]:
    """``username`` is not one of the staff the case is about: an indexed ``NOT EXISTS`` every list uses."""
    return ~exists().where(_IP.c.case_id == case_id, _IP.c.username == username)


class Access:
    """Rights follow the active version: a deploy that changes ``roles.toml`` changes them at once."""

    def __init__(self, db: Database, roles: Callable[[], dict[str, dict]]) -> None:
        self._db, self._active_roles = db, roles

    def roles_of(self, username: str) -> set[str]:
        with self._db.read() as session:
            return set(session.connection().execute(ROLES_OF, {"username": username}).scalars())

    def _any(self, username: str, key: str, value: object) -> bool:
        defined = self._active_roles()
        return any(defined.get(role, {}).get(key) == value for role in self.roles_of(username))

    def sees_all(self, username: str) -> bool:
        return self._any(username, "sees", "all")

    def may_see_contact(self, username: str) -> bool:
        return self._any(username, "contact", "full")

    def may_register(self, username: str) -> bool:
        return self._any(username, "register", True)

    def may_reassign(self, username: str) -> bool:
        return self._any(username, "reassign", True)

    def may_intervene(self, username: str) -> bool:
        return self._any(username, "intervene", True)

    def has_setting(self, username: str, key: str, value: object) -> bool:
        """Whether one of ``username``'s roles sets ``key = value`` in the active roles.toml."""
        return self._any(username, key, value)

    def has_right(self, username: str, key: str) -> bool:
        """Whether one of ``username``'s roles sets ``key = true`` in the active roles.toml."""
        return self._any(username, key, True)

    def may_deploy(self, username: str) -> bool:
        return self._any(username, "deploy", True)

    def is_admin(self, username: str) -> bool:
        """``admin = true``: may list and end anyone's sessions and API tokens."""
        return self._any(username, "admin", True)

    def is_read_only(self, username: str) -> bool:
        roles, defined = self.roles_of(username), self._active_roles()
        return bool(roles) and all(defined.get(role, {}).get("read_only") is True for role in roles)

    def require_view(self, username: str, number: str) -> None:
        """Raise ``NotAllowed`` unless ``username`` may open case ``number``."""
        with self._db.read() as session:
            row = session.connection().execute(
                select(~not_involved(_C.c.id, username), exists().where(
                    _T.c.case_id == _C.c.id,
                    # a task of one of their roles, or one given to them (a fallback role's person holds it)
                    or_(_T.c.role.in_(select(_RM.c.role).where(_RM.c.username == username)), _T.c.assignee == username),
                )).where(_C.c.number == number)
            ).first()
        if row is None:
            raise NotFound(f"no case {number}")
        involved, had_task = row
        if involved:
            raise NotAllowed(f"{username} is involved in case {number} and may not see it")
        if not (had_task or self.sees_all(username)):
            raise NotAllowed(f"case {number} belongs to another group; {username} has no task on it")

    def may_view(self, username: str, number: str) -> bool:
        try:
            self.require_view(username, number)
        except NotAllowed:
            return False
        return True

    def require_write(self, username: str) -> None:
        if self.is_read_only(username):
            raise NotAllowed(f"{username} may look but not change anything")
