"""The review reports (issue 14): the Tuesday timer of ``reminders.bpmn`` stores the weekly statistics
as they are that day and delivers them, through a real SMTP server on loopback, with a link to it."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine import review_reports
from engine.errors import DeployError
from engine.notify import ChannelSettings, RetryPolicy
from engine.notify.settings import SmtpSettings
from tests.conftest import SHANGHAI
from tests.driver import complete, registration
from tests.notify_peers import SmtpPeer


@pytest.fixture
def smtp():  # noqa: ANN201
    with SmtpPeer() as peer:
        yield peer


def test_the_tuesday_timer_stores_the_weeks_statistics_and_delivers_them_with_a_link(eng, clock, smtp):
    eng.notifications.settings = ChannelSettings(smtp=SmtpSettings.parse(smtp.url), base_url="https://cf.example.test",
                                                 timeout=5)
    eng.notifications.policy = RetryPolicy(attempts=3, first_backoff=60, max_backoff=600, claim_seconds=30)
    eng.runtime.start_standing()
    # The week of Monday 2 March: three complaints, two of them about the kettle.
    kettle = [eng.runtime.start("complaint", registration(product_name="智能电水壶"), "cs1") for _ in range(2)]
    eng.runtime.start("complaint", registration(product_name="空气炸锅"), "cs1")
    complete(eng, kettle[0], "first_response")
    # Tuesday 10 March, 09:01: the weekly report of 2 to 8 March. (Tuesday 3 March reported the week before.)
    clock.set(datetime(2026, 3, 10, 9, 1, tzinfo=SHANGHAI))
    eng.timers.fire_due()
    # A complaint registered after the report does not change it: it is what the figures were that day.
    eng.runtime.start("complaint", registration(product_name="智能电水壶"), "cs1")
    while eng.notifications.deliver_due():
        pass

    weekly = [r for r in review_reports.listed(eng.db) if r.kind == "week"]
    assert [r.period_start for r in weekly] == [datetime(2026, 3, 2, tzinfo=SHANGHAI),
                                                datetime(2026, 2, 23, tzinfo=SHANGHAI)]
    report = weekly[0]
    assert report.period_end == datetime(2026, 3, 9, tzinfo=SHANGHAI)
    assert report.figures["volume"] == 3
    assert {r["key"]: r["count"] for r in report.figures["shares"]["product_name"]} == {"智能电水壶": 2, "空气炸锅": 1}
    assert report.figures["previous"]["volume"] == 0
    assert weekly[1].figures["volume"] == 0
    for person in ("mgmt1", "gm1"):
        [mail] = [m for m in smtp.to(f"{person}@demo.complaintflow.test") if "2026-03-02" in m["Subject"]]
        assert f"https://cf.example.test/statistics/reports/{report.id}" in mail.get_body(("plain",)).get_content()
    # Another notice of the same period reuses the report.
    with eng.db.write() as session:
        assert review_reports.store(session.connection(), "week", clock.now(), SHANGHAI, "complaint") == report.id


def test_a_review_step_naming_no_report_period_is_refused_at_deploy(eng, workflows_dir):
    diagram = workflows_dir / "reminders.bpmn"
    text = diagram.read_text(encoding="utf-8")
    diagram.write_text(text.replace('name="reviewReport" value="month"', 'name="reviewReport" value="monthly"', 1),
                       encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(workflows_dir, actor="owner1")
    [problem] = [p for p in refused.value.problems if p.code == "review_report_period"]
    assert problem.file == "reminders.bpmn" and "monthly" in problem.message and "week, month" in problem.message
