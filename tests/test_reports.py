"""The deadline compliance report and the auditor's case search."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import SHANGHAI
from tests.driver import complete, past_next_deadline, registration

MARCH = (datetime(2026, 3, 1, tzinfo=SHANGHAI), datetime(2026, 4, 1, tzinfo=SHANGHAI))


def test_met_and_missed_first_responses_are_counted_per_step_and_role_with_their_cases(eng, clock):
    on_time = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    complete(eng, on_time, "first_response")  # within 10 minutes
    late = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    past_next_deadline(eng, clock, timedelta(minutes=15))  # its first-response deadline passes
    eng.timers.fire_due()
    complete(eng, late, "first_response")
    report = eng.reports.compliance(*MARCH)
    row = next(r for r in report.rows if r.step == "first_response")
    assert row.role == "cs_specialist"
    assert [o.case_number for o in row.met] == [on_time]
    assert [o.case_number for o in row.missed] == [late]
    assert row.missed[0].margin == timedelta(minutes=15)
    assert row.on_time_rate == 0.5


def test_a_pending_deadline_is_neither_met_nor_missed(eng):
    number = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    row = next(r for r in eng.reports.compliance(*MARCH).rows if r.step == "first_response")
    assert [o.case_number for o in row.pending] == [number] and not row.met and not row.missed


def test_the_auditor_finds_cases_by_product_grade_and_dates(eng):
    kettle = eng.runtime.start("complaint", registration(product_name="智能电水壶"), "cs1")
    eng.runtime.start("complaint", registration(product_name="空气炸锅"), "cs1")
    complete(eng, kettle, "first_response")
    complete(eng, kettle, "verify", safety_hazard=True)
    assert [h.number for h in eng.reports.search(product="电水壶")] == [kettle]
    assert [h.number for h in eng.reports.search(grade="urgent")] == [kettle]
    assert len(eng.reports.search(created_from=MARCH[0], created_to=MARCH[1])) == 2
    assert eng.reports.search(created_from=MARCH[1]) == []
    assert [h.number for h in eng.reports.search(number=kettle[-7:])] == [kettle]
