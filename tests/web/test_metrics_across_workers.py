"""``/metrics`` under gunicorn with several workers (the production recipe's ``web/gunicorn_conf.py``).

Without prometheus-client's multiprocess mode each worker answers a scrape with its own request
histogram, so the figures jump with whichever worker the scrape lands on. With
``PROMETHEUS_MULTIPROC_DIR`` every scrape must give the sum over all workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

import engine
from tests.conftest import ROOT
from tests.web.test_workers import free_port, stop, wait_for_port

REQUESTS = 60


def healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        if family.name == "complaintflow_http_request_seconds":
            return sum(s.value for s in family.samples
                       if s.name.endswith("_count") and s.labels.get("endpoint") == "health.healthz")
    return 0.0


def test_every_scrape_counts_the_requests_of_all_workers(tmp_path: Path, workflows_dir: Path):
    url = f"sqlite:///{tmp_path / 'metrics.sqlite'}"
    with engine.open(url, workflows_dir) as eng:
        eng.repository.deploy(actor="owner1", note="metrics test")
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left over from an earlier run")
    port = free_port()
    env = {**os.environ, "COMPLAINTFLOW_DATABASE_URL": url, "COMPLAINTFLOW_WORKFLOWS": str(workflows_dir),
           "COMPLAINTFLOW_INSTANCE": str(tmp_path / "instance"), "PROMETHEUS_MULTIPROC_DIR": str(folder),
           "COMPLAINTFLOW_BIND": f"127.0.0.1:{port}", "COMPLAINTFLOW_WEB_WORKERS": "3"}
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:web.gunicorn_conf", "web.wsgi:app"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, server, seconds=60)
        base = f"http://127.0.0.1:{port}"

        def ask(_: int) -> int:
            with httpx.Client(base_url=base, timeout=30) as client:  # a new connection each: any worker
                return client.get("/healthz").status_code

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(ask, range(REQUESTS))) == [200] * REQUESTS
        writers = {p.name.rsplit("_", 1)[1] for p in folder.glob("histogram_*.db")}
        assert len(writers) >= 2, f"one worker answered everything: {writers}"
        assert not (folder / "counter_999999.db").exists()
        for _ in range(6):
            with httpx.Client(base_url=base, timeout=30) as client:
                assert healthz_count(client.get("/metrics").text) == REQUESTS
    finally:
        stop(server)
        log.close()
