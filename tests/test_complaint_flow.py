"""The complaint flow of SPEC.md, path by path, driven through the engine API with a manual clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import engine
from engine.clock import ManualClock
from tests.driver import (
    advance,
    complete,
    open_tasks,
    plan_through_review,
    registration,
    start_to_verified,
    subjects,
    task,
    to_callback,
    to_plan,
    to_responsibility,
)

pytestmark = pytest.mark.spec  # the seeds' durations and routes, as shipped

SHANGHAI = ZoneInfo("Asia/Shanghai")


def names(eng, number):
    return sorted(t.name for t in open_tasks(eng, number))


def test_registration_assigns_a_number_and_masks_the_customer(eng):
    number = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    assert number == "20260302-STORE-001"
    second = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    assert second == "20260302-STORE-002"
    case = eng.cases.get(number)
    assert case.summary["customer_name"] == "张*"
    assert case.summary["contact_last4"] == "5678"
    assert "contact" not in case.summary
    assert "138" not in str(eng.history.events(number))
    assert names(eng, number) == ["first_response"]


def test_phone_first_response_is_due_in_10_minutes_and_its_breach_notifies_the_supervisor(eng, clock):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    assert task(eng, number, "first_response").due_at == datetime(2026, 3, 2, 9, 10, tzinfo=SHANGHAI)
    assert advance(eng, clock, minutes=11) == 1
    assert ("cs_supervisor", "first_response_overdue") in subjects(eng, number)
    assert names(eng, number) == ["first_response"]  # still to be done, now overdue


def test_store_first_response_is_due_in_one_hour(eng):
    number = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    assert task(eng, number, "first_response").due_at == datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


def test_verify_is_due_in_one_working_day(eng, clock):
    number = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    complete(eng, number, "first_response")
    assert task(eng, number, "verify").due_at == datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)
    advance(eng, clock, days=1, minutes=1)
    assert ("cs_supervisor", "verify_overdue") in subjects(eng, number)


def test_urgent_complaint_notifies_supervisor_and_quality_lead_at_once(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, safety_hazard=True)
    case = eng.cases.get(number)
    assert case.grade == "urgent"
    assert {("cs_supervisor", "urgent_case"), ("quality_lead", "urgent_case")} <= set(subjects(eng, number))
    assert task(eng, number, "start_emergency_handling").assignee == "ql1"


def test_urgent_complaint_escalates_to_tier_2_after_two_hours(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, safety_hazard=True)
    assert advance(eng, clock, hours=1, minutes=59) == 0
    assert eng.cases.get(number).escalation_tier == 0
    assert advance(eng, clock, minutes=2) == 1
    case = eng.cases.get(number)
    assert case.escalation_tier == 2
    assert ("cs_manager", "urgent_not_started") in subjects(eng, number)
    # Escalation adds oversight: the emergency handling is still to be started, by the quality lead.
    assert names(eng, number) == ["start_emergency_handling"]
    assert task(eng, number, "start_emergency_handling").assignee == "ql1"
    assert "fired" in [d.status for d in case.deadlines if d.guards == "start_emergency_handling"]


def test_an_urgent_case_escalated_at_two_hours_still_gets_root_cause_analysis(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, safety_hazard=True)
    advance(eng, clock, hours=2, minutes=1)
    assert eng.cases.get(number).escalation_tier == 2
    complete(eng, number, "start_emergency_handling")
    complete(eng, number, "determine_responsibility", responsibility="company")
    assert task(eng, number, "root_cause_analysis").assignee == "eng1"
    complete(eng, number, "root_cause_analysis")
    # The plan now comes from tier 2 (the CS manager) and still goes through approval and management review.
    assert task(eng, number, "tier2_new_plan").assignee == "mgr1"
    complete(eng, number, "tier2_new_plan", plan_type="compensation", compensation_amount=800)
    complete(eng, number, "approve_compensation")
    complete(eng, number, "approve_compensation_manager")
    assert names(eng, number) == ["management_review"]
    complete(eng, number, "management_review")
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    complete(eng, number, "deliver_plan")
    complete(eng, number, "notify_result")
    done = {e.payload.get("element") for e in eng.history.events(number) if e.kind == "task_completed"}
    assert {"start_emergency_handling", "determine_responsibility", "root_cause_analysis", "management_review"} <= done


def test_urgent_complaint_started_in_time_does_not_escalate(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, safety_hazard=True)
    advance(eng, clock, hours=1)
    complete(eng, number, "start_emergency_handling")
    assert advance(eng, clock, hours=2) == 0
    assert eng.cases.get(number).escalation_tier == 0
    assert names(eng, number) == ["determine_responsibility"]


def test_general_start_deadline_is_two_working_days_across_spring_festival(database_url, workflows_dir):
    clock = ManualClock(datetime(2026, 2, 13, 9, 0, tzinfo=SHANGHAI))  # Friday before 春节
    with engine.open(database_url, workflows_dir, clock=clock) as eng:
        eng.repository.deploy()
        eng.people.seed_demo()
        number = eng.runtime.start("complaint", registration(channel="store"), "cs1")
        clock.advance(datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI) - clock.now())
        start_to_verified(eng, number)
        assert eng.cases.get(number).grade == "general"
        # Saturday 14 Feb is a make-up working day (调休); 15–23 Feb is the holiday.
        assert task(eng, number, "start_handling_general").due_at == datetime(2026, 2, 24, 10, 0, tzinfo=SHANGHAI)
        assert advance(eng, clock, days=11, hours=-0.1) == 0
        assert advance(eng, clock, hours=0.2) == 1
        assert ("cs_supervisor", "handling_start_overdue") in subjects(eng, number)


def test_serious_start_deadline_falls_on_the_make_up_saturday(database_url, workflows_dir):
    clock = ManualClock(datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI))
    with engine.open(database_url, workflows_dir, clock=clock) as eng:
        eng.repository.deploy()
        eng.people.seed_demo()
        number = eng.runtime.start("complaint", registration(channel="store"), "cs1")
        start_to_verified(eng, number, core_function_failure=True)
        assert eng.cases.get(number).grade == "serious"
        handling = task(eng, number, "start_handling")
        assert handling.assignee == "eng1"
        assert handling.due_at == datetime(2026, 2, 14, 10, 0, tzinfo=SHANGHAI)


def test_a_handler_who_cannot_handle_a_complaint_passes_it_to_the_supervisor(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number)
    complete(eng, number, "start_handling_general", transfer_to_supervisor=True, transfer_reason="超出权限")
    assert task(eng, number, "take_over_by_supervisor").assignee == "sup1"
    complete(eng, number, "take_over_by_supervisor")
    assert names(eng, number) == ["determine_responsibility"]


def test_responsibility_is_due_in_24_hours_and_its_breach_notifies_management(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number)
    due = task(eng, number, "determine_responsibility").due_at
    assert due == datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)
    advance(eng, clock, hours=24, minutes=1)
    assert ("management", "responsibility_overdue") in subjects(eng, number)


def test_responsibility_is_due_in_48_hours_when_the_customer_cannot_be_reached(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number, unreachable=True)
    assert task(eng, number, "determine_responsibility").due_at == datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI)
    advance(eng, clock, hours=25)
    assert ("management", "responsibility_overdue") not in subjects(eng, number)
    advance(eng, clock, hours=24)
    assert ("management", "responsibility_overdue") in subjects(eng, number)


def test_the_responsibility_clock_counts_from_registration_not_from_the_step(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")  # Monday 09:00
    advance(eng, clock, hours=10)
    to_responsibility(eng, number)  # the step starts at 19:00
    assert task(eng, number, "determine_responsibility").due_at == datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)
    advance(eng, clock, hours=14, minutes=1)
    assert ("management", "responsibility_overdue") in subjects(eng, number)
    assert eng.replay.run(number).ok


def test_customer_unreachable_declared_at_responsibility_gives_48_hours_from_registration(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    advance(eng, clock, hours=5)
    to_responsibility(eng, number)
    advance(eng, clock, hours=3)
    complete(eng, number, "determine_responsibility", responsibility="customer_unreachable")
    assert task(eng, number, "determine_responsibility").due_at == datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI)
    advance(eng, clock, hours=17)  # past 24 h from registration: the 48 h hold
    assert ("management", "responsibility_overdue") not in subjects(eng, number)
    advance(eng, clock, hours=24)
    assert ("management", "responsibility_overdue") in subjects(eng, number)
    complete(eng, number, "determine_responsibility", responsibility="company")
    assert names(eng, number) == ["root_cause_analysis"]
    assert eng.replay.run(number).ok


def test_root_cause_analysis_is_due_in_three_working_days(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility", responsibility="company")
    rca = task(eng, number, "root_cause_analysis")
    assert rca.assignee == "eng1"
    assert rca.due_at == datetime(2026, 3, 5, 9, 0, tzinfo=SHANGHAI)


def test_customer_misunderstanding_skips_root_cause_and_goes_to_guidance(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility", responsibility="customer_misunderstanding")
    assert names(eng, number) == ["provide_guidance"]


def test_compensation_of_300_cny_is_approved_by_a_supervisor_alone(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    complete(eng, number, "propose_plan", plan_type="compensation", compensation_amount=300)
    assert task(eng, number, "approve_compensation").assignee == "sup1"
    complete(eng, number, "approve_compensation")
    assert names(eng, number) == ["management_review"]


def test_compensation_of_600_cny_also_needs_the_cs_manager(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    complete(eng, number, "propose_plan", plan_type="compensation", compensation_amount=600)
    complete(eng, number, "approve_compensation")
    assert task(eng, number, "approve_compensation_manager").assignee == "mgr1"
    complete(eng, number, "approve_compensation_manager")
    assert names(eng, number) == ["management_review"]


def test_a_compensation_of_amount_0_a_gift_still_needs_the_supervisors_approval(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    complete(eng, number, "propose_plan", plan_type="compensation", compensation_amount=0)
    assert task(eng, number, "approve_compensation").assignee == "sup1"
    complete(eng, number, "approve_compensation")
    assert names(eng, number) == ["management_review"]


def test_a_plan_without_compensation_needs_no_approval(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    complete(eng, number, "propose_plan", plan_type="exchange", compensation_amount=0)
    assert names(eng, number) == ["management_review"]


def test_a_rejected_compensation_goes_back_to_the_plan(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    complete(eng, number, "propose_plan", plan_type="compensation", compensation_amount=300)
    complete(eng, number, "approve_compensation", approved=False)
    assert names(eng, number) == ["propose_plan"]


def test_management_review_is_due_in_4_hours_then_the_general_manager_hears(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    complete(eng, number, "propose_plan")
    advance(eng, clock, hours=4, minutes=1)
    assert ("general_manager", "management_review_overdue") in subjects(eng, number)


def test_management_disagreement_leads_to_coordination_and_a_new_plan(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    complete(eng, number, "propose_plan")
    complete(eng, number, "management_review", agrees=False)
    complete(eng, number, "coordinate_plan")
    assert names(eng, number) == ["propose_plan"]


def test_customer_confirms_the_plan_online(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number, plan_type="refund")
    assert ("customer", "plan_proposed") in subjects(eng, number)
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    refund = task(eng, number, "pay_refund")
    assert refund.due_at == datetime(2026, 3, 5, 9, 0, tzinfo=SHANGHAI)


def test_silence_on_the_plan_for_a_working_day_makes_cs_follow_up(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number, plan_type="repair")
    advance(eng, clock, days=1, minutes=1)
    complete(eng, number, "follow_up_confirmation", customer_accepted=True)
    repair = task(eng, number, "complete_repair")
    assert repair.due_at == datetime(2026, 3, 12, 9, 1, tzinfo=SHANGHAI)  # 7 working days


def test_a_customer_rejecting_the_plan_gets_a_new_plan(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number)
    eng.runtime.message(number, "plan_confirmation", {"accepted": False}, "customer")
    assert names(eng, number) == ["propose_plan"]


def test_a_late_exchange_notifies_the_cs_manager(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number, plan_type="exchange")
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    advance(eng, clock, hours=48, minutes=1)
    assert ("cs_manager", "execution_overdue") in subjects(eng, number)


def test_a_late_result_notification_notifies_the_supervisor(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number)
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    complete(eng, number, "ship_exchange")
    advance(eng, clock, hours=24, minutes=1)
    assert ("cs_supervisor", "result_notification_overdue") in subjects(eng, number)


def test_not_a_defect_closes_through_a_callback(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="product_quality"), "cs1")
    start_to_verified(eng, number, verification_outcome="not_a_defect")
    complete(eng, number, "explain_to_customer")
    assert names(eng, number) == ["callback"]
    assert eng.cases.get(number).outcome == "not_a_defect"


def test_a_service_complaint_not_upheld_closes_through_a_callback(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    complete(eng, number, "first_response")
    assert names(eng, number) == ["check_validity"]  # a validity check, not a defect check
    complete(eng, number, "check_validity", validity="not_valid")
    complete(eng, number, "explain_to_customer")
    assert names(eng, number) == ["callback"]
    complete(eng, number, "callback")
    case = eng.cases.get(number)
    assert (case.status, case.outcome) == ("archived", "not_valid")


def test_a_service_complaint_never_reaches_an_engineer(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    complete(eng, number, "first_response")
    complete(eng, number, "check_validity", customer_upset=True)
    assert eng.cases.get(number).grade == "serious"
    assert task(eng, number, "start_handling_service").assignee == "sup1"  # not the product engineer
    complete(eng, number, "start_handling_service")
    complete(eng, number, "determine_responsibility", responsibility="company", department="store")
    assert names(eng, number) == ["department_action_store"]
    assert task(eng, number, "department_action_store").assignee == "store1"
    complete(eng, number, "department_action_store")
    plan_through_review(eng, number, plan_type="apology", compensation_amount=0)
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    complete(eng, number, "deliver_plan")
    complete(eng, number, "notify_result")
    complete(eng, number, "callback")
    case = eng.cases.get(number)
    assert (case.status, case.outcome) == ("archived", "resolved")
    steps = [e for e in eng.history.events(number) if e.kind == "task_completed"]
    assert "root_cause_analysis" not in {e.payload["element"] for e in steps}
    engineers = {"eng1", "eng2"}
    assert not engineers & {e.actor for e in eng.history.events(number)}
    assert not engineers & {n for note in eng.cases.get(number).notifications for n in note.recipients}


def test_each_department_concerned_gets_the_service_complaint(eng):
    for department in ("service", "sales", "store", "marketing", "logistics", "supply_chain", "rd", "production"):
        number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
        complete(eng, number, "first_response")
        complete(eng, number, "check_validity")
        complete(eng, number, "start_handling_general")
        complete(eng, number, "determine_responsibility", responsibility="company", department=department)
        assert names(eng, number) == [f"department_action_{department}"]


def test_need_more_info_waits_for_the_customers_reply_then_verifies_again(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, verification_outcome="need_more_info")
    assert ("customer", "more_info_requested") in subjects(eng, number)
    assert names(eng, number) == []
    advance(eng, clock, days=1)
    eng.runtime.message(number, "customer_reply", {"text": "补充照片已上传"}, "customer")
    assert names(eng, number) == ["verify"]


def test_need_more_info_closes_unresolved_after_3_working_days_of_silence(eng, clock):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")  # Monday 09:00
    start_to_verified(eng, number, verification_outcome="need_more_info")
    assert advance(eng, clock, days=2, hours=23) == 0  # Thursday 08:00: not yet
    assert advance(eng, clock, hours=2) == 1  # Thursday 10:00: three working days have passed
    assert names(eng, number) == ["callback"]
    complete(eng, number, "callback")
    case = eng.cases.get(number)
    assert (case.status, case.outcome) == ("archived", "unresolved")


def test_a_reply_after_the_case_closed_is_refused(eng, clock):
    from engine.errors import MessageNotExpected

    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, verification_outcome="need_more_info")
    advance(eng, clock, days=4)
    with pytest.raises(MessageNotExpected):
        eng.runtime.message(number, "customer_reply", {"text": "late"}, "customer")


def test_the_whole_happy_path_archives_a_resolved_case(eng, clock):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback")
    case = eng.cases.get(number)
    assert (case.status, case.outcome, case.open_tasks) == ("archived", "resolved", ())
    assert case.pending_deadlines == ()
    kinds = [e.kind for e in eng.history.events(number)]
    assert kinds[0] == "case_started" and kinds.count("task_completed") >= 9
    assert eng.history.verify()
