"""The auditor's pages: search, verify the chain, the compliance report as page, CSV and XLSX."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from tests.driver import complete, registration
from tests.web.conftest import csrf_token, login


@pytest.fixture
def web_database_url(database_url: str) -> str:
    """These pages and calls are checked on SQLite and on PostgreSQL."""
    return database_url


def test_only_auditors_and_overseers_open_the_audit_pages(client):
    login(client, "cs1")
    assert client.get("/audit/").status_code == 403


def test_the_auditor_finds_a_case_by_product(client, eng):
    number = eng.runtime.start("complaint", registration(product_name="空气炸锅"), "cs1")
    login(client, "auditor1")
    page = client.get("/audit/?product=炸锅").get_data(as_text=True)
    assert f'data-number="{number}"' in page


def test_the_auditor_verifies_the_chain_and_sees_where_it_broke(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    login(client, "auditor1")
    token = csrf_token(client, "/audit/")
    assert 'data-ok="true"' in client.post("/audit/verify", data={"csrf_token": token}).get_data(as_text=True)
    seq = eng.history.events(number)[0].seq
    import sqlalchemy as sa

    with eng.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE event SET actor = 'someone' WHERE seq = :seq"), {"seq": seq})
    broken = client.post("/audit/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert 'data-ok="false"' in broken and f'data-seq="{seq}"' in broken


def test_the_compliance_report_downloads_as_csv_and_xlsx(client, eng, web_clock):
    late = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    web_clock.advance(timedelta(minutes=30))
    eng.timers.fire_due()
    complete(eng, late, "first_response")
    login(client, "auditor1")
    page = client.get("/audit/report?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200 and 'data-step="first_response"' in page.get_data(as_text=True)
    role = eng.repository.active().roles["cs_specialist"]["zh"]
    assert f'data-role="cs_specialist">{role}<' in page.get_data(as_text=True)
    csv_text = client.get("/audit/report?from=2026-03-01&to=2026-03-31&format=csv").get_data(as_text=True)
    assert f"first_response,{role},{late},first_response_deadline" in csv_text and ",超时," in csv_text
    assert csv_text.splitlines()[0].startswith("\ufeff环节编号,角色,案件编号")
    xlsx = client.get("/audit/report?from=2026-03-01&to=2026-03-31&format=xlsx")
    book = load_workbook(io.BytesIO(xlsx.data))
    summary = {row[0]: row for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["first_response"][4] == 1  # missed
    assert summary["first_response"][2] == role and summary["first_response"][8] == "20分钟"  # 30 min - 10
    lines = book["时限明细"].iter_rows(min_row=2, values_only=True)
    [line] = [r for r in lines if r[2] == late and r[0] == "first_response"]
    assert line[4] == "2026-03-02 09:10" and line[5] == "超时"  # the calendar's zone, not UTC
    client.get("/lang/en")
    english = load_workbook(io.BytesIO(client.get("/audit/report?from=2026-03-01&to=2026-03-31&format=xlsx").data))
    assert [c.value for c in english["summary"][1]][:3] == ["step id", "step", "role"]


def test_the_auditor_changes_nothing_anywhere(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    task_id = eng.tasks.for_case(number)[0].id
    login(client, "auditor1")
    token = csrf_token(client, f"/cases/{number}")
    writes = [
        ("/register", {}), (f"/cases/{number}/attachments", {}), (f"/inbox/tasks/{task_id}/claim", {}),
        (f"/tasks/{task_id}", {"expected_version": "1"}), (f"/cases/{number}/customer-link/survey", {}),
        ("/owner/deploy", {}), ("/owner/migration", {}),
    ]
    for path, data in writes:
        answer = client.post(path, data={"csrf_token": token, **data})
        assert answer.status_code == 403, f"{path}: {answer.status_code}"
    assert [e.kind for e in eng.history.events(number)] == ["case_started"]


def test_an_overseer_involved_in_a_case_neither_finds_it_nor_sees_it_in_the_report(client, eng, web_clock):
    about_them = eng.runtime.start("complaint", registration(channel="phone", involved_staff=["sup1"]), "cs1")
    other = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    web_clock.advance(timedelta(minutes=30))
    eng.timers.fire_due()  # both first responses missed
    login(client, "sup1")
    found = client.get("/audit/?product=电水壶").get_data(as_text=True)
    assert f'data-number="{other}"' in found and about_them not in found
    report = client.get("/audit/report?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    assert other in report and about_them not in report
    csv_text = client.get("/audit/report?from=2026-03-01&to=2026-03-31&format=csv").get_data(as_text=True)
    assert other in csv_text and about_them not in csv_text
    login(client, "sup2")
    assert about_them in client.get("/audit/report?from=2026-03-01&to=2026-03-31").get_data(as_text=True)


def test_the_audit_page_reads_its_own_catalogue_and_the_case_page_the_main_one(client, eng):
    """Each blueprint's catalogue wins on its own pages (issue 15): the audit search's "to" is a date's 至,
    while the main catalogue's 新处理人 stays on the pages it belongs to."""
    login(client, "auditor1")
    page = client.get("/audit/").get_data(as_text=True)
    assert '至 <input type="date" name="to"' in page and "新处理人" not in page
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    [first] = eng.tasks.for_case(number)
    eng.tasks.reassign(first.id, "sup1", "cs2")
    login(client, "sup1")
    assert "新处理人" in client.get(f"/cases/{number}").get_data(as_text=True)


def test_the_audit_search_shows_grades_statuses_and_outcomes_in_words(client, eng):
    number = eng.runtime.start("complaint", registration(product_name="空气炸锅"), "cs1")
    complete(eng, number, "first_response")
    login(client, "auditor1")
    page = client.get("/audit/?product=炸锅").get_data(as_text=True)
    assert f'data-number="{number}"' in page and "<td>处理中</td>" in page and "<td>open</td>" not in page
    outcomes = eng.repository.active().catalogue.labels["outcomes"]
    assert all(f'value="{code}"' in page and entry["zh"] in page for code, entry in outcomes.items())
