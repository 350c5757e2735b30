"""Who is logged in: page sessions and API tokens, as rows that logout, revocation or an administrator end.

A client only ever holds a random 256-bit token; the database keeps its SHA-256, so a copy of the
table logs nobody in. Every request looks its row up: an ended, idle or too old session and a revoked
or expired token are refused at once, whatever copy of the cookie or token is sent. ``last_seen_at``
and ``last_used_at`` are written at most once a minute, so a busy person costs no write per request.

Ending someone else's session or token needs the ``admin = true`` right of the deployed roles.toml;
every end by a person (logout, an end from the account page, an administrator), every session found
run out (idle or too old, by ``system``) and every revocation is an event in the history's system stream.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine import history
from engine.clock import Clock, SystemClock
from engine.errors import NotAllowed, NotFound
from engine.store.db import Database
from engine.store.enums import EndReason, EventKind
from engine.store.models import ApiToken, UserSession

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at / last_used_at lag at most this much behind
SHOWN_ENDED = timedelta(days=7)  # the account page also lists what ended this recently
KEPT = timedelta(days=90)  # rows of ended sessions and dead tokens are deleted after this (the history keeps the ends)
TOKEN_NAME_MAX = 100
AGENT_MAX, ADDRESS_MAX = 300, 64


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What the database keeps of a token: unguessable tokens need no salt or slow hash."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class SessionView:
    id: str
    username: str
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    end_reason: str | None
    user_agent: str | None
    address: str | None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class TokenView:
    id: str
    username: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None

    def active_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``token`` is shown once, to its owner; only its digest is stored."""

    token: str
    view: TokenView


def _session_view(row: UserSession) -> SessionView:
    return SessionView(row.id, row.username, row.created_at, row.last_seen_at, row.ended_at, row.ended_by,
                       row.end_reason, row.user_agent, row.address)


def _token_view(row: ApiToken) -> TokenView:
    return TokenView(row.id, row.username, row.name, row.created_at, row.last_used_at, row.expires_at,
                     row.revoked_at, row.revoked_by)


class Sessions:
    """Page sessions and API tokens over the ``user_session`` and ``api_token`` tables."""

    def __init__(self, db: Database, history_clock: Clock, is_admin: Callable[[str], bool],
                 clock: Clock | None = None) -> None:
        self._db, self._history_clock, self._is_admin = db, history_clock, is_admin
        # Sessions live in real time even when cases run on a manual clock (demos, tests): moving the
        # business clock a day forward logs nobody out. Tests of the limits set a manual clock here.
        self.clock: Clock = clock or SystemClock()

    # ------------------------------------------------------------ page sessions

    def start(self, username: str, *, user_agent: str | None = None, address: str | None = None) -> str:
        """A new session for a login; returns the token the cookie carries (never stored as such)."""
        secret, now = new_secret(), self.clock.now()
        with self._db.write() as session:
            session.add(UserSession(id=digest(secret), username=username, created_at=now, last_seen_at=now,
                                    user_agent=(user_agent or "")[:AGENT_MAX] or None,
                                    address=(address or "")[:ADDRESS_MAX] or None))
        return secret

    def check(self, secret: str, *, idle: timedelta, lifetime: timedelta, activity: bool = True) -> str | None:
        """The username of a live session, else None (ending it if a limit has just run out).

        ``activity`` false (a page's background refresh) keeps ``last_seen_at`` where it is, so the
        idle limit still runs out for someone who left the page open.
        """
        if not secret or len(secret) > 200:
            return None
        now, key = self.clock.now(), digest(secret)
        with self._db.read() as session:
            row = session.get(UserSession, key)
            if row is None or row.ended_at is not None:
                return None
            username, created, seen = row.username, row.created_at, row.last_seen_at
        reason = EndReason.LIFETIME if now - created > lifetime else EndReason.IDLE if now - seen > idle else None
        if reason is not None:
            with self._db.write() as session:
                ended = session.execute(update(UserSession)
                                        .where(UserSession.id == key, UserSession.ended_at.is_(None))
                                        .values(ended_at=now, end_reason=reason)).rowcount
                if ended:  # the request that found it run out records it; a racing one finds it ended
                    self._record(session, "system", EventKind.SESSION_ENDED,
                                 {"username": username, "session": key[:16], "reason": str(reason)})
            return None
        if activity and now - seen >= TOUCH_EVERY:
            with self._db.write() as session:
                session.execute(update(UserSession).where(UserSession.id == key, UserSession.ended_at.is_(None))
                                .values(last_seen_at=now))
        return username

    def end_current(self, secret: str, actor: str) -> None:
        """Logout: the session of this token ends (nothing happens for an unknown or ended one)."""
        if secret:
            self._end(digest(secret), actor, EndReason.LOGOUT, check_rights=False)

    def end(self, session_id: str, actor: str) -> SessionView:
        """End a session by its id: one's own, or anyone's for an administrator (``NotAllowed`` otherwise)."""
        return self._end(session_id, actor, EndReason.ENDED, check_rights=True)

    def end_all(self, username: str, actor: str) -> int:
        """End every open session of ``username`` (their own, or an administrator's doing); how many ended."""
        self._require_self_or_admin(username, actor)
        ended = 0
        for view in self.of(username):
            if view.active:
                self._end(view.id, actor, EndReason.ENDED, check_rights=False)
                ended += 1
        return ended

    def _end(self, session_id: str, actor: str, reason: EndReason, *, check_rights: bool) -> SessionView:
        now, admin = self.clock.now(), check_rights and self._is_admin(actor)  # read before the write begins
        with self._db.write() as session:
            row = session.get(UserSession, session_id, with_for_update=True) if session_id else None
            if row is None or (check_rights and row.username != actor and not admin):
                # someone else's session is "not found" to a non-administrator: ids are not to be probed
                raise NotFound("no such session")
            if row.ended_at is None:
                row.ended_at, row.ended_by, row.end_reason = now, actor, reason
                self._record(session, actor, EventKind.SESSION_ENDED,
                             {"username": row.username, "session": row.id[:16], "reason": str(reason)})
            return _session_view(row)

    def of(self, username: str) -> list[SessionView]:
        """``username``'s open sessions and those ended in the last week, newest first."""
        since = self.clock.now() - SHOWN_ENDED
        with self._db.read() as session:
            rows = session.scalars(
                select(UserSession).where(UserSession.username == username)
                .where(UserSession.ended_at.is_(None) | (UserSession.ended_at >= since))
                .order_by(UserSession.created_at.desc()).limit(200)
            ).all()
            return [_session_view(row) for row in rows]

    # ------------------------------------------------------------ API tokens

    def issue_token(self, username: str, name: str, valid_for: timedelta) -> IssuedToken:
        secret, now = new_secret(), self.clock.now()
        row = ApiToken(id=secrets.token_hex(8), token_hash=digest(secret), username=username,
                       name=(name.strip() or "api")[:TOKEN_NAME_MAX], created_at=now, expires_at=now + valid_for)
        with self._db.write() as session:
            session.add(row)
            session.flush()
            view = _token_view(row)
        return IssuedToken(secret, view)

    def token_user(self, secret: str) -> TokenView | None:
        """The token's row if it is neither revoked nor expired, else None; notes its use (once a minute)."""
        if not secret or len(secret) > 200:
            return None
        now = self.clock.now()
        with self._db.read() as session:
            row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest(secret))).one_or_none()
            if row is None:
                return None
            view = _token_view(row)
        if not view.active_at(now):
            return None
        if view.last_used_at is None or now - view.last_used_at >= TOUCH_EVERY:
            with self._db.write() as session:
                session.execute(update(ApiToken).where(ApiToken.id == view.id).values(last_used_at=now))
        return view

    def tokens(self, username: str) -> list[TokenView]:
        """``username``'s tokens, newest first (revoked and expired ones too, for a week)."""
        since = self.clock.now() - SHOWN_ENDED
        with self._db.read() as session:
            rows = session.scalars(
                select(ApiToken).where(ApiToken.username == username, ApiToken.expires_at >= since)
                .where(ApiToken.revoked_at.is_(None) | (ApiToken.revoked_at >= since))
                .order_by(ApiToken.created_at.desc()).limit(200)
            ).all()
            return [_token_view(row) for row in rows]

    def revoke_token(self, token_id: str, actor: str) -> TokenView:
        """Revoke a token by its id: one's own, or anyone's for an administrator; 404 for an unknown id."""
        now, admin = self.clock.now(), self._is_admin(actor)  # read before the write begins
        with self._db.write() as session:
            row = session.get(ApiToken, token_id, with_for_update=True) if token_id else None
            if row is None or (row.username != actor and not admin):
                # someone else's token is "not found" to a non-administrator: ids are not to be probed
                raise NotFound("no such token")
            if row.revoked_at is None:
                row.revoked_at, row.revoked_by = now, actor
                self._record(session, actor, EventKind.TOKEN_REVOKED,
                             {"username": row.username, "token": row.id, "name": row.name})
            return _token_view(row)

    def close_account(self, session: Session, username: str, actor: str) -> tuple[int, int]:
        """In the caller's transaction (a disabled account): end ``username``'s open sessions and revoke their
        live tokens, at the sessions' own time; how many of each. The caller records the whole change."""
        now = self.clock.now()
        ended = session.execute(update(UserSession).where(UserSession.username == username,
                                                          UserSession.ended_at.is_(None))
                                .values(ended_at=now, ended_by=actor, end_reason=EndReason.DISABLED)).rowcount
        revoked = session.execute(update(ApiToken).where(ApiToken.username == username, ApiToken.revoked_at.is_(None),
                                                         ApiToken.expires_at > now)
                                  .values(revoked_at=now, revoked_by=actor)).rowcount
        return ended, revoked

    # ------------------------------------------------------------ housekeeping

    def forget_old(self, kept: timedelta = KEPT) -> int:
        """Delete sessions ended, or idle, and tokens expired or revoked longer than ``kept`` ago; how many.

        The scheduler's lease holder runs it: the rows hold addresses and browsers, kept no longer than useful.
        """
        before = self.clock.now() - kept
        with self._db.write() as session:
            gone = session.execute(delete(UserSession).where(
                (UserSession.ended_at < before) | (UserSession.last_seen_at < before))).rowcount
            gone += session.execute(delete(ApiToken).where(
                (ApiToken.expires_at < before) | (ApiToken.revoked_at < before))).rowcount
        return gone

    # ------------------------------------------------------------ shared

    def may_manage(self, username: str, actor: str) -> bool:
        return username == actor or self._is_admin(actor)

    def _require_self_or_admin(self, username: str, actor: str) -> None:
        if not self.may_manage(username, actor):
            raise NotAllowed(f"{actor} may not end {username}'s sessions (roles.toml: admin = true)")

    def _record(self, session: Session, actor: str, kind: EventKind, payload: dict) -> None:
        """The end in the history, at the engine's time like every other event of the system stream."""
        history.append(session, case_number=None, at=self._history_clock.now(), actor=actor, kind=kind,
                       payload=payload, deployment_version=None)
