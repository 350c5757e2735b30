"""The step carrying a plan out starts with the accepted plan's amount in its "compensation paid" field
(``x-default-from``); what the handler records there is what the statistics page and its XLSX count."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from tests.driver import task
from tests.test_compensation_paid import rejected_then_paid
from tests.web.conftest import login
from tests.web.test_task_page import page_of, post

APRIL = "period=month&from=2026-04-01"


@pytest.fixture
def web_database_url(database_url: str) -> str:  # SQLite and PostgreSQL
    return database_url


def test_the_refund_step_offers_the_accepted_amount_and_the_statistics_count_what_was_paid(client, eng, web_clock):
    number = rejected_then_paid(eng, web_clock)
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    refund = task(eng, number, "pay_refund")
    login(client, refund.assignee)
    page = page_of(client, refund.id)
    assert re.search(r'name="compensation_paid"[^>]*value="120"', page)  # the accepted plan's, not the rejected 300
    assert "已付补偿（元）" in page
    response = post(client, refund.id, page, refund_reference="R-9", refunded_at="2026-04-11",
                    compensation_paid="100")  # the handler records what was actually paid
    assert response.status_code == 303
    client.get("/logout")
    login(client, "ql1")
    html = client.get(f"/statistics/?{APRIL}").get_data(as_text=True)
    assert re.search(r'id="figure-compensation">.*?class="value"[^>]*>100\.0<', html, re.S)
    book = load_workbook(io.BytesIO(client.get(f"/statistics/?{APRIL}&format=xlsx").data))
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["compensation_total"] == 100 and summary["compensation_cases"] == 1
    drill = client.get(f"/statistics/cases?{APRIL}&compensated=1").get_data(as_text=True)
    assert re.findall(r'<tr data-case="([^"]+)">', drill) == [number]
