"""Load on the served web app over loopback HTTP, on SQLite and on PostgreSQL.

For each database: seed 10,000 open complaints through the engine, start the app with
gunicorn (several workers, as in production), then drive it with concurrent clients for
a bounded time and print
- complaints registered per second through ``POST /api/v1/complaints``;
- p50 / p95 / p99 latency of a handler's inbox page (``GET /inbox``) with those cases open.

Run: ``make bench-web`` (or ``python bench/web_load.py --cases 2000 --seconds 5`` for a quick look).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from engine.demo import registration  # noqa: E402

WORKFLOWS = ROOT / "workflows"
POSTGRES_URL = os.environ.get("COMPLAINTFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHANNELS = ("phone", "web", "email", "store", "social", "chat")


def reset_postgres(url: str) -> None:
    db = sa.create_engine(url)
    with db.begin() as conn:
        tables = conn.scalars(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
        if tables:
            conn.execute(sa.text("DROP TABLE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    db.dispose()


def seed(url: str, cases: int) -> float:
    """Deploy, demo people and ``cases`` open complaints; returns the seconds it took."""
    began = time.perf_counter()
    with engine.open(url, WORKFLOWS) as eng:
        eng.repository.deploy(actor="owner1", note="web load benchmark")
        eng.people.seed_demo()
        for i in range(cases):
            eng.runtime.start("complaint", registration(channel=CHANNELS[i % len(CHANNELS)]), "cs1")
    return time.perf_counter() - began


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ, COMPLAINTFLOW_DATABASE_URL=url, COMPLAINTFLOW_WORKFLOWS=str(WORKFLOWS),
               COMPLAINTFLOW_SECRET_KEY="bench-secret", COMPLAINTFLOW_LOGIN_LIMIT="10000 per minute",
               COMPLAINTFLOW_INTAKE_LIMIT="100000 per minute")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-w", str(workers), "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "web.wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError(f"the app did not start: {server.stderr.read().decode()[-2000:]}")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(30)


def logged_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": "demo", "csrf_token": token})
    assert response.status_code == 302, f"login failed: {response.status_code}"
    return client


def run_clients(clients: int, seconds: float, action) -> list[float]:  # noqa: ANN001
    """Call ``action(i)`` from ``clients`` threads until time is up; the latency of each successful call."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(i: int) -> None:
        mine = []
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            if action(i):
                mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def measure(name: str, url: str, args: argparse.Namespace) -> dict:
    seeded = seed(url, args.cases)
    port = free_port()
    server = start_server(url, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        token = httpx.post(f"{base}/api/v1/session", json={"username": "cs1", "password": "demo"}).json()["token"]
        api = [httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
               for _ in range(args.clients)]

        def register(i: int) -> bool:
            return api[i].post("/api/v1/complaints", json=registration(channel="web")).status_code == 201

        registered = run_clients(args.clients, args.seconds, register)
        browsers = [logged_in(base, "cs1") for _ in range(args.clients)]

        def inbox(i: int) -> bool:
            return browsers[i].get("/inbox").status_code == 200

        latencies = run_clients(args.clients, args.seconds, inbox)
    finally:
        stop_server(server)
    ms = [v * 1000 for v in latencies]
    return {"name": name, "seed_s": seeded, "registered_per_s": len(registered) / args.seconds,
            "inbox_requests": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="open complaints before measuring")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "sqlite"):
            results.append(measure("sqlite", f"sqlite:///{folder}/load.sqlite", args))
        if args.only in (None, "postgresql"):
            reset_postgres(POSTGRES_URL)
            results.append(measure("postgresql", POSTGRES_URL, args))
    print(f"{args.cases} open complaints, {args.clients} clients, {args.workers} gunicorn workers, "
          f"{args.seconds:.0f} s per phase")
    print(f"{'database':<11} {'seed s':>7} {'registered/s':>13} {'inbox n':>8} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(f"{r['name']:<11} {r['seed_s']:7.1f} {r['registered_per_s']:13.1f} {r['inbox_requests']:8d} "
              f"{r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f}")


if __name__ == "__main__":
    main()
