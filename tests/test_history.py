"""Every state change leaves one hash-chained event; verify names the first one that was altered."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

import engine
from engine import history
from engine.casework import lock_case
from engine.store.models import Event
from tests.conftest import POSTGRES_URL, ROOT, _reset_postgres
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
    assert {"initialise_case", "intake_stage"} <= set(diagram.done)  # the stages of the case's own process
    assert "dispatch_stage" in diagram.current
    assert diagram.overdue == ("start_emergency_handling",)


# -- writers do not queue on one another; the sequencer may run twice at once -----------------

@pytest.fixture
def pg_eng(workflows_dir, clock):  # noqa: ANN201
    """The engine on PostgreSQL only: SQLite has one writer at a time by design."""
    _reset_postgres(POSTGRES_URL)
    instance = engine.open(POSTGRES_URL, workflows_dir, clock=clock)
    instance.repository.deploy(actor="owner1", note="test set-up")
    instance.people.seed_demo()
    yield instance
    instance.close()


def test_a_write_to_one_case_commits_at_once_while_another_cases_write_is_held_open_on_postgresql(pg_eng):
    eng = pg_eng
    held, other = (eng.runtime.start("complaint", registration(channel=c), "cs1") for c in ("phone", "web"))
    finished = threading.Event()

    def write_other() -> None:
        complete(eng, other, "first_response")
        finished.set()

    with eng.db.write() as session:  # case ``held``: its row locked, an event appended, not committed
        lock_case(session, number=held)
        history.append(session, case_number=held, at=eng.clock.now(), actor="cs1", kind="note_added",
                       payload={"note": "slow step"}, deployment_version=None)
        worker = threading.Thread(target=write_other)
        began = time.perf_counter()
        worker.start()
        assert finished.wait(10), "the other case's write waited for this open transaction"
        waited = time.perf_counter() - began
    worker.join()
    assert waited < 5
    assert [e.kind for e in eng.history.events(other)] == ["case_started", "task_completed"]
    assert [e.kind for e in eng.history.events(held)] == ["case_started", "note_added"]
    assert eng.history.verify().ok


def test_two_sequencers_at_once_while_cases_are_written_put_every_event_in_the_log_once(eng):
    numbers = [eng.runtime.start("complaint", registration(channel=c), "cs1") for c in ("phone", "web", "email")]
    stop = threading.Event()
    errors: list[BaseException] = []

    def sequencer() -> None:
        try:
            while not stop.is_set():
                eng.history.sequence(batch_size=2)
        except BaseException as exc:  # noqa: BLE001 - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=sequencer) for _ in range(2)]
    for t in threads:
        t.start()
    for number in numbers:
        complete(eng, number, "first_response")
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors, errors
    eng.history.sequence()
    with eng.db.engine.connect() as conn:
        indexes = sorted(conn.scalars(sa.select(Event.log_index)))
    assert indexes == list(range(len(indexes))) and eng.history.unsequenced() == 0
    assert eng.history.tree_head().size == len(indexes) and eng.history.verify().ok


def test_the_upgrade_rechains_an_existing_history_per_case_and_it_verifies(database_url):
    """Events written under the single global chain (revision 0005) are re-chained per case."""
    from datetime import UTC, datetime, timedelta

    from alembic import command
    from alembic.config import Config

    from engine.store.db import MIGRATIONS, make_engine, upgrade

    db = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
    at = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    rows = [(1, None, "deployed", {"version": 1}), (2, "20260302-WEB-001", "case_started", {"a": 1}),
            (3, "20260302-WEB-002", "case_started", {"b": "王"}), (4, "20260302-WEB-001", "task_completed", {"c": 2})]
    with db.begin() as conn:
        for seq, number, kind, payload in rows:
            conn.execute(sa.text("INSERT INTO event (seq, case_number, at, actor, kind, payload, deployment_version, "
                                 "prev_hash, hash) VALUES (:s, :n, :at, 'cs1', :k, :p, 1, 'x', 'y')"),
                         {"s": seq, "n": number, "at": at + timedelta(minutes=seq), "k": kind,
                          "p": history.canonical(payload)})
    upgrade(db)
    db.dispose()
    eng = engine.open(database_url, ROOT / "workflows")
    try:
        assert [e.kind for e in eng.history.events("20260302-WEB-001")] == ["case_started", "task_completed"]
        assert [e.stream_seq for e in eng.history.events("20260302-WEB-001")] == [1, 2]
        assert eng.history.verify().ok
        assert eng.history.sequence() == 4 and eng.history.verify().ok
        eng.repository.deploy(actor="owner1", note="after the upgrade")  # new ids follow the old ones
        assert [e.kind for e in eng.history.events("system")] == ["deployed", "deployed"]
        assert eng.history.sequence() == 1 and eng.history.verify().ok
    finally:
        eng.close()


def test_an_append_with_a_head_read_before_another_append_is_refused_and_writes_nothing(eng):
    """A step appends with the head its case lock read; should the head have moved, the chain must not fork."""
    number = eng.runtime.start("complaint", registration(), "cs1")
    with eng.db.write() as session:
        stale = lock_case(session, number=number).head
        assert stale is not None and stale[0] == 1
    complete(eng, number, "first_response")
    # The event's place in its stream is taken (the unique index refuses it), or the head moved: either way, nothing.
    with pytest.raises((history.HeadMoved, sa.exc.IntegrityError)), eng.db.write() as session:
        history.append_at(session.connection(), stale, case_number=number, at=eng.clock.now(), actor="cs1",
                          kind="note_added", payload={"note": "late"}, deployment_version=None)
    assert [e.kind for e in eng.history.events(number)] == ["case_started", "task_completed"]
    with eng.db.write() as session:
        row = lock_case(session, number=number)
        assert row.head is not None and row.head[0] == 2
        row.head = history.append_at(session.connection(), row.head, case_number=number, at=eng.clock.now(),
                                     actor="cs1", kind="note_added", payload={"note": "on time"},
                                     deployment_version=None)
    assert [e.kind for e in eng.history.events(number)][-1] == "note_added"
    assert eng.history.verify().ok


def test_the_case_diagram_also_draws_the_stage_the_case_is_in_now(eng):
    from tests.driver import complete as complete_step

    number = eng.runtime.start("complaint", registration(), "cs1")
    complete_step(eng, number, "first_response")
    stage = eng.diagrams.for_case(number, "sup1").stage
    assert stage is not None and f'id="{stage.process_id}"' in stage.xml and stage.file.endswith(".bpmn")
    assert stage.process_id != "complaint" and "verify" in stage.current and "first_response" in stage.done
    complete_step(eng, number, "verify")
    later = eng.diagrams.for_case(number, "sup1").stage
    assert later is not None and later.process_id != stage.process_id
    assert set(later.current) & {t.name for t in eng.tasks.for_case(number)}


def test_migration_0024_moves_each_case_head_onto_its_row_and_the_history_still_verifies(database_url):
    """Heads written to stream_head before 0024 move onto their cases' rows (the system stream's stays); the
    chains verify, and the next step appends after the moved head."""
    from alembic import command
    from alembic.config import Config

    from engine.store.db import MIGRATIONS

    eng = engine.open(database_url, ROOT / "workflows")
    try:
        eng.repository.deploy(actor="owner1", note="before 0024")
        eng.people.seed_demo()
        first, second = _started_case(eng), eng.runtime.start("complaint", registration(), "cs1")
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with eng.db.engine.begin() as conn:  # back to 0020: every head in stream_head, as written then
            config.attributes["connection"] = conn
            command.downgrade(config, "0020")
            heads = dict(conn.execute(sa.text("SELECT stream, seq FROM stream_head")).all())
        assert heads == {"system": 1, first: 2, second: 1}
        with eng.db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            moved = dict(conn.execute(sa.text('SELECT number, head_seq FROM "case"')).all())
            left = dict(conn.execute(sa.text("SELECT stream, seq FROM stream_head")).all())
        assert moved == {first: 2, second: 1} and left == {"system": 1}
        with eng.db.engine.connect() as conn:
            stored = dict(conn.execute(sa.text('SELECT number, head_hash FROM "case"')).all())
        assert stored[first] == eng.history.events(first)[-1].hash
        assert eng.history.verify().ok
        complete(eng, second, "first_response")  # appends after the moved head
        assert [e.stream_seq for e in eng.history.events(second)] == [1, 2]
        assert eng.history.verify().ok and eng.history.sequence() == 5 and eng.history.verify().ok
    finally:
        eng.close()
