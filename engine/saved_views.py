"""A person's saved inbox views: named filters to come back to in one click (issue 15).

The web keeps only the inbox's own query parameters; the engine stores them as given, at most
``MAX_VIEWS`` per person, a name saved again replacing its filters.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select

from engine.clock import Clock
from engine.errors import FormInvalid
from engine.store.db import Database
from engine.store.models import SavedView

MAX_VIEWS = 20
MAX_NAME = 60
MAX_QUERY = 500
NAME_FIELD = "name"


@dataclass(frozen=True)
class View:
    id: int
    name: str
    query: str


class SavedViews:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db, self._clock = db, clock

    def of(self, username: str) -> list[View]:
        with self._db.read() as session:
            rows = session.execute(select(SavedView.id, SavedView.name, SavedView.query)
                                   .where(SavedView.username == username).order_by(SavedView.name)).all()
        return [View(*row) for row in rows]

    def save(self, username: str, name: str, query: str) -> None:
        name = " ".join((name or "").split())
        if not name:
            raise FormInvalid({NAME_FIELD: "this field is required"})
        if len(name) > MAX_NAME or len(query) > MAX_QUERY:
            raise FormInvalid({NAME_FIELD: f"is too long (at most {MAX_NAME} characters)"})
        with self._db.write() as session:
            existing = session.scalar(select(SavedView).where(SavedView.username == username,
                                                              SavedView.name == name))
            if existing is not None:
                existing.query = query
                return
            count = session.scalar(select(func.count()).where(SavedView.username == username)) or 0
            if count >= MAX_VIEWS:
                raise FormInvalid({NAME_FIELD: f"at most {MAX_VIEWS} saved views: delete one first"})
            session.add(SavedView(username=username, name=name, query=query, created_at=self._clock.now()))

    def delete(self, username: str, view_id: int) -> None:
        with self._db.write() as session:
            session.execute(delete(SavedView).where(SavedView.id == view_id, SavedView.username == username))
