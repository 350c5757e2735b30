"""Delivery workers killed with SIGKILL at random points while 1,000 notices drain (PostgreSQL).

Real ``complaintflow worker`` processes deliver to a real SMTP server and a DingTalk-style
robot on loopback. Every notice must reach each channel, none may be lost, and no peer may
see a notice twice under two different keys. A worker killed between the peer's "OK" and its
own commit can only resend that one message with the same key (the e-mail's Message-ID, the
webhook's Idempotency-Key), which is how the peer recognises it: the raw resends are counted
and bounded by the number of kills times the sending threads.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

import engine
from engine.store.models import Delivery, Notification
from tests.conftest import POSTGRES_URL, ROOT, WORKFLOWS, _reset_postgres
from tests.driver import registration
from tests.notify_peers import SmtpPeer, WebhookPeer
from tests.scheduling import wait_until

NOTICES = 1000
SENDERS = 2
KILLS = 10
SECRET = "SEC-kill-test"


def worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--senders", str(SENDERS), "--poll", "30"],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def test_killed_delivery_workers_lose_nothing_and_no_peer_sees_a_notice_twice(tmp_path: Path):
    _reset_postgres(POSTGRES_URL)
    eng = engine.open(POSTGRES_URL, WORKFLOWS)
    eng.repository.deploy(actor="owner1", note="kill test")
    eng.people.seed_demo()
    eng.people.set_contact("sup1", email="sup1@demo.complaintflow.test", channels=["app", "email", "dingtalk"])
    number = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    now = datetime.now(UTC)
    with eng.db.write() as session:
        case_id = session.scalar(sa.text("SELECT id FROM \"case\" WHERE number = :n"), {"n": number})
        session.execute(sa.insert(Notification.__table__), [
            {"case_id": case_id, "role": "cs_supervisor", "recipients": ["sup1"], "subject": "first_response_overdue",
             "element_id": None, "created_at": now} for _ in range(NOTICES)])
    kills, started = 0, []
    with SmtpPeer() as smtp, WebhookPeer("dingtalk", SECRET) as robot:
        env = {**os.environ, "COMPLAINTFLOW_DATABASE_URL": POSTGRES_URL, "COMPLAINTFLOW_WORKFLOWS": str(WORKFLOWS),
               "COMPLAINTFLOW_SMTP_URL": smtp.url, "COMPLAINTFLOW_DINGTALK_WEBHOOK": robot.url,
               "COMPLAINTFLOW_DINGTALK_SECRET": SECRET, "COMPLAINTFLOW_DELIVERY_CLAIM_SECONDS": "3",
               "COMPLAINTFLOW_DELIVERY_BACKOFF_SECONDS": "1"}
        for name in ("COMPLAINTFLOW_WECOM_WEBHOOK", "COMPLAINTFLOW_SMS_URL", "COMPLAINTFLOW_CLOCK"):
            env.pop(name, None)
        rng = random.Random(12)
        # The kills fall at random points of the drain itself (so many deliveries sent), not at
        # random times: a fast machine would otherwise drain everything before the kills.
        kill_points = sorted(rng.sample(range(NOTICES // 10, NOTICES * 3 * 9 // 10), KILLS))
        try:
            workers = [worker(env, tmp_path / f"worker-{n}.log") for n in range(2)]
            started.extend(workers)
            for point in kill_points:
                wait_until(lambda point=point: sent(eng) >= point, 600, step=0.05)
                victim = rng.randrange(len(workers))
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait()
                kills += 1
                workers[victim] = worker(env, tmp_path / f"worker-{victim}.log")
                started.append(workers[victim])
            wait_until(lambda: unsettled(eng) == 0, 600, step=0.5)
        finally:
            for process in started:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        with eng.db.read() as session:
            rows = session.execute(sa.select(Delivery.channel, Delivery.key, Delivery.status)).all()
            undelivered = session.scalar(sa.select(sa.func.count()).where(Notification.delivered_at.is_(None)))
        eng.close()

        by_channel = {channel: {r.key for r in rows if r.channel == channel}
                      for channel in ("app", "email", "dingtalk")}
        assert all(len(keys) == NOTICES for keys in by_channel.values())
        assert {r.status for r in rows} == {"sent"} and undelivered == 0
        mail_keys = {f"<{key}@complaintflow>" for key in by_channel["email"]}
        assert set(smtp.ids) == mail_keys  # every notice by e-mail, none lost, nothing unknown
        assert set(robot.keys) == by_channel["dingtalk"] and robot.rejected == []
        resends = sum(n - 1 for n in smtp.ids.values()) + sum(n - 1 for n in robot.keys.values())
        print(f"{kills} kills; {resends} resends recognised by key; {len(smtp.messages)} mails, "
              f"{len(robot.bodies)} robot posts for {NOTICES} notices")
        assert kills == KILLS
        assert resends <= kills * SENDERS


def sent(eng) -> int:  # noqa: ANN001
    with eng.db.read() as session:
        return session.scalar(sa.select(sa.func.count()).where(Delivery.status == "sent")) or 0


def unsettled(eng) -> int:  # noqa: ANN001
    with eng.db.read() as session:
        unplanned = session.scalar(sa.select(sa.func.count()).where(Notification.planned_at.is_(None))) or 0
        open_rows = session.scalar(sa.select(sa.func.count()).where(Delivery.status.in_(("pending", "sending"))))
    return unplanned + (open_rows or 0)
