"""Single-use, expiring links sent to customers (answer yes or no to a proposal, answer a survey step).

A link carries only a random token id; the row says which case it is for, what it may do,
until when, and whether it was used. Signing the id (so a guessed or altered link is
refused before the database is asked) is the web layer's job.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from engine.clock import Clock
from engine.errors import EngineError, NotFound
from engine.store.db import Database
from engine.store.models import Case, LinkToken

# confirm: answer yes or no to a message the case waits for; survey: answer a step customers may answer.
PURPOSES = ("confirm", "survey")
REASONS = ("unknown", "used", "expired", "wrong_purpose")


class LinkInvalid(EngineError):
    """The link cannot be used; ``reason`` is one of ``unknown | used | expired | wrong_purpose``."""

    def __init__(self, reason: str, used_at: datetime | None = None) -> None:
        self.reason, self.used_at = reason, used_at
        super().__init__(f"link is not valid: {reason}")


class Links:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db, self._clock = db, clock

    def issue(self, number: str, purpose: str, valid_for: timedelta) -> str:
        """A new token for ``number``; the caller decides how long the customer has to answer."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown link purpose {purpose!r}; one of {', '.join(PURPOSES)}")
        if valid_for <= timedelta(0):
            raise ValueError("a link must be valid for some time")
        now = self._clock.now()
        token = secrets.token_urlsafe(32)
        with self._db.write() as session:
            if session.scalar(select(Case.id).where(Case.number == number)) is None:
                raise NotFound(f"no case {number}")
            session.add(LinkToken(id=token, case_number=number, purpose=purpose, created_at=now,
                                  expires_at=now + valid_for, used_at=None))
        return token

    def check(self, token_id: str, purpose: str) -> str:
        """The case number if the link could be used now, without using it (for showing a page)."""
        with self._db.read() as session:
            row = session.get(LinkToken, token_id)
            return self._valid(row, purpose)

    def use(self, token_id: str, purpose: str) -> str:
        """Use the link up and return its case number; of two racing uses exactly one succeeds.

        The row is locked for the transaction (``FOR UPDATE`` on PostgreSQL, the write lock
        SQLite takes at ``BEGIN IMMEDIATE``), so a double submit finds it already used.
        """
        with self._db.write() as session:
            row = session.get(LinkToken, token_id, with_for_update=True)
            number = self._valid(row, purpose)
            row.used_at = self._clock.now()
            return number

    def _valid(self, row: LinkToken | None, purpose: str) -> str:
        if row is None:
            raise LinkInvalid("unknown")
        if row.purpose != purpose:
            raise LinkInvalid("wrong_purpose")
        if row.used_at is not None:
            raise LinkInvalid("used", row.used_at)
        if self._clock.now() >= row.expires_at:
            raise LinkInvalid("expired")
        return row.case_number
