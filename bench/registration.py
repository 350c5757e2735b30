"""How long a registration holds the daily ``complaint_counter`` row, and what concurrent registrations get.

For each registration on PostgreSQL the time from the counter's upsert (the row lock) to
the commit is measured with SQLAlchemy events on the real engine, against the whole
``start()``: the ratio is the share of a registration during which a colleague registering
on the same channel must wait. Then ``--threads`` registrations run at once and their
numbers are checked gapless and unique. Run: ``python bench/registration.py [--count N]``
(PostgreSQL from ``COMPLAINTFLOW_TEST_POSTGRES_URL``; its tables are dropped and recreated).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402

import engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.demo import from_folder  # noqa: E402

SHIPPED = from_folder(Path(__file__).resolve().parent.parent / "workflows")
registration = SHIPPED.registration
from tests.conftest import _reset_postgres  # noqa: E402

URL = os.environ.get("COMPLAINTFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    _reset_postgres(URL)
    folder = Path(tempfile.mkdtemp())
    shutil.copytree(ROOT / "workflows", folder / "workflows")
    eng = engine.open(URL, folder / "workflows", clock=ManualClock(), attachments_dir=folder / "files")
    eng.repository.deploy(actor="owner1", note="bench")
    eng.people.seed_demo()
    local = threading.local()

    @event.listens_for(eng.db.engine, "before_cursor_execute")
    def _counter_taken(_conn, _cursor, statement, *_rest) -> None:  # noqa: ANN001
        if "complaint_counter" in statement and getattr(local, "locked_at", None) is None:
            local.locked_at = time.perf_counter()

    @event.listens_for(eng.db.engine, "commit")
    def _committed(_conn) -> None:  # noqa: ANN001
        if getattr(local, "locked_at", None) is not None:
            local.held = time.perf_counter() - local.locked_at
            local.locked_at = None

    held, whole = [], []
    for _ in range(args.count):
        started = time.perf_counter()
        eng.runtime.start("complaint", registration(), "cs1")
        whole.append(time.perf_counter() - started)
        held.append(local.held)
    ratio = statistics.median(h / w for h, w in zip(held, whole, strict=True))
    print(f"registration: median {statistics.median(whole) * 1000:.1f} ms; counter row held "
          f"{statistics.median(held) * 1000:.1f} ms = {ratio:.0%} of it")

    before = {n for (n,) in eng.db.engine.connect().execute(sa.text('SELECT number FROM "case"'))}
    barrier = threading.Barrier(args.threads)
    numbers: list[str] = []

    def register() -> None:
        barrier.wait()
        numbers.append(eng.runtime.start("complaint", registration(), "cs1"))

    started = time.perf_counter()
    threads = [threading.Thread(target=register) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    serials = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    expected = list(range(len(before) + 1, len(before) + args.threads + 1))
    print(f"{args.threads} at once: {elapsed * 1000:.0f} ms, "
          f"{elapsed / args.threads / statistics.median(whole):.2f}x one registration's time each; "
          f"numbers gapless and unique: {serials == expected}")
    eng.close()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
