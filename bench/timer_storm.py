"""A timer storm on PostgreSQL: 10,000 deadlines falling due within one minute.

For 1, 2 and 4 firing processes (the README's production setup: one ``complaintflow
scheduler`` plus ``complaintflow worker`` processes, one firing thread each), on an emptied
database: seed ``--timers`` cases of a one-timer diagram (``tests/bpmn/timer_at``: the
timeDate comes from the start data) in bulk while the processes run, their due times spread
evenly over ``--spread`` seconds starting just after seeding ends (``--spread 0``: all at
once, which measures capacity); watch
the timer table until every timer fired, then check each fired exactly once and print
- lag (the moment the firing was seen committed minus the due time) p50 / p95 / max;
- firings per second while the storm lasted (timers / (last firing seen - first due)).

The observer polls every ``--resolution`` seconds, so lags carry up to that much extra.
Run: ``make bench-timers`` (or ``python bench/timer_storm.py --timers 2000`` for a quick look).
"""

from __future__ import annotations

import argparse
import math
import os
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
from engine.store.models import Case, Event, Timer, WorkflowTask  # noqa: E402

DIAGRAM = ROOT / "tests" / "bpmn" / "timer_at"
POLL = 2.0  # seconds: how soon the running processes notice the timers just seeded
POSTGRES_URL = os.environ.get("COMPLAINTFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def reset(url: str) -> None:
    db = sa.create_engine(url)
    with db.begin() as conn:
        tables = conn.scalars(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
        if tables:
            conn.execute(sa.text("DROP TABLE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    db.dispose()
    with engine.open(url, DIAGRAM) as eng:
        eng.repository.deploy(actor="owner1", note="timer storm")


def seed(url: str, count: int, spread: float) -> tuple[datetime, float]:
    """Seed ``count`` timers due over ``spread`` s from just after seeding ends; returns (first due, seconds).

    One case is started through the engine; the others are copies of it made in one bulk
    statement per table (their number and due time substituted), the columns read from
    the models so a new column is copied too.
    """
    began = time.perf_counter()
    first_due = datetime.now(UTC) + timedelta(seconds=2 * POLL + 2 + count / 2000)  # the processes see them first
    placeholder = "2100-01-01T00:00:00+00:00"
    with engine.open(url, DIAGRAM) as eng:
        template = eng.runtime.start("timer_at", {"channel": "template", "due": placeholder}, actor="bench")
        day = template.split("-")[0]
        numbers = [f"{day}-STORM-{i:05d}" for i in range(count)]
        dues = [(first_due + timedelta(seconds=spread * i / count)).isoformat() for i in range(count)]
        with eng.db.write() as session:
            template_id = session.scalar(sa.select(Case.id).where(Case.number == template))
            params = {"template": template_id, "numbers": numbers, "dues": dues, "tdue": placeholder,
                      "tnum": template}
            session.execute(sa.text(copy_statement(Case.__table__, "c", {
                "number": "u.number", "state": "replace(replace(c.state, :tdue, u.due), :tnum, u.number)",
            }, "c.id = :template")), params)
            session.execute(sa.text(copy_statement(WorkflowTask.__table__, "c", {  # the settled part of the state
                "case_id": "n.id", "body": "replace(replace(c.body, :tdue, u.due), :tnum, u.number)",
            }, "c.case_id = :template", join='JOIN "case" n ON n.number = u.number')), params)
            session.execute(sa.text(copy_statement(Timer.__table__, "c", {
                "case_id": "n.id", "due_at": "CAST(u.due AS timestamptz)", "status": "'pending'",
            }, "c.case_id = :template", join='JOIN "case" n ON n.number = u.number')), params)
            session.execute(sa.update(Timer).where(Timer.case_id == template_id).values(status="cancelled"))
    return first_due, time.perf_counter() - began


def copy_statement(table: sa.Table, alias: str, replaced: dict[str, str], where: str, join: str = "") -> str:
    """INSERT one copy of a row per (number, due) pair, with some columns replaced by expressions."""
    columns = [c.name for c in table.columns if c.name != "id"]
    values = [replaced.get(name, f'{alias}."{name}"') for name in columns]
    return (f'INSERT INTO "{table.name}" ({", ".join(f"{chr(34)}{n}{chr(34)}" for n in columns)}) '
            f'SELECT {", ".join(values)} FROM "{table.name}" {alias} '
            f"CROSS JOIN unnest(CAST(:numbers AS text[]), CAST(:dues AS text[])) AS u(number, due) {join} "
            f"WHERE {where}")


def start_processes(url: str, firing: int, logs: Path) -> list[subprocess.Popen]:
    for old in logs.glob("*.log"):
        old.unlink()
    env = {**os.environ, "COMPLAINTFLOW_DATABASE_URL": url, "COMPLAINTFLOW_WORKFLOWS": str(DIAGRAM)}
    commands = [["scheduler"]] + [["worker"]] * (firing - 1)
    started = []
    for number, command in enumerate(commands):
        out = (logs / f"{command[0]}-{number}.log").open("w")
        started.append(subprocess.Popen([sys.executable, "-m", "engine.cli", *command, "--workers", "1",
                                         "--poll", str(POLL)],
                                        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
    return started


def wait_ready(logs: Path, firing: int, timeout: float = 120) -> None:
    """Until every process has opened its engine and started its alarm clock."""
    deadline = time.monotonic() + timeout
    while sum("running with" in log.read_text() for log in logs.glob("*.log")) < firing:
        if time.monotonic() > deadline:
            raise SystemExit(f"the firing processes did not start within {timeout:.0f} s (see {logs})")
        time.sleep(0.2)


def watch(url: str, first_due: datetime, resolution: float, timeout: float) -> dict[int, tuple[datetime, datetime]]:
    """Poll until no timer is pending; returns timer id -> (due, first seen fired)."""
    db = sa.create_engine(url)
    seen: dict[int, tuple[datetime, datetime]] = {}
    with db.connect() as conn:
        due_of = dict(conn.execute(sa.select(Timer.id, Timer.due_at).where(
            Timer.due_at >= first_due, Timer.status == "pending")).all())
        unseen = set(due_of)
        deadline = time.monotonic() + timeout
        while unseen and time.monotonic() < deadline:
            time.sleep(resolution)
            low = min(due_of[t] for t in unseen)
            now = datetime.now(UTC)
            rows = conn.execute(sa.select(Timer.id).where(
                Timer.status != "pending", Timer.due_at >= low, Timer.due_at <= now)).scalars().all()
            conn.commit()
            for timer_id in rows:
                if timer_id in unseen:
                    unseen.discard(timer_id)
                    seen[timer_id] = (due_of[timer_id], now)
    db.dispose()
    if unseen:
        raise SystemExit(f"{len(unseen)} timer(s) never fired within {timeout:.0f} s")
    return seen


def check_exactly_once(url: str, count: int) -> None:
    db = sa.create_engine(url)
    with db.connect() as conn:
        statuses = dict(conn.execute(sa.select(Timer.status, sa.func.count()).group_by(Timer.status)).all())
        per_case = conn.execute(sa.select(Event.case_number, sa.func.count()).where(Event.kind == "timer_fired")
                                .group_by(Event.case_number)).all()
    db.dispose()
    twice = [number for number, n in per_case if n != 1]
    assert not twice, f"fired more than once: {twice[:5]}"
    assert statuses.get("pending", 0) == 0 and statuses.get("failed", 0) == 0, statuses  # no incident
    assert sum(1 for number, _ in per_case if "-STORM" in number) == count, "a timer was lost"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def run(url: str, count: int, spread: float, firing: int, resolution: float, logs: Path) -> dict:
    reset(url)
    processes = start_processes(url, firing, logs)  # already running when the deadlines fall due
    try:
        wait_ready(logs, firing)
        first_due, seeded = seed(url, count, spread)
        seen = watch(url, first_due, resolution, timeout=spread + 600)
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(30)
    check_exactly_once(url, count)
    lags = [(fired - due).total_seconds() for due, fired in seen.values()]
    last = max(fired for _, fired in seen.values())
    return {"firing": firing, "seeded_s": seeded, "p50": percentile(lags, 50), "p95": percentile(lags, 95),
            "max": max(lags), "rate": count / max(0.001, (last - first_due).total_seconds()),
            "mean": statistics.fmean(lags)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=POSTGRES_URL, help="PostgreSQL URL (emptied!)")
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the due times are spread over")
    parser.add_argument("--firing", type=int, nargs="+", default=[1, 2, 4], help="firing processes per run")
    parser.add_argument("--resolution", type=float, default=0.25, help="seconds between the observer's polls")
    parser.add_argument("--logs", default="instance/bench-timers", help="folder for the processes' logs")
    args = parser.parse_args()
    if not args.url.startswith("postgresql"):
        raise SystemExit("the timer storm needs PostgreSQL (--url)")
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    print(f"{args.timers:,} timers due within {args.spread:.0f} s on {args.url.split('@')[-1]}; "
          f"lag observed every {args.resolution} s; {os.cpu_count()} CPU(s)")
    print(f"{'firing processes':>16} {'seeded in':>10} {'lag p50':>8} {'p95':>8} {'max':>8} {'firings/s':>10}")
    for firing in args.firing:
        r = run(args.url, args.timers, args.spread, firing, args.resolution, logs)
        print(f"{r['firing']:>16} {r['seeded_s']:>9.0f}s {r['p50']:>7.2f}s {r['p95']:>7.2f}s {r['max']:>7.2f}s "
              f"{r['rate']:>10.0f}", flush=True)
    print("each timer fired exactly once in every run")


if __name__ == "__main__":
    main()
