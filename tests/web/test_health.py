"""``/healthz``, ``/readyz`` and ``/metrics`` over real HTTP, with a real scheduler on the real clock."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.scheduling import in_seconds, open_timers, start_timer, wait_until
from tests.web.conftest import serve
from web import create_app


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("COMPLAINTFLOW_READY_TIMER_LAG_SECONDS", "2")
    eng = open_timers(f"sqlite:///{tmp_path / 'health.sqlite'}")
    app = create_app({"TESTING": True, "INSTANCE_DIR": str(tmp_path / "instance"), "SECRET_KEY": "test",
                      "DATABASE_URL": eng.db.url}, eng=eng)
    server = serve(app)
    yield eng, next(server)
    server.close()
    eng.close()


def test_healthz_says_alive(site):
    _, url = site
    response = httpx.get(f"{url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_with_a_scheduler_then_503_naming_the_checks_once_it_is_gone_and_timers_fall_behind(site):
    eng, url = site
    stop = threading.Event()
    runner = threading.Thread(target=eng.timers.run_scheduler, kwargs={"stop": stop, "service": "web-test"})
    runner.start()
    try:
        wait_until(lambda: httpx.get(f"{url}/readyz").status_code == 200, 20)
        body = httpx.get(f"{url}/readyz").json()
        assert body["status"] == "ready"
        assert set(body["checks"]) == {"database", "scheduler", "timers", "outbox"}
    finally:
        stop.set()
        runner.join(20)
    number = start_timer(eng, in_seconds(0.5))
    time.sleep(3)  # nobody fires it: it falls 2.5 s behind (the limit is 2 s)
    response = httpx.get(f"{url}/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["scheduler", "timers"]
    assert "no live scheduler" in body["checks"]["scheduler"]["detail"]
    assert eng.timers.fire_due() == 1 and eng.history.events(number)[-1].kind == "timer_fired"


def test_metrics_parse_as_prometheus_text_with_the_database_gauges_and_request_latency(site):
    eng, url = site
    start_timer(eng, in_seconds(3600))
    httpx.get(f"{url}/healthz")
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    samples = {s.name: s for f in text_string_to_metric_families(response.text) for s in f.samples}
    assert samples["complaintflow_timers_pending"].value == 1
    assert samples["complaintflow_timers_due"].value == 0
    assert samples["complaintflow_open_tasks"].value == 0
    assert samples["complaintflow_database_up"].value == 1
    assert samples["complaintflow_http_request_seconds_count"].labels["endpoint"] == "health.healthz"
