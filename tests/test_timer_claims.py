"""Firing workers claim due cases with SKIP LOCKED: a case another transaction holds is skipped, not waited on."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from engine.casework import lock_case
from engine.store.models import Timer
from tests.conftest import POSTGRES_URL, _reset_postgres
from tests.scheduling import firings, in_seconds, open_timers, start_timer


def test_a_worker_skips_a_case_another_transaction_holds_and_fires_the_next_one():
    _reset_postgres(POSTGRES_URL)
    with open_timers(POSTGRES_URL) as eng:
        held = start_timer(eng, in_seconds(0.5))  # due first
        free = start_timer(eng, in_seconds(0.6))
        time.sleep(1)
        locked, release = threading.Event(), threading.Event()

        def hold() -> None:
            with eng.db.write() as session:
                lock_case(session, number=held)
                locked.set()
                release.wait(30)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert locked.wait(10)
            started = time.monotonic()
            firing = eng.timers.fire_next()
            assert time.monotonic() - started < 5  # did not wait for the held case
            assert firing is not None and len(firing.fired) == 1
            assert (firings(eng, held), firings(eng, free)) == (0, 1)
            assert eng.timers.fire_next() is None  # the only due case left is held
        finally:
            release.set()
            holder.join(30)
        assert len(eng.timers.fire_next().fired) == 1
        assert firings(eng, held) == 1
        assert eng.timers.fire_next() is None
        with eng.db.read() as session:
            assert session.scalar(sa.text("SELECT count(*) FROM timer WHERE status = 'pending'")) == 0


def test_a_timer_that_cannot_fire_is_parked_as_failed_once_and_does_not_hold_up_the_next(database_url):
    with open_timers(database_url) as eng:
        broken = start_timer(eng, in_seconds(3600))
        with eng.db.write() as session:  # its row now disagrees with its workflow, which waits an hour more
            session.execute(sa.update(Timer).values(due_at=in_seconds(-60)))
        fine = start_timer(eng, in_seconds(0.2))
        time.sleep(0.5)
        first = eng.timers.fire_next()
        assert first is not None and (first.fired, first.failed) == ([], 1)
        assert len(eng.timers.fire_next().fired) == 1
        assert eng.timers.fire_next() is None
        assert firings(eng, fine) == 1
        incidents = [e for e in eng.history.events(broken) if e.kind == "incident"]
        assert len(incidents) == 1 and "did not fire" in incidents[0].payload["reason"]
        assert eng.health.snapshot().incidents == 1
