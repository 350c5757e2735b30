"""The production recipe's shape: gunicorn with several workers, no ``COMPLAINTFLOW_SECRET_KEY``, the
rate limiter's storage in a real Redis on loopback.

Every worker must accept every other worker's cookies (one secret key, made once in the instance
folder) and count login failures in one budget (Redis), or a load balancer's choice of worker
decides whether a person can log in and how many guesses an attacker gets.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import engine
from tests.conftest import ROOT

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process on port {port} exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {seconds} s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    if not Path(REDIS).exists():
        pytest.fail("redis-server is missing: install it (apt-get install redis-server); it is never skipped")
    port = free_port()
    server = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, server)
        yield f"redis://127.0.0.1:{port}"
    finally:
        stop(server)


@pytest.fixture
def workers(tmp_path: Path, workflows_dir: Path, redis_url: str) -> Iterator[str]:
    """gunicorn with four workers over one SQLite file; yields the base URL."""
    url = f"sqlite:///{tmp_path / 'workers.sqlite'}"
    with engine.open(url, workflows_dir) as eng:
        eng.repository.deploy(actor="owner1", note="workers test")
        eng.people.seed_demo()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "COMPLAINTFLOW_SECRET_KEY"}
    env.update(COMPLAINTFLOW_DATABASE_URL=url, COMPLAINTFLOW_WORKFLOWS=str(workflows_dir),
               COMPLAINTFLOW_INSTANCE=str(tmp_path / "instance"), COMPLAINTFLOW_RATELIMIT_STORAGE=redis_url,
               COMPLAINTFLOW_INSECURE_COOKIES="1")
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}",
                               "web.wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, server, seconds=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server)
        log.close()


def test_every_worker_accepts_every_login_and_one_budget_counts_all_failures(workers, tmp_path):
    for attempt in range(8):  # each a new connection: gunicorn hands them to whichever worker accepts first
        with httpx.Client(base_url=workers, timeout=30) as browser:
            form = browser.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
            answer = browser.post("/login", data={"username": "cs1", "password": "demo", "csrf_token": token})
            assert answer.status_code == 302, (attempt, answer.status_code)
            assert browser.get("/inbox").status_code == 200, attempt
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    codes = []
    for _ in range(7):
        with httpx.Client(base_url=workers, timeout=30) as api:
            codes.append(api.post("/api/v1/session", json={"username": "cs2", "password": "bad"}).status_code)
    assert codes == [401] * 5 + [429] * 2
