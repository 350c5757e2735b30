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
