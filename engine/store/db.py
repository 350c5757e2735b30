"""Database set-up: engines, sessions, SQLite pragmas and Alembic upgrades."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import DatabaseUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
WAL_CHECKPOINT_PAGES = 10_000  # SQLite: pages in the WAL before a checkpoint (its default: 1000)
WAL_KEEP_BYTES = 64 * 1024 * 1024  # SQLite: the WAL file is truncated to this after a checkpoint


@dataclass(frozen=True)
class Timeouts:
    """How long one statement may wait, in milliseconds (0: no limit).

    A request must fail fast with "try again" rather than queue behind a stuck lock or a
    runaway query; migrations and long admin commands (verify, purge) raise the limits.
    """

    lock_ms: int = 5_000  # PostgreSQL lock_timeout: waiting for a row or table lock
    statement_ms: int = 30_000  # PostgreSQL statement_timeout
    sqlite_busy_ms: int = 30_000  # SQLite busy timeout: writers queue on one file lock, so longer

    @classmethod
    def from_environment(cls) -> Timeouts:
        """``COMPLAINTFLOW_DB_LOCK_TIMEOUT_MS``, ``..._STATEMENT_TIMEOUT_MS``, ``..._SQLITE_BUSY_TIMEOUT_MS``."""
        def read(name: str, default: int) -> int:
            value = os.environ.get(f"COMPLAINTFLOW_DB_{name}_MS", "").strip()
            return int(value) if value.isdigit() else default

        return cls(read("LOCK_TIMEOUT", cls.lock_ms), read("STATEMENT_TIMEOUT", cls.statement_ms),
                   read("SQLITE_BUSY_TIMEOUT", cls.sqlite_busy_ms))

    def unbounded(self) -> Timeouts:
        """For admin commands that legitimately run long: no statement limit, locks waited for a minute."""
        return Timeouts(lock_ms=max(self.lock_ms, 60_000), statement_ms=0, sqlite_busy_ms=self.sqlite_busy_ms)


def make_engine(database_url: str, timeouts: Timeouts | None = None) -> Engine:
    """An engine tuned per backend: SQLite in WAL mode with write transactions taken up front."""
    timeouts = timeouts or Timeouts.from_environment()
    if database_url.startswith("sqlite"):
        busy_ms = timeouts.sqlite_busy_ms
        engine = create_engine(database_url, connect_args={"timeout": busy_ms / 1000, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):  # noqa: ANN001
            # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Checkpoint (copy the WAL into the file, with its fsyncs) every ~40 MB rather than SQLite's ~4 MB:
            # the pages every step rewrites (its case, its chain's head, the indexes) are copied once, not
            # dozens of times, and a step pays a checkpoint ten times less often. The WAL is cut back after.
            cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            cursor.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # noqa: ANN001
            # A write transaction takes the write lock at BEGIN, so two writers never both read
            # a case and then race to upgrade their locks (SQLite would fail one at once).
            options = conn.get_execution_options()
            if options.get("single_statement", False):
                return  # one statement reads a consistent snapshot on its own: no BEGIN, no rollback to pay for
            conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("write", False) else "BEGIN")

        return engine
    # Set at connection start-up, so every session of every process has them (pgbouncer aside). Options the
    # URL already gives (``?options=-csearch_path%3D...``) are kept: connect_args would replace them.
    given = make_url(database_url).query.get("options")
    limits = f"-c lock_timeout={int(timeouts.lock_ms)} -c statement_timeout={int(timeouts.statement_ms)}"
    options = " ".join([*((given,) if isinstance(given, str) else given or ()), limits])
    return create_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=10,
                         connect_args={"options": options})


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (no statement limit: a migration may rewrite a table)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL statement_timeout = 0"))
            conn.execute(text("SET LOCAL lock_timeout = '60s'"))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")


def unavailable(error: BaseException) -> bool:
    """Whether a driver error means "the database cannot answer now, try again" (not a bug of ours).

    PostgreSQL: any operational error (connection refused or lost, server shutting down, lock
    timeout, statement cancelled, deadlock); SQLite: the database locked past the busy timeout
    or its file unreachable (its other "operational" errors, such as a missing table, are bugs).
    """
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, sa_exc.InterfaceError):
        return True
    if not isinstance(error, sa_exc.OperationalError):
        return False
    if error.orig is not None and type(error.orig).__module__.startswith("sqlite3"):
        return any(text_ in str(error.orig).lower() for text_ in _SQLITE_UNAVAILABLE)
    return True


@contextmanager
def translated() -> Iterator[None]:
    """Driver errors that mean "try again later" become ``DatabaseUnavailable`` (the web answers 503)."""
    try:
        yield
    except (sa_exc.DBAPIError, sa_exc.TimeoutError) as error:
        if unavailable(error):
            raise DatabaseUnavailable(f"the database cannot answer now ({_reason(error)}); nothing was changed, "
                                      "try again shortly") from error
        raise


def _reason(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    first = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {first[0]}" if first else type(orig).__name__


class Database:
    """Sessions for reading and for one-transaction writes."""

    def __init__(self, database_url: str, timeouts: Timeouts | None = None) -> None:
        self.url = database_url
        self.timeouts = timeouts or Timeouts.from_environment()
        self.engine = make_engine(database_url, self.timeouts)
        self.dialect = self.engine.dialect.name
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._single = self.engine.execution_options(single_statement=True)
        self._writer = sessionmaker(self.engine.execution_options(write=True), expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with translated(), self._reader() as session:
            yield session

    @contextmanager
    def reading(self, single_statement: bool = False) -> Iterator[Connection]:
        """A plain connection for a read that only runs Core statements: no ORM session to build and tear down.

        Its statements share one transaction (one snapshot), rolled back when the block ends; a read of
        ``single_statement`` needs no transaction of its own on SQLite (one statement sees one snapshot).
        """
        with translated(), (self._single if single_statement else self.engine).connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error.

        Callables a writer appends to ``session.info["after_commit"]`` run once the commit
        has succeeded (and never after a rollback).
        """
        with translated(), self._writer() as session:
            with session.begin():
                yield session
            for callback in session.info.pop("after_commit", []):
                callback()

    def dispose(self) -> None:
        self.engine.dispose()
