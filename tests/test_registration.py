"""Registration under retries, races and faults: one complaint per key, gapless numbers, none burnt by a rollback."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import engine
from engine.errors import FormInvalid, IdempotencyKeyReused, NotFound
from engine.runtime import Started
from tests.driver import at_once, complaint_count, registration


def test_the_same_key_twice_registers_one_complaint_and_answers_its_number(eng):
    first = eng.runtime.start_once("complaint", registration(), "cs1", "key-1")
    with eng.db.read() as session:  # the workflow's data carries the number, never the stand-in used before it
        state = session.scalar(sa.text('SELECT state FROM "case"')) + "".join(
            session.scalars(sa.text("SELECT body FROM workflow_task")))
    assert "20260302-PHONE-001" in state and "pending-" not in state
    again = eng.runtime.start_once("complaint", registration(), "cs1", "key-1")
    assert first == Started("20260302-PHONE-001", replayed=False)
    assert again == Started("20260302-PHONE-001", replayed=True)
    assert complaint_count(eng) == 1


def test_a_key_is_per_caller(eng):
    mine = eng.runtime.start_once("complaint", registration(), "cs1", "key-1")
    theirs = eng.runtime.start_once("complaint", registration(), "cs2", "key-1")
    assert (mine.number, theirs.number) == ("20260302-PHONE-001", "20260302-PHONE-002")


def test_the_same_key_with_other_data_is_refused_and_changes_nothing(eng):
    eng.runtime.start_once("complaint", registration(), "cs1", "key-1")
    with pytest.raises(IdempotencyKeyReused) as refused:
        eng.runtime.start_once("complaint", registration(description="another fault"), "cs1", "key-1")
    assert refused.value.number == "20260302-PHONE-001"
    assert complaint_count(eng) == 1


def test_concurrent_duplicates_make_one_complaint_and_all_answer_its_number(eng):
    results = at_once(*[lambda: eng.runtime.start_once("complaint", registration(), "cs1", "same-key")] * 4)
    assert all(isinstance(r, Started) for r in results), results
    assert {r.number for r in results} == {"20260302-PHONE-001"}
    assert sorted(r.replayed for r in results) == [False, True, True, True]
    assert complaint_count(eng) == 1


def test_concurrent_registrations_get_gapless_unique_numbers(eng):
    register = eng.runtime.start_once
    results = at_once(*[lambda i=i: register("complaint", registration(), "cs1", f"key-{i}") for i in range(5)])
    assert sorted(r.number for r in results) == [f"20260302-PHONE-{n:03d}" for n in range(1, 6)], results


def test_a_registration_rolled_back_after_its_number_was_taken_burns_no_number(eng):
    """A real fault at the end of the transaction (a trigger refuses the history event, written after the
    number was taken): the number is given back."""
    dialect = eng.db.dialect
    with eng.db.engine.begin() as conn:
        if dialect == "postgresql":
            conn.execute(sa.text("CREATE OR REPLACE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                                 "RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql"))
            conn.execute(sa.text("CREATE TRIGGER refuse_event BEFORE INSERT ON event "
                                 "FOR EACH ROW EXECUTE FUNCTION refuse()"))
        else:
            conn.execute(sa.text("CREATE TRIGGER refuse_event BEFORE INSERT ON event "
                                 "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"))
    with pytest.raises(sa.exc.DBAPIError, match="injected fault"):
        eng.runtime.start("complaint", registration(), "cs1")
    with eng.db.engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER refuse_event" + (" ON event" if dialect == "postgresql" else "")))
        if dialect == "postgresql":
            conn.execute(sa.text("DROP FUNCTION refuse()"))
    assert complaint_count(eng) == 0
    assert eng.runtime.start("complaint", registration(), "cs1") == "20260302-PHONE-001"
    assert eng.cases.get("20260302-PHONE-001").summary["case_number"] == "20260302-PHONE-001"


def test_the_daily_counter_is_taken_among_the_last_statements_of_a_registration(eng):
    """The counter's row stays locked to the commit (PostgreSQL), and every registration of the day and channel
    needs it: it is taken after the mirrors, before only the number's own update, the workflow state, the case's
    update and the history event and head."""
    eng.runtime.start("complaint", registration(), "cs1")  # the day's counter row exists: later ones update it
    statements: list[str] = []
    sa.event.listen(eng.db.engine, "before_cursor_execute", lambda _c, _cur, sql, *_rest: statements.append(sql))
    number = eng.runtime.start("complaint", registration(), "cs1")
    counter = [i for i, sql in enumerate(statements) if "complaint_counter" in sql]
    assert len(counter) == 1, statements
    after = statements[counter[0] + 1:]
    assert len(after) <= 5, "\n".join(s[:60] for s in after)
    assert len(statements[:counter[0]]) >= 5, statements  # case, people, tasks, timers, outbox were written before
    assert number == "20260302-PHONE-002"
    assert eng.cases.get(number).summary["case_number"] == number


def test_a_diagram_that_derives_from_the_number_at_its_start_sees_the_real_number(database_url, tmp_path, clock):
    """Such a start runs again with the number taken first (the common start takes it late, with a stand-in)."""
    from tests.test_task_types import deploy, files_of  # noqa: PLC0415 - the small diagrams' deploy helpers

    (tmp_path / "roles.toml").write_text(files_of()["roles.toml"], encoding="utf-8")
    with engine.open(database_url, tmp_path, clock=clock) as eng:
        deploy(eng, files_of("number_derived"))
        number = eng.runtime.start("number_derived", {"channel": "test"}, actor="cs1")
        with eng.db.read() as session:
            state = session.scalar(sa.text('SELECT state FROM "case"')) + "".join(
                session.scalars(sa.text("SELECT body FROM workflow_task")))
        assert f"REF/{number}" in state and "pending-" not in state
        assert number.startswith("20260302-") and number.endswith("-001")
        assert eng.cases.get(number).summary["case_number"] == number


def test_the_process_registrations_start_is_the_one_whose_start_event_says_intake(database_url, workflows_dir, clock):
    """Which process staff and customers register is the diagram's word (property ``intake``), not the code's."""
    path = workflows_dir / "complaint.bpmn"
    assert '<spiffworkflow:property name="intake" value="true"/>' in path.read_text(encoding="utf-8")
    with engine.open(database_url, workflows_dir, clock=clock) as eng:
        eng.repository.deploy(actor="owner1", note="as shipped")
        assert eng.repository.active().intake_process() == "complaint"
        path.write_text(path.read_text(encoding="utf-8").replace(
            '<spiffworkflow:property name="intake" value="true"/>', ""), encoding="utf-8")
        eng.repository.deploy(actor="owner1", note="no intake")
        with pytest.raises(NotFound, match="intake = true"):
            eng.repository.active().intake_process()


def test_a_purchase_date_after_today_and_a_300_character_name_are_refused(eng, clock):
    """Registration input limits (issue 15): the intake form says which dates may not lie in the future
    (``x-not-after: today``, the calendar's day) and how long a name may be (``maxLength``)."""
    today = clock.now().astimezone(eng.repository.active().calendar.zone).date()
    date_field = next(name for name, prop in eng.repository.active().intake_form()["properties"].items()
                      if prop.get("x-not-after") == "today")
    with pytest.raises(FormInvalid) as refused:
        eng.runtime.start("complaint", registration(channel="phone", **{date_field: "2030-01-01"}), "cs1")
    assert date_field in refused.value.errors
    with pytest.raises(FormInvalid) as refused:
        eng.runtime.start("complaint", registration(channel="phone", customer_name="张" * 300), "cs1")
    assert "customer_name" in refused.value.errors
    eng.runtime.start("complaint", registration(channel="phone", **{date_field: today.isoformat()}), "cs1")
