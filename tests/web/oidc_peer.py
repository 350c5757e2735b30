"""A real OpenID Connect provider for the tests: ``tests/oidc_peer/provider.mjs`` (npm's oidc-provider) on loopback.

``make test`` installs it (``npm ci --prefix tests/oidc_peer``). A missing node or package fails the
tests that need it, never skips them. ``company_directory`` starts it for the served app, deploys a
roles.toml whose roles name the provider's groups, and points the app at it.
"""

from __future__ import annotations

import json
import re
import select
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from flask import Flask

import engine

PEER = Path(__file__).resolve().parents[1] / "oidc_peer"
CLIENT_ID, CLIENT_SECRET = "complaintflow", "client-secret-for-tests-only"
PASSWORD = "directory-pass"
# The company's groups, as a process owner names them in roles.toml.
GROUPS = {"cs_specialist": ["cs-team"], "cs_supervisor": ["cs-leads"]}
USERS = [
    {"sub": "u-1001", "username": "alice", "name": "Alice Wang", "email": "alice@corp.example", "groups": ["cs-team"]},
    {"sub": "u-1002", "username": "bob", "name": "Bob Li", "email": "bob@corp.example",
     "groups": ["cs-team", "cs-leads", "all-staff"]},
    {"sub": "u-1003", "username": "carol", "name": "Carol Zhao", "email": "carol@corp.example",
     "groups": ["marketing", "all-staff"]},
    # the same name as a local demo account: it must never become that account
    {"sub": "u-1004", "username": "cs1", "name": "Another cs1", "email": "cs1@corp.example", "groups": ["cs-team"]},
]


@dataclass
class Directory:
    """The running provider and its users file (read again at every sign-in)."""

    issuer: str
    config: Path
    users: list[dict] = field(default_factory=list)
    process: subprocess.Popen | None = None

    def stop(self) -> None:
        """The provider goes down (as when the company's identity provider is unreachable)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def set_groups(self, username: str, groups: list[str]) -> None:
        """Move a user to other groups at the provider, as the company's directory administrator would."""
        for user in self.users:
            if user["username"] == username:
                user["groups"] = groups
        saved = json.loads(self.config.read_text())
        saved["users"] = self.users
        self.config.write_text(json.dumps(saved))


def with_groups(roles_toml: str, groups: dict[str, list[str]]) -> str:
    """roles.toml with a ``groups = [...]`` line added to each named role."""
    for role, names in groups.items():
        roles_toml = roles_toml.replace(f"[roles.{role}]\n", f"[roles.{role}]\ngroups = {json.dumps(names)}\n", 1)
    return roles_toml


def deploy_groups(eng: engine.Engine, groups: dict[str, list[str]] = GROUPS) -> None:
    roles = eng.workflows_dir / "roles.toml"
    roles.write_text(with_groups(roles.read_text(encoding="utf-8"), groups), encoding="utf-8")
    assert eng.repository.deploy(actor="owner1", note="the identity provider's groups give roles")


def start_provider(tmp_path: Path, redirect_uri: str) -> Iterator[Directory]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: install Node.js (apt-get install nodejs npm); the OpenID Connect tests "
                    "run a real provider and are never skipped")
    if not (PEER / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test provider is not installed: run npm ci --prefix tests/oidc_peer (make test does)")
    config = tmp_path / "oidc_peer.json"
    users = [dict(user, password=PASSWORD) for user in USERS]
    config.write_text(json.dumps({"client": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                             "redirect_uris": [redirect_uri]}, "users": users}))
    log = (tmp_path / "oidc_peer.log").open("w")
    process = subprocess.Popen([node, str(PEER / "provider.mjs"), str(config)], stdout=subprocess.PIPE,
                               stderr=log, text=True, cwd=PEER)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 20)
        line = process.stdout.readline() if ready else ""
        if not line:
            process.kill()
            pytest.fail(f"the OpenID Connect provider did not start: {(tmp_path / 'oidc_peer.log').read_text()}")
        directory = Directory(json.loads(line)["issuer"], config, users, process)
        yield directory
    finally:
        Directory("", config, process=process).stop()
        log.close()


@pytest.fixture
def company_directory(app: Flask, served: str, tmp_path: Path) -> Iterator[Directory]:
    """The provider for the served app; the app signs in through it (the button says "Company directory")."""
    deploy_groups(app.extensions["complaintflow.engine"])
    for directory in start_provider(tmp_path, f"{served}/login/oidc/callback"):
        app.config.update(OIDC_ISSUER=directory.issuer, OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET=CLIENT_SECRET,
                          OIDC_SCOPES="openid profile email groups", OIDC_NAME="Company directory")
        yield directory


def action_of(page: str) -> str:
    found = re.search(r'<form method="post" action="([^"]+)"', page)
    assert found, f"no sign-in form on the provider's page: {page[:300]}"
    return found.group(1)


def to_callback(http: httpx.Client, served: str, directory: Directory, login: str,
                password: str = PASSWORD) -> str:
    """From our login button through the provider's sign-in page: the callback address it sends the browser to."""
    response = http.get(f"{served}/login/oidc")
    assert response.status_code == 302, response.text
    page = http.get(response.headers["location"], follow_redirects=True)
    assert str(page.url).startswith(f"{directory.issuer}/interaction/"), page.url
    response = http.post(f"{directory.issuer}{action_of(page.text)}", data={"login": login, "password": password})
    while response.is_redirect:
        location = str(response.next_request.url)
        if location.startswith(served):
            return location
        response = http.get(location)
    raise AssertionError(f"the provider did not send the browser back: {response.status_code} {response.text[:300]}")
