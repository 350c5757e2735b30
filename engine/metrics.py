"""Prometheus metrics: the scheduler's own counters and the gauges read from the database.

The database gauges are collected at scrape time (``DatabaseCollector``), so whichever
process is scraped reports the same truth. Each process keeps its own registry.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from engine.health import Health

LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)
BATCH_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300)


class SchedulerMetrics:
    """What the scheduler and worker processes count (served with ``--metrics-port``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.fired = Counter("complaintflow_timers_fired", "Timers fired by this process", registry=registry)
        self.failed = Counter("complaintflow_timers_failed", "Timers parked as failed (incidents) by this process",
                              registry=registry)
        self.lag = Histogram("complaintflow_timer_firing_lag_seconds", "Firing commit time minus due time",
                             buckets=LAG_BUCKETS, registry=registry)
        self.batch = Histogram("complaintflow_timer_batch_seconds", "Duration of one firing batch (one alarm)",
                               buckets=BATCH_BUCKETS, registry=registry)
        self.tick_errors = Counter("complaintflow_scheduler_tick_errors", "Alarms that failed (retried with backoff)",
                                   registry=registry)
        self.leader = Gauge("complaintflow_scheduler_lease_held", "1 while this process holds the scheduler lease",
                            registry=registry)


class DatabaseCollector(Collector):
    """Gauges describing the database, computed when scraped."""

    def __init__(self, health: Health) -> None:
        self._health = health

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            s = self._health.snapshot()
        except Exception:
            yield GaugeMetricFamily("complaintflow_database_up", "1 when the database answered", value=0)
            return
        yield GaugeMetricFamily("complaintflow_database_up", "1 when the database answered", value=1)
        for name, doc, value in (
            ("complaintflow_timers_pending", "Pending timers", s.timers_pending),
            ("complaintflow_timers_due", "Pending timers already due", s.timers_due),
            ("complaintflow_timers_overdue_seconds", "How long the oldest due timer has waited", s.overdue_seconds),
            ("complaintflow_open_tasks", "Open user tasks", s.open_tasks),
            ("complaintflow_incidents", "Timers parked as failed", s.incidents),
            ("complaintflow_outbox_backlog", "Undelivered outbox notices", s.outbox_backlog),
            ("complaintflow_scheduler_lease_alive", "1 when a live scheduler holds the lease", int(s.lease_alive)),
        ):
            yield GaugeMetricFamily(name, doc, value=value)


def scheduler_registry(health: Health) -> tuple[CollectorRegistry, SchedulerMetrics]:
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(health))
    return registry, SchedulerMetrics(registry)
