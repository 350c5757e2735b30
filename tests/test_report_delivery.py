"""Reports delivered (issue 12, part B): the weekly timer of ``reminders.bpmn`` e-mails management and
the general manager the deadline compliance figures of last week, as an XLSX attachment read back with
openpyxl from a real SMTP server on loopback, and a link to the audit report page they may open."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from engine.notify import ChannelSettings, RetryPolicy
from engine.notify.settings import SmtpSettings
from engine.report_files import last_period
from tests.conftest import SHANGHAI
from tests.driver import complete, registration
from tests.notify_peers import SmtpPeer
from web import create_app

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def smtp():  # noqa: ANN201
    with SmtpPeer() as peer:
        yield peer


def test_the_weekly_timer_mails_management_and_the_general_manager_an_xlsx_of_last_weeks_compliance(
        eng, clock, smtp, workflows_dir: Path, tmp_path: Path):
    # A step title that looks like a formula must reach the spreadsheet as text.
    bpmn = workflows_dir / "intake.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace(
        'name="首次响应 First response"', 'name="=1+1 首次响应 First response"'), encoding="utf-8")
    eng.repository.deploy(workflows_dir, actor="owner1")
    eng.notifications.settings = ChannelSettings(smtp=SmtpSettings.parse(smtp.url), base_url="https://cf.example.test",
                                                 timeout=5)
    eng.notifications.policy = RetryPolicy(attempts=3, first_backoff=60, max_backoff=600, claim_seconds=30)
    [reminders] = eng.runtime.start_standing()
    # The week of Monday 2 March: one first response in time, one late.
    on_time = eng.runtime.start("complaint", registration(), "cs1")
    late = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, on_time, "first_response")
    clock.set(datetime(2026, 3, 6, 12, 0, tzinfo=SHANGHAI))
    eng.timers.fire_due()
    complete(eng, late, "first_response")
    # Tuesday 10 March, 09:00: the weekly report of 2 to 8 March.
    clock.set(datetime(2026, 3, 10, 9, 1, tzinfo=SHANGHAI))
    eng.timers.fire_due()
    while eng.notifications.deliver_due():
        pass

    start, end = datetime(2026, 3, 2, tzinfo=SHANGHAI), datetime(2026, 3, 9, tzinfo=SHANGHAI)
    expected = {(r.step, r.role or ""): (len(r.met), len(r.missed), len(r.pending))
                for r in eng.reports.compliance(start, end).rows}
    assert expected[("first_response", "cs_specialist")][:2] == (1, 1)
    for person in ("mgmt1", "mgmt2", "gm1", "gm2"):
        mails = [m for m in smtp.to(f"{person}@demo.complaintflow.test") if "2026-03-02" in m["Subject"]]
        assert len(mails) == 1, person
        mail = mails[0]
        assert "2026-03-08" in mail["Subject"]
        link = "https://cf.example.test/audit/report?from=2026-03-02&to=2026-03-08"
        assert link in mail.get_body(("plain",)).get_content()
        [attachment] = [part for part in mail.iter_attachments()]
        assert attachment.get_content_type() == XLSX
        assert attachment.get_filename() == "deadline-compliance-20260302-20260308.xlsx"
        book = load_workbook(io.BytesIO(attachment.get_content()))
        sheet = book["汇总"]
        header, *rows = list(sheet.iter_rows(values_only=True))
        assert header[:6] == ("环节编号", "环节", "角色", "按时", "超时", "未到期")
        role_names = {info["zh"]: code for code, info in eng.repository.active().roles.items()}
        figures = {(r[0], role_names.get(r[2], r[2])): (r[3], r[4], r[5]) for r in rows}
        assert figures == expected
        assert all(isinstance(v, int) for r in rows for v in r[3:6])  # numbers as numbers
        [first] = [r for r in rows if r[0] == "first_response"]
        assert first[1] == "=1+1 首次响应"  # text, not a formula
        title_cell = next(c for c in sheet["B"] if c.value == first[1])
        assert title_cell.data_type == "s"
        assert isinstance(first[6], float) and first[6] == 0.5  # the on-time rate
    # The reports are notices of the standing case; the first Tuesday (3 March) reported an empty week.
    assert [m["Subject"] for m in smtp.to("mgmt1@demo.complaintflow.test")][0].startswith("周报")

    # The recipients may open the page the mail links to.
    app = create_app({"TESTING": True, "INSTANCE_DIR": str(tmp_path / "instance"), "SECRET_KEY": "s",
                      "DATABASE_URL": eng.db.url, "WORKFLOWS_DIR": str(workflows_dir), "WTF_CSRF_ENABLED": False},
                     eng=eng)
    for person in ("mgmt1", "gm1"):
        client = app.test_client()
        assert client.post("/login", data={"username": person, "password": "demo"}).status_code == 302
        page = client.get("/audit/report?from=2026-03-02&to=2026-03-08")
        assert page.status_code == 200 and "=1+1 首次响应" in page.get_data(as_text=True)
    assert reminders.endswith("-SYSTEM-001")


def test_the_report_periods_are_the_last_full_week_and_the_last_calendar_month():
    tuesday = datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)
    assert last_period("week", tuesday, SHANGHAI) == (datetime(2026, 3, 2, tzinfo=SHANGHAI),
                                                      datetime(2026, 3, 9, tzinfo=SHANGHAI))
    second = datetime(2026, 1, 2, 9, 0, tzinfo=SHANGHAI)
    assert last_period("month", second, SHANGHAI) == (datetime(2025, 12, 1, tzinfo=SHANGHAI),
                                                      datetime(2026, 1, 1, tzinfo=SHANGHAI))
    # 1 March 00:30 in Shanghai is still 28 February in UTC: the calendar's zone decides.
    assert last_period("month", datetime(2026, 2, 28, 16, 30, tzinfo=UTC), SHANGHAI)[0] == datetime(
        2026, 2, 1, tzinfo=SHANGHAI)
