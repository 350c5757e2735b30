"""Lists at scale, over loopback HTTP against gunicorn, on SQLite and on PostgreSQL.

For each database and each ``--cases`` size (default 1,000 and 100,000 open complaints):
``--templates`` complaints are registered through the engine in the demo cases' states
(fresh, urgent, waiting for the customer, serious, a compensation to approve; cs1 involved in
one of ten), and the rest are copies of their rows (``bench/clone.py``: case, task, timer,
customer_contact, involved_person with fresh ids and SpiffWorkflow task UUIDs; no history
events, notifications or attachments). Every size gets its own app under gunicorn, and the
rounds interleave the sizes so that the machine's load falls on all of them alike. Printed:

- p95 of cs1's inbox page (``GET /inbox``), ``GET /api/v1/tasks`` (first page), a case
  page (``GET /cases/<number>``, a random case cs1 may open) and the auditor's compliance
  report page for the month (``GET /audit/report``): the median of the rounds' p95s, and the
  ratio largest size ÷ smallest size (the target is at most 1.5×; the report reads every
  deadline of the month, so it grows with them, though far below the cost of listing them);
- PostgreSQL only: complaints registered per second through ``POST /api/v1/complaints``
  with 1 and with 4 gunicorn workers (rounds interleaved), and their ratio (it must grow).

PostgreSQL: ``COMPLAINTFLOW_TEST_POSTGRES_URL``; each size and the registration run use a
schema of their own in that database (dropped at the start). Run: ``make bench-web``;
``python bench/web_load.py --quick`` for a small run.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from bench.clone import clone_open_cases, register_templates  # noqa: E402
from engine.demo import from_folder  # noqa: E402

SHIPPED = from_folder(Path(__file__).resolve().parent.parent / "workflows")
registration = SHIPPED.registration

WORKFLOWS = ROOT / "workflows"
POSTGRES_URL = os.environ.get("COMPLAINTFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
VIEWER = "cs1"


def postgres_schema(url: str, schema: str) -> str:
    """A fresh schema in the database at ``url``; the URL whose connections work in it."""
    db = sa.create_engine(url)
    with db.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    db.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def seed(url: str, cases: int, templates: int) -> tuple[float, list[str]]:
    """Deploy, demo people, templates through the engine, copies up to ``cases`` open complaints.

    Returns the seconds it took and a sample of the case numbers the viewer may open.
    """
    began = time.perf_counter()
    with engine.open(url, WORKFLOWS) as eng:
        eng.repository.deploy(actor="owner1", note="web load benchmark")
        eng.people.seed_demo()
        register_templates(eng, min(templates, cases), involved=VIEWER)
        clone_open_cases(eng.db.engine, cases)
        with eng.db.engine.connect() as conn:
            numbers = list(conn.scalars(sa.text(
                'SELECT c.number FROM "case" c WHERE EXISTS (SELECT 1 FROM task t WHERE t.case_id = c.id '
                "AND t.role = 'cs_specialist') AND NOT EXISTS (SELECT 1 FROM involved_person p "
                "WHERE p.case_id = c.id AND p.username = :viewer) ORDER BY c.id"), {"viewer": VIEWER}))
    sample = random.Random(cases).sample(numbers, min(200, len(numbers)))
    return time.perf_counter() - began, sample


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, COMPLAINTFLOW_DATABASE_URL=url, COMPLAINTFLOW_WORKFLOWS=str(WORKFLOWS),
               COMPLAINTFLOW_SECRET_KEY="bench-secret", COMPLAINTFLOW_INSECURE_COOKIES="1",
               COMPLAINTFLOW_LOGIN_LIMIT="10000 per minute",
               COMPLAINTFLOW_INTAKE_LIMIT="100000 per minute")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-w", str(workers), "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "web.wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError(f"the app did not start: {server.stderr.read().decode()[-2000:]}")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(30)


def logged_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": "demo", "csrf_token": token})
    assert response.status_code == 302, f"login failed: {response.status_code}"
    return client


def api_client(base: str, username: str) -> httpx.Client:
    token = httpx.post(f"{base}/api/v1/session", json={"username": username, "password": "demo"}).json()["token"]
    return httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"})


def run_clients(clients: int, seconds: float, action: Callable[[int], bool]) -> list[float]:
    """Call ``action(i)`` from ``clients`` threads until time is up; the latency of each successful call."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(i: int) -> None:
        mine, failed = [], 0
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            if action(i):
                mine.append(time.perf_counter() - began)
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            failures.append(failed)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if sum(failures):
        print(f"  ({sum(failures)} failed calls)", flush=True)
    return latencies


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[94]


class Site:
    """One seeded database served by gunicorn, with the viewer's browser and API clients."""

    def __init__(self, url: str, cases: int, args: argparse.Namespace) -> None:
        self.cases = cases
        self.seed_s, self.numbers = seed(url, cases, args.templates)
        self.server, base = start_server(url, args.workers)
        self.browsers = [logged_in(base, VIEWER) for _ in range(args.clients)]
        self.api = [api_client(base, VIEWER) for _ in range(args.clients)]
        self.auditors = [logged_in(base, "auditor1") for _ in range(args.clients)]
        self.pick = random.Random(1)
        self.p95s: dict[str, list[float]] = {"inbox": [], "api": [], "case": [], "report": []}

    def actions(self) -> dict[str, Callable[[int], bool]]:
        return {
            "inbox": lambda i: self.browsers[i].get("/inbox").status_code == 200,
            "api": lambda i: self.api[i].get("/api/v1/tasks").status_code == 200,
            "case": lambda i: self.browsers[i].get(f"/cases/{self.pick.choice(self.numbers)}").status_code == 200,
            "report": lambda i: self.auditors[i].get("/audit/report").status_code == 200,
        }

    def close(self) -> None:
        for client in [*self.browsers, *self.api, *self.auditors]:
            client.close()
        stop_server(self.server)


def measure_lists(name: str, urls: dict[int, str], args: argparse.Namespace) -> list[Site]:
    sites = []
    try:
        for cases, url in urls.items():
            sites.append(Site(url, cases, args))
            print(f"{name}: {cases} open cases seeded in {sites[-1].seed_s:.1f} s", flush=True)
        for _ in range(args.rounds):
            for site in sites:
                for what, action in site.actions().items():
                    site.p95s[what].append(p95(run_clients(args.clients, args.seconds, action)) * 1000)
    finally:
        for site in sites:
            site.close()
    return sites


def registrations_per_second(url: str, workers: int, args: argparse.Namespace) -> float:
    server, base = start_server(url, workers)
    try:
        clients = [api_client(base, VIEWER) for _ in range(args.clients)]

        def register(i: int) -> bool:
            return clients[i].post("/api/v1/complaints", json=registration(channel="web")).status_code == 201

        # Unmeasured first: each worker loads the deployment, opens its connections, compiles its statements.
        run_clients(args.clients, min(2.0, args.seconds), register)
        done = run_clients(args.clients, args.seconds, register)
        for client in clients:
            client.close()
        return len(done) / args.seconds
    finally:
        stop_server(server)


def measure_registrations(args: argparse.Namespace) -> dict[int, list[float]]:
    url = postgres_schema(POSTGRES_URL, "bench_register")
    with engine.open(url, WORKFLOWS) as eng:
        eng.repository.deploy(actor="owner1", note="registration benchmark")
        eng.people.seed_demo()
    rates: dict[int, list[float]] = {1: [], 4: []}
    for _ in range(args.rounds):
        for workers in rates:
            rates[workers].append(registrations_per_second(url, workers, args))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[1_000, 100_000], help="open complaints per run")
    parser.add_argument("--templates", type=int, default=300, help="complaints registered through the engine")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured phase")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (the median is printed)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for the list measurements")
    parser.add_argument("--only", choices=["sqlite", "postgresql", "registrations"],
                        help="one database only, or only the PostgreSQL registrations with 1 and 4 workers")
    parser.add_argument("--quick", action="store_true", help="a small run: 200 and 2,000 cases, short phases")
    args = parser.parse_args()
    if args.quick:
        args.cases, args.templates, args.seconds, args.rounds, args.clients = [200, 2_000], 40, 2.0, 2, 2
    sizes = sorted(set(args.cases))
    results: dict[str, list[Site]] = {}
    rates = None
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "sqlite"):
            results["sqlite"] = measure_lists("sqlite", {n: f"sqlite:///{folder}/cases{n}.sqlite" for n in sizes}, args)
        if args.only in (None, "postgresql"):
            urls = {n: postgres_schema(POSTGRES_URL, f"bench_cases_{n}") for n in sizes}
            results["postgresql"] = measure_lists("postgresql", urls, args)
        if args.only in (None, "postgresql", "registrations"):
            rates = measure_registrations(args)
    print(f"\n{args.clients} clients, {args.workers} gunicorn workers x 4 threads, {args.seconds:.0f} s per phase, "
          f"median of {args.rounds} interleaved rounds; {args.templates} cases registered through the engine, "
          "the rest copied")
    print(f"{'database':<11} {'cases':>8} {'seed s':>7} {'inbox p95':>10} {'api p95':>9} {'case p95':>9} "
          f"{'report p95':>11}  (ms)")
    for name, sites in results.items():
        for site in sites:
            med = {k: statistics.median(v) for k, v in site.p95s.items()}
            print(f"{name:<11} {site.cases:>8} {site.seed_s:7.1f} {med['inbox']:10.1f} {med['api']:9.1f} "
                  f"{med['case']:9.1f} {med['report']:11.1f}")
        small, large = sites[0], sites[-1]
        ratio = {k: statistics.median(large.p95s[k]) / statistics.median(small.p95s[k]) for k in small.p95s}
        print(f"{name:<11} {'ratio':>8} {large.cases}÷{small.cases}: inbox {ratio['inbox']:.2f}x, "
              f"api {ratio['api']:.2f}x, case {ratio['case']:.2f}x (target <= 1.5x); report {ratio['report']:.2f}x")
    if rates:
        one, four = statistics.median(rates[1]), statistics.median(rates[4])
        print(f"postgresql registrations/s: 1 worker {one:.1f}, 4 workers {four:.1f} ({four / one:.2f}x)")


if __name__ == "__main__":
    main()
