"""Rules across the flows (backups, involved staff, archive) and every way a caller can be refused."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

import engine
from engine.errors import (
    CaseArchived,
    FormInvalid,
    NotAllowed,
    NotFound,
    StaleCase,
    TaskAlreadyCompleted,
    TaskNotOpen,
)
from tests.driver import (
    FORM_DATA,
    advance,
    complete,
    past_next_deadline,
    registration,
    start_to_verified,
    task,
    to_callback,
)


def test_a_task_of_an_absent_primary_goes_to_the_backup(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    assert first.assignee == "cs1"
    assert eng.people.set_absent("cs1", True) == 1
    assert [t.id for t in eng.tasks.for_user("cs2")] == [first.id]
    assert eng.tasks.for_user("cs1") == []
    complete(eng, number, "first_response", user="cs2")
    assert task(eng, number, "verify").assignee == "cs2"  # new tasks skip the absent primary too
    eng.people.set_absent("cs1", False)
    other = eng.runtime.start("complaint", registration(), "cs1")
    assert task(eng, other, "first_response").assignee == "cs1"
    assert any(e.kind == "task_reassigned" for e in eng.history.events(number))


def test_the_person_complained_about_never_sees_the_case(eng):
    number = eng.runtime.start("complaint", registration(involved_staff=["cs1"]), "cs2")
    first = task(eng, number, "first_response")
    assert first.assignee == "cs2"
    assert eng.tasks.for_user("cs1") == []
    with pytest.raises(NotAllowed):
        eng.cases.get(number, viewer="cs1")
    with pytest.raises(NotAllowed):
        eng.tasks.claim(first.id, "cs1")
    with pytest.raises(NotAllowed):
        eng.tasks.complete(first.id, "cs1", FORM_DATA["first_response"])
    complete(eng, number, "first_response")
    assert task(eng, number, "verify").assignee == "cs2"
    assert "cs1" not in [r for n in eng.cases.get(number).notifications for r in n.recipients]


def test_an_involved_supervisor_is_skipped_in_escalation_too(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service", involved_staff=["sup1"]), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", satisfaction=1, satisfaction_label="unsatisfied")
    assert task(eng, number, "tier1_new_plan").assignee == "sup2"


def test_an_archived_case_refuses_changes(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    last = complete(eng, number, "callback")
    assert eng.cases.get(number).status == "archived"
    version = eng.cases.get(number).version
    with pytest.raises(CaseArchived):
        eng.tasks.complete(last.id, last.assignee, FORM_DATA["callback"])
    with pytest.raises(CaseArchived):
        eng.runtime.message(number, "customer_reply", {"text": "again"}, "customer")
    with pytest.raises(CaseArchived):
        eng.tasks.claim(last.id, "cs2")
    assert eng.cases.get(number).version == version


def test_completing_a_task_twice_says_by_whom_and_when(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = complete(eng, number, "first_response")
    version = eng.cases.get(number).version
    with pytest.raises(TaskAlreadyCompleted) as caught:
        eng.tasks.complete(first.id, "cs1", FORM_DATA["first_response"])
    assert caught.value.by == "cs1" and caught.value.at == eng.clock.now()
    assert eng.cases.get(number).version == version


def test_completing_a_task_an_escalation_cancelled_is_refused(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, safety_hazard=True)
    emergency = task(eng, number, "start_emergency_handling")
    advance(eng, clock, hours=3)
    with pytest.raises(TaskNotOpen):
        eng.tasks.complete(emergency.id, "ql1", FORM_DATA["start_emergency_handling"])


def test_a_form_submitted_after_its_deadline_does_not_beat_the_escalation(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, safety_hazard=True)
    emergency = task(eng, number, "start_emergency_handling")
    past_next_deadline(eng, clock, timedelta(minutes=5))  # the scheduler has not run yet
    with pytest.raises(TaskNotOpen):
        eng.tasks.complete(emergency.id, "ql1", FORM_DATA["start_emergency_handling"])
    assert eng.cases.get(number).escalation_tier == 2


def test_someone_elses_task_is_refused(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    with pytest.raises(NotAllowed):
        eng.tasks.complete(first.id, "cs2", FORM_DATA["first_response"])
    with pytest.raises(NotAllowed):
        eng.tasks.claim(first.id, "sup1")  # not a CS specialist
    eng.tasks.claim(first.id, "cs2")
    assert task(eng, number, "first_response").assignee == "cs2"


def test_invalid_form_data_gets_a_message_per_field_and_changes_nothing(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    verify = task(eng, number, "verify")
    version = eng.cases.get(number).version
    bad = dict(FORM_DATA["verify"], verification_outcome="maybe", safety_hazard="yes")
    del bad["customer_upset"]
    with pytest.raises(FormInvalid) as caught:
        eng.tasks.complete(verify.id, "cs1", bad)
    assert {"verification_outcome", "safety_hazard"} <= set(caught.value.errors)
    assert eng.cases.get(number).version == version
    assert task(eng, number, "verify").id == verify.id


def test_an_unknown_task_is_not_found(eng):
    with pytest.raises(NotFound):
        eng.tasks.complete("00000000-0000-0000-0000-000000000000", "cs1", {})


def test_a_stale_case_version_is_refused(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    seen = eng.cases.get(number).version
    complete(eng, number, "first_response")
    verify = task(eng, number, "verify")
    with pytest.raises(StaleCase):
        eng.tasks.complete(verify.id, "cs1", FORM_DATA["verify"], expected_version=seen)


def test_invalid_registration_data_is_refused_field_by_field(eng):
    with pytest.raises(FormInvalid) as caught:
        eng.runtime.start("complaint", registration(channel="fax", description=""), "cs1")
    assert {"channel", "description"} <= set(caught.value.errors)


def test_two_completions_racing_from_two_threads_exactly_one_wins(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def submit() -> None:
        barrier.wait()
        try:
            eng.tasks.complete(first.id, "cs1", FORM_DATA["first_response"])
            outcomes.append("won")
        except TaskAlreadyCompleted as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(map(str, [o if o == "won" else "lost" for o in outcomes])) == ["lost", "won"]
    completions = [e for e in eng.history.events(number) if e.kind == "task_completed"]
    assert len(completions) == 1
    assert [t.name for t in eng.tasks.for_case(number)] == ["verify"]


def test_timers_that_fell_due_while_nothing_ran_fire_at_the_next_start_exactly_once(
    database_url, workflows_dir, clock
):
    with engine.open(database_url, workflows_dir, clock=clock) as first:
        first.repository.deploy()
        first.people.seed_demo()
        number = first.runtime.start("complaint", registration(channel="phone"), "cs1")
    clock.advance(timedelta(hours=1))  # the 10-minute first-response deadline passes while nothing runs
    with engine.open(database_url, workflows_dir, clock=clock) as second:
        stop = threading.Event()
        runner = threading.Thread(target=second.timers.run_scheduler, kwargs={"stop": stop, "poll_seconds": 0.2})
        runner.start()
        try:
            for _ in range(100):
                if second.cases.get(number).notifications:
                    break
                threading.Event().wait(0.1)
        finally:
            stop.set()
            runner.join(10)
        assert not runner.is_alive()
        assert [n.subject for n in second.cases.get(number).notifications] == ["first_response_overdue"]
    with engine.open(database_url, workflows_dir, clock=clock) as third:
        assert third.timers.fire_due() == 0
        fired = [e for e in third.history.events(number) if e.kind == "timer_fired"]
        assert len(fired) == 1


def test_two_engine_processes_on_one_database_never_act_on_a_stale_workflow(eng, database_url, workflows_dir, clock):
    """The web app and the scheduler each keep recently used workflows in memory; the case
    version decides whether that copy may be used, so neither overwrites the other's step."""
    number = eng.runtime.start("complaint", registration(complaint_type="product_quality"), "cs1")
    complete(eng, number, "first_response")  # ``eng`` now holds this case's workflow in memory
    with engine.open(database_url, workflows_dir, clock=clock) as other:
        complete(other, number, "verify", core_function_failure=True)
        assert other.cases.get(number).grade == "serious"
    complete(eng, number, "start_handling")  # must build on the other process's step
    case = eng.cases.get(number)
    assert case.grade == "serious"
    assert [t.name for t in case.open_tasks] == ["determine_responsibility"]
    completed = [e.payload["element"] for e in eng.history.events(number) if e.kind == "task_completed"]
    assert completed == ["first_response", "verify", "start_handling"]
    assert eng.history.verify().ok


def test_a_task_nobody_of_its_role_could_be_given_goes_to_the_fallback_and_its_role_may_still_claim_it(eng):
    eng.people.set_absent("cs1", True)
    eng.people.set_absent("cs2", True)
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    assert first.assignee == "sup1"  # cs_specialist's fallback in roles.toml
    assert first.id in [t.id for t in eng.tasks.for_user("sup1")]
    eng.tasks.claim(first.id, "cs2")
    eng.tasks.complete(first.id, "cs2", FORM_DATA["first_response"])
    assert task(eng, number, "verify").name == "verify"


def test_a_task_whose_role_has_only_the_person_complained_about_goes_to_the_fallback_hidden_from_them(eng):
    eng.people.set_absent("cs2", True)
    number = eng.runtime.start("complaint", registration(involved_staff=["cs1"]), "sup1")
    assert task(eng, number, "first_response").assignee == "sup1"
    assert eng.tasks.for_user("cs1") == []


def test_a_claimed_task_can_be_given_back_to_the_group(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    eng.tasks.claim(first.id, "cs2")
    assert [t.id for t in eng.tasks.for_group("cs1")] == [first.id]
    eng.tasks.unclaim(first.id, "cs2")
    assert task(eng, number, "first_response").assignee == "cs1"
    with pytest.raises(NotAllowed):
        eng.tasks.unclaim(first.id, "cs2")  # no longer theirs
    assert [e.kind for e in eng.history.events(number)][-2:] == ["task_claimed", "task_unclaimed"]


def test_the_customer_answers_the_survey_step_but_no_other(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    with pytest.raises(NotAllowed):
        eng.tasks.complete_for_customer(number, "first_response", FORM_DATA["first_response"])
    to_callback(eng, number)
    eng.tasks.complete_for_customer(number, "callback", {"reached": True, "satisfaction": 5, "comments": "好"})
    assert eng.cases.get(number).status == "archived"
    answered = [e for e in eng.history.events(number) if e.kind == "task_completed"][-1]
    assert answered.actor == "customer" and answered.payload["element"] == "callback"


def test_the_inbox_query_filters_sorts_and_pages_in_the_database(eng, clock):
    from engine.tasks import InboxQuery

    numbers = [eng.runtime.start("complaint", registration(channel=channel), "cs1")
               for channel in ("phone", "store", "phone")]
    hidden = eng.runtime.start("complaint", registration(involved_staff=["cs2"]), "cs1")
    page = eng.tasks.inbox("cs2", InboxQuery(limit=2))
    assert page.total == 3 and page.matching == 3  # cs1's tasks are cs2's group's; never the involved case
    assert [t.case_number for t in page.tasks] == [numbers[0], numbers[2]]  # phone: due in 10 min, first
    assert hidden not in [t.case_number for t in eng.tasks.inbox("cs2", InboxQuery(limit=10)).tasks]
    assert eng.tasks.inbox("cs2", InboxQuery(channel="store")).matching == 1
    assert eng.tasks.inbox("cs2", InboxQuery(scope="mine")).matching == 0
    clock.advance(timedelta(minutes=30))
    overdue = eng.tasks.inbox("cs1", InboxQuery(overdue_at=clock.now()))
    assert sorted(t.case_number for t in overdue.tasks) == sorted([numbers[0], numbers[2], hidden])
    steps = [s[0] for s in page.steps]  # the steps of cs2's roles in the deployed diagrams: no scan of the queue
    assert "first_response" in steps and "verify" in steps and "root_cause_analysis" not in steps
