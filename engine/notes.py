"""Internal notes on a case, with @mentions that reach the person named.

A note is a history event (``note_added``): kept in the case's hash chain like every other fact,
never edited, shown on the case page to staff only (never on the customer's pages). ``@username``
names a member of staff (case-insensitive); each one named gets a notice (subject ``note_mention``)
through the outbox, so it reaches their notification list and their other channels. People the case
is about are never told of it, nor can a note be written on a case one is involved in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select

from engine import history
from engine.casework import lock_case
from engine.clock import Clock
from engine.errors import CaseArchived, FormInvalid, NotAllowed
from engine.history import History
from engine.store.db import Database
from engine.store.enums import CaseStatus, EventKind
from engine.store.models import Notification, Person

MAX_NOTE = 2000
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.\-]{1,64})")
MENTION_SUBJECT = "note_mention"  # the engine's own notice (labels.toml may word it), not a process fact
NOTE_FIELD = "note"


@dataclass(frozen=True)
class Note:
    author: str
    at: datetime
    text: str
    mentioned: tuple[str, ...]


class Notes:
    def __init__(self, db: Database, clock: Clock, history_reader: History) -> None:
        self._db, self._clock, self._history = db, clock, history_reader

    def add(self, number: str, author: str, text: str) -> Note:
        """Write a note; each staff member it mentions gets a notice. One transaction."""
        text = (text or "").strip()
        if not text:
            raise FormInvalid({NOTE_FIELD: "this field is required"})
        if len(text) > MAX_NOTE:
            raise FormInvalid({NOTE_FIELD: f"is too long (at most {MAX_NOTE} characters)"})
        now = self._clock.now()
        with self._db.write() as session:
            case = lock_case(session, number=number)
            involved = {str(name).casefold() for name in case.involved_staff or []}
            if author.casefold() in involved:
                raise NotAllowed(f"{author} is involved in case {number}")
            if case.status == CaseStatus.ARCHIVED:
                raise CaseArchived(number)
            named = {m.casefold() for m in MENTION.findall(text)} - involved
            people = session.scalars(select(Person.username).where(func.lower(Person.username).in_(named))).all() \
                if named else []
            mentioned = tuple(sorted(p for p in people if p != author))
            history.append(session, case_number=number, at=now, actor=author, kind=EventKind.NOTE_ADDED,
                           payload={"text": text, "mentioned": list(mentioned)}, deployment_version=None)
            if mentioned:
                session.execute(insert(Notification), [
                    {"case_id": case.id, "role": "mention", "recipients": [name], "subject": MENTION_SUBJECT,
                     "element_id": None, "created_at": now} for name in mentioned])
        return Note(author, now, text, mentioned)

    def for_case(self, number: str) -> list[Note]:
        """The case's notes, newest first."""
        return [Note(e.actor, e.at, str(e.payload.get("text") or ""), tuple(e.payload.get("mentioned") or ()))
                for e in reversed(self._history.events(number)) if e.kind == EventKind.NOTE_ADDED]
