"""Callbacks (retries, one or two of them) and the three escalation tiers."""

from __future__ import annotations

from datetime import timedelta

import pytest

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
)

pytestmark = pytest.mark.spec  # the seeds' durations and routes, as shipped


def names(eng, number):
    return sorted(t.name for t in open_tasks(eng, number))


def test_first_callback_is_due_24_hours_after_the_result(eng, clock):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    assert task(eng, number, "callback").due_at == clock.now() + timedelta(hours=24)
    advance(eng, clock, hours=24, minutes=1)
    assert ("cs_supervisor", "callback_overdue") in subjects(eng, number)


def test_a_service_complaint_gets_one_callback(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback")
    assert eng.cases.get(number).status == "archived"


def test_a_product_quality_complaint_gets_a_second_callback_3_days_later(eng, clock):
    number = eng.runtime.start("complaint", registration(complaint_type="product_quality"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback")
    assert names(eng, number) == []
    assert eng.cases.get(number).status == "open"
    assert advance(eng, clock, days=2, hours=23) == 0
    assert advance(eng, clock, hours=2) == 1
    complete(eng, number, "callback")
    case = eng.cases.get(number)
    assert (case.status, case.outcome) == ("archived", "resolved")


def test_an_unreached_customer_is_called_again_4_hours_later_3_tries_in_all(eng, clock):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", reached=False, satisfaction=None, satisfaction_label=None)
    assert names(eng, number) == []
    assert advance(eng, clock, hours=3, minutes=59) == 0
    assert advance(eng, clock, minutes=2) == 1
    complete(eng, number, "callback", reached=False, satisfaction=None, satisfaction_label=None)
    advance(eng, clock, hours=4, minutes=1)
    complete(eng, number, "callback", reached=False, satisfaction=None, satisfaction_label=None)
    case = eng.cases.get(number)
    assert ("cs_supervisor", "callback_unreached") in subjects(eng, number)
    assert case.status == "archived"


def test_after_three_unreached_callbacks_the_case_closes_unreached_not_resolved(eng, clock):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    for _ in range(3):
        complete(eng, number, "callback", reached=False, satisfaction=None, satisfaction_label=None)
        advance(eng, clock, hours=4, minutes=1)
    case = eng.cases.get(number)
    assert (case.status, case.outcome) == ("archived", "closed_unreached")


def test_a_score_below_4_escalates_to_tier_1(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", satisfaction=3, satisfaction_label="neutral")
    case = eng.cases.get(number)
    assert case.escalation_tier == 1
    assert task(eng, number, "tier1_new_plan").assignee == "sup1"


def test_an_unsatisfied_score_walks_tiers_1_2_3_by_deadline(eng, clock):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", satisfaction=2, satisfaction_label="unsatisfied")
    assert names(eng, number) == ["tier1_new_plan"]
    assert advance(eng, clock, hours=48, minutes=1) == 1
    assert (eng.cases.get(number).escalation_tier, names(eng, number)) == (2, ["tier2_new_plan"])
    assert task(eng, number, "tier2_new_plan").assignee == "mgr1"
    assert advance(eng, clock, hours=48, minutes=1) == 1
    assert (eng.cases.get(number).escalation_tier, names(eng, number)) == (3, ["tier3_new_plan"])
    assert task(eng, number, "tier3_new_plan").assignee == "gm1"
    # Tier 3 is final: its deadline reminds, it does not move the case any further.
    advance(eng, clock, hours=48, minutes=1)
    assert names(eng, number) == ["tier3_new_plan"]
    assert ("general_manager", "tier3_overdue") in subjects(eng, number)
    assert eng.cases.get(number).escalation_tier == 3  # the reminder does not lower the tier


def test_a_customer_still_unsatisfied_after_tier_1_goes_to_tier_2(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", satisfaction=2, satisfaction_label="unsatisfied")
    plan_through_review(eng, number, "tier1_new_plan")
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    complete(eng, number, "pay_refund")
    complete(eng, number, "notify_result")
    complete(eng, number, "callback", satisfaction=1, satisfaction_label="unsatisfied")
    assert eng.cases.get(number).escalation_tier == 2
    assert names(eng, number) == ["tier2_new_plan"]


def test_tier_3_decision_is_final_and_recorded(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    for tier in (1, 2, 3):
        complete(eng, number, "callback", satisfaction=1, satisfaction_label="unsatisfied")
        plan_through_review(eng, number, f"tier{tier}_new_plan")
        eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
        complete(eng, number, "pay_refund")
        complete(eng, number, "notify_result")
    complete(eng, number, "callback", satisfaction=1, satisfaction_label="unsatisfied")
    case = eng.cases.get(number)
    assert (case.status, case.outcome, case.escalation_tier) == ("archived", "final_decision", 3)
    decisions = [e.payload["data"].get("final_decision") for e in eng.history.events(number)
                 if e.kind == "task_completed" and e.payload["element"] == "tier3_new_plan"]
    assert decisions == ["全额退款并书面致歉，为最终决定"]


def _tier_plan_to_customer(eng, number, tier, **plan):
    plan_through_review(eng, number, f"tier{tier}_new_plan", **plan)
    assert ("customer", "plan_proposed") in subjects(eng, number)


def test_a_rejected_tier_one_plan_goes_to_tier_two(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", satisfaction=2, satisfaction_label="unsatisfied")
    _tier_plan_to_customer(eng, number, 1)
    eng.runtime.message(number, "plan_confirmation", {"accepted": False}, "customer")
    assert (eng.cases.get(number).escalation_tier, names(eng, number)) == (2, ["tier2_new_plan"])
    assert task(eng, number, "tier2_new_plan").assignee == "mgr1"


def test_a_rejected_tier_three_decision_is_final_with_the_customers_disagreement(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", satisfaction=2, satisfaction_label="unsatisfied")
    for tier in (1, 2, 3):
        _tier_plan_to_customer(eng, number, tier)
        eng.runtime.message(number, "plan_confirmation", {"accepted": False}, "customer")
    case = eng.cases.get(number)
    assert (case.status, case.outcome, case.escalation_tier) == ("archived", "final_decision", 3)
    answers = [e.payload for e in eng.history.events(number) if e.kind == "message_received"]
    assert answers and all("accepted" in str(a) for a in answers)


def test_an_escalated_plan_of_2000_cny_needs_the_cs_manager_and_management_review(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", satisfaction=2, satisfaction_label="unsatisfied")
    proposed = subjects(eng, number).count(("customer", "plan_proposed"))
    complete(eng, number, "tier1_new_plan", plan_type="compensation", compensation_amount=2000)
    assert task(eng, number, "approve_compensation").assignee == "sup1"
    complete(eng, number, "approve_compensation")
    assert task(eng, number, "approve_compensation_manager").assignee == "mgr1"
    complete(eng, number, "approve_compensation_manager")
    assert names(eng, number) == ["management_review"]
    assert subjects(eng, number).count(("customer", "plan_proposed")) == proposed  # not before the review
    complete(eng, number, "management_review")
    assert subjects(eng, number).count(("customer", "plan_proposed")) == proposed + 1


def test_a_customer_unsatisfied_after_not_a_defect_is_escalated(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    start_to_verified(eng, number, verification_outcome="not_a_defect")
    complete(eng, number, "explain_to_customer")
    complete(eng, number, "callback", satisfaction=1, satisfaction_label="unsatisfied")
    case = eng.cases.get(number)
    assert (case.status, case.escalation_tier) == ("open", 1)
    assert names(eng, number) == ["tier1_new_plan"]


def test_a_customer_unsatisfied_after_an_unresolved_closing_is_escalated(eng, clock):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    start_to_verified(eng, number, verification_outcome="need_more_info")
    advance(eng, clock, days=4)
    complete(eng, number, "callback", satisfaction=None, satisfaction_label="unsatisfied")
    assert (eng.cases.get(number).escalation_tier, names(eng, number)) == (1, ["tier1_new_plan"])


def test_an_urgent_case_whose_customer_is_unsatisfied_enters_tier_two(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number, complaint_grade="urgent")
    assert eng.cases.get(number).grade == "urgent"
    complete(eng, number, "callback", satisfaction=2, satisfaction_label="unsatisfied")
    assert (eng.cases.get(number).escalation_tier, names(eng, number)) == (2, ["tier2_new_plan"])


def test_a_neutral_label_without_a_score_escalates_like_a_score_of_3(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", satisfaction=None, satisfaction_label="neutral")
    assert (eng.cases.get(number).escalation_tier, names(eng, number)) == (1, ["tier1_new_plan"])


def test_a_satisfied_label_without_a_score_archives(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback", satisfaction=None, satisfaction_label="satisfied")
    assert eng.cases.get(number).status == "archived"
