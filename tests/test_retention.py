"""Records are kept for the retention period (3 years by default); a purge after it removes the
content but leaves the history chain verifiable, and is itself recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from engine.errors import CaseArchived
from engine.history import payload_digest
from engine.retention import years_before
from tests.conftest import SHANGHAI
from tests.driver import complete, registration, to_callback


def archived_case(eng) -> str:
    number = eng.runtime.start("complaint", registration(complaint_type="service", customer_name="王小明"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback")
    assert eng.cases.get(number).status == "archived"
    return number


def test_an_archived_case_is_kept_for_three_years(eng, clock):
    number = archived_case(eng)
    clock.advance(timedelta(days=3 * 365 - 1))
    assert eng.retention.purge("system") == []
    assert eng.cases.get(number).summary["customer_name"] == "王**"
    with pytest.raises(CaseArchived):
        eng.runtime.message(number, "customer_reply", {"reply": "hello"}, "customer")


def test_three_years_are_calendar_years_across_a_leap_day(eng, clock):
    number = archived_case(eng)  # archived on 2 March 2026
    archived = eng.cases.get(number).archived_at
    clock.set(datetime(2029, 3, 1, 23, 59, tzinfo=SHANGHAI))  # 3 x 365 days later, a day short of 3 years
    assert eng.retention.due() == []
    clock.set(archived.astimezone(SHANGHAI).replace(year=2029) + timedelta(seconds=1))
    assert eng.retention.due() == [number]


def test_the_cut_off_never_falls_before_the_full_term():
    assert years_before(datetime(2032, 2, 29, 12, 0), 3) == datetime(2029, 2, 28, 12, 0)
    assert years_before(datetime(2031, 3, 1), 3) == datetime(2028, 3, 1)




def test_a_purge_after_retention_removes_the_content_and_keeps_the_chain_verifiable(eng, clock):
    number = archived_case(eng)
    still_open = eng.runtime.start("complaint", registration(), "cs1")
    clock.advance(timedelta(days=3 * 365 + 1))
    [result] = eng.retention.purge("system")
    assert result.number == number and result.events > 5
    events = eng.history.events(number)
    assert all(e.payload == {"purged": True} for e in events[:-1])
    assert events[-1].kind == "case_purged" and events[-1].payload["events"] == result.events
    assert "王" not in str([e.payload for e in events])
    assert eng.history.verify().ok
    # The contact is gone with the content: no look-up code can reach anyone for this case any more.
    assert eng.lookup.request(number, registration()["contact"]) is None
    assert eng.cases.get(still_open).status == "open"  # open cases are never purged


def test_emptying_an_event_without_a_recorded_purge_is_detected(eng):
    number = archived_case(eng)
    target = eng.history.events(number)[1]
    with eng.db.engine.begin() as conn:
        original = conn.execute(sa.text("SELECT payload FROM event WHERE seq = :s"), {"s": target.seq}).scalar_one()
        conn.execute(sa.text("UPDATE event SET payload = :p, payload_digest = :d WHERE seq = :s"),
                     {"p": '{"purged":true}', "d": payload_digest(original), "s": target.seq})
    result = eng.history.verify()
    assert not result.ok and result.first_bad_seq == target.seq and "no purge" in result.reason


def test_a_purged_event_whose_digest_was_changed_breaks_the_chain(eng, clock):
    number = archived_case(eng)
    clock.advance(timedelta(days=3 * 365 + 1))
    eng.retention.purge("system")
    target = eng.history.events(number)[2]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE event SET payload_digest = :d WHERE seq = :s"), {"d": "0" * 64, "s": target.seq})
    result = eng.history.verify()
    assert not result.ok and result.first_bad_seq == target.seq
