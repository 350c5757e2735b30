"""The scheduler process: APScheduler as an alarm clock that never stops, waking firing workers.

One process runs ``run``: an alarm (``tick``) set for the next due timer (or one poll
interval away, to see timers other processes created), ``workers`` firing threads that
claim due cases (``Timers.fire_next``), and, with ``elect``, the lease: only the lease
holder fires and runs the singleton ``housekeeping`` callables. Without ``elect`` the
process is an extra worker (PostgreSQL only: claims are ``SKIP LOCKED``).

Every alarm schedules the next one whatever happened: all database work is inside the
``try``, an error backs off exponentially (capped), and jobs never miss their fire time
(``misfire_grace_time=None``, coalesced), so a pause (SIGSTOP, a slow disk) or a database
outage only delays firing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from engine.clock import Clock, SystemClock
from engine.lease import Lease
from engine.metrics import SchedulerMetrics
from engine.store.db import Database
from engine.store.models import Timer
from engine.timers import FIRING_LAG, Timers

log = logging.getLogger(__name__)
Housekeeping = Sequence[tuple[Callable[[], object], float]]
JOB_DEFAULTS = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
MIN_GAP = timedelta(milliseconds=100)  # between alarms while due timers are held by other workers
BACKOFF_FIRST, BACKOFF_CAP = 0.5, 15.0
PROGRESS_EVERY = 10.0  # seconds between progress lines of a long batch


def run(timers: Timers, db: Database, clock: Clock, *, stop: threading.Event | None = None,
        poll_seconds: float = 5.0, lease_seconds: float | None = None, workers: int = 1, elect: bool = True,
        service: str | None = None, housekeeping: Housekeeping = (), metrics: SchedulerMetrics | None = None) -> None:
    """Fire timers at their due times until ``stop`` is set (or forever).

    At start it fires everything that fell due while nothing was running.
    """
    stop = stop or threading.Event()
    if db.dialect != "postgresql":
        if not elect:
            raise ValueError("extra workers need PostgreSQL (SKIP LOCKED); on SQLite run one scheduler")
        workers = 1  # one writer at a time anyway
    lease = Lease(db, lease_seconds, service) if elect else None
    alarm = AlarmClock(timers, db, clock, stop, poll_seconds, lease, max(1, workers), metrics)
    alarm.start(housekeeping)
    try:
        stop.wait()
    finally:
        alarm.shutdown()


class AlarmClock:
    """The APScheduler jobs of one process: the alarm, the lease keeper and the housekeeping."""

    def __init__(self, timers: Timers, db: Database, clock: Clock, stop: threading.Event, poll_seconds: float,
                 lease: Lease | None, workers: int, metrics: SchedulerMetrics | None) -> None:
        self._timers, self._db, self._clock, self._stop = timers, db, clock, stop
        self._poll, self._lease, self._workers, self._metrics = poll_seconds, lease, workers, metrics
        self._scheduler = BackgroundScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="firing")
        self._failures = 0
        self._ticking = threading.Lock()
        self._progress = Progress()

    def start(self, housekeeping: Housekeeping) -> None:
        now = datetime.now(UTC)
        keep_every = self._lease.check_seconds if self._lease else min(2.0, self._poll)
        self._scheduler.add_job(self._keep, "interval", seconds=keep_every, next_run_time=now, id="keeper")
        for number, (duty, every) in enumerate(housekeeping):
            if self._lease is not None:
                self._scheduler.add_job(self._housekeep, "interval", args=[duty], seconds=every,
                                        id=f"housekeeping-{number}")
        self._set_alarm(now)
        self._scheduler.start()

    def shutdown(self) -> None:
        self._stop.set()
        self._scheduler.shutdown(wait=True)
        self._pool.shutdown(wait=True)
        if self._lease is not None:
            self._lease.release()

    # ------------------------------------------------------------ the jobs

    def tick(self) -> None:
        """Fire what is due, then set the next alarm (always, whatever happened)."""
        with self._ticking:
            when = datetime.now(UTC) + timedelta(seconds=self._poll)
            try:
                if self._lease is None or self._lease.held:
                    self._fire_batch()
                    when = self._next_alarm()
                else:
                    when = datetime.now(UTC) + timedelta(seconds=self._lease.check_seconds)
                self._failures = 0
            except Exception as exc:
                self._failures += 1
                delay = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (self._failures - 1))
                if self._failures == 1:
                    log.exception("firing timers failed; next try in %.1f s", delay)
                else:  # one traceback per outage is enough
                    log.error("firing timers failed (%d in a row; %s); next try in %.1f s", self._failures,
                              str(exc).splitlines()[0] if str(exc) else type(exc).__name__, delay)
                if self._metrics:
                    self._metrics.tick_errors.inc()
                when = datetime.now(UTC) + timedelta(seconds=delay)
            finally:
                if not self._stop.is_set():
                    self._set_alarm(when)

    def _keep(self) -> None:
        """Renew or try the lease; wake the alarm on taking it; re-arm an alarm that went missing."""
        try:
            if self._lease is not None:
                was = self._lease.held
                held = self._lease.check()
                if self._metrics:
                    self._metrics.leader.set(int(held))
                if held and not was:
                    self._set_alarm(datetime.now(UTC))
            if not self._stop.is_set() and self._scheduler.get_job("tick") is None and not self._ticking.locked():
                log.warning("the alarm went missing; setting it again")
                self._set_alarm(datetime.now(UTC))
        except Exception:
            log.exception("lease keeper failed")

    def _housekeep(self, duty: Callable[[], object]) -> None:
        if self._lease is None or not self._lease.held:
            return
        try:
            duty()
        except Exception:
            log.exception("housekeeping %s failed", getattr(duty, "__name__", duty))

    # ------------------------------------------------------------ firing

    def _fire_batch(self) -> None:
        """Every worker thread claims and fires due cases until none is left; errors reach ``tick``."""
        started = time.monotonic()
        self._progress.reset()
        futures = [self._pool.submit(self._drain) for _ in range(self._workers)]
        errors = [f.exception() for f in futures]
        fired = self._progress.fired
        if fired:
            log.info("fired %d timer(s) in %.1f s", fired, time.monotonic() - started)
            if self._metrics:
                self._metrics.batch.observe(time.monotonic() - started)
        for error in errors:
            if error is not None:
                raise error

    def _drain(self) -> None:
        while not self._stop.is_set() and (self._lease is None or self._lease.renew_if_due()):
            firing = self._timers.fire_next()
            if firing is None:
                return
            if self._metrics:
                now = self._clock.now()
                self._metrics.fired.inc(len(firing.fired))
                self._metrics.failed.inc(firing.failed)
                for due_at in firing.fired:
                    self._metrics.lag.observe(max(0.0, (now - due_at).total_seconds()))
            self._progress.add(len(firing.fired))

    def _next_alarm(self) -> datetime:
        """The next due timer on the real clock, but no later than one poll interval away.

        Polling picks up timers that other processes (the web app) created meanwhile.
        """
        now = datetime.now(UTC)
        latest = now + timedelta(seconds=self._poll)
        if not isinstance(self._clock, SystemClock):
            return latest
        with self._db.read() as session:
            nxt = session.scalar(select(func.min(Timer.due_at)).where(Timer.status == "pending"))
        if nxt is None:
            return latest
        return max(now + MIN_GAP, min(latest, nxt + FIRING_LAG))

    def _set_alarm(self, when: datetime) -> None:
        try:
            self._scheduler.modify_job("tick", next_run_time=when)
        except JobLookupError:
            self._scheduler.add_job(self.tick, "date", run_date=when, id="tick", replace_existing=True)


class Progress:
    """Counts a batch's firings across worker threads and logs a line every few seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.fired = 0
        self._shown = time.monotonic()

    def reset(self) -> None:
        with self._lock:
            self.fired, self._shown = 0, time.monotonic()

    def add(self, count: int) -> None:
        with self._lock:
            self.fired += count
            if time.monotonic() - self._shown >= PROGRESS_EVERY:
                self._shown = time.monotonic()
                log.info("batch under way: %d timer(s) fired so far", self.fired)
