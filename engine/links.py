"""Single-use, expiring links sent to customers (answer yes or no to a proposal, answer a survey step).

A link carries only a random token id; the row says which case it is for, what it may do,
until when, and whether it was used. Signing the id (so a guessed or altered link is
refused before the database is asked) is the web layer's job.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.errors import EngineError, NotFound
from engine.store.db import Database
from engine.store.models import Case, LinkToken

# confirm: answer yes or no to a message the case waits for; survey: answer a step customers may answer;
# reply: answer a request for more information (text and photos) the case waits for; verify: say whether an
# improvement item linked to the customer's complaint solved their problem (``engine.improvement_answers``).
VERIFY = "verify"
PURPOSES = ("confirm", "survey", "reply", VERIFY)
# Where each link leads on the customers' pages (the web serves these paths).
PATHS = {"confirm": "/c/confirm/", "survey": "/c/survey/", "reply": "/c/reply/", "verify": "/c/verify/"}
REASONS = ("unknown", "used", "expired", "wrong_purpose")


def sign(secret: str, purpose: str, token: str) -> str:
    """The token as it goes into a link: signed, so a guessed or altered link is refused unread.

    The web app and the delivery workers sign with the same secret (``COMPLAINTFLOW_SECRET_KEY``).
    """
    return URLSafeSerializer(secret, salt=f"complaintflow-link-{purpose}").dumps(token)


def unsign(secret: str, purpose: str, signed: str) -> str | None:
    """The token inside a signed link, or None when the signature does not hold (tampered)."""
    try:
        value = URLSafeSerializer(secret, salt=f"complaintflow-link-{purpose}").loads(signed)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def path(secret: str, purpose: str, token: str) -> str:
    """The link's path on the customers' pages, e.g. ``/c/confirm/<signed>``."""
    return PATHS[purpose] + sign(secret, purpose, token)


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
            return self.use_in(session, token_id, purpose)

    def use_in(self, session: Session, token_id: str, purpose: str) -> str:
        """``use`` inside the caller's transaction: the link is spent only if everything else commits."""
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
