"""The daily roll-up of deadline outcomes (``deadline_day``) and the contact key column give the statistics and
the compliance report exactly the figures the per-row computation gives, through late completions, open
missed steps, a correction of the product, a move back, a suspended and a cancelled case, and for a viewer
involved in some cases, whether the steps' appended deltas were folded by the scheduler or not (or folded
between steps); no step updates a shared roll-up row; two folders never count a delta twice; the roll-up kept
step by step equals one rebuilt from the rows, and migration 0023 fills it (and the contact keys) from the rows
already there."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from engine import deadline_rollup
from engine.statistics import Dimension, Drill, Period, PeriodKind, Query, period_of
from engine.store.db import make_engine
from engine.store.models import Case, CustomerContact, DeadlineDay, DeadlineDelta
from tests.conftest import SHANGHAI
from tests.driver import complete, registration
from tests.migrating import before, migrate

KETTLE, FRYER = "智能电水壶", "空气炸锅"
APRIL = date(2026, 4, 1)
FIXED = timezone(timedelta(hours=8))  # Shanghai's offset without its zone: the roll-up cannot answer it


def seed(eng, clock, between: Callable[[], object] = lambda: None) -> dict[str, str]:
    """April's cases: on time, late and closed, late and still open, corrected, moved back, suspended, cancelled,
    one the quality lead ``ql1`` is involved in; then a week passes with its timers firing, and one more
    waits for its first response. ``between`` runs after each step (e.g. the scheduler's fold)."""
    clock.set(datetime(2026, 4, 10, 10, 0, tzinfo=SHANGHAI))
    cases = {
        "on_time": eng.runtime.start("complaint", registration(contact="139-1111-2222", product_name=KETTLE), "cs1"),
        "mine": eng.runtime.start("complaint", registration(contact="139 1111 2222", product_name=FRYER,
                                                            involved_staff=["ql1"]), "cs1"),
        "late": eng.runtime.start("complaint", registration(contact="13911112222", product_name=FRYER,
                                                            channel="phone"), "cs1"),
        "open": eng.runtime.start("complaint", registration(contact="137-0000-0001", product_name=KETTLE), "cs1"),
        "moved": eng.runtime.start("complaint", registration(contact="137-0000-0002", product_name=KETTLE), "cs1"),
        "held": eng.runtime.start("complaint", registration(contact="137-0000-0003", product_name=FRYER), "cs1"),
        "cancelled": eng.runtime.start("complaint", registration(contact="137-0000-0004", product_name=FRYER), "cs1"),
    }
    between()
    complete(eng, cases["on_time"], "first_response")
    complete(eng, cases["moved"], "first_response")
    between()
    eng.intervention.suspend(cases["held"], "sup1", "等客户")
    clock.advance(timedelta(minutes=15))
    eng.timers.fire_due()  # the others' first responses are late now
    between()
    clock.advance(timedelta(minutes=30))
    complete(eng, cases["late"], "first_response")  # late, then closed
    between()
    complete(eng, cases["mine"], "first_response")
    eng.corrections.correct(cases["on_time"], "sup1", {"product_name": FRYER}, "型号录错")  # its deadlines move
    between()
    eng.corrections.move_back(cases["moved"], "sup1", "first_response", "回复有误")  # its met deadline is undone
    between()
    eng.intervention.cancel(cases["cancelled"], "sup1", "重复登记")
    for _day in range(7):
        clock.advance(timedelta(days=1))
        eng.timers.fire_due()
        between()
    cases["waiting"] = eng.runtime.start("complaint", registration(product_name=KETTLE), "cs1")  # pending
    return cases


def exact(period: Period) -> Period:
    """The same instants in a fixed offset: the statistics answer from every deadline row instead."""
    return Period(period.kind, period.start.astimezone(FIXED), period.end.astimezone(FIXED))


def queries() -> list[Query]:
    month = period_of(PeriodKind.MONTH, APRIL, SHANGHAI)
    day = period_of(PeriodKind.CUSTOM, date(2026, 4, 10), SHANGHAI)
    found = []
    for period in (month, day):
        for filters in ({}, {Dimension.PRODUCT: FRYER}, {Dimension.PRODUCT: KETTLE}, {Dimension.CHANNEL: "phone"},
                        {Dimension.GRADE: "general"}):
            for viewer in (None, "ql1"):
                found.append(Query(period, filters, viewer, "complaint"))
    return found


def _deltas(eng) -> int:
    with eng.db.reading() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(DeadlineDelta)) or 0


def test_the_statistics_from_the_roll_up_equal_those_counted_from_every_deadline(eng, clock):
    seed(eng, clock)
    assert _deltas(eng) > 0  # nothing folded yet: the answers add the appended deltas
    _assert_statistics_exact(eng)
    assert eng.rollup.fold() > 0
    assert _deltas(eng) == 0
    _assert_statistics_exact(eng)


# Two writers at once: only PostgreSQL has them (SQLite has one writer), so these run there alone, never skipped.
ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@contextmanager
def statements(eng) -> Iterator[list[str]]:  # noqa: ANN001
    """The SQL the engine runs inside the block, one line each, lower case."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split()).lower())

    sa.event.listen(eng.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(eng.db.engine, "before_cursor_execute", record)


def test_the_roll_up_folded_between_steps_gives_the_same_answers(eng, clock):
    seed(eng, clock, between=eng.rollup.fold)
    _assert_statistics_exact(eng)
    _assert_summary_exact(eng)
    folded = _rows(eng)
    with eng.db.write() as session:
        deadline_rollup.rebuild(session.connection())
    assert _rows(eng) == folded


def test_no_step_updates_a_shared_roll_up_row_it_appends_one_insert(eng, clock):
    clock.set(datetime(2026, 4, 10, 10, 0, tzinfo=SHANGHAI))
    number = eng.runtime.start("complaint", registration(product_name=KETTLE), "cs1")
    with statements(eng) as seen:
        complete(eng, number, "first_response")
        clock.advance(timedelta(days=30))
        fired = eng.timers.fire_due()
    assert fired >= 1
    assert not [q for q in seen if "deadline_day" in q]
    appended = [q for q in seen if q.startswith("insert into deadline_delta")]
    assert 1 <= len(appended) <= 1 + fired  # one executemany per transaction at most
    assert _deltas(eng) > 0
    eng.rollup.fold()
    assert _deltas(eng) == 0 and _rows(eng)


@ON_POSTGRES  # SQLite has one writer: folders cannot overlap there
def test_two_folders_at_once_never_count_a_delta_twice(eng, clock):
    seed(eng, clock)
    expected = _rows(eng)  # folded once, then deltas made again by rebuilding from nothing
    with eng.db.write() as session:
        conn = session.connection()
        conn.execute(sa.delete(DeadlineDay))
    with eng.db.write() as session:  # every deadline appended again as deltas
        ids = [r.id for r in session.connection().execute(sa.select(Case.id))]
        for case_id in ids:
            deadline_rollup.settle(session.connection(), [], deadline_rollup.judged_of(session.connection(), case_id))
    started, results = threading.Barrier(2), []

    def fold_half() -> None:
        with eng.db.write() as session:
            started.wait()
            results.append(deadline_rollup.fold(session.connection(), limit=10))

    while _deltas(eng):
        results.clear()
        workers = [threading.Thread(target=fold_half) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert sum(results) > 0
    assert _rows(eng) == expected


def _assert_statistics_exact(eng) -> None:
    with eng.db.reading() as conn:
        for query in queries():
            filters = {d.value: v for d, v in query.filters.items()}
            assert deadline_rollup.step_figures(conn, query.period.start, query.period.end, filters,
                                                query.viewer) is not None  # the roll-up answered
            assert deadline_rollup.step_figures(conn, query.period.start, query.period.end,
                                                {"grade": "general", "channel": "phone"}, None) is None
    seen = []
    for query in queries():
        rolled = eng.statistics.figures(query)
        counted = eng.statistics.figures(Query(exact(query.period), query.filters, query.viewer, query.process))
        assert rolled == counted, query
        seen.append(rolled["on_time"])
    everyone = seen[0]
    assert everyone["missed"] >= 3 and everyone["met"] >= 1 and everyone["pending"] >= 1
    viewer = seen[1]
    assert (viewer["met"], viewer["missed"]) != (everyone["met"], everyone["missed"])  # ql1's case taken out


def test_the_repeat_complaints_are_those_of_the_customers_contacts(eng, clock):
    cases = seed(eng, clock)
    query = Query(period_of(PeriodKind.MONTH, APRIL, SHANGHAI), process="complaint")
    with eng.db.reading() as conn:
        rows = conn.execute(sa.select(CustomerContact.contact, Case.product_name)
                            .join(Case, Case.id == CustomerContact.case_id)).all()
    groups = Counter((re.sub(r"[-+ ().]", "", contact).lower(), product) for contact, product in rows)
    expected = sum(n - 1 for n in groups.values())
    assert expected == 2  # the same customer about the fryer three times, "on time" corrected to the fryer
    assert eng.statistics.figures(query)["repeats"]["count"] == expected
    assert cases["mine"] not in [c["number"] for c in eng.statistics.cases(
        Query(query.period, viewer="ql1", process="complaint"), Drill(
            repeat=True))]


def test_the_compliance_summary_from_the_roll_up_equals_the_detailed_report(eng, clock):
    cases = seed(eng, clock)
    assert _deltas(eng) > 0
    _assert_summary_exact(eng)
    eng.rollup.fold()
    everyone = _assert_summary_exact(eng)
    assert cases["late"] in everyone and cases["open"] in everyone


def _assert_summary_exact(eng) -> set[str]:
    """The summary from the roll-up (with its unfolded deltas) equals the per-row one and the detailed report."""
    month = period_of(PeriodKind.MONTH, APRIL, SHANGHAI)
    for viewer in (None, "ql1"):
        rolled = eng.reports.compliance_summary(month.start, month.end, viewer=viewer)
        counted = eng.reports.compliance_summary(month.start.astimezone(FIXED), month.end.astimezone(FIXED),
                                                 viewer=viewer)
        detailed = {(r.step, r.role): r for r in eng.reports.compliance(month.start, month.end, viewer=viewer).rows}
        assert [(r.step, r.role) for r in rolled] == [(r.step, r.role) for r in counted] == sorted(
            detailed, key=lambda k: (k[0], k[1] or ""))
        for mine, theirs in zip(rolled, counted, strict=True):
            full = detailed[(mine.step, mine.role)]
            assert (mine.met, mine.missed, mine.pending) == (theirs.met, theirs.missed, theirs.pending) == (
                len(full.met), len(full.missed), len(full.pending))
            assert mine.step_title == theirs.step_title == full.step_title
            assert mine.missed_cases == theirs.missed_cases  # both by due time, then timer
            assert sorted(mine.missed_cases) == sorted(o.case_number for o in full.missed)  # ties: any order
            if full.worst_late is None:
                assert mine.worst_late is None and theirs.worst_late is None
            else:
                assert abs((mine.worst_late - full.worst_late).total_seconds()) < 1
                assert abs((mine.worst_late - theirs.worst_late).total_seconds()) < 1
    return {c for r in eng.reports.compliance_summary(month.start, month.end) for c in r.missed_cases}


def _rows(eng) -> list[tuple]:
    """``deadline_day``'s rows once every appended delta is folded in."""
    eng.rollup.fold()
    with eng.db.reading() as conn:
        found = conn.execute(sa.select(DeadlineDay).where(sa.or_(DeadlineDay.met != 0, DeadlineDay.missed != 0,
                                                                  DeadlineDay.pending != 0))
                             .order_by(*DeadlineDay.__table__.primary_key.columns)).all()
    return [(r.zone, r.dim, r.value, r.day, r.step, r.role, r.title, r.met, r.missed, r.pending,
             round(r.late_max, 3) if r.late_max is not None else None, r.open_since) for r in found]


def test_the_roll_up_kept_step_by_step_equals_one_rebuilt_from_the_rows(eng, clock):
    seed(eng, clock)
    kept = _rows(eng)
    assert kept and {row[1] for row in kept} >= {"", "product_name", "channel", "complaint_type"}
    with eng.db.write() as session:
        deadline_rollup.rebuild(session.connection())
    assert _rows(eng) == kept


def test_migration_0023_fills_the_roll_up_and_the_contact_keys_from_the_rows_already_there(database_url):
    db = make_engine(database_url)
    previous = before("0023")
    at = datetime(2026, 3, 2, 2, 0)  # 10:00 in Shanghai
    try:
        with db.begin() as conn:
            migrate(conn, previous)
            conn.execute(sa.text(
                "INSERT INTO deployment (id, version, content_hash, deployed_by, deployed_at, note, files, specs, "
                "forms, calendar) VALUES (1, 1, 'x', 'owner1', :at, '', '{}', '{}', '{}', :calendar)"),
                {"at": at, "calendar": json.dumps({"timezone": "Asia/Shanghai"})})
            for case_id, product in ((1, KETTLE), (2, KETTLE), (3, FRYER)):
                conn.execute(sa.text(
                    "INSERT INTO \"case\" (id, number, process_id, deployment_id, version, status, escalation_tier, "
                    "involved_staff, waiting_for, summary, state, created_by, created_at, updated_at, product_name,"
                    " grade) VALUES (:id, :number, 'complaint', 1, 1, 'open', 0, '[]', '[]', '{}', '{}', 'cs2', :at,"
                    " :at, :product, 'general')"),
                    {"id": case_id, "number": f"20260302-PHONE-00{case_id}", "at": at, "product": product})
                conn.execute(sa.text("INSERT INTO customer_contact (case_id, name, contact) VALUES (:id, 'x', :c)"),
                             {"id": case_id, "c": "139-1111-2222" if case_id < 3 else "(021) 5555.0000"})
            due = at + timedelta(minutes=15)
            # case 1: done in time (its timer cancelled); case 2: fired, done 30 minutes late; case 3: waiting
            for task_id, case_id, state, done in (("t1", 1, "completed", at + timedelta(minutes=5)),
                                                  ("t2", 2, "completed", due + timedelta(minutes=30)),
                                                  ("t3", 3, "open", None)):
                conn.execute(sa.text(
                    "INSERT INTO task (id, case_id, element_id, title, role, claimed, state, created_at, "
                    "completed_at) VALUES (:id, :case, 'first_response', 'First response', 'cs_specialist', false,"
                    " :state, :at, :done)"), {"id": task_id, "case": case_id, "state": state, "at": at, "done": done})
            for timer_id, case_id, status in ((1, 1, "cancelled"), (2, 2, "fired"), (3, 3, "pending")):
                conn.execute(sa.text(
                    "INSERT INTO timer (id, case_id, spiff_task_id, element_id, name, attached_to, guarded_task_id,"
                    " interrupting, due_at, status, created_at) VALUES (:id, :case, :spiff, 'first_response_due',"
                    " 'due', 'first_response', :task, false, :due, :status, :at)"),
                    {"id": timer_id, "case": case_id, "spiff": f"s{timer_id}", "task": f"t{case_id}", "due": due,
                     "status": status, "at": at})
            migrate(conn, "head")
            keys = dict(conn.execute(sa.text("SELECT id, contact_key FROM \"case\" ORDER BY id")).all())
            rows = conn.execute(sa.text(
                "SELECT dim, value, day, step, role, met, missed, pending, late_max FROM deadline_day "
                "ORDER BY dim, value")
            ).all()
        assert keys == {1: "13911112222", 2: "13911112222", 3: "02155550000"}
        whole = [r for r in rows if r.dim == ""]
        assert [(str(r.day), r.step, r.role, r.met, r.missed, r.pending, r.late_max) for r in whole] == [
            ("2026-03-02", "first_response", "cs_specialist", 1, 1, 1, 1800.0)]
        assert {(r.value, r.met, r.missed, r.pending) for r in rows if r.dim == "product_name"} == {
            (KETTLE, 1, 1, 0), (FRYER, 0, 0, 1)}
    finally:
        db.dispose()


def test_a_purged_case_leaves_the_roll_up_with_its_deadlines(eng, clock):
    purged = eng.runtime.start("complaint", registration(product_name=KETTLE, contact="139-1111-2222"), "cs1")
    complete(eng, purged, "first_response")
    eng.intervention.cancel(purged, "sup1", "重复登记")
    kept = eng.runtime.start("complaint", registration(product_name=KETTLE), "cs1")
    complete(eng, kept, "first_response")
    assert sum(row[7] for row in _rows(eng) if row[1] == "") == 2  # two first responses met
    clock.advance(timedelta(days=3 * 365 + 1))
    [result] = eng.retention.purge("system")
    assert result.number == purged
    assert sum(row[7] for row in _rows(eng) if row[1] == "") == 1
    with eng.db.reading() as conn:
        assert conn.scalar(sa.select(Case.contact_key).where(Case.number == purged)) is None
    rows = _rows(eng)
    with eng.db.write() as session:
        deadline_rollup.rebuild(session.connection())
    assert _rows(eng) == rows


@ON_POSTGRES  # SQLite has one writer: every write waits for the open one there
def test_a_step_does_not_wait_for_another_steps_open_roll_up_change_of_the_same_day_and_step(eng, clock):
    clock.set(datetime(2026, 4, 10, 10, 0, tzinfo=SHANGHAI))
    first = eng.runtime.start("complaint", registration(product_name=KETTLE), "cs1")
    second = eng.runtime.start("complaint", registration(product_name=KETTLE), "cs1")
    complete(eng, first, "first_response")
    eng.rollup.fold()  # the day's rows exist: the former design locked them for the whole step
    done = threading.Event()
    # an open transaction of the same day, step and role with its roll-up change appended, rolled back at the end
    with eng.db.engine.connect() as conn, conn.begin() as open_step:
        first_id = conn.scalar(sa.select(Case.id).where(Case.number == first))
        deadline_rollup.settle(conn, [], deadline_rollup.judged_of(conn, first_id))
        assert conn.scalar(sa.select(sa.func.count()).select_from(DeadlineDelta)) > 0
        worker = threading.Thread(target=lambda: (complete(eng, second, "first_response"), done.set()))
        worker.start()
        waited = done.wait(20)
        open_step.rollback()
    worker.join()
    assert waited, "the second completion queued behind the open step"
    assert eng.statistics.figures(Query(period_of(PeriodKind.MONTH, APRIL, SHANGHAI), process="complaint")
                                  )["on_time"]["met"] == 2


def test_the_roll_up_stays_exact_when_steps_load_their_cases_from_the_database(eng, clock):
    """A step whose kept workflow was dropped knows neither its open tasks' missed deadlines nor its parked
    timers: it reads them once, and the answers stay those counted from every deadline."""

    def drop_kept_workflows() -> None:
        with eng.db.read() as session:
            ids = list(session.scalars(sa.select(Case.id)))
        for case_id in ids:
            eng.timers._work.forget(case_id)  # as after a restart, or in another worker process

    seed(eng, clock, between=drop_kept_workflows)
    _assert_statistics_exact(eng)
    _assert_summary_exact(eng)
    eng.rollup.fold()
    _assert_statistics_exact(eng)
    _assert_summary_exact(eng)
    folded = _rows(eng)  # the greatest lateness too, which the summary's "late until now" hides
    with eng.db.write() as session:
        deadline_rollup.rebuild(session.connection())
    assert _rows(eng) == folded


def test_a_completion_reads_none_of_its_cases_deadlines_for_the_roll_up(eng, clock):
    clock.set(datetime(2026, 4, 10, 10, 0, tzinfo=SHANGHAI))
    number = eng.runtime.start("complaint", registration(product_name=KETTLE), "cs1")
    with statements(eng) as seen:
        complete(eng, number, "first_response")
    assert [q for q in seen if q.startswith("insert into deadline_delta")]  # its deadline was met
    assert not [q for q in seen if q.startswith("select") and "from timer" in q and "join task" in q]
    assert not [q for q in seen if q.startswith("update timer") and "closed_at" not in q]
