"""gunicorn settings for the production recipe: ``gunicorn -c python:web.gunicorn_conf 'web.wsgi:app'``.

What they add to gunicorn's defaults: when ``PROMETHEUS_MULTIPROC_DIR`` is set, ``/metrics``
answers for all workers together (prometheus-client's multiprocess mode). The folder is emptied
when the master starts (figures of an earlier run would be added in), and a worker that exits
is marked dead so its live gauges stop counting; its counters and histograms stay summed in.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import multiprocess

bind = os.environ.get("COMPLAINTFLOW_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("COMPLAINTFLOW_WEB_WORKERS", "4"))


def on_starting(server) -> None:  # noqa: ANN001
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:  # noqa: ANN001
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
