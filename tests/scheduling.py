"""Helpers for scheduler tests: timers on the real clock, scheduler processes, a private PostgreSQL."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import engine
from engine.clock import Clock
from tests.conftest import ROOT

TIMER_AT = ROOT / "tests" / "bpmn" / "timer_at"  # one timeDate timer read from the start data (``due``)


def open_timers(url: str, clock: Clock | None = None) -> engine.Engine:
    eng = engine.open(url, TIMER_AT, clock=clock)
    eng.repository.deploy(actor="owner1", note="scheduler test")
    return eng


def start_timer(eng: engine.Engine, due: datetime, channel: str = "test") -> str:
    return eng.runtime.start("timer_at", {"channel": channel, "due": due.isoformat()}, actor="test")


def in_seconds(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def firings(eng: engine.Engine, number: str) -> int:
    return sum(1 for e in eng.history.events(number) if e.kind == "timer_fired")


def wait_until(condition: Callable[[], object], timeout: float, step: float = 0.2) -> float:
    """Seconds it took ``condition`` to hold; fails the test after ``timeout``."""
    started = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except Exception:  # noqa: S110 - the database may be away for a while in these tests
            pass
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(step)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """``complaintflow scheduler|worker`` as a real subprocess, its output in a log file."""

    def __init__(self, url: str, log: Path, *args: str, command: str = "scheduler", lease_seconds: float = 10) -> None:
        env = {**os.environ, "COMPLAINTFLOW_DATABASE_URL": url, "COMPLAINTFLOW_WORKFLOWS": str(TIMER_AT),
               "COMPLAINTFLOW_SCHEDULER_LEASE_SECONDS": str(lease_seconds)}
        env.pop("COMPLAINTFLOW_CLOCK", None)
        self.log = log
        self._out = log.open("ab")
        self.popen = subprocess.Popen([sys.executable, "-m", "engine.cli", command, *args], cwd=ROOT, env=env,
                                      stdout=self._out, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def signal(self, number: int) -> None:
        self.popen.send_signal(number)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGCONT)
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def processes() -> Iterator[list[Process]]:
    """Stops every process the block started, even when it fails."""
    started: list[Process] = []
    try:
        yield started
    finally:
        for p in started:
            p.stop()


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temporary folder), safe to stop and start."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="cf-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.dir.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
