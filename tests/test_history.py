"""Every state change leaves one hash-chained event; verify names the first one that was altered."""

from __future__ import annotations

import sqlalchemy as sa

from tests.driver import complete, registration


def _started_case(eng) -> str:
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    return number


def test_each_step_of_a_case_is_one_event_in_order(eng):
    number = _started_case(eng)
    kinds = [e.kind for e in eng.history.events(number)]
    assert kinds == ["case_started", "task_completed"]
    assert eng.history.verify().ok


def test_a_changed_payload_is_named_as_the_first_bad_event(eng):
    number = _started_case(eng)
    target = eng.history.events(number)[-1].seq
    with eng.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE event SET payload = replace(payload, 'first_response', 'verify') "
                             "WHERE seq = :seq"), {"seq": target})
    result = eng.history.verify()
    assert not result.ok
    assert result.first_bad_seq == target
    assert "changed" in result.reason


def test_a_deleted_event_is_named_as_missing(eng):
    number = _started_case(eng)
    first = eng.history.events(number)[0].seq
    with eng.db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM event WHERE seq = :seq"), {"seq": first})
    result = eng.history.verify()
    assert not result.ok
    assert (result.stream, result.stream_seq, result.first_bad_seq) == (number, 1, None)
    assert "missing" in result.reason


def test_the_diagram_of_a_case_marks_done_current_and_overdue_steps(eng, clock):
    from datetime import timedelta

    from tests.driver import complete as complete_step

    number = eng.runtime.start("complaint", registration(), "cs1")
    complete_step(eng, number, "first_response")
    complete_step(eng, number, "verify", safety_hazard=True)
    clock.advance(timedelta(hours=3))
    eng.timers.fire_due()
    diagram = eng.diagrams.for_case(number, "sup1")
    assert diagram.file == "complaint.bpmn" and 'id="complaint"' in diagram.xml
    assert {"first_response", "verify"} <= set(diagram.done)
    assert "urgent_escalation" in diagram.current
    assert diagram.overdue == ("start_emergency_handling",)
