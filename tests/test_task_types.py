"""Every task and event type a modeler offers either runs here or is refused at deploy, by element.

The diagrams are in ``tests/bpmn/refused`` (each named after the code it is refused with; the
element refused has the id ``refused_here``) and ``tests/bpmn/runs`` (one behaviour each).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

import engine
from engine import refusals
from engine.clock import ManualClock
from engine.errors import DeployError, FormInvalid
from tests.conftest import ROOT

BPMN = ROOT / "tests" / "bpmn"
REFUSED = sorted((BPMN / "refused").glob("*.bpmn"))
ROLES = (BPMN / "timer_at" / "roles.toml").read_text(encoding="utf-8")


def files_of(*names: str, calendar: str | None = None) -> dict[str, str]:
    files = {f"{name}.bpmn": (BPMN / "runs" / f"{name}.bpmn").read_text(encoding="utf-8") for name in names}
    files["roles.toml"] = ROLES
    if calendar is not None:
        files["calendar.toml"] = calendar
    return files


def deploy(eng: engine.Engine, files: dict[str, str]) -> None:
    """Deploy, then the demo people of the deployed roles (cs1 is the cs_specialist)."""
    eng.repository.deploy_files(files, actor="owner1")
    eng.people.seed_demo()


@pytest.fixture
def running(database_url: str, tmp_path: Path, clock: ManualClock):  # noqa: ANN201
    """An engine with nothing deployed: each test deploys its own diagram with ``deploy``."""
    (tmp_path / "roles.toml").write_text(ROLES, encoding="utf-8")  # the demo people's roles
    instance = engine.open(database_url, tmp_path, clock=clock)
    yield instance
    instance.close()


def _ids(text: str) -> set[str]:
    root = etree.fromstring(text.encode("utf-8"))
    return {node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.get("id")}


@pytest.mark.parametrize("bpmn", REFUSED, ids=[f.stem for f in REFUSED])
def test_what_the_engine_cannot_carry_out_is_refused_naming_the_element(bpmn: Path, tmp_path: Path):
    text = bpmn.read_text(encoding="utf-8")
    with engine.open(f"sqlite:///{tmp_path / 'refused.sqlite'}", tmp_path) as eng, \
            pytest.raises(DeployError) as refused:
        forms = {f"forms/{form.name}": form.read_text(encoding="utf-8")
                 for form in (bpmn.parent / "forms").glob("*.json")}
        eng.repository.deploy_files({bpmn.name: text, "roles.toml": ROLES, **forms}, actor="owner1")
    found = [p for p in refused.value.problems if p.code == bpmn.stem]
    assert found, [str(p) for p in refused.value.problems]
    problem = found[0]
    assert problem.file == bpmn.name
    element = problem.element.split(" ")[0]
    assert element in _ids(text)
    if "refused_here" in _ids(text):
        assert element == "refused_here"
    for lang in refusals.LANGUAGES:
        words = problem.text(lang)
        assert "{" not in words and "Traceback" not in words and "<Element" not in words


def test_manual_and_plain_tasks_are_inbox_tasks_of_their_lane_marked_done(running):
    deploy(running, files_of("manual_task"))
    number = running.runtime.start("manual_task", {"channel": "test"}, actor="cs1")
    [sign] = running.tasks.for_user("cs1")
    assert (sign.name, sign.role, sign.form) == ("sign", "cs_specialist", None)
    with pytest.raises(FormInvalid):  # nothing to fill in: "done" carries no data
        running.tasks.complete(sign.id, "cs1", {"anything": 1})
    running.tasks.complete(sign.id, "cs1", {})
    [post] = running.tasks.for_user("cs1")
    assert post.name == "post"
    running.tasks.complete(post.id, "cs1", {})
    assert running.cases.get(number).status == "archived"
    done = [e.payload["element"] for e in running.history.events(number) if e.kind == "task_completed"]
    assert done == ["sign", "post"]
    assert running.replay.run(number), "the history replays to the recorded state"


def test_a_receive_task_waits_for_its_message_and_goes_on_when_it_is_sent(running):
    deploy(running, files_of("receive_task"))
    number = running.runtime.start("receive_task", {"channel": "test"}, actor="cs1")
    assert running.cases.get(number).waiting_for == ("parcel_back",)
    running.runtime.message(number, "parcel_back", {"weight": 2}, actor="cs1")
    assert [t.name for t in running.tasks.for_user("cs1")] == ["inspect"]


def test_a_signal_thrown_in_the_case_ends_the_wait_for_it(running):
    deploy(running, files_of("signal"))
    number = running.runtime.start("signal", {"channel": "test"}, actor="cs1")
    [prepare] = running.tasks.for_user("cs1")
    running.tasks.complete(prepare.id, "cs1", {})
    [deliver] = running.tasks.for_user("cs1")
    assert deliver.name == "deliver"
    running.tasks.complete(deliver.id, "cs1", {})
    assert running.cases.get(number).status == "archived"


def test_a_multi_instance_manual_task_gives_one_inbox_task_per_instance(running):
    deploy(running, files_of("multi_instance"))
    number = running.runtime.start("multi_instance", {"channel": "test"}, actor="cs1")
    open_tasks = running.tasks.for_user("cs1")
    assert [t.name for t in open_tasks] == ["check", "check"]
    for task in open_tasks:
        running.tasks.complete(task.id, "cs1", {})
    assert running.cases.get(number).status == "archived"


def test_an_inclusive_gateway_runs_every_true_branch_then_joins(running):
    deploy(running, files_of("inclusive"))
    number = running.runtime.start("inclusive", {"channel": "test"}, actor="cs1")
    open_tasks = running.tasks.for_user("cs1")
    assert sorted(t.name for t in open_tasks) == ["do_a", "do_b"]
    for task in open_tasks:
        running.tasks.complete(task.id, "cs1", {})
    assert running.cases.get(number).status == "archived"


def _reminders(eng, number: str) -> int:  # noqa: ANN001
    return sum(1 for n in eng.cases.get(number).notifications if n.subject == "work_reminder")


def test_cycle_timer_fires_three_times_once_each(running, clock: ManualClock):
    deploy(running, files_of("cycle_three"))
    number = running.runtime.start("cycle_three", {"channel": "test"}, actor="cs1")
    started = clock.now()
    for hour in range(1, 6):
        clock.advance(timedelta(hours=1))
        running.timers.fire_due()
        assert _reminders(running, number) == min(hour, 3)
    deadlines = running.cases.get(number).deadlines
    assert [(d.status, d.due_at - started) for d in sorted(deadlines, key=lambda d: d.due_at)] == [
        ("fired", timedelta(hours=1)), ("fired", timedelta(hours=2)), ("fired", timedelta(hours=3))]
    assert running.timers.fire_due() == 0  # fired once each: nothing left, nothing failed
    assert [e.kind for e in running.history.events(number)].count("incident") == 0
    [work] = running.tasks.for_user("cs1")
    running.tasks.complete(work.id, "cs1", {})
    assert running.cases.get(number).status == "archived"
    assert running.replay.run(number), "the history replays to the recorded state"


def test_each_repetition_fires_once_across_restarts(database_url: str, tmp_path: Path, clock: ManualClock):
    """A new engine (a restarted scheduler) finds the next repetition in the timer table, and fires it once."""
    (tmp_path / "roles.toml").write_text(ROLES, encoding="utf-8")
    with engine.open(database_url, tmp_path, clock=clock) as first:
        deploy(first, files_of("cycle_three"))
        number = first.runtime.start("cycle_three", {"channel": "test"}, actor="cs1")
    for _repetition in range(3):
        clock.advance(timedelta(hours=1))
        with engine.open(database_url, tmp_path, clock=clock) as restarted:
            assert restarted.timers.fire_due() == 1
            assert restarted.timers.fire_due() == 0
    with engine.open(database_url, tmp_path, clock=clock) as last:
        clock.advance(timedelta(hours=5))
        assert last.timers.fire_due() == 0
        assert _reminders(last, number) == 3
        fired = [e for e in last.history.events(number) if e.kind == "timer_fired"]
        assert len(fired) == 3


def test_a_cycle_timer_without_a_count_repeats_until_its_activity_ends(running, clock: ManualClock):
    deploy(running, files_of("cycle_weekly"))
    number = running.runtime.start("cycle_weekly", {"channel": "test"}, actor="cs1")
    for _week in range(4):
        clock.advance(timedelta(weeks=1))
        running.timers.fire_due()
    assert _reminders(running, number) == 4
    [work] = running.tasks.for_user("cs1")
    running.tasks.complete(work.id, "cs1", {})
    case = running.cases.get(number)
    assert case.status == "archived" and not case.pending_deadlines
    assert sorted(d.status for d in case.deadlines) == ["cancelled"] + ["fired"] * 4


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"])
def test_a_zone_less_date_is_in_the_calendars_zone(running, clock: ManualClock, zone: str):
    calendar = f'[calendar]\ncountry = "CN"\ntimezone = "{zone}"\n'
    deploy(running, files_of("zoneless_date", calendar=calendar))
    number = running.runtime.start("zoneless_date", {"channel": "test"}, actor="cs1")
    [deadline] = running.cases.get(number).pending_deadlines
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    expected = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo(zone))
    assert deadline.due_at == expected.astimezone(UTC)
    clock.set(expected - timedelta(minutes=1))
    assert running.timers.fire_due() == 0
    clock.advance(timedelta(minutes=2))
    assert running.timers.fire_due() == 1
    assert running.cases.get(number).status == "archived"


def test_an_escalation_thrown_in_a_subprocess_is_caught_by_its_boundary_event(running):
    deploy(running, files_of("escalation"))
    number = running.runtime.start("escalation_boundary", {"channel": "test"}, actor="cs1")
    assert [t.name for t in running.tasks.for_user("cs1")] == ["handle_big"]
    running.tasks.complete(running.tasks.for_user("cs1")[0].id, "cs1", {})
    assert running.cases.get(number).status == "archived"


def test_a_non_interrupting_event_subprocess_starts_on_its_message_beside_the_main_flow(running):
    deploy(running, files_of("event_subprocess"))
    number = running.runtime.start("event_subprocess", {"channel": "test"}, actor="cs1")
    assert [t.name for t in running.tasks.for_user("cs1")] == ["work"]
    assert running.cases.get(number).waiting_for == ("note_added",)
    running.runtime.message(number, "note_added", {}, actor="cs1")
    assert sorted(t.name for t in running.tasks.for_user("cs1")) == ["read_note", "work"]
    for task in running.tasks.for_user("cs1"):
        running.tasks.complete(task.id, "cs1", {})
    assert running.cases.get(number).status == "archived"


def test_a_transaction_runs_as_a_subprocess(running):
    deploy(running, files_of("transaction"))
    number = running.runtime.start("transaction", {"channel": "test"}, actor="cs1")
    [book] = running.tasks.for_user("cs1")
    running.tasks.complete(book.id, "cs1", {})
    assert running.cases.get(number).status == "archived"


def test_a_call_activity_runs_the_called_process_in_the_case(running):
    deploy(running, files_of("call_activity"))
    number = running.runtime.start("call_activity", {"channel": "test"}, actor="cs1")
    [check] = running.tasks.for_user("cs1")
    assert check.name == "check"
    running.tasks.complete(check.id, "cs1", {})
    assert running.cases.get(number).status == "archived"


RUNS = sorted((BPMN / "runs").glob("*.bpmn"))


@pytest.mark.parametrize("bpmn", RUNS, ids=[f.stem for f in RUNS])
def test_every_diagram_that_runs_is_driven_to_its_end_without_waiting_for_nothing(bpmn: Path, running,
                                                                                 clock: ManualClock):
    """The generic driver of the conformance tests (people complete, timers fire, messages come) ends each case."""
    from tests.test_conformance import drive  # noqa: PLC0415 - shared with the conformance tests

    deploy(running, files_of(bpmn.stem))
    for process_id in running.repository.versions()[-1].processes:
        number = running.runtime.start(process_id, {"channel": "test"}, actor="cs1")
        assert drive(running, clock, number) == "archived"
