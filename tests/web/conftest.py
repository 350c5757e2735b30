"""Fixtures for the web: an app on a SQLite file with a manual clock, a test client, and the
same app served over real HTTP on a loopback port (for API and browser tests)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

import engine
from engine.clock import ManualClock
from tests.conftest import SHANGHAI
from tests.web.oidc_peer import company_directory  # noqa: F401  (the OpenID Connect provider, for those who ask)
from web import create_app

# The tests speak plain http:// on loopback, where a Secure cookie would never come back: local
# development, as far as the app knows (tests of the production default remove this).
os.environ.setdefault("COMPLAINTFLOW_INSECURE_COOKIES", "1")


@pytest.fixture
def web_clock() -> ManualClock:
    # Monday 2 March 2026, 09:00 in Shanghai: an ordinary working day.
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture
def web_database_url(tmp_path: Path) -> str:
    """SQLite; a test module that must also pass on PostgreSQL overrides this with ``database_url``."""
    return f"sqlite:///{tmp_path / 'web.sqlite'}"


@pytest.fixture
def app(web_database_url: str, tmp_path: Path, workflows_dir: Path, web_clock: ManualClock) -> Iterator[Flask]:
    eng = engine.open(web_database_url, workflows_dir, clock=web_clock)
    eng.repository.deploy(actor="owner1", note="web test set-up")
    eng.people.seed_demo()
    application = create_app(
        {"TESTING": True, "INSTANCE_DIR": str(tmp_path / "instance"), "SECRET_KEY": "test-secret",
         "DATABASE_URL": eng.db.url, "WORKFLOWS_DIR": str(workflows_dir)},
        eng=eng,
    )
    yield application
    eng.close()


@pytest.fixture
def eng(app: Flask) -> engine.Engine:  # the web app's engine, for arranging and checking cases
    return app.extensions["complaintflow.engine"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def login(client: FlaskClient, username: str, password: str = "demo") -> None:
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302, f"login of {username} failed: {response.status_code}"


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The app on a real HTTP server (threaded) at 127.0.0.1; yields its base URL."""
    yield from serve(app)


def serve(app: Flask) -> Iterator[str]:
    """``app`` on a real HTTP server at 127.0.0.1 until the generator is closed; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
