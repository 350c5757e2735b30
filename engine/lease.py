"""Scheduler leadership: one lease holder per database runs the alarm clock and the singleton duties.

On PostgreSQL the lease is a session-level advisory lock held on a dedicated connection:
the server releases it the moment the holder's connection dies (``kill -9``, a lost machine),
so a standby takes over at its next check. The ``scheduler_lease`` row is kept for display.
On SQLite the row itself is the lease: its holder renews an expiry; another takes it once it
has expired. The holder id is ``host:service`` so a restarted service takes its own lease back
at once (on SQLite: unless its recorded process is still alive on this host).

Standbys only read (SQLite) or try the lock (PostgreSQL) every few seconds: no write
transaction while waiting.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, create_engine, func, select, text
from sqlalchemy.pool import NullPool

from engine.store.db import Database
from engine.store.models import SchedulerLease

log = logging.getLogger(__name__)
ADVISORY_KEY = 0x63660001  # "cf" 0001: fits in 32 bits, so pg_locks shows it as classid 0, objid KEY
LEASE_ROW = 1


def lease_seconds_from_env() -> float:
    return float(os.environ.get("COMPLAINTFLOW_SCHEDULER_LEASE_SECONDS", "10"))


def holder_id(service: str | None = None) -> str:
    """Stable across restarts of the same service on the same host."""
    service = service or os.environ.get("COMPLAINTFLOW_SERVICE_NAME", "scheduler")
    return f"{socket.gethostname()}:{service}"


class Lease:
    """Leadership over one database; ``check()`` is called every few seconds, ``held`` anytime."""

    def __init__(self, db: Database, seconds: float | None = None, service: str | None = None) -> None:
        self._db = db
        self.seconds = seconds if seconds is not None else lease_seconds_from_env()
        self.holder = holder_id(service)
        self._lock = threading.Lock()
        self._valid_until = 0.0  # monotonic time our leadership is known good until
        self._checked = 0.0  # monotonic time of the last check
        self._conn: Connection | None = None  # PostgreSQL: the connection holding the advisory lock
        self._engine = None
        if db.dialect == "postgresql":
            self._engine = create_engine(db.url, poolclass=NullPool, connect_args=_keepalive_args())

    @property
    def held(self) -> bool:
        return time.monotonic() < self._valid_until

    @property
    def check_seconds(self) -> float:
        """How often to check: often enough that a holder renews ~3 times per lease."""
        return max(0.2, min(2.0, self.seconds / 3))

    def check(self) -> bool:
        """Renew the lease if we hold it, else try to take it; returns whether we hold it now."""
        with self._lock:
            started = self._checked = time.monotonic()
            try:
                taken = self._check_postgres() if self._engine is not None else self._check_sqlite()
            except Exception as exc:  # the database is away: we do not know, so we do not lead
                log.warning("lease check failed: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                self._drop_connection()
                taken = False
            was = self.held
            self._valid_until = started + self.seconds if taken else 0.0
            if taken and not was:
                log.info("lease taken by %s", self.holder)
            elif was and not taken:
                log.warning("lease lost by %s", self.holder)
            return taken

    def renew_if_due(self) -> bool:
        """Renew between two firings once a check is due: on SQLite a keeper thread may starve on
        the write lock while a firing thread takes it again and again, so the batch renews too."""
        if self.held and time.monotonic() >= self._checked + self.check_seconds:
            return self.check()
        return self.held

    def release(self) -> None:
        with self._lock:
            try:
                if self.held:
                    with self._db.write() as session:
                        row = session.get(SchedulerLease, LEASE_ROW)
                        if row is not None and row.holder.startswith(self.holder):
                            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
            except Exception as exc:
                log.warning("lease release failed: %s", exc)
            self._valid_until = 0.0
            self._drop_connection()

    # ------------------------------------------------------------ PostgreSQL: advisory lock

    def _check_postgres(self) -> bool:
        if self._conn is None:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._conn.execute(text("SET statement_timeout = '5s'"))
        if not self.held:
            got = self._conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY})
            if not got:
                return False
        else:
            self._conn.execute(text("SELECT 1"))  # the connection (and so the lock) is still ours
        self._show(self._mine)
        return True

    def _show(self, holder: str) -> None:
        """Keep the lease row up to date for display (``status``, ``/readyz`` on SQLite)."""
        expires = datetime.now(UTC) + timedelta(seconds=self.seconds)
        with self._db.write() as session:
            row = session.get(SchedulerLease, LEASE_ROW, with_for_update=True)
            if row is None:
                session.add(SchedulerLease(id=LEASE_ROW, holder=holder, expires_at=expires))
            else:
                row.holder, row.expires_at = holder, expires

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # a dead connection cannot be closed cleanly
                self._conn.close()
            self._conn = None

    # ------------------------------------------------------------ SQLite: the row is the lease

    def _check_sqlite(self) -> bool:
        with self._db.read() as session:
            row = session.get(SchedulerLease, LEASE_ROW)
            if row is not None and not self._may_take(row.holder, row.expires_at):
                return False
        # Only a holder renewing or a standby taking over writes (and checks again under the lock).
        expires = datetime.now(UTC) + timedelta(seconds=self.seconds)
        with self._db.write() as session:
            row = session.get(SchedulerLease, LEASE_ROW)
            if row is None:
                session.add(SchedulerLease(id=LEASE_ROW, holder=self._mine, expires_at=expires))
            elif self._may_take(row.holder, row.expires_at):
                row.holder, row.expires_at = self._mine, expires
            else:
                return False
        return True

    @property
    def _mine(self) -> str:
        return f"{self.holder} pid={os.getpid()}"

    def _may_take(self, holder: str, expires_at: datetime) -> bool:
        if expires_at < datetime.now(UTC):
            return True
        name, _, pid = holder.partition(" pid=")
        if name != self.holder:
            return False  # someone else's live lease
        # Our own service: ours, or left by a previous run of it (a restart takes it back at once).
        return not pid.isdigit() or int(pid) == os.getpid() or not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _keepalive_args() -> dict:
    """Notice a vanished server or holder quickly on the lease connection."""
    return {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
            "keepalives_count": 2}


def someone_holds(db: Database) -> tuple[bool, str | None]:
    """Whether a live scheduler holds the lease, and who (for ``/readyz`` and ``status``)."""
    with db.read() as session:
        row = session.get(SchedulerLease, LEASE_ROW)
        holder = row.holder if row is not None else None
        if db.dialect == "postgresql":
            held = session.scalar(
                select(func.count()).select_from(text("pg_locks")).where(
                    text("locktype = 'advisory' AND classid = 0 AND objid = :key AND objsubid = 1 AND granted "
                         "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
                ).params(key=ADVISORY_KEY))
            return bool(held), holder
        return row is not None and row.expires_at > datetime.now(UTC), holder
