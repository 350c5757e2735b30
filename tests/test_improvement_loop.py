"""The improvement loop of seed 003 through the engine API (SQLite and PostgreSQL, manual clock): recurring
problems and suggestions open improvement items, linked to their complaints; an item walks analysis → joint
review → implementation → verification → closing with its deadlines and escalations, and replays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import FormInvalid
from engine.tasks import InboxQuery
from tests.driver import complete, open_tasks, registration, subjects, task, to_responsibility

pytestmark = pytest.mark.spec  # seed 003's loop, as shipped

KETTLE = "智能电水壶"


def names(eng, number: str) -> list[str]:
    return sorted(t.name for t in open_tasks(eng, number))


def items_of(eng, number: str) -> list[str]:
    return [item.number for item in eng.improvements.links(number).items]


def analysed(eng, product: str = KETTLE, defect: str = "shell_crack", **analysis: object) -> str:
    """A product-quality complaint through responsibility (the company's) and its root-cause analysis."""
    number = eng.runtime.start("complaint", registration(product_name=product), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility")
    complete(eng, number, "root_cause_analysis", defect_type=defect, **analysis)
    return number


def suggestion(eng) -> tuple[str, str]:
    """A suggestion registered by customer service: the case and the improvement item it opened."""
    number = eng.runtime.start("complaint", registration(complaint_type="suggestion", description="希望增加多语言支持"),
                               "cs1")
    [item] = items_of(eng, number)
    return number, item


def test_seven_complaints_about_the_same_product_and_defect_open_one_improvement_item_on_the_sixth(eng):
    first_five = [analysed(eng) for _ in range(5)]
    other_defect = analysed(eng, defect="power_failure")  # same product, other defect: another group
    other_product = analysed(eng, product="蒸汽熨斗")  # same defect, other product
    assert all(items_of(eng, n) == [] for n in [*first_five, other_defect, other_product])
    sixth = analysed(eng)
    [item] = items_of(eng, sixth)
    linked = [case.number for case in eng.improvements.links(item).cases]
    assert linked == [*first_five, sixth]
    assert all(items_of(eng, n) == [item] for n in first_five)
    seventh = analysed(eng)
    assert items_of(eng, seventh) == [item]  # the open item, not a second one
    assert [case.number for case in eng.improvements.links(item).cases] == [*first_five, sixth, seventh]
    assert items_of(eng, other_defect) == [] and items_of(eng, other_product) == []
    assert task(eng, item, "analyse_and_plan").assignee == "pm1"
    summary = eng.cases.get(item).summary
    assert (summary["improvement_source"], summary["product_name"], summary["defect_type"]) == (
        "recurrence", KETTLE, "shell_crack")
    kinds = [e.kind for e in eng.history.events(sixth)]
    # the complaint's own history says so, with the step that linked it (and its knowledge-base entry)
    assert kinds[kinds.index("task_completed", len(kinds) - 3):] in (
        ["task_completed", "improvement_linked", "knowledge_added"],
        ["task_completed", "knowledge_added", "improvement_linked"])
    assert eng.replay.run(sixth).ok and eng.replay.run(item).ok


def test_complaints_of_another_calendar_month_count_again(eng, clock):
    for _ in range(5):
        analysed(eng)
    clock.advance(timedelta(days=31))  # March → April: a new month, a new count
    assert all(items_of(eng, analysed(eng)) == [] for _ in range(5))
    [item] = items_of(eng, analysed(eng))
    assert len(eng.improvements.links(item).cases) == 6


def test_a_root_cause_analysis_may_track_its_corrective_actions_as_an_improvement_item(eng):
    number = analysed(eng, track_capa=True)
    [item] = items_of(eng, number)
    summary = eng.cases.get(item).summary
    assert summary["improvement_source"] == "capa" and summary["origin_case"] == number
    assert "更换模具" in summary["description"] and "加强出厂检验" in summary["description"]
    assert names(eng, item) == ["analyse_and_plan"]
    assert names(eng, number) != []  # the complaint goes on: the item is tracked on its own


def test_a_registered_suggestion_skips_the_complaint_flow_and_reaches_the_product_manager(eng):
    number, item = suggestion(eng)
    case = eng.cases.get(number)
    assert case.status == "archived" and case.outcome == "suggestion_forwarded"
    assert ("customer", "suggestion_received") in subjects(eng, number)
    assert [t.id for t in eng.tasks.inbox("pm1", InboxQuery()).tasks] == [task(eng, item, "analyse_and_plan").id]
    assert [c.number for c in eng.improvements.links(item).cases] == [number]
    assert eng.cases.get(item).summary["description"] == "希望增加多语言支持"
    assert eng.replay.run(number).ok


def test_an_improvement_item_walks_analysis_joint_review_and_verification_with_its_deadlines(eng, clock):
    number, item = suggestion(eng)
    complete(eng, item, "analyse_and_plan", implementation_days=10)
    assert names(eng, item) == ["review_by_product", "review_by_quality", "review_by_rd"]
    assert [task(eng, item, t).assignee for t in ("review_by_product", "review_by_rd", "review_by_quality")] == [
        "pm1", "rdl1", "ql1"]
    complete(eng, item, "review_by_product")
    complete(eng, item, "review_by_quality")
    clock.advance(timedelta(days=4))  # 2 working days for the review: R&D is late
    eng.timers.fire_due()
    assert ("management", "improvement_review_overdue") in subjects(eng, item)
    complete(eng, item, "review_by_rd")
    assert names(eng, item) == ["carry_out_improvement"]
    due = task(eng, item, "carry_out_improvement").due_at
    assert due == eng.repository.active().calendar.add_working_days(clock.now(), 10)
    clock.advance(due - clock.now() + timedelta(minutes=1))
    eng.timers.fire_due()
    assert ("management", "improvement_overdue") in subjects(eng, item)
    assert ("general_manager", "improvement_escalated") not in subjects(eng, item)
    clock.advance(timedelta(days=8))  # 5 more working days: the general manager is told
    eng.timers.fire_due()
    assert ("general_manager", "improvement_escalated") in subjects(eng, item)
    assert ("customer", "improvement_verification") not in subjects(eng, number)
    complete(eng, item, "carry_out_improvement")
    assert names(eng, item) == ["customer_verification", "verify_internally"]
    assert ("customer", "improvement_verification") in subjects(eng, number)  # the suggestion's customer is asked
    complete(eng, item, "verify_internally")
    clock.advance(timedelta(days=8))  # the customers were not asked in 5 working days
    eng.timers.fire_due()
    assert ("management", "improvement_verification_overdue") in subjects(eng, item)
    complete(eng, item, "customer_verification")
    assert names(eng, item) == ["close_improvement"]
    complete(eng, item, "close_improvement")
    assert eng.cases.get(item).status == "archived"
    report = eng.replay.run(item)
    assert report.ok, report.first_difference


def test_a_rejected_review_or_an_ineffective_improvement_goes_back_to_analysis(eng):
    _number, item = suggestion(eng)
    complete(eng, item, "analyse_and_plan")
    complete(eng, item, "review_by_product")
    complete(eng, item, "review_by_quality")
    with pytest.raises(FormInvalid):  # a rejection says why
        complete(eng, item, "review_by_rd", rd_approved=False, rd_review_comment="")
    complete(eng, item, "review_by_rd", rd_approved=False, rd_review_comment="成本过高")
    assert names(eng, item) == ["analyse_and_plan"]
    complete(eng, item, "analyse_and_plan")
    for step in ("review_by_product", "review_by_rd", "review_by_quality", "carry_out_improvement"):
        complete(eng, item, step)
    complete(eng, item, "verify_internally", improvement_effective=False, verification_report="仍有卡纸")
    complete(eng, item, "customer_verification")
    assert names(eng, item) == ["analyse_and_plan"]
    assert eng.replay.run(item).ok


def test_a_suggestion_the_product_manager_declines_closes_with_the_reason(eng):
    _number, item = suggestion(eng)
    complete(eng, item, "analyse_and_plan", plan_decision="no_action", problem_analysis="与产品定位不符")
    assert names(eng, item) == ["close_improvement"]


def test_a_closed_improvement_item_adds_a_knowledge_entry_for_its_product_and_defect(eng):
    for _ in range(6):
        sixth = analysed(eng)
    [item] = items_of(eng, sixth)
    before = {entry.id for entry in eng.knowledge.search("ql1", product=KETTLE)}
    complete(eng, item, "analyse_and_plan", implementation_days=10)
    for step in ("review_by_product", "review_by_quality", "review_by_rd", "carry_out_improvement",
                 "verify_internally", "customer_verification"):
        complete(eng, item, step)
    complete(eng, item, "close_improvement", problem_summary="壶身开裂", cause_summary="注塑温度过低",
             solution_summary="提高模温并全检外壳")
    [entry] = [e for e in eng.knowledge.search("ql1", product=KETTLE) if e.id not in before]
    assert (entry.problem, entry.cause, entry.solution) == ("壶身开裂", "注塑温度过低", "提高模温并全检外壳")
    assert (entry.product, entry.defect_type, entry.source_case) == (KETTLE, "shell_crack", item)
    assert [e.id for e in eng.knowledge.search("ql1", "模温")] == [entry.id]
