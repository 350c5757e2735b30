"""The database away or a lock held too long: 503 with Retry-After, a page needing no database, nothing half-written.

PostgreSQL is made really unreachable: the app runs on a private cluster this test starts
and stops itself (never the machine's server).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask

from engine.clock import ManualClock
from engine.store.db import Timeouts
from tests.driver import FORM_DATA, registration, task
from tests.private_postgres import PrivatePostgres
from tests.web.conftest import serve
from tests.web.http_clients import Browser, app_on, bearer, register_over_api


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    cluster.start()
    yield cluster
    cluster.destroy()


def test_while_postgresql_is_down_the_api_answers_503_pages_say_so_in_chinese_and_service_resumes(
        private_postgres: PrivatePostgres, workflows_dir: Path, tmp_path: Path, web_clock: ManualClock):
    app = app_on(private_postgres.url, workflows_dir, tmp_path, web_clock)
    eng = app.extensions["complaintflow.engine"]
    server = serve(app)
    base = next(server)
    try:
        headers = bearer(base, "cs1")
        assert register_over_api(base, headers).json() == {"number": "20260302-PHONE-001"}
        person = Browser(base, lang="zh_CN").login("cs1")
        assert person.http.get("/inbox").status_code == 200

        private_postgres.stop()
        refused = register_over_api(base, headers, key="during-outage")
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.json()["code"] == "database_unavailable" and "Traceback" not in refused.text
        tasks = httpx.get(f"{base}/api/v1/tasks", headers=headers)
        assert tasks.status_code == 503 and tasks.headers["Retry-After"]
        page = person.http.get("/inbox")
        assert page.status_code == 503 and page.headers["Retry-After"]
        assert "暂时无法使用" in page.text and "未做任何更改" in page.text
        assert "Internal Server Error" not in page.text
        missing = person.http.get("/no/such/page")  # even an error page's header needs the user: 503, not 500
        assert missing.status_code == 503 and "暂时无法使用" in missing.text
        english = Browser(base, lang="en").http.get("/c/complaint")  # a customer's page, in their language
        assert english.status_code == 503 and "Temporarily unavailable" in english.text

        private_postgres.start()
        assert person.http.get("/inbox").status_code == 200
        again = register_over_api(base, headers, key="during-outage")  # the client's retry, after Retry-After
        assert again.status_code == 201 and again.json() == {"number": "20260302-PHONE-002"}  # no number burnt
        assert "Idempotent-Replayed" not in again.headers  # nothing of the refused attempt was kept
        with eng.db.read() as session:
            assert session.scalar(sa.text('SELECT count(*) FROM "case"')) == 2
        person.close()
    finally:
        server.close()
        eng.close()


@pytest.fixture
def quick_app(database_url: str, tmp_path: Path, workflows_dir: Path, web_clock: ManualClock) -> Iterator[Flask]:
    """An app whose lock waits give up after 0.5 s, as production's would after 5 s (on each database)."""
    app = app_on(database_url, workflows_dir, tmp_path, web_clock, Timeouts(lock_ms=500, sqlite_busy_ms=500))
    yield app
    app.extensions["complaintflow.engine"].close()


def test_a_case_locked_elsewhere_past_the_lock_timeout_is_503_with_retry_after_and_nothing_changes(quick_app):
    eng = quick_app.extensions["complaintflow.engine"]
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    version = eng.cases.get(number).version
    server = serve(quick_app)
    base = next(server)
    headers = bearer(base, "cs1")
    holder = sa.create_engine(eng.db.url)
    try:
        with holder.connect() as conn:  # another process holds the case row (SQLite: the write lock)
            if eng.db.dialect == "postgresql":
                conn.execute(sa.text('SELECT id FROM "case" WHERE number = :n FOR UPDATE'), {"n": number})
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            answer = httpx.post(f"{base}/api/v1/tasks/{first.id}/complete", headers=headers,
                                json={"data": FORM_DATA["first_response"]}, timeout=60)
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"] and answer.json()["code"] == "database_unavailable"
            conn.rollback()
        assert eng.cases.get(number).version == version and eng.tasks.get(first.id).state == "open"
        retried = httpx.post(f"{base}/api/v1/tasks/{first.id}/complete", headers=headers,
                             json={"data": FORM_DATA["first_response"]}, timeout=60)
        assert retried.status_code == 200, retried.text
    finally:
        holder.dispose()
        server.close()
