"""Notices delivered by e-mail on PostgreSQL: throughput with 1 and 4 workers, delay from deadline to inbox.

Real ``complaintflow worker`` / ``scheduler`` processes deliver to an SMTP server (aiosmtpd)
on loopback, started by this script; the database is emptied first.

1. **Throughput**: ``--notices`` notices (default 1,000) for the supervisor, who wants e-mail
   only (plus the in-app list, which costs nothing to send), written in one statement while 1
   and then 4 worker processes (one sending thread each) wait; the rate is notices / (last
   e-mail received - notices written).
2. **Delay**: ``--cases`` cases (default 100) of ``tests/bpmn/notice_at`` whose deadline
   (a timer that then calls ``notify``) falls due over ``--spread`` seconds; one
   ``complaintflow scheduler`` fires them and delivers. For each case, the e-mail's arrival at
   the SMTP server minus the deadline: median and p95 (includes the scheduler's firing lag).

Run: ``make bench-notifications`` (or ``python bench/notifications.py --notices 300 --cases 30``).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from engine.store.models import Notification  # noqa: E402
from tests.notify_peers import SmtpPeer  # noqa: E402

DIAGRAM = ROOT / "tests" / "bpmn" / "notice_at"
POSTGRES_URL = os.environ.get("COMPLAINTFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SUPERVISOR = "sup1@demo.complaintflow.test"


def reset(url: str) -> engine.Engine:
    db = sa.create_engine(url)
    with db.begin() as conn:
        tables = conn.scalars(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
        if tables:
            conn.execute(sa.text("DROP TABLE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    db.dispose()
    eng = engine.open(url, DIAGRAM)
    eng.repository.deploy(actor="owner1", note="notification bench")
    eng.people.seed_demo()
    eng.people.set_contact("sup1", email=SUPERVISOR, channels=["app", "email"])
    eng.people.set_contact("sup2", channels=["app"])
    return eng


def processes(url: str, smtp: SmtpPeer, command: str, count: int, log: Path) -> list[subprocess.Popen]:
    env = {**os.environ, "COMPLAINTFLOW_DATABASE_URL": url, "COMPLAINTFLOW_WORKFLOWS": str(DIAGRAM),
           "COMPLAINTFLOW_SMTP_URL": smtp.url, "PYTHONPATH": str(ROOT)}
    for name in ("COMPLAINTFLOW_DINGTALK_WEBHOOK", "COMPLAINTFLOW_WECOM_WEBHOOK", "COMPLAINTFLOW_SMS_URL",
                 "COMPLAINTFLOW_CLOCK"):
        env.pop(name, None)
    out = log.open("ab")
    started = [subprocess.Popen([sys.executable, "-m", "engine.cli", command, "--senders", "1", "--poll", "1"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT) for _ in range(count)]
    time.sleep(4)  # imported, connected, idle
    return started


def stop(started: list[subprocess.Popen]) -> None:
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def throughput(url: str, workers: int, notices: int, log: Path) -> float:
    eng = reset(url)
    case = eng.runtime.start("notice_at", {"due": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "bench")
    with SmtpPeer() as smtp:
        started = processes(url, smtp, "worker", workers, log)
        try:
            with eng.db.write() as session:
                case_id = session.scalar(sa.text('SELECT id FROM "case" WHERE number = :n'), {"n": case})
                now = datetime.now(UTC)
                session.execute(sa.insert(Notification.__table__), [
                    {"case_id": case_id, "role": "cs_supervisor", "recipients": ["sup1"],
                     "subject": "deadline_passed", "element_id": None, "created_at": now} for _ in range(notices)])
            began = time.monotonic()
            while len(smtp.ids) < notices:
                if time.monotonic() - began > 900:
                    raise SystemExit(f"only {len(smtp.ids)} of {notices} e-mails in 15 minutes")
                time.sleep(0.05)
            elapsed = time.monotonic() - began
            duplicates = sum(n - 1 for n in smtp.ids.values())
        finally:
            stop(started)
    eng.close()
    rate = notices / elapsed
    print(f"  {workers} worker(s): {notices} e-mails in {elapsed:.1f} s = {rate:.1f} notices/s"
          f"{f' ({duplicates} duplicates!)' if duplicates else ''}", flush=True)
    return rate


def delay(url: str, cases: int, spread: float, log: Path) -> tuple[float, float, float]:
    eng = reset(url)
    with SmtpPeer() as smtp:
        arrived: dict[str, float] = {}
        started = processes(url, smtp, "scheduler", 1, log)
        try:
            first = datetime.now(UTC) + timedelta(seconds=5)
            due = {}
            for n in range(cases):
                when = first + timedelta(seconds=spread * n / max(1, cases - 1))
                due[eng.runtime.start("notice_at", {"due": when.isoformat()}, "bench")] = when
            began = time.monotonic()
            while len(arrived) < cases and time.monotonic() - began < spread + 300:
                for message in list(smtp.messages):
                    found = re.search(r"\[([^\]]+)\]", str(message["Subject"]))
                    if found and found.group(1) not in arrived:
                        arrived[found.group(1)] = time.time()
                time.sleep(0.02)
        finally:
            stop(started)
    eng.close()
    delays = sorted(arrived[number] - due[number].timestamp() for number in arrived)
    if len(delays) < cases:
        raise SystemExit(f"only {len(delays)} of {cases} e-mails arrived")
    p95 = delays[max(0, round(0.95 * len(delays)) - 1)]
    return statistics.median(delays), p95, delays[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=1000)
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--spread", type=float, default=30.0, help="seconds over which the deadlines fall due")
    parser.add_argument("--log", type=Path, default=Path("/tmp/complaintflow-bench-notifications.log"))
    args = parser.parse_args()
    print(f"notices delivered by e-mail (SMTP on loopback), PostgreSQL {sa.make_url(POSTGRES_URL).database}:")
    rates = {workers: throughput(POSTGRES_URL, workers, args.notices, args.log) for workers in (1, 4)}
    print(f"  4 workers / 1 worker: {rates[4] / rates[1]:.2f}x")
    median, p95, worst = delay(POSTGRES_URL, args.cases, args.spread, args.log)
    print(f"deadline -> e-mail received, {args.cases} deadlines over {args.spread:.0f} s, one scheduler: "
          f"median {median:.2f} s, p95 {p95:.2f} s, max {worst:.2f} s")


if __name__ == "__main__":
    main()
