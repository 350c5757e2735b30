"""The schedules that belong to no complaint: the pending-matters ledger reminder (monthly,
on the 4th) and the statistics reports (weekly on Tuesday, monthly on the 2nd), run by the
standing process ``reminders.bpmn``."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from tests.conftest import SHANGHAI
from tests.driver import subjects


def advance_to(eng, clock, moment: datetime) -> int:
    clock.set(moment)
    return eng.timers.fire_due()


def test_one_reminders_case_runs_however_often_it_is_started(eng):
    started = eng.runtime.start_standing()
    assert len(started) == 1 and started[0].endswith("-SYSTEM-001")
    assert eng.runtime.start_standing() == []
    assert eng.cases.get(started[0]).process_id == "reminders"


def test_the_weekly_report_is_due_every_tuesday_and_the_ledger_on_the_4th(eng, clock):
    # The clock starts on Monday 2 March 2026, 09:00.
    [number] = eng.runtime.start_standing()
    assert advance_to(eng, clock, datetime(2026, 3, 3, 8, 59, tzinfo=SHANGHAI)) == 0
    assert advance_to(eng, clock, datetime(2026, 3, 3, 9, 1, tzinfo=SHANGHAI)) == 1
    assert subjects(eng, number) == [("management", "weekly_statistics_report"),
                                     ("general_manager", "weekly_statistics_report")]
    advance_to(eng, clock, datetime(2026, 3, 4, 9, 1, tzinfo=SHANGHAI))
    assert subjects(eng, number)[-1] == ("cs_manager", "pending_matters_ledger")


def test_a_month_of_reminders_comes_in_the_right_numbers(eng, clock):
    [number] = eng.runtime.start_standing()
    advance_to(eng, clock, datetime(2026, 4, 4, 9, 1, tzinfo=SHANGHAI))
    sent = Counter(subject for role, subject in subjects(eng, number) if role != "general_manager")
    # Tuesdays 3, 10, 17, 24, 31 March; the 4th of March and of April; the 2nd of April (the reports go to
    # management and to the general manager, one notice each).
    assert sent == {"weekly_statistics_report": 5, "pending_matters_ledger": 2, "monthly_statistics_report": 1}
    assert eng.cases.get(number).status == "open"
    assert {d.element_id for d in eng.cases.get(number).pending_deadlines} == {
        "ledger_due", "weekly_report_due", "monthly_report_due"}
