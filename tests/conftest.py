"""Fixtures: every engine test runs once on SQLite and once on PostgreSQL.

PostgreSQL is not optional: when it cannot be reached the PostgreSQL half of the suite
errors out (it is never skipped). Use ``-k sqlite`` to run only the SQLite half by hand.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

import engine
from engine.clock import ManualClock
from tests.deadline_shift import shift_deadlines

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE_POSTGRES_URL = os.environ.get("COMPLAINTFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _worker_url(base: str) -> str:
    """Each pytest-xdist worker gets a database of its own (``test_gw0``...): they reset it per test."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return base
    url = sa.engine.make_url(base)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


POSTGRES_URL = _worker_url(BASE_POSTGRES_URL)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Create the worker's database when it is missing (from the server's ``postgres`` database)."""
    if POSTGRES_URL == BASE_POSTGRES_URL:
        return
    url = sa.engine.make_url(POSTGRES_URL)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}) is None:
                conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    finally:
        admin.dispose()


def _reset_postgres(url: str) -> None:
    """Empty the test database: drop our tables so each test starts from the migrations."""
    eng = sa.create_engine(url)
    try:
        with eng.begin() as conn:
            tables = conn.scalars(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
            if tables:
                conn.execute(sa.text("DROP TABLE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    finally:
        eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'complaintflow.sqlite'}"
    _reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def clock() -> ManualClock:
    # Monday 2 March 2026, 09:00 in Shanghai: an ordinary working day.
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture
def workflows_dir(tmp_path: Path) -> Path:
    """A private copy of workflows/ a test may edit, as a process owner would."""
    target = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, target)
    if os.environ.get("COMPLAINTFLOW_TEST_SHIFT_DEADLINES"):
        shift_deadlines(target)
    return target


@pytest.fixture
def eng(database_url: str, workflows_dir: Path, clock: ManualClock):  # noqa: ANN201
    instance = engine.open(database_url, workflows_dir, clock=clock)
    instance.repository.deploy(actor="owner1", note="test set-up")
    instance.people.seed_demo()
    yield instance
    instance.close()
