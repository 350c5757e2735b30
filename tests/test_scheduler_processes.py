"""The scheduler as it runs in production: real processes, real signals, real databases, the real clock."""

from __future__ import annotations

import logging
import signal
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.clock import ManualClock
from engine.lease import someone_holds
from tests.conftest import POSTGRES_URL, _reset_postgres
from tests.scheduling import (
    PrivatePostgres,
    Process,
    firings,
    free_port,
    in_seconds,
    open_timers,
    processes,
    start_timer,
    wait_until,
)


def holder(eng) -> str | None:  # noqa: ANN001
    alive, who = someone_holds(eng.db)
    return who if alive else None


@pytest.mark.parametrize(("command", "saw_outage"), [("scheduler", "lease lost"), ("worker", "firing timers failed")])
def test_scheduler_keeps_firing_after_its_postgresql_was_down_20_s(tmp_path: Path, command: str, saw_outage: str):
    cluster = PrivatePostgres()
    try:
        cluster.start()
        eng = open_timers(cluster.url)
        with processes() as started:
            started.append(Process(cluster.url, tmp_path / "scheduler.log", command=command))
            first = start_timer(eng, in_seconds(1))
            wait_until(lambda: firings(eng, first) == 1, 30)
            after_restart = start_timer(eng, in_seconds(25))  # falls due about 5 s after the restart
            cluster.stop()
            time.sleep(20)
            cluster.start()
            due = time.monotonic() + 5
            wait_until(lambda: firings(eng, after_restart) == 1, 60)
            assert time.monotonic() - due < 30, started[0].output()[-3000:]
            assert saw_outage in started[0].output()
            later = start_timer(eng, in_seconds(1))
            wait_until(lambda: firings(eng, later) == 1, 30)
            assert started[0].popen.poll() is None
        eng.close()
    finally:
        cluster.remove()


def test_scheduler_keeps_firing_after_being_paused_6_s_while_a_tick_was_due(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'paused.sqlite'}"
    with open_timers(url) as eng, processes() as started:
        started.append(scheduler := Process(url, tmp_path / "scheduler.log"))
        first = start_timer(eng, in_seconds(1))
        wait_until(lambda: firings(eng, first) == 1, 30)
        during_pause = start_timer(eng, in_seconds(2))
        time.sleep(0.5)  # the alarm for it is set
        scheduler.signal(signal.SIGSTOP)
        time.sleep(6)
        assert firings(eng, during_pause) == 0
        scheduler.signal(signal.SIGCONT)
        wait_until(lambda: firings(eng, during_pause) == 1, 10)
        after = start_timer(eng, in_seconds(2))
        wait_until(lambda: firings(eng, after) == 1, 15)


def test_a_standby_takes_over_within_15_s_of_kill_9_of_the_holder(database_url: str, tmp_path: Path):
    with open_timers(database_url) as eng, processes() as started:
        started.append(active := Process(database_url, tmp_path / "a.log", "--service", "a"))
        wait_until(lambda: (holder(eng) or "").endswith(f"a pid={active.pid}"), 30)
        started.append(standby := Process(database_url, tmp_path / "b.log", "--service", "b"))
        time.sleep(3)  # the standby is up and waiting
        assert (holder(eng) or "").endswith(f"a pid={active.pid}")
        active.signal(signal.SIGKILL)
        killed = time.monotonic()
        number = start_timer(eng, in_seconds(1))
        wait_until(lambda: firings(eng, number) == 1, 15)
        assert time.monotonic() - killed < 15
        assert (holder(eng) or "").endswith(f"b pid={standby.pid}")


def test_a_restarted_scheduler_takes_its_own_lease_back_at_once(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'restart.sqlite'}"
    with open_timers(url) as eng, processes() as started:
        started.append(first := Process(url, tmp_path / "first.log", lease_seconds=60))
        wait_until(lambda: (holder(eng) or "").endswith(f"pid={first.pid}"), 30)
        first.signal(signal.SIGKILL)
        first.popen.wait(10)
        started.append(again := Process(url, tmp_path / "again.log", lease_seconds=60))
        took = wait_until(lambda: (holder(eng) or "").endswith(f"pid={again.pid}"), 30)
        assert took < 20  # far sooner than the 60 s lease of the killed run would expire


def test_only_the_lease_holder_runs_housekeeping(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'housekeeping.sqlite'}"
    ran: dict[str, int] = {"a": 0, "b": 0}
    stop = threading.Event()
    with open_timers(url) as first, open_timers(url) as second:
        runners = [
            threading.Thread(target=e.timers.run_scheduler, daemon=True, kwargs={
                "stop": stop, "service": name, "housekeeping": [(lambda n=name: ran.__setitem__(n, ran[n] + 1), 0.2)]})
            for e, name in ((first, "a"), (second, "b"))
        ]
        for r in runners:
            r.start()
        try:
            wait_until(lambda: ran["a"] + ran["b"] >= 5, 20)
        finally:
            stop.set()
            for r in runners:
                r.join(20)
    assert sorted(ran.values())[0] == 0, ran


def scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples}


def test_several_workers_on_postgresql_fire_each_of_many_due_timers_exactly_once(tmp_path: Path):
    _reset_postgres(POSTGRES_URL)
    count = 150
    with open_timers(POSTGRES_URL) as eng, processes() as started:
        base = in_seconds(12)
        numbers = [start_timer(eng, base + timedelta(milliseconds=10 * i)) for i in range(count)]
        ports = [free_port(), free_port()]
        started.append(Process(POSTGRES_URL, tmp_path / "scheduler.log", "--workers", "3",
                               "--metrics-port", str(ports[0])))
        started.append(Process(POSTGRES_URL, tmp_path / "worker.log", "--workers", "2",
                               "--metrics-port", str(ports[1]), command="worker"))
        wait_until(lambda: eng.health.snapshot().timers_pending == 0, 90, step=0.5)
        assert [firings(eng, n) for n in numbers] == [1] * count
        metrics = [scrape(p) for p in ports]
        assert sum(m["complaintflow_timers_fired_total"] for m in metrics) == count
        assert all(m["complaintflow_timers_pending"] == 0 for m in metrics)
        assert metrics[0]["complaintflow_scheduler_lease_held"] == 1
        assert metrics[0]["complaintflow_timer_firing_lag_seconds_count"] > 0


def test_an_extra_worker_refuses_sqlite(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    with open_timers(url):
        worker = Process(url, tmp_path / "w.log", command="worker")
        assert worker.popen.wait(60) == 2
        worker.stop()
        assert "need PostgreSQL" in worker.output()


def test_the_lease_is_renewed_while_a_long_batch_runs_so_a_standby_never_takes_it(tmp_path: Path, caplog):
    url = f"sqlite:///{tmp_path / 'heartbeat.sqlite'}"
    caplog.set_level(logging.INFO, logger="engine")
    stop = threading.Event()
    clock = ManualClock(datetime.now(UTC))  # the engine's time; the lease keeps to the real clock
    with open_timers(url, clock) as first, open_timers(url, clock) as second:
        for engine_ in (first, second):  # each has its deployment loaded before the schedulers start
            start_timer(engine_, clock.now() + timedelta(seconds=10))
            clock.advance(timedelta(seconds=15))
            assert engine_.timers.fire_due() == 1
        numbers = [start_timer(first, clock.now() + timedelta(minutes=1)) for _ in range(600)]
        clock.advance(timedelta(minutes=2))  # all due before any scheduler starts: one batch
        caplog.clear()
        runners = [threading.Thread(target=e.timers.run_scheduler, daemon=True, kwargs={
            "stop": stop, "service": name, "lease_seconds": 1.0}) for e, name in ((first, "a"), (second, "b"))]
        for r in runners:
            r.start()
        try:
            wait_until(lambda: first.health.snapshot().timers_pending == 0, 120)
        finally:
            stop.set()
            for r in runners:
                r.join(20)
        counts = [firings(first, n) for n in numbers]
        assert counts == [1] * len(numbers), (sorted(set(counts)), first.health.snapshot())
    messages = [r.getMessage() for r in caplog.records]
    batches = [m for m in messages if m.startswith("fired ")]
    assert len(batches) == 1 and batches[0].startswith("fired 600 timer(s) in "), messages
    assert float(batches[0].split(" in ")[1].split()[0]) > 1.0  # the batch outlasted the lease
    assert len([m for m in messages if "lease taken" in m]) == 1
    assert not [m for m in messages if "lease lost" in m]
