"""Replay: every flow path of the engine's tests, re-run from its history, reaches the recorded state;
a changed recorded input shows the divergence at the step where it arises."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import engine
from engine import cli as engine_cli
from engine.clock import ManualClock
from engine.store.models import Event
from tests.conftest import SHANGHAI
from tests.driver import (
    advance,
    complete,
    fire_next,
    plan_through_review,
    registration,
    set_deadline,
    short_of_next_deadline,
    start_to_verified,
    task,
    through_chain,
    to_callback,
    to_plan,
    to_responsibility,
)

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
BEFORE_SPRING_FESTIVAL = datetime(2026, 2, 13, 9, 0, tzinfo=SHANGHAI)
UNREACHED = {"reached": False, "satisfaction": None, "satisfaction_label": None}


# ---------------------------------------------------------------- the flow paths, as the flow tests drive them

def happy_path_to_archive(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback")
    assert eng.cases.get(number).status == "archived"
    return number


def urgent_escalates_to_tier_2(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, safety_hazard=True)
    assert fire_next(eng, clock) == 1
    complete(eng, number, "start_emergency_handling")  # escalation adds oversight, the steps stay
    complete(eng, number, "determine_responsibility")
    complete(eng, number, "root_cause_analysis")
    through_chain(eng, number)  # the management chain (management_chain.dmn) before the plan
    plan_through_review(eng, number, "tier2_new_plan")
    return number


def urgent_started_in_time(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, safety_hazard=True)
    short_of_next_deadline(eng, clock)
    complete(eng, number, "start_emergency_handling")
    advance(eng, clock, hours=2)
    return number


def phone_first_response_overdue(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    assert fire_next(eng, clock) == 1
    complete(eng, number, "first_response")
    return number


def general_start_deadline_across_spring_festival(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    clock.advance(datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI) - clock.now())
    start_to_verified(eng, number)
    assert fire_next(eng, clock) == 1
    complete(eng, number, "start_handling_general")
    return number


def serious_start_deadline_on_the_make_up_saturday(eng, clock, workflows_dir):
    clock.advance(datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI) - clock.now())
    number = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    start_to_verified(eng, number, core_function_failure=True)
    assert fire_next(eng, clock) == 1
    return number


def responsibility_24_hours(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number)
    fire_next(eng, clock)
    complete(eng, number, "determine_responsibility", responsibility="customer_misunderstanding")
    return number


def responsibility_48_hours_when_unreachable(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number, unreachable=True)
    advance(eng, clock, hours=1)
    fire_next(eng, clock)
    return number


def compensation_300_by_the_supervisor(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number, plan_type="compensation", compensation_amount=300)
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    return number


def compensation_600_also_by_the_manager(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    complete(eng, number, "propose_plan", plan_type="compensation", compensation_amount=600)
    complete(eng, number, "approve_compensation")
    complete(eng, number, "approve_compensation_manager")
    assert [t.name for t in eng.tasks.for_case(number)] == ["management_review"]
    return number


def rejected_compensation_and_disagreeing_management(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    complete(eng, number, "propose_plan", plan_type="compensation", compensation_amount=300)
    complete(eng, number, "approve_compensation", approved=False)
    complete(eng, number, "propose_plan")
    fire_next(eng, clock)
    complete(eng, number, "management_review", agrees=False)
    complete(eng, number, "coordinate_plan")
    return number


def plan_silence_then_follow_up(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number, plan_type="repair")
    fire_next(eng, clock)
    complete(eng, number, "follow_up_confirmation", customer_accepted=True)
    return number


def customer_rejects_the_plan(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number)
    eng.runtime.message(number, "plan_confirmation", {"accepted": False}, "customer")
    return number


def not_a_defect_closes_through_a_callback(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(complaint_type="product_quality"), "cs1")
    start_to_verified(eng, number, verification_outcome="not_a_defect")
    complete(eng, number, "explain_to_customer")
    complete(eng, number, "callback")
    assert eng.cases.get(number).outcome == "not_a_defect"
    return number


def need_more_info_then_the_reply(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, verification_outcome="need_more_info")
    advance(eng, clock, days=1)
    eng.runtime.message(number, "customer_reply", {"text": "补充照片已上传"}, "customer")
    complete(eng, number, "verify")
    return number


def need_more_info_then_3_working_days_of_silence(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    start_to_verified(eng, number, verification_outcome="need_more_info")
    assert fire_next(eng, clock) == 1
    complete(eng, number, "callback")
    assert eng.cases.get(number).outcome == "unresolved"
    return number


def callback_retries(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", **UNREACHED)
    assert fire_next(eng, clock) == 1
    complete(eng, number, "callback", **UNREACHED)
    fire_next(eng, clock)
    complete(eng, number, "callback", **UNREACHED)
    assert eng.cases.get(number).status == "archived"
    return number


def two_callbacks_for_product_quality(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(complaint_type="product_quality"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback")
    assert fire_next(eng, clock) == 1
    complete(eng, number, "callback")
    assert eng.cases.get(number).status == "archived"
    return number


def unsatisfied_walks_tiers_1_2_3(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", satisfaction=2, satisfaction_label="unsatisfied")
    assert fire_next(eng, clock) == 1
    assert fire_next(eng, clock) == 1
    assert eng.cases.get(number).escalation_tier == 3
    assert fire_next(eng, clock) == 1  # tier 3's deadline only reminds
    return number


def tier_3_final_decision(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    for tier in (1, 2, 3):
        complete(eng, number, "callback", satisfaction=1, satisfaction_label="unsatisfied")
        plan_through_review(eng, number, f"tier{tier}_new_plan")
        eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
        complete(eng, number, "pay_refund")
        complete(eng, number, "notify_result")
    complete(eng, number, "callback", satisfaction=1, satisfaction_label="unsatisfied")
    assert eng.cases.get(number).outcome == "final_decision"
    return number


def rejected_tier_plans_up_to_the_final_decision(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", satisfaction=None, satisfaction_label="neutral")
    for tier in (1, 2, 3):
        plan_through_review(eng, number, f"tier{tier}_new_plan", plan_type="compensation", compensation_amount=0)
        eng.runtime.message(number, "plan_confirmation", {"accepted": False}, "customer")
    assert eng.cases.get(number).outcome == "final_decision"
    return number


def claims_reassignments_and_the_customer_answering(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    first = task(eng, number, "first_response")
    eng.tasks.claim(first.id, "cs2")
    eng.tasks.unclaim(first.id, "cs2")
    eng.people.set_absent("cs1", True)
    complete(eng, number, "first_response", user="cs2")
    eng.people.set_absent("cs1", False)
    complete(eng, number, "check_validity")  # a service complaint: a validity check, then its department
    complete(eng, number, "start_handling_general")
    complete(eng, number, "determine_responsibility")
    complete(eng, number, "department_action_service")
    through_chain(eng, number)  # the management chain (management_chain.dmn) before the plan
    plan_through_review(eng, number)
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    complete(eng, number, "ship_exchange")
    complete(eng, number, "notify_result")
    eng.tasks.complete_for_customer(number, "callback", {"reached": True, "satisfaction": 5, "comments": "好"})
    return number


def migrated_to_a_new_version(eng, clock, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    set_deadline(workflows_dir, "management_review", '"PT7H"')
    assert eng.repository.deploy(workflows_dir, actor="owner1")[0].version == 2
    eng.migration.migrate(number, "owner1")
    complete(eng, number, "verify")
    complete(eng, number, "start_handling_general")
    complete(eng, number, "determine_responsibility")
    complete(eng, number, "root_cause_analysis")
    through_chain(eng, number)  # the management chain (management_chain.dmn) before the plan
    complete(eng, number, "propose_plan")
    assert advance(eng, clock, hours=6, minutes=59) == 0  # version 2 waits seven hours
    assert advance(eng, clock, minutes=2) == 1
    return number


def standing_reminders(eng, clock, workflows_dir):
    [number] = eng.runtime.start_standing()
    clock.set(datetime(2026, 4, 4, 9, 1, tzinfo=SHANGHAI))
    assert eng.timers.fire_due() == 8
    return number


PATHS = [
    happy_path_to_archive, urgent_escalates_to_tier_2, urgent_started_in_time, phone_first_response_overdue,
    general_start_deadline_across_spring_festival, serious_start_deadline_on_the_make_up_saturday,
    responsibility_24_hours, responsibility_48_hours_when_unreachable, compensation_300_by_the_supervisor,
    compensation_600_also_by_the_manager, rejected_compensation_and_disagreeing_management,
    plan_silence_then_follow_up, customer_rejects_the_plan, not_a_defect_closes_through_a_callback,
    need_more_info_then_the_reply, need_more_info_then_3_working_days_of_silence, callback_retries,
    two_callbacks_for_product_quality, unsatisfied_walks_tiers_1_2_3, tier_3_final_decision,
    rejected_tier_plans_up_to_the_final_decision,
    claims_reassignments_and_the_customer_answering, migrated_to_a_new_version, standing_reminders,
]
STARTS = {
    general_start_deadline_across_spring_festival: BEFORE_SPRING_FESTIVAL,
    serious_start_deadline_on_the_make_up_saturday: BEFORE_SPRING_FESTIVAL,
}


def open_engine(database_url: str, workflows_dir: Path, start: datetime = MONDAY) -> tuple[engine.Engine, ManualClock]:
    clock = ManualClock(start)
    eng = engine.open(database_url, workflows_dir, clock=clock)
    eng.repository.deploy(actor="owner1", note="test set-up")
    eng.people.seed_demo()
    return eng, clock


@pytest.fixture
def run_path(database_url, workflows_dir):
    """Drive one flow path on a fresh engine; yields (engine, case number)."""
    opened = []

    def run(path):
        eng, clock = open_engine(database_url, workflows_dir, STARTS.get(path, MONDAY))
        opened.append(eng)
        return eng, path(eng, clock, workflows_dir)

    yield run
    for eng in opened:
        eng.close()


def state_of(eng, number):
    case = eng.cases.get(number)
    return case.version, len(eng.history.events(number)), eng.history.verify().checked


@pytest.mark.parametrize("path", PATHS, ids=[p.__name__ for p in PATHS])
def test_replay_of_every_flow_path_reaches_the_recorded_state(run_path, path):
    eng, number = run_path(path)
    before = state_of(eng, number)
    events = eng.history.events(number)
    report = eng.replay.run(number)
    assert report.ok, report.first_difference
    assert report.first_difference is None
    assert [s.seq for s in report.steps] == [e.seq for e in events] + [None]
    assert all(s.ok for s in report.steps)
    inputs = [s for s in report.steps if s.workflow_input and s.seq is not None]
    assert [s.kind for s in inputs][0] == "case_started"
    for step in inputs:
        assert step.expected["open_tasks"] == step.replayed["open_tasks"]
        assert step.expected["notified"] == step.replayed["notified"]
    final = report.steps[-1]
    assert final.kind == "final_state" and final.expected["data"] == final.replayed["data"]
    assert state_of(eng, number) == before  # the replay wrote nothing


def test_the_replay_switches_version_at_the_migration(run_path):
    eng, number = run_path(migrated_to_a_new_version)
    report = eng.replay.run(number)
    versions = {s.kind: s.replayed["version"] for s in report.steps if s.kind in ("case_started", "migrated")}
    assert versions == {"case_started": 1, "migrated": 2}
    assert report.steps[-1].replayed["version"] == 2
    fired = [s for s in report.steps if s.kind == "timer_fired"]
    assert [s.replayed["notified"] for s in fired] == [[{"role": "general_manager",
                                                         "subject": "management_review_overdue"}]]


def test_events_that_do_not_drive_the_workflow_are_listed_as_such(run_path):
    eng, number = run_path(claims_reassignments_and_the_customer_answering)
    report = eng.replay.run(number)
    others = [(s.kind, s.workflow_input) for s in report.steps if not s.workflow_input]
    # The root-cause analysis on this path adds a knowledge-base entry: recorded, never a workflow input.
    assert {kind for kind, _ in others} == {"task_claimed", "task_unclaimed", "task_reassigned", "knowledge_added"}
    assert report.ok


# ---------------------------------------------------------------- divergence: a changed recorded input

def changed(event, **payload):
    return dataclasses.replace(event, payload={**event.payload, **payload})


def completion(events, element, nth=0):
    found = [e for e in events if e.kind == "task_completed" and e.payload["element"] == element]
    return found[nth]


def test_a_verify_step_recorded_with_a_safety_hazard_diverges_at_that_step(run_path):
    eng, number = run_path(responsibility_24_hours)
    events = eng.history.events(number)
    verify = completion(events, "verify")
    modified = [changed(e, data={**e.payload["data"], "safety_hazard": True}) if e is verify else e for e in events]
    report = eng.replay.run(number, modified)
    assert not report.ok
    where = report.first_difference
    assert (where.seq, where.kind, where.element_or_name) == (verify.seq, "task_completed", "verify")
    assert where.expected["open_tasks"] == ["start_handling_general"]
    assert where.replayed["open_tasks"] == ["start_emergency_handling"]
    assert {"role": "quality_lead", "subject": "urgent_case"} in where.replayed["notified"]
    assert "open tasks" in where.difference and "start_emergency_handling" in where.difference
    assert "notifications" in where.difference
    assert report.steps[-1] is where  # the replay stops at the first difference
    assert all(s.ok for s in report.steps[:-1])


def test_a_callback_score_of_2_instead_of_5_diverges_at_the_callback(run_path):
    eng, number = run_path(happy_path_to_archive)
    events = eng.history.events(number)
    callback = completion(events, "callback")
    data = {**callback.payload["data"], "satisfaction": 2, "satisfaction_label": "unsatisfied"}
    report = eng.replay.run(number, [changed(e, data=data) if e is callback else e for e in events])
    where = report.first_difference
    assert where.seq == callback.seq
    assert (where.expected["status"], where.replayed["status"]) == ("archived", "open")
    assert where.replayed["open_tasks"] == ["tier1_new_plan"]
    assert "status: recorded \"archived\", replay \"open\"" in where.difference


def test_a_customer_rejecting_instead_of_accepting_diverges_at_the_message(run_path):
    eng, number = run_path(compensation_300_by_the_supervisor)
    events = eng.history.events(number)
    message = next(e for e in events if e.kind == "message_received")
    report = eng.replay.run(number, [changed(e, payload={"accepted": False}) if e is message else e for e in events])
    where = report.first_difference
    assert (where.seq, where.element_or_name) == (message.seq, "plan_confirmation")
    assert where.replayed["open_tasks"] == ["propose_plan"]


def test_a_store_registration_recorded_as_phone_diverges_at_the_first_timer(run_path):
    eng, number = run_path(phone_first_response_overdue)
    events = eng.history.events(number)
    start = events[0]
    data = {**start.payload["data"], "channel": "store"}  # a one-hour first response, not ten minutes
    report = eng.replay.run(number, [changed(start, data=data)] + events[1:])
    where = report.first_difference
    fired = next(e for e in events if e.kind == "timer_fired")
    assert where.seq == fired.seq
    assert (where.expected["timers"], where.replayed["timers"]) == (["first_response_deadline"], [])
    assert "timers" in where.difference


def test_dropping_a_timer_firing_shows_at_the_next_timer_step(run_path):
    eng, number = run_path(unsatisfied_walks_tiers_1_2_3)
    events = eng.history.events(number)
    fired = [e for e in events if e.kind == "timer_fired"]
    report = eng.replay.run(number, [e for e in events if e is not fired[0]])
    where = report.first_difference
    assert where.seq == fired[1].seq
    assert where.expected["timers"] != where.replayed["timers"]
    assert where.expected["open_tasks"] == ["tier3_new_plan"]
    assert where.replayed["open_tasks"] == ["tier2_new_plan"]


def test_dropping_a_timer_firing_shows_at_the_next_form(run_path):
    eng, number = run_path(phone_first_response_overdue)
    events = eng.history.events(number)
    fired = next(e for e in events if e.kind == "timer_fired")
    report = eng.replay.run(number, [e for e in events if e is not fired])
    where = report.first_difference
    following = events[events.index(fired) + 1]
    assert (where.seq, where.kind, where.element_or_name) == (following.seq, "task_completed", "first_response")
    assert where.replayed["unfired_timers"] == ["first_response_deadline"]
    assert "history records no firing" in where.difference


def test_a_completion_of_a_step_that_is_not_open_is_shown(run_path):
    eng, number = run_path(happy_path_to_archive)
    events = eng.history.events(number)
    verify = completion(events, "check_validity")  # the happy path's complaint is a service complaint
    report = eng.replay.run(number, [e for e in events if e is not verify])
    where = report.first_difference
    assert where.seq == events[events.index(verify) + 1].seq
    assert "is not open in the replay" in where.difference and where.replayed["open_tasks"] == ["check_validity"]


def test_data_no_step_looks_at_still_differs_in_the_end(run_path):
    eng, number = run_path(happy_path_to_archive)
    events = eng.history.events(number)
    ship = completion(events, "ship_exchange")
    data = {**ship.payload["data"], "tracking_number": "SF0000000000"}
    report = eng.replay.run(number, [changed(e, data=data) if e is ship else e for e in events])
    where = report.first_difference
    assert where.seq is None and where.kind == "final_state"
    assert "tracking_number" in where.difference and "SF0000000000" in where.difference


# ---------------------------------------------------------------- the command line

def test_the_replay_command_prints_each_step_and_exits_0_then_1_after_tampering(tmp_path, workflows_dir,
                                                                                 monkeypatch, capsys):
    database_url = f"sqlite:///{tmp_path / 'replay-cli.sqlite'}"
    eng, clock = open_engine(database_url, workflows_dir)
    with eng:
        number = responsibility_24_hours(eng, clock, workflows_dir)
        verify = completion(eng.history.events(number), "verify")
    monkeypatch.setenv("COMPLAINTFLOW_DATABASE_URL", database_url)
    monkeypatch.setenv("COMPLAINTFLOW_WORKFLOWS", str(workflows_dir))
    assert engine_cli.main(["replay", number]) == 0
    out = capsys.readouterr().out
    assert "case_started" in out and "verify" in out and "timer_fired" in out
    assert f"Replay of {number}: " in out and "reach the recorded state" in out

    tampered = {**verify.payload, "data": {**verify.payload["data"], "safety_hazard": True}}
    db = sa.create_engine(database_url)
    with db.begin() as conn:
        conn.execute(sa.update(Event).where(Event.seq == verify.seq).values(payload=json.dumps(tampered)))
    db.dispose()
    assert engine_cli.main(["replay", number]) == 1
    out = capsys.readouterr().out
    assert f"differs at event {verify.seq} (task_completed)" in out
    assert "DIFFERS: open tasks" in out
    assert engine_cli.main(["replay", "20000101-NONE-001"]) == 2


class TickingClock(ManualClock):
    """Time moves on a little at every reading, as the real clock does while a step runs: an event's
    recorded time is then a little after the moment its step ran."""

    def now(self) -> datetime:
        return self.advance(timedelta(milliseconds=3))


@pytest.mark.parametrize("path", [urgent_escalates_to_tier_2, unsatisfied_walks_tiers_1_2_3, callback_retries,
                                  need_more_info_then_the_reply, migrated_to_a_new_version],
                         ids=lambda p: p.__name__)
def test_replay_matches_when_events_were_recorded_a_little_after_their_steps_ran(database_url, workflows_dir, path):
    clock = TickingClock(MONDAY)
    with engine.open(database_url, workflows_dir, clock=clock) as eng:
        eng.repository.deploy(actor="owner1", note="test set-up")
        eng.people.seed_demo()
        number = path(eng, clock, workflows_dir)
        events = eng.history.events(number)
        started = events[0]
        assert started.at > MONDAY  # recorded a little after the step ran
        report = eng.replay.run(number)
        assert report.ok, report.first_difference


def test_a_completion_that_waited_for_the_case_across_its_deadline_applies_after_it_and_replays(
        eng, clock, database_url, tmp_path):
    import sqlite3
    import threading
    import time

    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    deadline = min(d.due_at for d in eng.cases.get(number).pending_deadlines if d.guards == "first_response")
    failures: list[BaseException] = []

    def submit() -> None:
        try:
            complete(eng, number, "first_response")
        except BaseException as exc:  # noqa: BLE001 - shown by the assertion below
            failures.append(exc)

    if database_url.startswith("sqlite"):  # another writer holds the database, as a slow step would
        holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = sa.create_engine(database_url).connect()
        holder.execute(sa.text('SELECT id FROM "case" WHERE number = :n FOR UPDATE'), {"n": number})
    worker = threading.Thread(target=submit)
    worker.start()
    time.sleep(1.0)
    assert worker.is_alive()  # the submission waits for the case
    clock.advance(deadline - clock.now() + timedelta(minutes=1))  # ... while its deadline passes
    holder.rollback()
    holder.close()
    worker.join(30)
    assert not worker.is_alive() and not failures, failures
    events = eng.history.events(number)
    kinds = [e.kind for e in events]
    assert kinds.index("timer_fired") < kinds.index("task_completed")
    assert next(e for e in events if e.kind == "task_completed").at > deadline
    report = eng.replay.run(number)
    assert report.ok, report.first_difference
