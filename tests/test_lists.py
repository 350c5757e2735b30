"""Lists at scale: the involved person never sees the case anywhere, pages cover every task once,
the inbox reads an index in its order (checked on the query plan, not with a stopwatch), the
compliance figures computed by the database agree with the detailed report, and migration
0009 fills ``involved_person`` from the cases already there."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from bench.clone import clone_open_cases, register_templates
from engine.errors import NotAllowed
from engine.store.db import MIGRATIONS, make_engine
from engine.tasks import InboxQuery
from tests.conftest import SHANGHAI
from tests.driver import advance, complete, registration, task
from tests.web.conftest import login
from web import create_app

MARCH = (datetime(2026, 3, 1, tzinfo=SHANGHAI), datetime(2026, 4, 1, tzinfo=SHANGHAI))


def test_the_involved_person_never_sees_the_case_in_inbox_access_audit_search_or_report(eng, clock):
    about_them = eng.runtime.start("complaint", registration(involved_staff=["cs1", "sup1"]), "cs2")
    other = eng.runtime.start("complaint", registration(), "cs2")
    advance(eng, clock, minutes=30)  # both first responses miss their deadline: both are in the report
    hidden = task(eng, about_them, "first_response")
    assert hidden.assignee == "cs2"
    for scope in ("all", "mine", "group"):
        listed = {t.case_number for t in eng.tasks.inbox("cs1", InboxQuery(scope=scope)).tasks}
        assert about_them not in listed
    assert other in {t.case_number for t in eng.tasks.inbox("cs1", InboxQuery()).tasks}
    assert about_them in {t.case_number for t in eng.tasks.inbox("cs2", InboxQuery()).tasks}
    with pytest.raises(NotAllowed):
        eng.access.require_view("cs1", about_them)
    assert [h.number for h in eng.reports.search(product="电水壶", viewer="sup1")] == [other]
    assert {h.number for h in eng.reports.search(product="电水壶", viewer="sup2")} == {about_them, other}
    cases_in = {o.case_number for row in eng.reports.compliance(*MARCH, viewer="sup1").rows for o in row.missed}
    assert cases_in == {other}
    summary = {r.step: r for r in eng.reports.compliance_summary(*MARCH, viewer="sup1")}
    assert summary["first_response"].missed == 1 and summary["first_response"].missed_cases == (other,)
    assert summary_of(eng, "sup2")["first_response"].missed == 2


def summary_of(eng, viewer: str) -> dict:  # noqa: ANN001
    return {r.step: r for r in eng.reports.compliance_summary(*MARCH, viewer=viewer)}


@pytest.fixture
def many(eng):  # noqa: ANN001, ANN201
    """Demo-like cases in every state (cs1 involved in one of ten), copied to 300 open cases."""
    register_templates(eng, 20)
    clone_open_cases(eng.db.engine, 300)
    return eng


def test_a_copied_case_opens_and_moves_on_like_its_template(eng):
    """The benchmark's copies are real cases: their whole workflow state (document and settled rows) came along."""
    register_templates(eng, 5)
    clone_open_cases(eng.db.engine, 12)
    copies = [n for n in eng.cases.numbers(status="open") if "-K" in n and eng.tasks.for_case(n)]
    assert len(copies) >= 4  # one demo state waits for the customer, with no task open
    for number in copies:
        first = eng.tasks.for_case(number)[0]
        twin = number.rsplit("-K", 1)[0]
        assert first.name in {t.name for t in eng.tasks.for_case(twin)}
        complete(eng, number, first.name)
        assert first.id not in {t.id for t in eng.tasks.for_case(number)}
        assert eng.cases.get(number).version == eng.cases.get(twin).version + 1


@pytest.mark.parametrize("sort", ["due", "due_desc", "newest"])
def test_paging_returns_every_task_exactly_once_across_pages(many, sort):
    everything = [t.id for t in many.tasks.inbox("cs1", InboxQuery(sort=sort, limit=None)).tasks]
    assert len(everything) > 50
    paged, offset = [], 0
    while True:
        page = many.tasks.inbox("cs1", InboxQuery(sort=sort, offset=offset, limit=7))
        paged += [t.id for t in page.tasks]
        offset += 7
        if not page.tasks:
            break
        assert page.matching == min(len(everything), page.cap + 1)
    assert paged == everything
    assert len(set(paged)) == len(paged)
    with many.db.engine.connect() as conn:
        involved = set(conn.scalars(sa.text(
            "SELECT number FROM \"case\" JOIN involved_person ON case_id = id WHERE username = 'cs1'")))
    assert involved and not involved & {t.case_number for t in many.tasks.inbox(
        "cs1", InboxQuery(limit=None)).tasks}


def test_the_page_order_is_soonest_due_first_then_those_without_a_deadline(many):
    tasks = many.tasks.inbox("cs1", InboxQuery(limit=None)).tasks
    keys = [(t.due_at is None, t.due_at or t.created_at, t.created_at) for t in tasks]
    assert keys == sorted(keys)


def plans(eng, action, reading: str = " task") -> list[str]:  # noqa: ANN001
    """The query plans of the statements ``action()`` runs that mention ``reading``."""
    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):  # a prepared statement's are a list
            seen.append((statement, tuple(parameters) if isinstance(parameters, list) else parameters))

    db = eng.db.engine
    sa.event.listen(db, "before_cursor_execute", grab)
    try:
        action()
    finally:
        sa.event.remove(db, "before_cursor_execute", grab)
    explain = "EXPLAIN QUERY PLAN " if db.dialect.name == "sqlite" else "EXPLAIN "
    found = []
    with db.connect() as conn:
        for statement, parameters in seen:
            if reading in statement:
                rows = conn.exec_driver_sql(explain + statement, parameters).all()
                found.append("\n".join(str(r[-1]) for r in rows))
    return found


def full_scans(plan: str, dialect: str) -> set[str]:
    """The tables ``plan`` reads whole."""
    pattern = r"^SCAN (\w+)\b" if dialect == "sqlite" else r"Seq Scan on \"?(\w+)"
    return {m.group(1) for m in re.finditer(pattern, plan, re.MULTILINE)}


@pytest.mark.parametrize("query", [InboxQuery(), InboxQuery(scope="mine"), InboxQuery(sort="due_desc", offset=50),
                                   InboxQuery(sort="newest")], ids=["all", "mine", "due_desc_page_2", "newest"])
def test_the_inbox_reads_the_task_index_in_page_order_never_the_whole_table(eng, query):
    register_templates(eng, 20)
    clone_open_cases(eng.db.engine, 3000)
    found = plans(eng, lambda: eng.tasks.inbox("cs1", query))
    # the page and one capped count (a filtered view also counts the unfiltered total): nothing else reads task
    assert len(found) == (2 if query.scope == "all" else 3)
    index = "ix_task_state_role_created" if query.sort == "newest" else "ix_task_state_role_due"
    if query.scope == "mine":  # seeks the tasks the person holds, or nobody does, in each role
        index = index.replace("role_", "role_assignee_")
    assert index in found[0], found[0]  # the page walks an inbox index
    if query.sort != "newest" and query.scope == "all":  # tasks without a deadline too: the NULL range of the
        # due index, not a role's whole created-order range filtered (100 ms at 100,000 cases). In "mine" the
        # planner rightly takes either index for the few tasks nobody holds yet.
        assert index.replace("_due", "_created") not in found[0], found[0]
    for plan in found:
        assert "ix_task_" in plan and "task" not in full_scans(plan, eng.db.dialect), plan
    page_plan = found[0]
    if eng.db.dialect == "sqlite":  # each branch walks the index in order: only the short union is sorted
        assert "TEMP B-TREE FOR ORDER BY" not in page_plan.split("SCAN anon_1")[0]


def test_a_steps_deadline_check_reads_its_own_cases_timers_not_every_overdue_one(eng, clock):
    """Every completion asks whether a pending timer of its case fell due: by the case's timers, so a backlog
    of due timers elsewhere (a storm) does not make each step walk them all."""
    for _ in range(3):  # cases whose first-response deadline passed and was not fired yet (a backlog)
        eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    clock.advance(timedelta(hours=3))  # on a new installation, as here, SQLite has no statistics to go by
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    found = plans(eng, lambda: complete(eng, number, "first_response"), reading="FROM timer")
    assert found, "no statement read the timers"
    for plan in found:
        assert "timer" not in full_scans(plan, eng.db.dialect), plan
        if eng.db.dialect == "sqlite":
            assert "ix_timer_case_status_due" in plan, plan


# The tables the copies fill with a row or more per case (involved_person holds one case in ten: the
# planner may rightly read so few rows whole).
BIG = {"case", "task", "timer", "outbox", "customer_contact"}


def test_the_case_and_task_pages_read_one_case_by_index(eng, tmp_path, workflows_dir):
    register_templates(eng, 20)
    clone_open_cases(eng.db.engine, 3000)
    app = create_app({"TESTING": True, "INSTANCE_DIR": str(tmp_path / "instance"), "SECRET_KEY": "test",
                      "DATABASE_URL": eng.db.url, "WORKFLOWS_DIR": str(workflows_dir)}, eng=eng)
    client = app.test_client()
    login(client, "sup1")
    with eng.db.engine.connect() as conn:
        number, task_id = conn.execute(sa.text(
            "SELECT c.number, t.id FROM \"case\" c JOIN task t ON t.case_id = c.id JOIN outbox n ON n.case_id = c.id "
            "WHERE t.state = 'open' ORDER BY c.id DESC LIMIT 1")).one()
    for path in (f"/cases/{number}", f"/tasks/{task_id}"):
        found = plans(eng, lambda path=path: client.get(path).status_code == 200, reading="")
        assert len(found) >= 5
        for plan in found:
            assert not full_scans(plan, eng.db.dialect) & BIG, plan


def test_the_compliance_figures_of_the_database_agree_with_the_detailed_report(eng, clock):
    register_templates(eng, 5)  # every demo state: timers that guard no step (waiting for the customer) too
    on_time = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    complete(eng, on_time, "first_response")
    late = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    waiting = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    advance(eng, clock, minutes=25)
    complete(eng, late, "first_response")
    detailed = {(r.step, r.role): r for r in eng.reports.compliance(*MARCH).rows}
    summary = {(r.step, r.role): r for r in eng.reports.compliance_summary(*MARCH)}
    assert set(summary) == set(detailed)
    for key, row in summary.items():
        full = detailed[key]
        assert (row.met, row.missed, row.pending) == (len(full.met), len(full.missed), len(full.pending))
        assert row.step_title == full.step_title and row.on_time_rate == full.on_time_rate
        assert row.missed_cases == tuple(o.case_number for o in full.missed)
        if full.worst_late is None:
            assert row.worst_late is None
        else:
            assert abs((row.worst_late - full.worst_late).total_seconds()) < 1
    first = summary[("first_response", "cs_specialist")]
    assert late in first.missed_cases and on_time not in first.missed_cases and first.met >= 1 and waiting


def test_migration_0009_fills_involved_person_from_the_cases_already_there(database_url):
    db = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    before = ScriptDirectory.from_config(config).get_revision("0009").down_revision
    try:
        with db.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, before)
            now = datetime(2026, 3, 2, 1, 0)
            conn.execute(sa.text(
                "INSERT INTO deployment (id, version, content_hash, deployed_by, deployed_at, note, files, specs, "
                "forms, calendar) VALUES (1, 1, 'x', 'owner1', :now, '', '{}', '{}', '{}', '{}')"), {"now": now})
            for case_id, staff in ((1, ["cs1", "eng2"]), (2, []), (3, ["cs1"])):
                conn.execute(sa.text(
                    "INSERT INTO \"case\" (id, number, process_id, deployment_id, version, status, escalation_tier, "
                    "involved_staff, waiting_for, summary, state, created_by, created_at, updated_at) VALUES "
                    "(:id, :number, 'complaint', 1, 1, 'open', 0, :staff, '[]', '{}', '{}', 'cs2', :now, :now)"),
                    {"id": case_id, "number": f"20260302-PHONE-00{case_id}", "staff": json.dumps(staff), "now": now})
            command.upgrade(config, "head")
            rows = conn.execute(sa.text("SELECT case_id, username FROM involved_person ORDER BY 1, 2")).all()
        assert [tuple(r) for r in rows] == [(1, "cs1"), (1, "eng2"), (3, "cs1")]
    finally:
        db.dispose()
