"""Clients of the served app over real HTTP: the JSON API with bearer tokens, and a browser-like page session."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from flask import Flask

import engine
from engine.clock import Clock
from engine.store.db import Timeouts
from tests.driver import registration
from web import create_app


def api_token(base_url: str, username: str) -> str:
    response = httpx.post(f"{base_url}/api/v1/session", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def bearer(base_url: str, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(base_url, username)}"}


def register_over_api(base_url: str, headers: dict[str, str], key: str | None = None,
                      **overrides: object) -> httpx.Response:
    sent = dict(headers) | ({"Idempotency-Key": key} if key else {})
    return httpx.post(f"{base_url}/api/v1/complaints", headers=sent, json=registration(**overrides), timeout=60)


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name} on the page"
    return found.group(1)


class Browser:
    """Cookies kept between requests, as a browser does; ``lang`` picks the interface language."""

    def __init__(self, base_url: str, lang: str | None = None) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)
        if lang:
            self.http.get(f"/lang/{lang}")

    def login(self, username: str) -> Browser:
        token = hidden(self.http.get("/login").text, "csrf_token")
        response = self.http.post("/login", data={"username": username, "password": "demo", "csrf_token": token})
        assert response.status_code == 302, f"login of {username} failed: {response.status_code}"
        return self

    def close(self) -> None:
        self.http.close()


def app_on(database_url: str, workflows_dir: Path, tmp_path: Path, clock: Clock,
           timeouts: Timeouts | None = None) -> Flask:
    """The web app over a fresh engine on ``database_url`` (deployed, demo people), as the ``app`` fixture makes."""
    eng = engine.open(database_url, workflows_dir, clock=clock, attachments_dir=tmp_path / "files",
                      timeouts=timeouts)
    eng.repository.deploy(actor="owner1", note="web test set-up")
    eng.people.seed_demo()
    return create_app({"TESTING": True, "INSTANCE_DIR": str(tmp_path / "instance"), "SECRET_KEY": "test-secret",
                       "DATABASE_URL": database_url, "WORKFLOWS_DIR": str(workflows_dir)}, eng=eng)
