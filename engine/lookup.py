"""Customers open their case's status page with a one-time code sent to the contact they gave.

The customer types the complaint number and their contact; when both match a case, a 6-digit
code goes to that contact (e-mail, or SMS where a gateway is configured). Only a salted hash of
the code is kept, with its expiry (10 minutes) and the attempts made (5); a code works once.
A case gets at most ``PER_CASE_PER_HOUR`` codes an hour, whoever asks (the web adds a limit per
address). The caller learns nothing of whether the pair matched: ``request`` answers the same and
sends from a thread of its own, so the answer takes as long either way.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, select, update

from engine.clock import Clock
from engine.notify import Notifications, is_phone
from engine.notify.channels import ChannelFailed, Outgoing, send_email, send_sms
from engine.notify.settings import EMAIL, SMS
from engine.store.db import Database
from engine.store.models import Case, CustomerContact, LookupCode

log = logging.getLogger(__name__)
_L, _C, _CC = LookupCode.__table__, Case.__table__, CustomerContact.__table__

DIGITS = 6
VALID = timedelta(minutes=10)
MAX_ATTEMPTS = 5
PER_CASE_PER_HOUR = 5
WORDS = {
    "zh-CN": ("您的投诉查询验证码：{code}",
              "您正在查询投诉 {number} 的处理进度。验证码：{code}，10 分钟内有效，仅可使用一次。"
              "如非本人操作，请忽略本消息。"),
    "en": ("Your complaint look-up code: {code}",
           "You asked to follow complaint {number}. Your code is {code}; it works once, for 10 minutes. "
           "If this was not you, ignore this message."),
}


@dataclass(frozen=True)
class Issued:
    """A code that was stored and is being sent (only tests and the engine see this)."""

    case_number: str
    channel: str
    thread: threading.Thread


def normalise(contact: str) -> str:
    """How contacts are compared: e-mail addresses case-blind, phone numbers by their digits."""
    contact = (contact or "").strip()
    if "@" in contact:
        return contact.casefold()
    digits = "".join(ch for ch in contact if ch.isdigit())
    return digits or contact.casefold()


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


class LookupCodes:
    def __init__(self, db: Database, clock: Clock, notifications: Notifications) -> None:
        self._db, self._clock, self._notifications = db, clock, notifications

    def request(self, number: str, contact: str) -> Issued | None:
        """Send a code to ``contact`` if it is the contact of case ``number`` and the case may get one now.

        None when nothing is sent (no such pair, no channel for the contact, the case's hourly limit).
        """
        settings = self._notifications.settings
        now = self._clock.now()
        with self._db.write() as session:
            row = session.execute(select(_C.c.id, _C.c.number, _CC.c.contact, _CC.c.locale)
                                  .join(_CC, _CC.c.case_id == _C.c.id)
                                  .where(_C.c.number == (number or "").strip().upper())).first()
            if row is None or not row.contact or not contact or normalise(row.contact) != normalise(contact):
                return None
            channel = EMAIL if "@" in row.contact else SMS if is_phone(row.contact.strip()) else None
            if channel is None or channel not in settings.channels:
                return None
            recent = session.scalar(select(func.count()).select_from(_L).where(
                _L.c.case_id == row.id, _L.c.created_at > now - timedelta(hours=1)))
            if recent >= PER_CASE_PER_HOUR:
                return None
            code = f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"
            salt = secrets.token_hex(16)
            code_id = session.execute(insert(_L).values(
                case_id=row.id, salt=salt, code_hash=_hash(salt, code), channel=channel, created_at=now,
                expires_at=now + VALID, attempts=0, used_at=None).returning(_L.c.id)).scalar_one()
        language = "en" if (row.locale or "").lower().startswith("en") else "zh-CN"
        title, text = (part.format(code=code, number=row.number) for part in WORDS[language])
        out = Outgoing(f"cf-lookup-{code_id}", title, text, None, row.contact.strip(), "lookup_code",
                       {"case_number": row.number})
        thread = threading.Thread(target=self._send, args=(channel, out), daemon=True, name="lookup-code")
        thread.start()
        return Issued(row.number, channel, thread)

    def _send(self, channel: str, out: Outgoing) -> None:
        try:
            (send_email if channel == EMAIL else send_sms)(self._notifications.settings, out)
        except ChannelFailed as failure:
            log.warning("a look-up code could not be sent on %s: %s", channel, failure.code)

    def verify(self, number: str, code: str) -> bool:
        """Whether ``code`` is the newest unexpired, unused code of case ``number``; a right one is used up,
        a wrong one counts an attempt (after ``MAX_ATTEMPTS`` the code is dead)."""
        code = (code or "").strip()
        now = self._clock.now()
        with self._db.write() as session:
            found = session.execute(
                select(_L.c.id, _L.c.salt, _L.c.code_hash, _L.c.attempts).join(_C, _C.c.id == _L.c.case_id)
                .where(_C.c.number == (number or "").strip().upper(), _L.c.used_at.is_(None), _L.c.expires_at > now)
                .order_by(_L.c.id.desc()).limit(1).with_for_update()).first()
            if found is None or found.attempts >= MAX_ATTEMPTS:
                return False
            if not (code.isdigit() and hmac.compare_digest(_hash(found.salt, code), found.code_hash)):
                session.execute(update(_L).where(_L.c.id == found.id).values(attempts=_L.c.attempts + 1))
                return False
            session.execute(update(_L).where(_L.c.id == found.id).values(used_at=now))
            return True
