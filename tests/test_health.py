"""Readiness and the database gauges, on both databases, with the manual clock."""

from __future__ import annotations

from datetime import timedelta

from engine.health import Thresholds
from engine.lease import Lease
from tests.driver import past_next_deadline, registration


def failing(eng, thresholds: Thresholds) -> list[str]:  # noqa: ANN001
    return [c.name for c in eng.health.readiness(thresholds) if not c.ok]


def test_readiness_names_each_failing_check_and_passes_once_they_are_fixed(eng, clock):
    limits = Thresholds(timer_lag_seconds=60, outbox_backlog=0)
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    assert failing(eng, limits) == ["scheduler"]  # no scheduler holds the lease yet
    lease = Lease(eng.db, 10, service="test")
    assert lease.check()
    assert failing(eng, limits) == []
    past_next_deadline(eng, clock, timedelta(minutes=50))  # the first-response deadline is 50 minutes overdue
    snapshot = eng.health.snapshot()
    assert snapshot.timers_due == 1 and snapshot.overdue_seconds > 60
    assert failing(eng, limits) == ["timers"]
    assert eng.timers.fire_due() == 1  # its notice goes to the outbox
    assert eng.health.snapshot().outbox_backlog == 1
    assert failing(eng, limits) == ["outbox"]
    assert failing(eng, Thresholds(outbox_backlog=1)) == []
    lease.release()
    assert failing(eng, Thresholds(outbox_backlog=1)) == ["scheduler"]
    assert eng.cases.get(number).open_tasks
