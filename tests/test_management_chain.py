"""Seed 002's management chain after responsibility (workflows/final_opinion.bpmn, management_chain.dmn).

Management reviews the opinion on the people responsible within 4 hours (a consultation when it
disagrees), reports to the general manager, whose opinion is due within 4 hours and is passed on,
and carries out fault handling within 8 hours; the final form goes to customer service. Which
levels a case gets is the decision table's, by grade: a process owner switches them there.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import FormInvalid
from tests.driver import (
    advance,
    complete,
    fire_next,
    open_tasks,
    plan_through_review,
    registration,
    subjects,
    task,
    through_chain,
    to_responsibility,
)

CHAIN = ("review_responsibility_opinion", "consult_on_opinion", "give_gm_opinion", "carry_out_fault_handling")


def names(eng, number):
    return sorted(t.name for t in open_tasks(eng, number))


def completed(eng, number):
    return [e.payload["element"] for e in eng.history.events(number) if e.kind == "task_completed"]


def case_data(eng, number):
    """The case's data as stored (the replay's expected end state reads it; nothing is written)."""
    return eng.replay.run(number).steps[-1].expected["data"]


def to_chain(eng, number, grade, **responsibility):
    """Registered, verified, graded, handling started, responsibility company, root cause analysed."""
    to_responsibility(eng, number, grade)
    complete(eng, number, "determine_responsibility", **responsibility)
    complete(eng, number, "root_cause_analysis")


@pytest.mark.spec
def test_a_general_complaint_goes_through_management_review_only(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_chain(eng, number, "general")
    review = task(eng, number, "review_responsibility_opinion")
    assert review.assignee == "mgmt1"
    assert review.due_at == clock.now() + timedelta(hours=4)
    complete(eng, number, "review_responsibility_opinion", fault_opinion="通报批评")
    assert names(eng, number) == ["propose_plan"]  # no GM opinion, no fault handling: on to the plan
    assert not {"give_gm_opinion", "carry_out_fault_handling", "consult_on_opinion"} & set(completed(eng, number))
    assert ("cs_specialist", "final_opinion_handed_over") in subjects(eng, number)
    assert case_data(eng, number)["final_opinion"] == "通报批评"


@pytest.mark.spec
def test_a_late_management_review_notifies_the_general_manager(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_chain(eng, number, "general")
    assert advance(eng, clock, hours=3, minutes=59) == 0
    assert advance(eng, clock, minutes=2) == 1
    assert ("general_manager", "chain_review_overdue") in subjects(eng, number)
    assert names(eng, number) == ["review_responsibility_opinion"]  # still management's, now overdue


@pytest.mark.spec
def test_a_serious_complaint_gets_the_general_managers_opinion_within_four_hours(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_chain(eng, number, "serious")
    advance(eng, clock, hours=1)
    complete(eng, number, "review_responsibility_opinion")
    opinion = task(eng, number, "give_gm_opinion")
    assert opinion.assignee == "gm1"
    assert opinion.due_at == clock.now() + timedelta(hours=4)
    assert advance(eng, clock, hours=3, minutes=59) == 0
    assert advance(eng, clock, minutes=2) == 1
    assert {("management", "gm_opinion_overdue"), ("general_manager", "gm_opinion_overdue")} <= set(
        subjects(eng, number))
    complete(eng, number, "give_gm_opinion", gm_opinion="同意，责任人书面检讨")
    assert ("cs_specialist", "gm_opinion_given") in subjects(eng, number)
    assert names(eng, number) == ["propose_plan"]  # serious: no fault handling by the shipped table
    assert case_data(eng, number)["final_opinion"] == "同意，责任人书面检讨"


@pytest.mark.spec
def test_management_fault_handling_is_due_eight_hours_after_the_gm_opinion(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_chain(eng, number, "urgent")
    complete(eng, number, "review_responsibility_opinion")
    advance(eng, clock, hours=2)
    complete(eng, number, "give_gm_opinion")
    handling = task(eng, number, "carry_out_fault_handling")
    assert handling.assignee == "mgmt1"
    assert handling.due_at == clock.now() + timedelta(hours=8)
    assert advance(eng, clock, hours=7, minutes=59) == 0
    assert advance(eng, clock, minutes=2) == 1
    assert ("general_manager", "fault_handling_overdue") in subjects(eng, number)
    complete(eng, number, "carry_out_fault_handling", person_responsible="张工", fault="漏检",
             fault_measure="training", communicated_on="2026-03-03")
    data = case_data(eng, number)
    assert (data["person_responsible"], data["fault_measure"], data["communicated_on"]) == (
        "张工", "training", "2026-03-03")
    assert ("cs_specialist", "final_opinion_handed_over") in subjects(eng, number)
    assert names(eng, number) == ["propose_plan"]


def test_the_fault_handling_form_needs_the_person_the_fault_the_measure_and_the_date(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_chain(eng, number, "urgent")
    complete(eng, number, "review_responsibility_opinion")
    complete(eng, number, "give_gm_opinion")
    handling = task(eng, number, "carry_out_fault_handling")
    with pytest.raises(FormInvalid) as refused:
        eng.tasks.complete(handling.id, handling.assignee, {"person_responsible": "张工", "fault": "漏检"})
    assert "fault_measure" in str(refused.value) or "communicated_on" in str(refused.value)
    assert names(eng, number) == ["carry_out_fault_handling"]  # nothing lost, still open


def test_management_disagreeing_calls_a_consultation_whose_agreed_opinion_goes_to_the_general_manager(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_chain(eng, number, "serious")
    complete(eng, number, "review_responsibility_opinion", opinion_agreed=False)
    consultation = task(eng, number, "consult_on_opinion")
    assert consultation.assignee == "mgmt1"
    complete(eng, number, "consult_on_opinion", agreed_opinion="责任人道歉并培训")
    assert names(eng, number) == ["give_gm_opinion"]
    assert case_data(eng, number)["agreed_opinion"] == "责任人道歉并培训"


def test_a_customer_misunderstanding_has_no_management_chain(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number, "urgent")
    complete(eng, number, "determine_responsibility", responsibility="customer_misunderstanding")
    assert names(eng, number) == ["provide_guidance"]
    assert ("cs_specialist", "final_opinion_handed_over") not in subjects(eng, number)


def test_a_service_complaint_at_company_fault_passes_the_chain_after_its_department(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    complete(eng, number, "first_response")
    complete(eng, number, "check_validity", customer_upset=True)
    complete(eng, number, "start_handling_service")
    complete(eng, number, "determine_responsibility", responsibility="company", department="store")
    complete(eng, number, "department_action_store")
    assert through_chain(eng, number) == ["review_responsibility_opinion", "give_gm_opinion"]
    assert names(eng, number) == ["propose_plan"]


def switch_rule(workflows_dir, rule: str, outputs: dict[str, str]) -> None:
    """Edit one rule's output cells of management_chain.dmn, as a process owner would in the modeler."""
    path = workflows_dir / "management_chain.dmn"
    text = path.read_text(encoding="utf-8")
    for output, value in outputs.items():
        cell = f'<outputEntry id="{rule}_{output}">'
        head, tail = text.split(cell, 1)
        old = tail.split("</text>", 1)[0]
        text = head + cell + tail.replace(old, old.split("<text>")[0] + "<text>" + value, 1)
    path.write_text(text, encoding="utf-8")


def test_switching_the_chain_in_the_table_changes_the_route(eng, workflows_dir):
    before = eng.runtime.start("complaint", registration(), "cs1")
    switch_rule(workflows_dir, "rule_general", {"chain_gm_opinion": "true", "chain_fault_handling": "true"})
    switch_rule(workflows_dir, "rule_serious", {"chain_review": "false", "chain_gm_opinion": "false"})
    assert eng.repository.deploy(workflows_dir, actor="owner1", note="chain by table")[0].version == 2
    general = eng.runtime.start("complaint", registration(), "cs1")
    to_chain(eng, general, "general")
    assert through_chain(eng, general) == ["review_responsibility_opinion", "give_gm_opinion",
                                           "carry_out_fault_handling"]
    serious = eng.runtime.start("complaint", registration(), "cs1")
    to_chain(eng, serious, "serious")
    assert names(eng, serious) == ["propose_plan"]  # the table switched the serious chain off
    assert ("cs_specialist", "final_opinion_handed_over") not in subjects(eng, serious)
    # A case started on version 1 keeps its version's table: a general case, review only.
    to_chain(eng, before, "general")
    assert through_chain(eng, before) == ["review_responsibility_opinion"]


def chain_path(eng, clock):
    """Urgent: management disagrees, a consultation, the GM late then giving the opinion, fault handling."""
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_chain(eng, number, "urgent")
    complete(eng, number, "review_responsibility_opinion", opinion_agreed=False)
    complete(eng, number, "consult_on_opinion")
    assert fire_next(eng, clock) == 1  # the general manager is late
    complete(eng, number, "give_gm_opinion")
    complete(eng, number, "carry_out_fault_handling")
    plan_through_review(eng, number)
    return number


def test_the_management_chain_replays_to_its_recorded_state(eng, clock):
    number = chain_path(eng, clock)
    assert {"consult_on_opinion", "give_gm_opinion", "carry_out_fault_handling"} <= set(completed(eng, number))
    report = eng.replay.run(number)
    assert report.ok, report.first_difference
    assert all(step.ok for step in report.steps)
    fired = [s for s in report.steps if s.kind == "timer_fired"]
    assert fired and all(s.expected["notified"] == s.replayed["notified"] for s in fired)
    final = report.steps[-1]
    assert final.kind == "final_state" and final.expected["data"] == final.replayed["data"]


def test_the_compliance_report_counts_the_chains_deadlines_per_step_and_role(eng, clock):
    on_time = eng.runtime.start("complaint", registration(), "cs1")
    to_chain(eng, on_time, "serious")
    complete(eng, on_time, "review_responsibility_opinion")
    late = eng.runtime.start("complaint", registration(), "cs1")
    to_chain(eng, late, "serious")
    complete(eng, late, "review_responsibility_opinion")
    complete(eng, on_time, "give_gm_opinion")
    assert fire_next(eng, clock) == 1  # the late case's GM opinion deadline passes
    complete(eng, late, "give_gm_opinion")
    march = (clock.now() - timedelta(days=2), clock.now() + timedelta(days=30))
    rows = {r.step: r for r in eng.reports.compliance(*march).rows}
    review = rows["review_responsibility_opinion"]
    assert review.role == "management" and {o.case_number for o in review.met} == {on_time, late}
    opinion = rows["give_gm_opinion"]
    assert opinion.role == "general_manager"
    assert [o.case_number for o in opinion.met] == [on_time]
    assert [o.case_number for o in opinion.missed] == [late]
