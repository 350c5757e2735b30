"""Driver errors that mean "try again" become DatabaseUnavailable; bugs stay bugs."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.errors import DatabaseUnavailable
from engine.store.db import Database, Timeouts
from tests.conftest import POSTGRES_URL


def test_a_statement_past_the_postgresql_statement_timeout_is_database_unavailable():
    db = Database(POSTGRES_URL, Timeouts(statement_ms=200))
    try:
        with pytest.raises(DatabaseUnavailable, match="QueryCanceled"), db.read() as session:
            session.execute(sa.text("SELECT pg_sleep(2)"))
        with db.read() as session:  # the connection is fine afterwards
            assert session.scalar(sa.text("SHOW lock_timeout")) == "5s"
    finally:
        db.dispose()


def test_the_timeouts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COMPLAINTFLOW_DB_LOCK_TIMEOUT_MS", "1500")
    monkeypatch.setenv("COMPLAINTFLOW_DB_STATEMENT_TIMEOUT_MS", "0")
    db = Database(POSTGRES_URL)
    try:
        with db.read() as session:
            assert session.scalar(sa.text("SHOW lock_timeout")) == "1500ms"
            assert session.scalar(sa.text("SHOW statement_timeout")) == "0"
    finally:
        db.dispose()


def test_options_in_the_url_are_kept_beside_the_timeouts():
    """A deployment that names its schema in the URL keeps it: the limits are added, not put in its place."""
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS cf_options CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA cf_options"))
    db = Database(f"{POSTGRES_URL}?options=-csearch_path%3Dcf_options", Timeouts(lock_ms=1500))
    try:
        with db.read() as session:
            assert session.scalar(sa.text("SHOW search_path")) == "cf_options"
            assert session.scalar(sa.text("SHOW lock_timeout")) == "1500ms"
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA cf_options CASCADE"))
        admin.dispose()


def test_an_unreachable_postgresql_is_database_unavailable():
    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/none")  # nothing listens on port 1
    try:
        with pytest.raises(DatabaseUnavailable), db.read() as session:
            session.execute(sa.text("SELECT 1"))
    finally:
        db.dispose()


def test_a_missing_sqlite_table_is_a_bug_not_an_outage(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite'}")
    try:
        with pytest.raises(sa.exc.OperationalError, match="no such table"), db.read() as session:
            session.execute(sa.text("SELECT * FROM nowhere"))
    finally:
        db.dispose()


def test_a_timer_whose_case_is_locked_past_the_lock_timeout_stays_pending_and_fires_later(
        database_url: str, workflows_dir: Path, clock):  # noqa: ANN001
    """A lock timeout is "not now": the timer must not be parked as a failed incident."""

    import engine
    from tests.driver import past_next_deadline, registration

    eng = engine.open(database_url, workflows_dir, clock=clock, timeouts=Timeouts(lock_ms=300, sqlite_busy_ms=300))
    holder = sa.create_engine(database_url)
    try:
        eng.repository.deploy(actor="owner1", note="test set-up")
        eng.people.seed_demo()
        number = eng.runtime.start("complaint", registration(), "cs1")
        past_next_deadline(eng, clock)  # the first response is overdue
        with holder.connect() as conn:
            if eng.db.dialect == "postgresql":
                conn.execute(sa.text('SELECT id FROM "case" WHERE number = :n FOR UPDATE'), {"n": number})
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            with pytest.raises(DatabaseUnavailable):
                eng.timers.fire_due()
            conn.rollback()
        assert {d.status for d in eng.cases.get(number).deadlines} == {"pending"}
        assert eng.timers.fire_due() >= 1
        assert "fired" in {d.status for d in eng.cases.get(number).deadlines}
    finally:
        holder.dispose()
        eng.close()
