"""Probes and metrics for the operators: ``/healthz`` (alive), ``/readyz`` (fit to serve), ``/metrics``.

No login and no CSRF: load balancers, orchestrators and Prometheus call them. They say
nothing about any case, only counts and the names of the checks.
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest, multiprocess

from engine.metrics import DatabaseCollector
from web.extensions import csrf, limiter
from web.services import engine

bp = Blueprint("health", __name__)
REGISTRY_KEY = "complaintflow.metrics"


def multiprocess_folder() -> str:
    """prometheus-client's own switch: the folder its multiprocess mode writes to ("" when off)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def register(app: Flask) -> None:
    """The blueprint and this app's own registry (the database gauges are read at scrape time).

    Under gunicorn with ``PROMETHEUS_MULTIPROC_DIR`` set (``web/gunicorn_conf.py``), every worker
    writes its request latencies to that folder and a scrape, answered by whichever worker, sums
    them all; otherwise the figures are this process's own.
    """
    registry = CollectorRegistry()
    health = app.extensions["complaintflow.engine"].health
    registry.register(DatabaseCollector(health))
    latency = Histogram("complaintflow_http_request_seconds", "Time to answer a request",
                        ["method", "endpoint", "status"], registry=registry)
    if multiprocess_folder():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(DatabaseCollector(health))
    app.extensions[REGISTRY_KEY] = (registry, latency)
    app.register_blueprint(bp)
    csrf.exempt(bp)
    limiter.exempt(bp)


@bp.before_app_request
def _start_timer() -> None:
    g.request_started = time.perf_counter()


@bp.after_app_request
def _observe(response: Response) -> Response:
    started = g.pop("request_started", None)
    if started is not None:
        _, latency = current_app.extensions[REGISTRY_KEY]
        endpoint = request.endpoint or "unmatched"
        latency.labels(request.method, endpoint, str(response.status_code)).observe(time.perf_counter() - started)
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers. Touches no database (a database outage must not restart us)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks = engine().health.readiness()
    ready = all(c.ok for c in checks)
    body = {"status": "ready" if ready else "not ready",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
            "failing": [c.name for c in checks if not c.ok]}
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
def metrics() -> Response:
    registry, _ = current_app.extensions[REGISTRY_KEY]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
