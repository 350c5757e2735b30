"""The statistics page's latency for a month and for a year, at 10,000 and 100,000 complaints, on SQLite
and on PostgreSQL.

Each size gets its own database: a few complaints registered through the engine in the demo cases'
states (``bench/clone.py``), copied up to the size, then spread over the year 2025 (one row update per
case, in batches, then VACUUM ANALYZE as autovacuum would): registration time, product (40), channel,
grade, complaint type, customer class,
department, defect type (8), satisfaction, compensation, the customer's contact (so some complain again
about the same product), and each deadline moved to its case's days (one in seven missed). Printed: the
median of ``--rounds`` requests of ``GET /statistics/?period=month`` (March 2025) and of a custom period
over the whole year, by the quality lead (``ql1``: never counts the cases they are involved in, one in ten
here, far more than anyone is in practice) through the Flask test client (rendering included), and the same
figures from the engine alone; and the year's page for the other quality lead (``ql2``, involved in none).

Run: ``make bench-statistics``; ``python bench/statistics_page.py --sizes 10000 --databases sqlite`` for a
quick one. PostgreSQL: ``COMPLAINTFLOW_TEST_POSTGRES_URL`` (a schema per size, dropped first).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Not named bench/statistics.py (as the issue had it): run as a script, a file of that name in bench/ would
# stand in for the standard library's ``statistics`` in every benchmark of this folder.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

import engine  # noqa: E402
from bench.clone import clone_open_cases, register_templates  # noqa: E402
from bench.web_load import postgres_schema  # noqa: E402
from engine.statistics import PeriodKind, Query, period_of  # noqa: E402
from engine.store.models import Case, CustomerContact, Task, Timer  # noqa: E402

WORKFLOWS = ROOT / "workflows"
POSTGRES_URL = os.environ.get("COMPLAINTFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
VIEWER = "ql1"
UNINVOLVED = "ql2"  # the same rights, involved in no case
YEAR = datetime(2024, 12, 31, 16, 0, tzinfo=UTC)  # 1 January 2025 in Shanghai
DEFECTS = ("power_failure", "battery_swelling", "electric_leakage", "overheating", "charging_failure",
           "display_fault", "shell_crack", None)
LEVELS = ("very_satisfied", "satisfied", "neutral", "unsatisfied")
BATCH = 5000
_C, _CC, _TM, _T = Case.__table__, CustomerContact.__table__, Timer.__table__, Task.__table__


def spread(db: sa.Engine) -> None:
    """Give the copies a year of registration times and varied counted facts (see the module docstring)."""
    with db.begin() as conn:
        ids = list(conn.scalars(sa.select(_C.c.id).where(_C.c.process_id == "complaint").order_by(_C.c.id)))
        created: dict[int, datetime] = {}
        rows = []
        for i in ids:
            at = YEAR + timedelta(days=(i * 7919) % 365, seconds=(i * 31) % 86400)
            created[i] = at
            rows.append({"i": i, "at": at, "product": f"产品{i % 40:02d}", "channel": ("phone", "web", "store")[i % 3],
                         "grade": ("general", "general", "serious", "urgent")[i % 4],
                         "ctype": ("product_quality", "service", "delivery")[i % 3],
                         "klass": "ABCD"[i % 4], "dept": ("production", "rd", "service", "logistics")[i % 4],
                         "defect": DEFECTS[i % len(DEFECTS)], "score": 1 + i % 5 if i % 3 else None,
                         "level": LEVELS[i % 4] if i % 3 else None, "money": float(i % 500) if i % 9 == 0 else None,
                         "tier": i % 4 if i % 5 == 0 else 0})
        update = sa.update(_C).where(_C.c.id == sa.bindparam("i")).values(
            created_at=sa.bindparam("at", type_=_C.c.created_at.type), product_name=sa.bindparam("product"),
            channel=sa.bindparam("channel"), grade=sa.bindparam("grade"), complaint_type=sa.bindparam("ctype"),
            customer_class=sa.bindparam("klass"), department=sa.bindparam("dept"),
            defect_type=sa.bindparam("defect"), satisfaction=sa.bindparam("score"),
            satisfaction_level=sa.bindparam("level"), compensation=sa.bindparam("money"),
            escalation_tier=sa.bindparam("tier"))
        for start in range(0, len(rows), BATCH):
            conn.execute(update, rows[start:start + BATCH])
        contacts = [{"i": i, "contact": f"138{i % 30000:08d}"} for i in ids]
        set_contact = sa.update(_CC).where(_CC.c.case_id == sa.bindparam("i")).values(
            contact=sa.bindparam("contact"))
        for start in range(0, len(contacts), BATCH):
            conn.execute(set_contact, contacts[start:start + BATCH])
        timers = conn.execute(sa.select(_TM.c.id, _TM.c.case_id, _TM.c.guarded_task_id)
                              .where(_TM.c.attached_to.is_not(None))).all()
        # As the scheduler leaves a past deadline: fired (missed), or cancelled by its step done in time (met).
        moved = [{"t": t, "due": created[c] + timedelta(hours=1 + t % 72), "status": "fired" if t % 7 == 0
                  else "cancelled"} for t, c, _task in timers if c in created]
        set_timer = sa.update(_TM).where(_TM.c.id == sa.bindparam("t")).values(
            due_at=sa.bindparam("due", type_=_TM.c.due_at.type), status=sa.bindparam("status"))
        for start in range(0, len(moved), BATCH):
            conn.execute(set_timer, moved[start:start + BATCH])
        done = [{"task": task, "at": created[c] + timedelta(minutes=30)}
                for t, c, task in timers if c in created and task is not None and t % 7]
        set_task = sa.update(_T).where(_T.c.id == sa.bindparam("task")).values(
            state="completed", completed_at=sa.bindparam("at", type_=_T.c.completed_at.type))
        for start in range(0, len(done), BATCH):
            conn.execute(set_task, done[start:start + BATCH])
        rollup_rebuilt(conn)
    # As autovacuum leaves a production table: statistics, and (PostgreSQL) the visibility map that lets the
    # grouped queries read their indexes only.
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        tables = '"case", timer, task, customer_contact, involved_person' + (
            ", deadline_day" if sa.inspect(conn).has_table("deadline_day") else "")
        conn.execute(sa.text(f"VACUUM ANALYZE {tables}" if db.dialect.name == "postgresql" else "ANALYZE"))


def rollup_rebuilt(conn: sa.Connection) -> None:
    """The rows above were written behind the engine's back: its contact keys and deadline roll-up again,
    as migration 0023 fills them (absent from an older version of the code, measured for comparison)."""
    try:
        from engine import deadline_rollup
    except ImportError:
        return
    deadline_rollup.fill_contact_keys(conn, conn.execute(sa.select(_CC.c.case_id, _CC.c.contact)).all())
    deadline_rollup.rebuild(conn)


def median_ms(call, rounds: int) -> float:  # noqa: ANN001
    call()  # warm: caches, the page's templates
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def measure(url: str, size: int, rounds: int) -> dict[str, float]:
    from web import create_app

    with tempfile.TemporaryDirectory() as folder, engine.open(url, WORKFLOWS) as eng:
        began = time.perf_counter()
        eng.repository.deploy(actor="owner1", note="statistics benchmark")
        eng.people.seed_demo()
        register_templates(eng, min(20, size), involved=VIEWER)
        clone_open_cases(eng.db.engine, size)
        spread(eng.db.engine)
        seeded = time.perf_counter() - began
        app = create_app({"TESTING": True, "INSTANCE_DIR": folder, "SECRET_KEY": "bench", "DATABASE_URL": url,
                          "WORKFLOWS_DIR": str(WORKFLOWS), "WTF_CSRF_ENABLED": False}, eng=eng)
        client, other = app.test_client(), app.test_client()
        assert client.post("/login", data={"username": VIEWER, "password": "demo"}).status_code == 302
        assert other.post("/login", data={"username": UNINVOLVED, "password": "demo"}).status_code == 302
        zone = eng.repository.active().calendar.zone
        month = period_of(PeriodKind.MONTH, datetime(2025, 3, 1).date(), zone)
        year = period_of(PeriodKind.CUSTOM, datetime(2025, 1, 1).date(), zone, datetime(2025, 12, 31).date())
        process = eng.repository.active().catalogue.intake_process

        def page(args: str, by=client):  # noqa: ANN001, ANN202
            def get() -> None:
                response = by.get(f"/statistics/?{args}")
                assert response.status_code == 200, response.status_code
            return get

        volume = eng.statistics.figures(Query(year, viewer=VIEWER, process=process))["volume"]
        return {
            "seeded_s": seeded, "year_volume": volume,
            "page_month_ms": median_ms(page("period=month&from=2025-03-01"), rounds),
            "page_year_ms": median_ms(page("period=custom&from=2025-01-01&to=2025-12-31"), rounds),
            "page_year_uninvolved_ms": median_ms(page("period=custom&from=2025-01-01&to=2025-12-31", other), rounds),
            "engine_month_ms": median_ms(lambda: eng.statistics.figures(Query(month, viewer=VIEWER,
                                                                              process=process)), rounds),
            "engine_year_ms": median_ms(lambda: eng.statistics.figures(Query(year, viewer=VIEWER,
                                                                             process=process)), rounds),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'database':<11}{'complaints':>11}{'in 2025':>9}{'page month':>12}{'page year':>11}"
          f"{'engine month':>14}{'engine year':>13}{'year, ql2':>11}{'seeded':>9}")
    for database in args.databases:
        for size in args.sizes:
            with tempfile.TemporaryDirectory() as folder:
                url = (f"sqlite:///{folder}/statistics.sqlite" if database == "sqlite"
                       else postgres_schema(POSTGRES_URL, f"bench_statistics_{size}"))
                found = measure(url, size, args.rounds)
            print(f"{database:<11}{size:>11,}{found['year_volume']:>9,}{found['page_month_ms']:>10.0f}ms"
                  f"{found['page_year_ms']:>9.0f}ms{found['engine_month_ms']:>12.0f}ms{found['engine_year_ms']:>11.0f}ms{found['page_year_uninvolved_ms']:>9.0f}ms"
                  f"{found['seeded_s']:>8.0f}s", flush=True)


if __name__ == "__main__":
    main()
