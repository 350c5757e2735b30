"""A supervisor steps in (issue 15), on both databases: suspend and resume (deadlines held, then fired),
cancel with a reason; each in the history, followed by replay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import CaseArchived, CaseNotOpen, CaseSuspended, FormInvalid
from tests.driver import complete, registration, subjects, task


def test_a_suspended_case_holds_its_deadline_and_fires_it_once_resumed(eng, clock):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    eng.intervention.suspend(number, "sup1", "客户出差，下周再联系")
    assert eng.cases.get(number).status == "suspended"
    clock.advance(timedelta(hours=3))
    assert eng.timers.fire_due() == 0  # the first-response deadline passed while on hold: nothing fired
    assert ("cs_supervisor", "first_response_overdue") not in subjects(eng, number)
    with pytest.raises(CaseSuspended):
        complete(eng, number, "first_response")
    eng.intervention.resume(number, "sup1", "客户已回来")
    assert eng.timers.fire_due() == 1
    assert ("cs_supervisor", "first_response_overdue") in subjects(eng, number)
    complete(eng, number, "first_response")
    kinds = [e.kind for e in eng.history.events(number)]
    assert kinds.index("case_suspended") < kinds.index("case_resumed") < kinds.index("timer_fired")
    report = eng.replay.run(number)
    assert report, report.first_difference


def test_a_cancelled_case_is_archived_with_its_reason_and_nothing_left_open(eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    eng.intervention.cancel(number, "sup1", "重复登记，见另一案件")
    case = eng.cases.get(number)
    assert (case.status, case.outcome) == ("archived", "cancelled")
    assert eng.tasks.for_case(number) == [] and case.pending_deadlines == ()
    [event] = [e for e in eng.history.events(number) if e.kind == "case_cancelled"]
    assert event.actor == "sup1" and event.payload["reason"] == "重复登记，见另一案件"
    assert eng.replay.run(number)
    with pytest.raises(CaseArchived):
        eng.intervention.suspend(number, "sup1", "x")


def test_stepping_in_needs_a_reason_and_the_right_state(eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    with pytest.raises(FormInvalid):
        eng.intervention.suspend(number, "sup1", "  ")
    with pytest.raises(CaseNotOpen):
        eng.intervention.resume(number, "sup1", "not suspended")
    eng.intervention.suspend(number, "sup1", "hold")
    with pytest.raises(CaseNotOpen):
        eng.intervention.suspend(number, "sup1", "again")
    with pytest.raises(CaseSuspended):
        eng.tasks.claim(task(eng, number, "first_response").id, "cs2")
